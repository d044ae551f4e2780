"""Bad S3 requests get S3's error and lose nothing: signatures, regions, clocks, payload hashes,
checksums (headers and trailers), signed chunks, truncated bodies, 100-continue."""

from __future__ import annotations

import base64
import hashlib
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
import requests

from ossbox.protocol.s3 import sigv4
from tests.s3.conftest import s3_client
from tests.s3.signed import send, sign
from tests.server import ACCESS_KEY_SECRET, ServerProcess, free_port


def _absent(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except botocore.exceptions.ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def test_wrong_secret_and_unknown_key(server: ServerProcess, bucket: str) -> None:
    r = send("GET", f"{server.endpoint}/{bucket}/k", secret="not-the-secret")
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content
    assert b"<StringToSign>" in r.content and ACCESS_KEY_SECRET.encode() not in r.content
    assert r.headers["x-amz-request-id"]
    r = send("GET", f"{server.endpoint}/{bucket}/k", key_id="AKIDNOSUCHKEY")
    assert r.status_code == 403 and b"<Code>InvalidAccessKeyId</Code>" in r.content


def test_wrong_region_names_the_right_one(server: ServerProcess, bucket: str) -> None:
    r = send("GET", f"{server.endpoint}/{bucket}", region="eu-west-1")
    assert r.status_code == 400 and b"<Code>AuthorizationHeaderMalformed</Code>" in r.content
    assert b"<Region>cn-hangzhou</Region>" in r.content


def test_clock_skew(server: ServerProcess, bucket: str) -> None:
    url, headers = sign("GET", f"{server.endpoint}/{bucket}")
    headers["X-Amz-Date"] = "20200101T000000Z"
    headers["Authorization"] = headers["Authorization"].replace(
        headers["Authorization"][28:36], "20200101", 1
    )
    r = requests.get(url, headers=headers, timeout=10)
    assert r.status_code == 403 and b"<Code>RequestTimeTooSkewed</Code>" in r.content


@pytest.mark.parametrize("size", [100, 300 << 10], ids=["inline", "file"])
def test_payload_hash_mismatch_stores_nothing(server: ServerProcess, s3: Any, bucket: str, size: int) -> None:
    body = b"x" * size
    r = send("PUT", f"{server.endpoint}/{bucket}/h", body, payload_hash=hashlib.sha256(b"other").hexdigest())
    assert r.status_code == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in r.content
    assert _absent(s3, bucket, "h")


@pytest.mark.parametrize("size", [100, 300 << 10], ids=["inline", "file"])
def test_checksum_header_mismatch_stores_nothing(
    server: ServerProcess, s3: Any, bucket: str, size: int
) -> None:
    body = b"y" * size
    wrong = base64.b64encode((zlib.crc32(body) ^ 1).to_bytes(4, "big")).decode()
    r = send("PUT", f"{server.endpoint}/{bucket}/c", body, headers={"x-amz-checksum-crc32": wrong})
    assert r.status_code == 400 and b"<Code>BadDigest</Code>" in r.content
    assert _absent(s3, bucket, "c")
    r = send("PUT", f"{server.endpoint}/{bucket}/c", body, headers={"x-amz-checksum-crc32": "not base64!"})
    assert r.status_code == 400 and b"<Code>InvalidRequest</Code>" in r.content
    r = send(
        "PUT",
        f"{server.endpoint}/{bucket}/c",
        body,
        headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()},
    )
    assert r.status_code == 400 and b"<Code>BadDigest</Code>" in r.content
    assert _absent(s3, bucket, "c")


