"""The object API through oss2, signed with V1 and V4 (the `bucket` fixture runs each test with both)."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import crcmod
import oss2
import pytest
import requests

from tests.conftest import new_bucket_name
from tests.server import REGION


def _reference_crc64(data: bytes) -> int:
    """CRC-64/XZ from crcmod, independent of ossbox's implementation."""
    fn = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
    return int(fn(data))


def test_put_get_roundtrip_with_crc_and_etag(bucket: oss2.Bucket) -> None:
    r = bucket.put_object("hello.txt", b"hello")
    assert r.etag == "5D41402ABC4B2A76B9719D911017C592"
    assert r.crc == _reference_crc64(b"hello")
    got = bucket.get_object("hello.txt")
    assert got.read() == b"hello"
    assert got.headers["x-oss-hash-crc64ecma"] == str(r.crc)
    assert got.headers["Server"] == "AliyunOSS"
    assert len(got.headers["x-oss-request-id"]) == 24
    assert got.content_type == "text/plain"


def test_crc64_matches_reference_value(bucket: oss2.Bucket) -> None:
    r = bucket.put_object("check", b"123456789")
    assert r.crc == 11051210869376104954
    assert bucket.put_object("empty", b"").crc == 0


def test_user_metadata_and_stored_headers(bucket: oss2.Bucket) -> None:
    headers = {
        "x-oss-meta-Color": "blue",
        "Content-Type": "application/x-test",
        "Cache-Control": "no-cache",
        "Content-Disposition": 'attachment; filename="a.bin"',
    }
    bucket.put_object("m", b"x", headers=headers)
    h = bucket.head_object("m")
    assert h.headers["x-oss-meta-color"] == "blue"
    assert h.content_type == "application/x-test"
    assert h.headers["Cache-Control"] == "no-cache"
    assert h.headers["Content-Disposition"] == 'attachment; filename="a.bin"'
    assert h.object_type == "Normal"
    assert h.headers["x-oss-storage-class"] == "Standard"


def test_response_overrides(bucket: oss2.Bucket) -> None:
    bucket.put_object("o", b"data")
    got = bucket.get_object(
        "o", params={"response-content-type": "text/csv", "response-cache-control": "max-age=1"}
    )
    assert got.headers["Content-Type"] == "text/csv"
    assert got.headers["Cache-Control"] == "max-age=1"


@pytest.mark.parametrize(
    ("rng", "expected", "status"),
    [
        ((0, 3), b"0123", 206),
        ((5, None), b"56789", 206),
        ((None, 3), b"789", 206),
        ((5, 20), b"0123456789", 200),  # end past the object: OSS ignores the range
        ((20, 30), b"0123456789", 200),
    ],
)
def test_ranges_default_behaviour(bucket: oss2.Bucket, rng: tuple, expected: bytes, status: int) -> None:
    bucket.put_object("r", b"0123456789")
    got = bucket.get_object("r", byte_range=rng)
    assert got.status == status
    assert got.read() == expected


def test_ranges_standard_behaviour(bucket: oss2.Bucket) -> None:
    bucket.put_object("r", b"0123456789")
    std = {"x-oss-range-behavior": "standard"}
    got = bucket.get_object("r", byte_range=(5, 20), headers=std)
    assert (got.status, got.read()) == (206, b"56789")
    assert got.headers["Content-Range"] == "bytes 5-9/10"
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.get_object("r", byte_range=(20, 30), headers=std)
    assert err.value.status == 416 and err.value.code == "InvalidRange"


