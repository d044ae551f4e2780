"""gzip-compressed GETs as OSS gives them, against the real server: which requests and objects are
compressed, what the answer carries, HTTP/1.0 clients, encrypted objects, and the S3 dialect (never)."""

from __future__ import annotations

import gzip
import os
import socket
from typing import Any

import boto3
import oss2
import pytest
import requests

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

TEXT = (b"ossbox compresses what OSS compresses. " * 2000)[: 64 * 1024 + 7]


def _raw_get(url: str, accept: str | None) -> requests.Response:
    headers = {"Accept-Encoding": accept if accept is not None else "identity"}
    r = requests.get(url, headers=headers, stream=True, timeout=30)
    r.raw.decode_content = False
    return r


def test_compressed_when_oss_would(bucket: oss2.Bucket) -> None:
    bucket.put_object("page.txt", TEXT, headers={"Content-Type": "text/plain; charset=utf-8"})
    url = bucket.sign_url("GET", "page.txt", 60)
    r = _raw_get(url, "gzip, deflate")
    raw = r.raw.read()
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip" and r.headers["Vary"] == "Accept-Encoding"
    assert r.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in r.headers and "ETag" not in r.headers and "Accept-Ranges" not in r.headers
    assert gzip.decompress(raw) == TEXT and len(raw) < len(TEXT) // 10
    # The CRC-64 is the object's, which is what a decompressing client computes: oss2 checks it.
    got = bucket.get_object("page.txt", headers={"Accept-Encoding": "gzip"})
    assert got.read() == TEXT and got.content_length is None
    # The connection stays usable after a chunked answer.
    with requests.Session() as s:
        for _ in range(3):
            assert s.get(url, headers={"Accept-Encoding": "gzip"}, timeout=30).content == TEXT


@pytest.mark.parametrize(
    ("content_type", "size", "accept", "extra"),
    [
        ("application/octet-stream", 64 * 1024, "gzip", {}),  # not a web type
        ("text/plain", 1023, "gzip", {}),  # under 1 KB
        ("text/plain", 64 * 1024, None, {}),  # not asked for
        ("text/plain", 64 * 1024, "gzip;q=0, identity", {}),  # refused by the client
        ("text/plain", 64 * 1024, "gzip", {"Range": "bytes=0-99"}),  # a range of the stored bytes
    ],
)
def test_not_compressed(
    bucket: oss2.Bucket, content_type: str, size: int, accept: str | None, extra: dict
) -> None:
    body = TEXT[:size] if size <= len(TEXT) else os.urandom(size)
    bucket.put_object("o", body, headers={"Content-Type": content_type})
    headers = {"Accept-Encoding": accept or "identity", **extra}
    r = requests.get(bucket.sign_url("GET", "o", 60, headers=extra or None), headers=headers, timeout=30)
    assert r.status_code in (200, 206)
    assert "Content-Encoding" not in r.headers and "ETag" in r.headers
    assert r.content == (body[:100] if extra else body)


def test_large_and_encrypted_objects(bucket: oss2.Bucket) -> None:
    big = TEXT * 40  # ~2.6 MB, read from a blob file in slices
    bucket.put_object(
        "big.json",
        big,
        headers={"Content-Type": "application/json", "x-oss-server-side-encryption": "AES256"},
    )
    r = _raw_get(bucket.sign_url("GET", "big.json", 60), "gzip")
    assert r.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(r.raw.read()) == big


def test_http_1_0_client_gets_a_close_delimited_body(server: ServerProcess, bucket: oss2.Bucket) -> None:
    bucket.put_object("page.html", TEXT, headers={"Content-Type": "text/html"})
    url = bucket.sign_url("GET", "page.html", 60)
    path = url.split(str(server.port), 1)[1]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head and b"Transfer-Encoding" not in head
    assert b"Connection: close" in head
    assert gzip.decompress(body) == TEXT


def test_the_s3_dialect_never_compresses(server: ServerProcess, bucket: oss2.Bucket) -> None:
    bucket.put_object("s3.txt", TEXT, headers={"Content-Type": "text/plain"})
    s3: Any = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=ACCESS_KEY_SECRET,
        region_name=REGION,
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket.bucket_name, "Key": "s3.txt"})
    r = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert "Content-Encoding" not in r.headers and r.content == TEXT
