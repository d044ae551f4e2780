"""Hand-made requests, signed by oss2's own signer, for cases the SDKs never send."""

from __future__ import annotations

import socket
from urllib.parse import quote

import oss2
import oss2.http

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET


def signed_headers(
    method: str,
    endpoint: str,
    bucket: str,
    key: str = "",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    secret: str = ACCESS_KEY_SECRET,
    key_id: str = ACCESS_KEY_ID,
) -> tuple[str, dict[str, str]]:
    """(url, headers) of a V1-signed request."""
    url = f"{endpoint}/{bucket}/{quote(key, safe='')}"
    req = oss2.http.Request(method, url, headers=dict(headers or {}), params=dict(params or {}))
    oss2.Auth(key_id, secret)._sign_request(req, bucket, key)
    return url, dict(req.headers)


def raw_exchange(port: int, payload: bytes, read_timeout: float = 5.0) -> bytes:
    """Send bytes as they are and return whatever the server answers before closing or timing out."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while data := s.recv(65536):
                chunks.append(data)
        except TimeoutError:
            pass
        return b"".join(chunks)


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
