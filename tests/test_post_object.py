"""PostObject: browser-style form uploads (multipart/form-data sent by `requests`) with V1 and V4 signed
policies, unsigned uploads, a RAM user's rights, and every refusal leaving the bucket as it was."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import oss2
import pytest
import requests

from tests.conftest import empty_and_delete, new_bucket_name
from tests.iam import allow, key_of, new_user, policy
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

AUTH = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)


@pytest.fixture
def bucket(features_server: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(AUTH, features_server.endpoint, new_bucket_name("post"), region=REGION)
    b.create_bucket()
    yield b
    empty_and_delete(b)


def expires_in(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + seconds))


def encode(document: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def v1_fields(
    document: dict[str, Any], key_id: str = ACCESS_KEY_ID, secret: str = ACCESS_KEY_SECRET
) -> dict[str, str]:
    encoded = encode(document)
    signature = base64.b64encode(hmac.digest(secret.encode(), encoded.encode(), "sha1")).decode()
    return {"OSSAccessKeyId": key_id, "policy": encoded, "Signature": signature}


def v4_fields(conditions: list[Any], expiration: str) -> dict[str, str]:
    """A V4 form as OSS's documentation builds one: the credential, date and version in the policy too."""
    now = time.gmtime()
    date, stamp = time.strftime("%Y%m%d", now), time.strftime("%Y%m%dT%H%M%SZ", now)
    credential = f"{ACCESS_KEY_ID}/{date}/{REGION}/oss/aliyun_v4_request"
    version = "OSS4-HMAC-SHA256"
    document = {
        "expiration": expiration,
        "conditions": [
            *conditions,
            {"x-oss-signature-version": version},
            {"x-oss-credential": credential},
            {"x-oss-date": stamp},
        ],
    }
    encoded = encode(document)
    key = ("aliyun_v4" + ACCESS_KEY_SECRET).encode()
    for part in (date, REGION, "oss", "aliyun_v4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return {
        "policy": encoded,
        "x-oss-signature-version": version,
        "x-oss-credential": credential,
        "x-oss-date": stamp,
        "x-oss-signature": hmac.digest(key, encoded.encode(), "sha256").hex(),
    }


def post(
    b: oss2.Bucket, fields: dict[str, str], content: bytes | None = b"hello form", filename: str = "a.txt"
) -> requests.Response:
    files = {"file": (filename, content, "text/plain")} if content is not None else None
    data = fields if files else {**fields, "x": "no file here"}
    # Never follow a redirect: success_action_redirect names a host off this machine.
    return requests.post(
        f"{b.endpoint}/{b.bucket_name}", data=data, files=files, timeout=30, allow_redirects=False
    )


def error_code(resp: requests.Response) -> str:
    return ET.fromstring(resp.content).findtext("Code") or ""


def keys(b: oss2.Bucket) -> list[str]:
    return [o.key for o in oss2.ObjectIterator(b)]


def test_v1_signed_form_with_metadata_and_201(bucket: oss2.Bucket) -> None:
    document = {
        "expiration": expires_in(600),
        "conditions": [
            {"bucket": bucket.bucket_name},
            ["starts-with", "$key", "user/eric/"],
            ["content-length-range", 1, 1024],
            ["eq", "$success_action_status", "201"],
            ["in", "$content-type", ["text/plain", "image/png"]],
            ["starts-with", "$x-oss-meta-uuid", ""],
        ],
    }
    fields = {
        "key": "user/eric/${filename}",
        "success_action_status": "201",
        "Content-Type": "image/png",
        "x-oss-meta-uuid": "1234",
        "Cache-Control": "no-cache",
        **v1_fields(document),
    }
    resp = post(bucket, fields, b"\x89PNG data", filename="photo.png")
    assert resp.status_code == 201, resp.text
    answer = ET.fromstring(resp.content)
    assert answer.tag == "PostResponse"
    assert answer.findtext("Key") == "user/eric/photo.png"
    assert answer.findtext("Bucket") == bucket.bucket_name
    etag = hashlib.md5(b"\x89PNG data").hexdigest().upper()
    assert answer.findtext("ETag") == f'"{etag}"' == resp.headers["ETag"]
    head = bucket.head_object("user/eric/photo.png")
    assert head.headers["Content-Type"] == "image/png"
    assert head.headers["x-oss-meta-uuid"] == "1234"
    assert head.headers["Cache-Control"] == "no-cache"
    assert bucket.get_object("user/eric/photo.png").read() == b"\x89PNG data"


def test_v4_signed_form_with_redirect(bucket: oss2.Bucket) -> None:
    fields = {
        "key": "v4/${filename}",
        "success_action_redirect": "https://app.example.com/done?from=form",
        **v4_fields([{"bucket": bucket.bucket_name}, ["starts-with", "$key", "v4/"]], expires_in(600)),
    }
    resp = post(bucket, fields, b"v4 body", filename="x y.bin")
    assert resp.status_code == 303, resp.text
    location = urlsplit(resp.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "app.example.com", "/done")
    query = parse_qs(location.query)
    assert (
        query["from"] == ["form"]
        and query["key"] == ["v4/x y.bin"]
        and query["bucket"] == [bucket.bucket_name]
    )
    assert query["etag"] == [f'"{hashlib.md5(b"v4 body").hexdigest().upper()}"']
    assert bucket.get_object("v4/x y.bin").read() == b"v4 body"