def test_conditionals(bucket: oss2.Bucket) -> None:
    etag = bucket.put_object("c", b"abc").etag
    assert bucket.get_object("c", headers={"If-Match": f'"{etag}"'}).read() == b"abc"
    assert bucket.get_object("c", headers={"If-Match": etag}).read() == b"abc"  # unquoted, as resumable sends
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("c", headers={"If-Match": '"0000"'})
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object("c", headers={"If-None-Match": f'"{etag}"'})
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object("c", headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("c", headers={"If-Unmodified-Since": "Fri, 01 Jan 2000 00:00:00 GMT"})


def test_object_meta_and_head_errors(bucket: oss2.Bucket) -> None:
    bucket.put_object("k", b"12345")
    meta = bucket.get_object_meta("k")
    assert meta.content_length == 5 and meta.etag == "827CCB0EEA8A706C4C34A16891F84E7B"
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.head_object("missing")
    with pytest.raises(oss2.exceptions.NoSuchKey) as err:
        bucket.get_object("missing")
    assert err.value.ec == "0026-00000001"
    assert bucket.object_exists("k") and not bucket.object_exists("missing")


def test_delete_is_idempotent(bucket: oss2.Bucket) -> None:
    bucket.put_object("d", b"1")
    assert bucket.delete_object("d").status == 204
    assert bucket.delete_object("d").status == 204


def test_batch_delete(bucket: oss2.Bucket) -> None:
    for i in range(5):
        bucket.put_object(f"b/{i}", b"x")
    result = bucket.batch_delete_objects([f"b/{i}" for i in range(3)] + ["b/none"])
    assert sorted(result.deleted_keys) == ["b/0", "b/1", "b/2", "b/none"]
    assert [o.key for o in oss2.ObjectIterator(bucket)] == ["b/3", "b/4"]


def test_copy_same_and_cross_bucket(bucket: oss2.Bucket, auth: oss2.Auth) -> None:
    bucket.put_object("src", b"payload", headers={"x-oss-meta-a": "1", "Content-Type": "text/x"})
    r = bucket.copy_object(bucket.bucket_name, "src", "dst")
    assert r.etag == hashlib.md5(b"payload").hexdigest().upper()
    h = bucket.head_object("dst")
    assert h.headers["x-oss-meta-a"] == "1" and h.content_type == "text/x"
    other = oss2.Bucket(auth, bucket.endpoint, new_bucket_name(), region=REGION)
    other.create_bucket()
    try:
        other.copy_object(
            bucket.bucket_name,
            "src",
            "copied",
            headers={"x-oss-metadata-directive": "REPLACE", "x-oss-meta-b": "2"},
        )
        h2 = other.head_object("copied")
        assert h2.headers.get("x-oss-meta-b") == "2" and "x-oss-meta-a" not in h2.headers
        assert other.get_object("copied").read() == b"payload"
        other.delete_object("copied")
    finally:
        other.delete_bucket()
    # The source is independent of its copies.
    bucket.delete_object("src")
    assert bucket.get_object("dst").read() == b"payload"


def test_update_metadata_by_copy_onto_itself(bucket: oss2.Bucket) -> None:
    bucket.put_object("self", b"z", headers={"x-oss-meta-v": "1"})
    bucket.update_object_meta("self", {"x-oss-meta-v": "2", "Content-Type": "text/y"})
    h = bucket.head_object("self")
    assert h.headers["x-oss-meta-v"] == "2" and h.content_type == "text/y"
    assert bucket.get_object("self").read() == b"z"


def test_copy_missing_source(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.copy_object(bucket.bucket_name, "nothing", "dst")


def test_append(bucket: oss2.Bucket) -> None:
    r1 = bucket.append_object("ap", 0, b"hello ")
    assert r1.next_position == 6
    r2 = bucket.append_object("ap", 6, b"world", init_crc=r1.crc)
    assert r2.next_position == 11
    assert bucket.get_object("ap").read() == b"hello world"
    assert bucket.head_object("ap").object_type == "Appendable"
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as err:
        bucket.append_object("ap", 3, b"x")
    assert err.value.next_position == 11
    bucket.put_object("normal", b"n")
    with pytest.raises(oss2.exceptions.ObjectNotAppendable):
        bucket.append_object("normal", 1, b"x")


def test_object_acl(bucket: oss2.Bucket) -> None:
    bucket.put_object("acl", b"a")
    assert bucket.get_object_acl("acl").acl == "default"
    bucket.put_object_acl("acl", oss2.OBJECT_ACL_PUBLIC_READ)
    assert bucket.get_object_acl("acl").acl == "public-read"
    anon = oss2.Bucket(oss2.AnonymousAuth(), bucket.endpoint, bucket.bucket_name)
    assert anon.get_object("acl").read() == b"a"
    bucket.put_object("private", b"p")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anon.get_object("private")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anon.put_object("new", b"x")


def test_presigned_urls(bucket: oss2.Bucket) -> None:
    bucket.put_object("p/ré sumé.txt", b"signed")
    url = bucket.sign_url("GET", "p/ré sumé.txt", 60)
    assert requests.get(url, timeout=10).content == b"signed"
    put_url = bucket.sign_url("PUT", "p/up", 60)
    assert requests.put(put_url, data=b"via url", timeout=10).status_code == 200
    assert bucket.get_object("p/up").read() == b"via url"
    tampered = url.replace("%20sum", "%20sam")
    assert tampered != url
    assert requests.get(tampered, timeout=10).status_code == 403


def test_presigned_put_without_content_type_is_octet_stream(bucket: oss2.Bucket) -> None:
    """The server never guesses a type from the key: SDKs do that client-side, as OSS expects."""
    url = bucket.sign_url("PUT", "photo.jpg", 60)
    assert requests.put(url, data=b"\xff\xd8", timeout=10).status_code == 200
    assert bucket.head_object("photo.jpg").content_type == "application/octet-stream"


def test_upload_callback_answers_203_and_keeps_the_object(bucket: oss2.Bucket) -> None:
    """A callback URL nothing listens on (tests/test_callbacks.py has a listening one)."""
    config = {"callbackUrl": "http://127.0.0.1:9/never-called", "callbackBody": "bucket=${bucket}"}
    callback = base64.b64encode(json.dumps(config).encode()).decode()
    r = bucket.put_object("cb", b"data", headers={"x-oss-callback": callback})
    assert r.status == 203 and b"<Code>CallbackFailed</Code>" in r.resp.read()
    assert r.etag == hashlib.md5(b"data").hexdigest().upper()
    assert bucket.get_object("cb").read() == b"data"
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.put_object("cb-bad", b"data", headers={"x-oss-callback": "not base64 json"})
    assert (err.value.status, err.value.code) == (400, "InvalidArgument")
    assert not bucket.object_exists("cb-bad")


def test_chunked_upload(bucket: oss2.Bucket) -> None:
    def gen():  # a generator body is sent with Transfer-Encoding: chunked
        for i in range(10):
            yield bytes([65 + i]) * 1000

    bucket.put_object("chunked", gen())
    assert bucket.get_object("chunked").read() == b"".join(bytes([65 + i]) * 1000 for i in range(10))


def test_content_md5_checked(bucket: oss2.Bucket) -> None:
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    bucket.put_object("md5", b"data", headers={"Content-MD5": good})
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.put_object("md5bad", b"data", headers={"Content-MD5": bad})
    assert err.value.code == "InvalidDigest"
    assert not bucket.object_exists("md5bad")


def test_forbid_overwrite(bucket: oss2.Bucket) -> None:
    bucket.put_object("once", b"1")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.put_object("once", b"2", headers={"x-oss-forbid-overwrite": "true"})
    assert err.value.code == "FileAlreadyExists"
    assert bucket.get_object("once").read() == b"1"


HOSTILE_KEYS = [
    "../x",
    "../../etc/passwd",
    "a//b",
    "a b c",
    "100%",
    "%2F%2e%2e",
    "中文/文件名.txt",
    "emoji 😀",
    "q?x=1&y=2#frag",
    "trailing/",
    "x" * 1023,
    "é" * 511,
    "tab\tnewline\n",
    "+plus+",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
def test_hostile_keys_round_trip(bucket: oss2.Bucket, key: str) -> None:
    bucket.put_object(key, key.encode())
    assert bucket.get_object(key).read() == key.encode()
    listed = [o.key for o in oss2.ObjectIterator(bucket)]
    assert listed == [key]
    bucket.delete_object(key)
    assert not bucket.object_exists(key)


@pytest.mark.parametrize("key", ["x" * 1024, "é" * 512, "/leading", "\\leading", "nul\x00byte"])
def test_invalid_keys_are_refused(v1_bucket: oss2.Bucket, key: str) -> None:
    with pytest.raises((oss2.exceptions.ServerError, oss2.exceptions.ClientError)) as err:
        v1_bucket.put_object(key, b"x")
    if isinstance(err.value, oss2.exceptions.ServerError):
        assert err.value.code == "InvalidObjectName"
    assert [o.key for o in oss2.ObjectIterator(v1_bucket)] == []


def test_zero_byte_object(bucket: oss2.Bucket) -> None:
    r = bucket.put_object("zero", b"")
    assert r.etag == "D41D8CD98F00B204E9800998ECF8427E"
    got = bucket.get_object("zero")
    assert got.read() == b"" and got.content_length == 0
    assert bucket.get_object("zero", byte_range=(0, 0)).read() == b""


def test_large_object_streams(bucket: oss2.Bucket) -> None:
    data = bytes(range(256)) * (24 * 1024 + 7)  # ~6 MiB, not a multiple of any buffer size
    r = bucket.put_object("big", io.BytesIO(data))
    assert r.etag == hashlib.md5(data).hexdigest().upper()
    assert bucket.get_object("big").read() == data
    assert (
        bucket.get_object("big", byte_range=(1 << 20, (3 << 20) + 5)).read() == data[1 << 20 : (3 << 20) + 6]
    )