def _streaming_put(
    server: ServerProcess, bucket: str, key: str, chunks: list[bytes], tamper: bool = False, cut: int = 0
) -> requests.Response:
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload: the request signature seeds the chunk signatures."""
    total = sum(len(c) for c in chunks)
    url, headers = sign(
        "PUT",
        f"{server.endpoint}/{bucket}/{key}",
        headers={"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(total)},
        payload_hash=sigv4.STREAMING_SIGNED,
    )
    auth = sigv4.parse_authorization(headers["Authorization"])
    _access_key, date, region, _, _ = auth["Credential"].split("/")
    key_bytes = sigv4.signing_key(ACCESS_KEY_SECRET, date, region)
    signer_scope = sigv4.scope(date, region)
    previous = auth["Signature"]
    body = b""
    for chunk in [*chunks, b""]:
        digest = hashlib.sha256(chunk).hexdigest()
        sig = sigv4.signature(
            key_bytes, sigv4.chunk_string_to_sign(headers["X-Amz-Date"], signer_scope, previous, digest)
        )
        previous = sig
        data = chunk.replace(b"a", b"b", 1) if tamper and chunk else chunk
        body += f"{len(chunk):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
    if cut:
        body = body[:-cut]
    headers["Content-Length"] = str(len(body))
    return requests.put(url, data=body, headers=headers, timeout=30)


def test_signed_chunks(server: ServerProcess, s3: Any, bucket: str) -> None:
    chunks = [b"a" * 65536, b"a" * 70000, b"a" * 10]
    assert _streaming_put(server, bucket, "ok", chunks).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="ok")["Body"].read() == b"".join(chunks)
    r = _streaming_put(server, bucket, "tampered", chunks, tamper=True)
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content
    assert _absent(s3, bucket, "tampered")
    r = _streaming_put(server, bucket, "short", chunks, cut=30)
    assert r.status_code == 400 and b"<Code>IncompleteBody</Code>" in r.content
    assert _absent(s3, bucket, "short")


def _trailer_put(
    server: ServerProcess, bucket: str, key: str, data: bytes, checksum: str
) -> requests.Response:
    body = (
        f"{len(data):x}\r\n".encode()
        + data
        + b"\r\n0\r\n"
        + f"x-amz-checksum-crc32:{checksum}\r\n\r\n".encode()
    )
    url, headers = sign(
        "PUT",
        f"{server.endpoint}/{bucket}/{key}",
        headers={
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32",
        },
        payload_hash=sigv4.STREAMING_UNSIGNED_TRAILER,
    )
    return requests.put(url, data=body, headers=headers, timeout=30)


def test_unsigned_trailer_checksum(server: ServerProcess, s3: Any, bucket: str) -> None:
    data = b"trailer body" * 1000
    good = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert _trailer_put(server, bucket, "t", data, good).status_code == 200
    head = s3.head_object(Bucket=bucket, Key="t", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == good
    bad = base64.b64encode((zlib.crc32(data) ^ 7).to_bytes(4, "big")).decode()
    r = _trailer_put(server, bucket, "t2", data, bad)
    assert r.status_code == 400 and b"<Code>BadDigest</Code>" in r.content
    assert _absent(s3, bucket, "t2")


@pytest.fixture
def tls_s3(tmp_path: Path) -> Iterator[Any]:
    """boto3 on a server of its own that speaks HTTPS (its development certificate, trusted)."""
    srv = ServerProcess(tmp_path / "data", free_port(), extra_args=("--tls-dev",)).start()
    try:
        ca = tmp_path / "data" / "certs" / "ca.crt"
        yield s3_client(f"https://localhost:{srv.port}", verify=str(ca))
    finally:
        srv.stop()


def test_boto3_trailers_over_tls(tls_s3: Any) -> None:
    """Over https boto3 streams aws-chunked bodies with its default CRC32 as a trailer."""
    bucket = "tls-trailers"
    tls_s3.create_bucket(Bucket=bucket)
    body = b"over tls " * 50000
    put = tls_s3.put_object(Bucket=bucket, Key="tls", Body=body)
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == crc
    got = tls_s3.get_object(Bucket=bucket, Key="tls")
    assert got["Body"].read() == body and got["ChecksumCRC32"] == crc
    uid = tls_s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="CRC32C")["UploadId"]
    part = tls_s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=body, ChecksumAlgorithm="CRC32C"
    )
    tls_s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=uid,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32C": part["ChecksumCRC32C"]}]
        },
    )
    assert tls_s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == body


def _head_only(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head)
        return s.recv(65536)


def test_expect_100_continue(server: ServerProcess, bucket: str) -> None:
    body = b"z" * 1000
    url, headers = sign("PUT", f"{server.endpoint}/{bucket}/e", body, headers={"Expect": "100-continue"})
    path = url.split(str(server.port), 1)[1]
    lines = [f"PUT {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    # The verdict on the headers comes before the body is sent: 100 Continue for a good signature...
    assert _head_only(server.port, head).startswith(b"HTTP/1.1 100 Continue")
    # ... and the error itself, without 100, for a bad one.
    bad = head.replace(headers["Authorization"].encode(), headers["Authorization"][:-4].encode() + b"0000")
    assert _head_only(server.port, bad).startswith(b"HTTP/1.1 403")