def test_a_large_file_streams_into_place(bucket: oss2.Bucket) -> None:
    data = bytes(range(256)) * (48 << 10)  # 12 MiB
    document = {"expiration": expires_in(600), "conditions": [["content-length-range", 0, 16 << 20]]}
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    resp = post(bucket, {"key": "big.bin", "Content-MD5": md5, **v1_fields(document)}, data)
    assert resp.status_code == 204, resp.text
    assert bucket.head_object("big.bin").content_length == len(data)
    assert hashlib.md5(bucket.get_object("big.bin").read()).digest() == hashlib.md5(data).digest()


def test_unsigned_forms_need_a_public_read_write_bucket(bucket: oss2.Bucket) -> None:
    resp = post(bucket, {"key": "anon.txt"})
    assert (resp.status_code, error_code(resp)) == (403, "AccessDenied")
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    resp = post(bucket, {"key": "anon.txt", "success_action_status": "200"})
    assert resp.status_code == 200, resp.text
    assert bucket.get_object("anon.txt").read() == b"hello form"


def test_a_ram_user_may_post_only_where_its_policy_allows(
    features_server: ServerProcess, bucket: oss2.Bucket
) -> None:
    resource = f"acs:oss:*:*:{bucket.bucket_name}/uploads/*"
    _, user_auth = new_user(features_server, policy(allow("oss:PutObject", resource)))
    key_id, secret = key_of(user_auth)
    document = {"expiration": expires_in(600), "conditions": []}
    ok = post(bucket, {"key": "uploads/u.txt", **v1_fields(document, key_id, secret)})
    assert ok.status_code == 204, ok.text
    denied = post(bucket, {"key": "elsewhere/u.txt", **v1_fields(document, key_id, secret)})
    assert (denied.status_code, error_code(denied)) == (403, "AccessDenied")
    assert keys(bucket) == ["uploads/u.txt"]


def test_refused_forms_store_nothing(bucket: oss2.Bucket) -> None:
    good = {
        "expiration": expires_in(600),
        "conditions": [["starts-with", "$key", "in/"], ["content-length-range", 2, 64]],
    }
    signed = v1_fields(good)
    tampered = dict(signed, policy=encode({**good, "conditions": [["content-length-range", 0, 1 << 30]]}))
    other_secret = v1_fields(good, secret="not-the-secret")
    unknown_key = v1_fields(good, key_id="LTAInobodyhasthiskey")
    expired = v1_fields({"expiration": expires_in(-60), "conditions": []})
    status_rule = v1_fields(
        {"expiration": expires_in(600), "conditions": [["eq", "$success_action_status", "201"]]}
    )
    bad_policy = base64.b64encode(b"{nope").decode()
    bad_signature = base64.b64encode(hmac.digest(ACCESS_KEY_SECRET.encode(), bad_policy.encode(), "sha1"))
    not_json = {"OSSAccessKeyId": ACCESS_KEY_ID, "policy": bad_policy, "Signature": bad_signature.decode()}
    bad_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    cases: list[tuple[str, dict[str, str], bytes | None, int, str]] = [
        ("expired policy", {"key": "in/a", **expired}, b"ok", 403, "AccessDenied"),
        ("tampered policy", {"key": "in/a", **tampered}, b"ok", 403, "SignatureDoesNotMatch"),
        ("wrong secret", {"key": "in/a", **other_secret}, b"ok", 403, "SignatureDoesNotMatch"),
        ("unknown key", {"key": "in/a", **unknown_key}, b"ok", 403, "InvalidAccessKeyId"),
        ("key outside starts-with", {"key": "out/a", **signed}, b"ok", 403, "AccessDenied"),
        ("file over content-length-range", {"key": "in/a", **signed}, b"x" * 65, 400, "EntityTooLarge"),
        ("file under content-length-range", {"key": "in/a", **signed}, b"x", 400, "EntityTooSmall"),
        ("condition on success_action_status", {"key": "in/a", **status_rule}, b"ok", 403, "AccessDenied"),
        ("no file field", {"key": "in/a", **signed}, None, 400, "MalformedPOSTRequest"),
        ("no key field", dict(signed), b"ok", 400, "InvalidArgument"),
        ("policy not JSON", {"key": "in/a", **not_json}, b"ok", 400, "InvalidPolicyDocument"),
        (
            "signature without policy",
            {"key": "in/a", "OSSAccessKeyId": ACCESS_KEY_ID, "Signature": "x"},
            b"ok",
            403,
            "AccessDenied",
        ),
        ("wrong Content-MD5", {"key": "in/a", "Content-MD5": bad_md5, **signed}, b"ok", 400, "InvalidDigest"),
    ]
    for name, fields, content, status, code in cases:
        resp = post(bucket, fields, content)
        assert (resp.status_code, error_code(resp)) == (status, code), f"{name}: {resp.text}"
    resp = requests.post(f"{bucket.endpoint}/{bucket.bucket_name}", data=b"key=in/a", timeout=10)
    assert (resp.status_code, error_code(resp)) == (400, "MalformedPOSTRequest")
    head = "".join(
        f'--XyZ\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in {"key": "in/a", **signed}.items()
    )
    file_start = '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nhalf a fi'
    truncated = (head + file_start).encode()  # the body ends inside the file part
    resp = requests.post(
        f"{bucket.endpoint}/{bucket.bucket_name}",
        data=truncated,
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
        timeout=10,
    )
    assert (resp.status_code, error_code(resp)) == (400, "MalformedPOSTRequest")
    assert keys(bucket) == []
    # The same form with a good file goes through.
    assert post(bucket, {"key": "in/a", **signed}, b"fine").status_code == 204
    assert keys(bucket) == ["in/a"]
