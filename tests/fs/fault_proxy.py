"""A loopback HTTP/1.1 proxy in front of the real server that can fail or stall chosen requests.

Requests are read and relayed one at a time per connection (keep-alive preserved), so a rule sees each
request's method and target. Actions: None (relay), "error" (answer 500 InternalError without relaying),
"reset" (drop the connection), "stall" (hold the request until the proxy stops).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

Rule = Callable[[str, str], str | None]


def _read_head(f: Any) -> bytes:
    lines = []
    while True:
        line = f.readline(65537)
        if not line:
            return b""
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def _headers(head: bytes) -> dict[str, str]:
    out = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            out[k.decode().strip().lower()] = v.decode().strip()
    return out


def _relay_body(src: Any, dst: Any, headers: dict[str, str], has_body: bool) -> None:
    if not has_body:
        return
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = src.readline()
            dst.sendall(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    t = src.readline()
                    dst.sendall(t)
                    if t in (b"\r\n", b"\n", b""):
                        return
            dst.sendall(src.read(size + 2))
    remaining = int(headers.get("content-length", "0"))
    while remaining > 0:
        chunk = src.read(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionError("peer closed mid-body")
        dst.sendall(chunk)
        remaining -= len(chunk)


class FaultProxy:
    def __init__(self, upstream_port: int, rule: Rule) -> None:
        self.upstream_port = upstream_port
        self.rule = rule
        self.requests: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    c.close()
        for t in self._threads:
            t.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            with self._lock:
                self._conns.append(client)
                self._threads.append(t)
            t.start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        with self._lock:
            self._conns.append(upstream)
        cin = client.makefile("rb")
        uin = upstream.makefile("rb")
        try:
            while not self._stop.is_set():
                head = _read_head(cin)
                if not head:
                    return
                method, target = head.split(b" ", 2)[:2]
                m, t = method.decode(), target.decode()
                with self._lock:
                    self.requests.append((m, t))
                action = self.rule(m, t)
                headers = _headers(head)
                if action == "reset":
                    client.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    return
                if action == "stall":
                    self._stop.wait()
                    return
                if action == "error":
                    _relay_body(cin, _Sink(), headers, True)
                    body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code></Error>"
                    client.sendall(
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
                        b"x-oss-request-id: 000000000000000000000000\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    continue
                upstream.sendall(head)
                _relay_body(cin, upstream, headers, True)
                rhead = _read_head(uin)
                if not rhead:
                    return
                client.sendall(rhead)
                status = int(rhead.split(b" ", 2)[1])
                has_body = m != "HEAD" and status not in (204, 304) and status >= 200
                _relay_body(uin, client, _headers(rhead), has_body)
        except (OSError, ValueError):
            return
        finally:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()


class _Sink:
    """Discards what it is sent (used to swallow a request body)."""

    def sendall(self, data: bytes) -> None:
        return None
