"""Signatures, clock skew, expiry and anonymous access, and that secrets never leak."""

from __future__ import annotations

import time

import oss2
import pytest
import requests

from tests.conftest import new_bucket_name
from tests.rawhttp import signed_headers
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


def test_wrong_secret_v1_and_v4(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    for auth in (oss2.Auth(ACCESS_KEY_ID, "not-the-secret"), oss2.AuthV4(ACCESS_KEY_ID, "not-the-secret")):
        b = oss2.Bucket(auth, server.endpoint, v1_bucket.bucket_name, region=REGION)
        with pytest.raises(oss2.exceptions.ServerError) as err:
            b.put_object("k", b"v")
        assert (err.value.status, err.value.code) == (403, "SignatureDoesNotMatch")
        assert err.value.ec
        assert ACCESS_KEY_SECRET not in str(err.value.body)


def test_string_to_sign_in_error_body(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    url, headers = signed_headers("GET", server.endpoint, v1_bucket.bucket_name, "k", secret="bad")
    r = requests.get(url, headers=headers, timeout=10)
    assert r.status_code == 403
    assert b"<StringToSign>GET\n" in r.content
    assert r.headers["x-oss-ec"] and r.headers["Content-Type"] == "application/xml"
    assert ACCESS_KEY_SECRET.encode() not in r.content


def test_unknown_access_key(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    b = oss2.Bucket(oss2.Auth("LTAInobody", "x"), server.endpoint, v1_bucket.bucket_name)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_bucket_acl()
    assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")


def test_clock_skew(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    url, headers = signed_headers("GET", server.endpoint, v1_bucket.bucket_name, "k")
    headers["date"] = "Mon, 01 Jan 2001 00:00:00 GMT"
    r = requests.get(url, headers=headers, timeout=10)
    assert r.status_code == 403 and b"<Code>RequestTimeTooSkewed</Code>" in r.content


def test_v4_wrong_region(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    b = oss2.Bucket(
        oss2.AuthV4(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        server.endpoint,
        v1_bucket.bucket_name,
        region="cn-shanghai",
    )
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_bucket_acl()
    assert err.value.status == 400 and err.value.code == "InvalidArgument"
    assert "Invalid signing region" in err.value.message


def test_expired_presigned_url(v1_bucket: oss2.Bucket) -> None:
    v1_bucket.put_object("e", b"x")
    url = v1_bucket.sign_url("GET", "e", 1)
    time.sleep(2.2)
    r = requests.get(url, timeout=10)
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content


def test_anonymous_access_follows_bucket_acl(server: ServerProcess) -> None:
    owner = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name())
    owner.create_bucket(oss2.BUCKET_ACL_PRIVATE)
    anon = oss2.Bucket(oss2.AnonymousAuth(), server.endpoint, owner.bucket_name)
    try:
        owner.put_object("o", b"data")
        with pytest.raises(oss2.exceptions.AccessDenied):
            anon.get_object("o")
        with pytest.raises(oss2.exceptions.AccessDenied):
            anon.list_objects()
        owner.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
        assert anon.get_object("o").read() == b"data"
        assert [o.key for o in anon.list_objects().object_list] == ["o"]
        with pytest.raises(oss2.exceptions.AccessDenied):
            anon.put_object("new", b"x")
        with pytest.raises(oss2.exceptions.AccessDenied):
            anon.get_bucket_acl()
        owner.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
        anon.put_object("new", b"x")
        assert owner.get_object("new").read() == b"x"
        with pytest.raises(oss2.exceptions.AccessDenied):
            oss2.Service(oss2.AnonymousAuth(), server.endpoint).list_buckets()
    finally:
        owner.batch_delete_objects(["o", "new"])
        owner.delete_bucket()


def test_secrets_never_logged(server: ServerProcess) -> None:
    assert ACCESS_KEY_SECRET not in server.log()


def test_v4_wrong_region_error_center_code(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    b = oss2.Bucket(
        oss2.AuthV4(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        server.endpoint,
        v1_bucket.bucket_name,
        region="cn-hangzhou-test-1",
    )
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("k")
    assert err.value.ec == "0002-00000226"


def test_v4_presigned_url_without_region_is_refused(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    no_region = oss2.Bucket(
        oss2.AuthV4(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, v1_bucket.bucket_name
    )
    url = no_region.sign_url("PUT", "k", 60)
    assert "%2F%2Foss%2Faliyun_v4_request" in url
    r = requests.put(url, data=b"x", timeout=10)
    assert r.status_code == 400
    assert b"<Message>The signing region in credential is invalid.</Message>" in r.content
    assert not v1_bucket.object_exists("k")


def test_v2_header_clock_skew(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    b = oss2.Bucket(oss2.AuthV2(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, v1_bucket.bucket_name)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("k", headers={"x-oss-date": oss2.utils.http_date(int(time.time()) - 86400)})
    assert (err.value.status, err.value.code) == (403, "RequestTimeTooSkewed")


def test_v2_presigned_urls_with_additional_headers(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    b = oss2.Bucket(oss2.AuthV2(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, v1_bucket.bucket_name)
    headers = {"Content-Length": "9", "custom-header": "abc"}
    extra = {"content-length", "custom-header"}
    put_url = b.sign_url("PUT", "dir/v2.txt", 600, headers=headers, additional_headers=extra)
    assert "x-oss-additional-headers=" in put_url
    b.put_object_with_url(put_url, "Hello OSS", headers=headers)
    get_url = b.sign_url("GET", "dir/v2.txt", 600, headers=headers, additional_headers=extra)
    assert b.get_object_with_url(get_url, headers=headers).read() == b"Hello OSS"
    # The additional header is part of the signature: another value does not match.
    r = requests.get(get_url, headers={"custom-header": "abd", "Content-Length": "9"}, timeout=10)
    assert (r.status_code, r.headers["x-oss-ec"]) == (403, "0002-00000040")
    # A query parameter added after signing changes the V2 string to sign (V1 would ignore it).
    r = requests.get(
        get_url + "&extra=1", headers={"custom-header": "abc", "Content-Length": "9"}, timeout=10
    )
    assert r.status_code == 403


def test_v1_and_v2_presigned_urls_far_in_the_future(v1_bucket: oss2.Bucket, server: ServerProcess) -> None:
    v1_bucket.put_object("far", b"future")
    v2 = oss2.Bucket(oss2.AuthV2(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, v1_bucket.bucket_name)
    for b in (v1_bucket, v2):
        url = b.sign_url("GET", "far", 1650801600)  # expires around 2078
        assert requests.get(url, timeout=10).content == b"future"
