"""Bad input gets a clear error and loses nothing: XML, digests, truncated bodies, vanishing clients."""

from __future__ import annotations

import base64
import hashlib
import socket
import time
from pathlib import Path

import oss2
import pytest
import requests

from tests.rawhttp import raw_exchange, request_head, signed_headers
from tests.server import ServerProcess


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><Key>a</Key></Object>",  # unclosed
        b"not xml at all",
        b"<Wrong><Object><Key>a</Key></Object></Wrong>",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<Delete><Object><Key>&b;</Key></Object></Delete>",
    ],
    ids=["unclosed", "text", "wrong-root", "empty", "entities"],
)
def test_malformed_delete_xml(server: ServerProcess, v1_bucket: oss2.Bucket, body: bytes) -> None:
    v1_bucket.put_object("keep", b"x")
    url, headers = signed_headers(
        "POST", server.endpoint, v1_bucket.bucket_name, "", {"Content-MD5": _md5(body)}, {"delete": ""}
    )
    r = requests.post(url + "?delete", data=body, headers=headers, timeout=10)
    assert r.status_code == 400 and b"<Code>MalformedXML</Code>" in r.content
    assert v1_bucket.object_exists("keep")


def test_malformed_complete_xml(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    upload_id = v1_bucket.init_multipart_upload("k").upload_id
    params = {"uploadId": upload_id}
    body = b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>"
    url, headers = signed_headers("POST", server.endpoint, v1_bucket.bucket_name, "k", {}, params)
    r = requests.post(url, params=params, data=body, headers=headers, timeout=10)
    assert r.status_code == 400 and b"<Code>MalformedXML</Code>" in r.content
    v1_bucket.abort_multipart_upload("k", upload_id)


def test_delete_multiple_needs_content_md5(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    body = b"<Delete><Object><Key>a</Key></Object></Delete>"
    url, headers = signed_headers("POST", server.endpoint, v1_bucket.bucket_name, "", {}, {"delete": ""})
    r = requests.post(url + "?delete", data=body, headers=headers, timeout=10)
    assert r.status_code == 400


def _tmp_files(server: ServerProcess) -> list[Path]:
    return list((server.data_dir / "tmp").iterdir())


def _wait_no_tmp(server: ServerProcess, before: list[Path]) -> None:
    """The temporary files made since `before` are gone. (The session's server is shared: other writers,
    such as a delivery task an earlier test left running, keep making and publishing temporary files of
    their own; so this waits for the files seen now to go, not for a moment with none at all.)"""
    deadline = time.monotonic() + 10
    waiting = {p for p in _tmp_files(server) if p not in before}
    while waiting and time.monotonic() < deadline:
        time.sleep(0.05)
        waiting &= set(_tmp_files(server))
    assert waiting == set()


def test_truncated_body_leaves_nothing(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    key = "truncated"
    url, headers = signed_headers(
        "PUT", server.endpoint, v1_bucket.bucket_name, key, {"Content-Length": "100000"}
    )
    path = url.split(str(server.port), 1)[1]
    headers["Host"] = f"127.0.0.1:{server.port}"
    before = _tmp_files(server)
    raw_exchange(server.port, request_head("PUT", path, headers) + b"x" * 50_000, read_timeout=1)
    _wait_no_tmp(server, before)
    assert not v1_bucket.object_exists(key)
    assert v1_bucket.put_object(key, b"after").status == 200


def test_client_vanishes_mid_upload(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    key = "vanish"
    v1_bucket.put_object(key, b"old version")
    size = 64 << 20
    url, headers = signed_headers(
        "PUT", server.endpoint, v1_bucket.bucket_name, key, {"Content-Length": str(size)}
    )
    path = url.split(str(server.port), 1)[1]
    headers["Host"] = f"127.0.0.1:{server.port}"
    before = _tmp_files(server)
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(request_head("PUT", path, headers))
        for _ in range(20):
            s.sendall(b"y" * (1 << 20))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    _wait_no_tmp(server, before)
    assert v1_bucket.get_object(key).read() == b"old version"


def test_wrong_content_length_chunked_mix(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    url, headers = signed_headers("PUT", server.endpoint, v1_bucket.bucket_name, "cl")
    path = url.split(str(server.port), 1)[1]
    headers.update(
        {"Host": f"127.0.0.1:{server.port}", "Content-Length": "5", "Transfer-Encoding": "chunked"}
    )
    answer = raw_exchange(server.port, request_head("PUT", path, headers) + b"5\r\nhello\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") or answer == b""
    assert not v1_bucket.object_exists("cl")


def test_garbage_request_line(server: ServerProcess) -> None:
    answer = raw_exchange(server.port, b"\x00\x01\x02 nonsense\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")


def test_expect_continue_refused_before_body(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    """A request with a bad signature is answered before the client sends its body."""
    url, headers = signed_headers(
        "PUT", server.endpoint, v1_bucket.bucket_name, "ec", {"Content-Length": str(1 << 30)}, secret="bad"
    )
    path = url.split(str(server.port), 1)[1]
    headers.update({"Host": f"127.0.0.1:{server.port}", "Expect": "100-continue"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(request_head("PUT", path, headers))
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 403")
    assert not v1_bucket.object_exists("ec")


def test_get_with_content_length_but_no_body_is_answered(
    server: ServerProcess, v1_bucket: oss2.Bucket
) -> None:
    """oss2 sends `Content-Length: 9` on a GET when told to sign it, and then no body."""
    v1_bucket.put_object("k", b"Hello OSS")
    url = v1_bucket.sign_url("GET", "k", 60)
    path = url[len(server.endpoint) :]
    head = request_head("GET", path, {"Host": f"127.0.0.1:{server.port}", "Content-Length": "9"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(head)  # and keep the connection open without sending the promised bytes
        answer = b""
        started = time.monotonic()
        while b"Hello OSS" not in answer and (chunk := s.recv(65536)):
            answer += chunk
        assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"Hello OSS")
    assert b"Connection: close" in answer


def test_batch_delete_with_raw_control_characters(v1_bucket: oss2.Bucket) -> None:
    """oss2 writes control characters unescaped into the DeleteMultipleObjects body; OSS accepts them."""
    keys = ["ctl-\x0c-\x01-\x1f", "plain"]
    for key in keys:
        v1_bucket.put_object(key, b"x")
    result = v1_bucket.batch_delete_objects(keys)
    assert sorted(result.deleted_keys) == sorted(keys)
    assert not any(v1_bucket.object_exists(k) for k in keys)
