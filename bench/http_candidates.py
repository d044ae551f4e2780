#!/usr/bin/env python3
"""Measure HTTP server candidates for ossbox on this machine (decision record: docs/http-server.md).

Candidates, all serving the same handler logic (defined once in this file):
  raw      our own asyncio.Protocol on httptools + uvloop (RawHTTP below, ~150 lines), a write() per response
  raw-batch  the same protocol, but responses are buffered and flushed once per event-loop iteration
  rsgi     granian --interface rsgi --workers 1 --loop uvloop
  asgi     granian --interface asgi --workers 1 --loop uvloop
  uvicorn  uvicorn --http httptools --loop uvloop

Each server runs pinned with `taskset -c 0` on 127.0.0.1; the client (wrk, curl) runs with `taskset -c 1`.
Workloads: hello GET; realistic 4 KiB GET (SQLite WAL lookup in 100k rows + 4 KiB file read + ~9 headers);
realistic 4 KiB PUT (MD5 + write a new file, no fsync + SQLite upsert + ETag); 256 MiB GET and PUT with
curl (best of 3). Small workloads run `wrk -t1 -c32 -d6s`, interleaved across candidates (order reversed
every other round), best of --rounds; the server's CPU time per request (all its processes and threads, from
/proc) is reported too, being less sensitive than req/s to the noise of a shared machine.

Usage:
  python bench/http_candidates.py                 # benchmark (about 5 minutes)
  python bench/http_candidates.py --findings      # functional probes (raw sockets) against every candidate
Requires wrk and curl: `apt-get update && apt-get install -y wrk curl`.
The script also serves as the app module: granian/uvicorn import `http_candidates:rsgi_app` / `:asgi_app`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import email.utils
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import httptools

HERE = os.path.dirname(os.path.abspath(__file__))
BIG_SIZE = 256 << 20
CHUNK = 1 << 20
N_ROWS = 100_000
N_FILES = 1000
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# ----------------------------------------------------------------------------------------------------------
# Shared handler logic: every candidate calls exactly these functions.
# ----------------------------------------------------------------------------------------------------------
SELECT = "SELECT size, etag, crc64, mtime, path FROM objects WHERE key = ?"
UPSERT = (
    "INSERT INTO objects(key, size, etag, crc64, mtime, path) VALUES (?, ?, ?, NULL, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET size=excluded.size, etag=excluded.etag, crc64=excluded.crc64, "
    "mtime=excluded.mtime, path=excluded.path"
)


class Store:
    def __init__(self, root: str) -> None:
        self.root = root
        self.db = sqlite3.connect(
            os.path.join(root, "meta.db"), isolation_level=None, check_same_thread=False
        )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.put_dir = os.path.join(root, "put")
        self.big = os.environ.get("HTTPBENCH_BIG", "")
        self.big_put = os.path.join(root, "big-put.bin")
        self.pid = os.getpid()
        self.seq = 0

    def request_id(self) -> str:
        self.seq += 1
        return f"{self.pid:08X}{self.seq:016X}"


_store: Store | None = None


def store() -> Store:
    global _store
    if _store is None:
        _store = Store(os.environ["HTTPBENCH_ROOT"])
    return _store


HELLO = (200, [("content-type", "text/plain")], b"Hello, world!")


def http_date(ts: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts))


def handle_get(key: str) -> tuple[int, list[tuple[str, str]], bytes]:
    s = store()
    row = s.db.execute(SELECT, (key,)).fetchone() if KEY_RE.match(key) else None
    if row is None:
        return 404, [("content-type", "application/xml")], b"<Error><Code>NoSuchKey</Code></Error>"
    _size, etag, crc64, mtime, path = row
    with open(path, "rb") as f:
        body = f.read()
    headers = [
        ("content-type", "application/octet-stream"),
        ("etag", f'"{etag}"'),
        ("last-modified", http_date(mtime)),
        ("accept-ranges", "bytes"),
        ("x-oss-request-id", s.request_id()),
        ("x-oss-object-type", "Normal"),
        ("x-oss-storage-class", "Standard"),
        ("x-oss-hash-crc64ecma", crc64 or "0"),
        ("x-oss-server-time", "0"),
    ]
    return 200, headers, body


def handle_put(key: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    s = store()
    if not KEY_RE.match(key):
        return 400, [("content-type", "application/xml")], b"<Error><Code>InvalidObjectName</Code></Error>"
    etag = hashlib.md5(body).hexdigest().upper()
    rid = s.request_id()
    path = f"{s.put_dir}/{key}.{rid}"
    with open(path, "xb") as f:  # a new file each time, no fsync (the old version's file is left behind)
        f.write(body)
    s.db.execute(UPSERT, (key, len(body), etag, time.time(), path))
    return 200, [("etag", f'"{etag}"'), ("x-oss-request-id", rid), ("x-oss-hash-crc64ecma", "0")], b""


def big_get_headers() -> list[tuple[str, str]]:
    return [
        ("content-type", "application/octet-stream"),
        ("content-length", str(os.path.getsize(store().big))),
    ]


def big_put_open():
    return open(store().big_put, "wb")


def echo(server, path, raw_path, query, headers, extra=None) -> tuple[int, list[tuple[str, str]], bytes]:
    """Functional probes: report what the server handed to the application."""
    r = lambda v: None if v is None else repr(v)  # noqa: E731
    doc = {
        "server": server,
        "path": r(path),
        "raw_path": r(raw_path),
        "query": r(query),
        "headers": [[r(k), r(v)] for k, v in headers],
        "extra": extra or {},
    }
    return 200, [("content-type", "application/json")], json.dumps(doc).encode()


def reject_expect() -> tuple[int, list[tuple[str, str]], bytes]:
    return 403, [("content-type", "application/xml")], b"<Error><Code>AccessDenied</Code></Error>"


# ----------------------------------------------------------------------------------------------------------
# Candidate (a): raw asyncio Protocol + httptools + uvloop, HTTP/1.1 keep-alive, pipelining, 100-continue.
# ----------------------------------------------------------------------------------------------------------
REASONS = {
    200: b"OK",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    500: b"Internal Server Error",
}
_date = [0, b""]


def date_header() -> bytes:
    now = int(time.time())
    if _date[0] != now:
        _date[0], _date[1] = now, email.utils.formatdate(now, usegmt=True).encode()
    return _date[1]


_dirty: list[RawHTTP] = []  # raw-batch: connections with buffered responses


def _flush_dirty() -> None:
    dirty = _dirty[:]
    _dirty.clear()
    for proto in dirty:
        proto.flush()


class RawHTTP(asyncio.Protocol):
    batch = False  # raw-batch: coalesce responses, flush once per loop iteration (fewer client wake-ups)

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.t = None
        self.queue: collections.deque = collections.deque()
        self.busy = self.paused = False
        self.drain: asyncio.Future | None = None
        self.task: asyncio.Future | None = None
        self.out: list[bytes] = []
        self.url, self.headers, self.body, self.sink, self.skip = b"", [], [], None, False

    def connection_made(self, transport) -> None:
        self.t = transport
        transport.set_write_buffer_limits(high=4 << 20)

    def connection_lost(self, exc) -> None:
        self.t, self.out = None, []
        if self.sink:
            self.sink.close()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.drain and not self.drain.done():
            self.drain.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.respond(400, [], b"upgrade not supported\n", False)
        except httptools.HttpParserError:
            self.respond(400, [], b"bad request\n", False)

    def on_message_begin(self) -> None:
        self.url, self.headers, self.body, self.sink, self.skip = b"", [], [], None, False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        method, path = self.parser.get_method(), httptools.parse_url(self.url).path
        if (b"expect", b"100-continue") in ((k, v.lower()) for k, v in self.headers):
            if path.startswith(b"/expect/reject"):  # the app decides before the client sends the body
                self.skip = True
                return self.respond(*reject_expect(), False)
            self.flush()
            self.t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if method == b"PUT" and path == b"/big":
            self.sink = big_put_open()

    def on_body(self, data: bytes) -> None:
        if self.sink:
            self.sink.write(data)
        elif not self.skip:
            self.body.append(data)

    def on_message_complete(self) -> None:
        if self.skip:
            return
        req = (
            self.parser.get_method(),
            self.url,
            self.headers,
            self.body,
            self.sink,
            self.parser.should_keep_alive(),
        )
        if self.busy:
            self.queue.append(req)
        else:
            self.handle(req)

    def handle(self, req) -> None:
        method, url, headers, body, sink, keep_alive = req
        u = httptools.parse_url(url)
        path = u.path
        try:
            if path == b"/big" and method == b"GET":
                self.busy = True
                self.t.pause_reading()
                self.task = asyncio.ensure_future(self.stream_big(keep_alive))
                return
            if path == b"/hello":
                res = HELLO
            elif path.startswith(b"/obj/"):
                key = path[5:].decode("latin-1")
                res = handle_get(key) if method == b"GET" else handle_put(key, b"".join(body))
            elif path == b"/big":
                written = sink.tell()
                sink.close()
                res = (200, [("content-type", "text/plain")], b"%d" % written)
            elif path.startswith(b"/echo"):
                res = echo("raw", None, path, u.query, headers)
            elif path.startswith(b"/expect/"):
                res = (200, [("content-type", "text/plain")], b"%d" % len(b"".join(body)))
            else:
                res = (404, [], b"")
        except Exception as e:  # pragma: no cover - a bench server must not die
            res = (500, [("content-type", "text/plain")], repr(e).encode())
        self.respond(*res, keep_alive)

    def respond(self, status, headers, body, keep_alive, length=None) -> None:
        if self.t is None:
            return
        out = [
            b"HTTP/1.1 %d %s\r\nserver: ossbox\r\ndate: %s\r\n"
            % (status, REASONS.get(status, b"-"), date_header())
        ]
        out += [b"%s: %s\r\n" % (k.encode(), v.encode("latin-1")) for k, v in headers]
        if length is None:
            out.append(b"content-length: %d\r\n" % len(body))
        out.append(b"\r\n" if keep_alive else b"connection: close\r\n\r\n")
        out.append(body)
        if self.batch and keep_alive and length is None:
            if not self.out:
                _dirty.append(self)
                if len(_dirty) == 1:
                    asyncio.get_running_loop().call_soon(_flush_dirty)
            self.out += out
            return
        self.flush()
        self.t.write(b"".join(out))
        if not keep_alive:
            self.t.close()

    def flush(self) -> None:
        if self.out:
            data, self.out = b"".join(self.out), []
            if self.t is not None:
                self.t.write(data)

    async def stream_big(self, keep_alive: bool) -> None:
        with open(store().big, "rb") as f:
            self.respond(200, big_get_headers(), b"", True, length=-1)
            while self.t is not None and (chunk := f.read(CHUNK)):
                self.t.write(chunk)
                if self.paused:
                    self.drain = asyncio.get_running_loop().create_future()
                    await self.drain
        if self.t is None:
            return
        if not keep_alive:
            self.t.close()
            return
        self.busy = False
        self.t.resume_reading()
        while self.queue and not self.busy:
            self.handle(self.queue.popleft())


def serve_raw(port: int, batch: bool) -> None:
    import uvloop

    RawHTTP.batch = batch
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(loop.create_server(RawHTTP, "127.0.0.1", port, backlog=1024, reuse_address=True))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    loop.run_forever()


# ----------------------------------------------------------------------------------------------------------
# Candidate (b): granian RSGI app.
# ----------------------------------------------------------------------------------------------------------
async def rsgi_app(scope, proto) -> None:
    path, method = scope.path, scope.method
    if path == "/hello":
        proto.response_bytes(*HELLO)
    elif path.startswith("/obj/"):
        if method == "GET":
            proto.response_bytes(*handle_get(path[5:]))
        else:
            proto.response_bytes(*handle_put(path[5:], await proto()))
    elif path == "/big":
        if method == "GET":
            proto.response_file(200, big_get_headers(), store().big)
        else:
            with big_put_open() as f:
                async for chunk in proto:
                    f.write(chunk)
                written = f.tell()
            proto.response_bytes(200, [("content-type", "text/plain")], b"%d" % written)
    elif path.startswith("/echo"):
        h = scope.headers
        extra = {
            name: {"in": name in h, "get": repr(h.get(name)), "getitem": repr(h[name]) if name in h else None}
            for name in ("x-oss-meta-utf8", "x-oss-meta-latin1", "x-oss-meta-ascii")
        }
        proto.response_bytes(*echo("rsgi", path, None, scope.query_string, h.items(), extra))
    elif path.startswith("/expect/reject"):
        proto.response_bytes(*reject_expect())  # without reading the body
    elif path.startswith("/expect/"):
        proto.response_bytes(200, [("content-type", "text/plain")], b"%d" % len(await proto()))
    else:
        proto.response_empty(404, [])


# ----------------------------------------------------------------------------------------------------------
# Candidates (c) granian ASGI and (d) uvicorn: one ASGI app.
# ----------------------------------------------------------------------------------------------------------
async def _asgi_reply(send, status, headers, body) -> None:
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _asgi_body(receive) -> bytes:
    parts, more = [], True
    while more:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        parts.append(msg.get("body", b""))
        more = msg.get("more_body", False)
    return b"".join(parts)


async def asgi_app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    if path == "/hello":
        await _asgi_reply(send, *HELLO)
    elif path.startswith("/obj/"):
        if method == "GET":
            await _asgi_reply(send, *handle_get(path[5:]))
        else:
            await _asgi_reply(send, *handle_put(path[5:], await _asgi_body(receive)))
    elif path == "/big":
        if method == "GET":
            raw = [(k.encode(), v.encode()) for k, v in big_get_headers()]
            await send({"type": "http.response.start", "status": 200, "headers": raw})
            with open(store().big, "rb") as f:
                while chunk := f.read(CHUNK):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            with big_put_open() as f:
                more = True
                while more:
                    msg = await receive()
                    if msg["type"] == "http.disconnect":
                        return
                    f.write(msg.get("body", b""))
                    more = msg.get("more_body", False)
                written = f.tell()
            await _asgi_reply(send, 200, [("content-type", "text/plain")], b"%d" % written)
    elif path.startswith("/echo"):
        server = "uvicorn" if "uvicorn" in sys.modules else "granian-asgi"
        await _asgi_reply(
            send, *echo(server, path, scope.get("raw_path"), scope.get("query_string"), scope["headers"])
        )
    elif path.startswith("/expect/reject"):
        await _asgi_reply(send, *reject_expect())  # without calling receive()
    elif path.startswith("/expect/"):
        await _asgi_reply(send, 200, [("content-type", "text/plain")], b"%d" % len(await _asgi_body(receive)))
    else:
        await _asgi_reply(send, 404, [], b"")


# ----------------------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------------------
CANDIDATES = {
    "raw": "raw asyncio Protocol + httptools + uvloop",
    "raw-batch": "raw, writes flushed once per loop iteration",
    "rsgi": "granian 2.8.7 RSGI (1 worker)",
    "asgi": "granian 2.8.7 ASGI (1 worker)",
    "uvicorn": "uvicorn + httptools + uvloop",
}


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_cmd(name: str, port: int) -> list[str]:
    py = sys.executable
    granian = [
        py,
        "-m",
        "granian",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--http",
        "1",
        "--loop",
        "uvloop",
        "--no-ws",
        "--log-level",
        "warning",
        "--working-dir",
        HERE,
    ]
    cmd = {
        "raw": [py, os.path.abspath(__file__), "--serve-raw", str(port)],
        "raw-batch": [py, os.path.abspath(__file__), "--serve-raw", str(port), "--batch"],
        "rsgi": [*granian, "--interface", "rsgi", "http_candidates:rsgi_app"],
        "asgi": [*granian, "--interface", "asgi", "http_candidates:asgi_app"],
        "uvicorn": [
            py,
            "-m",
            "uvicorn",
            "--app-dir",
            HERE,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            "http_candidates:asgi_app",
        ],
    }[name]
    return ["taskset", "-c", "0", *cmd]


class Bench:
    def __init__(self, root: str) -> None:
        self.root = root
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str) -> None:
        cdir = os.path.join(self.root, name)
        os.makedirs(os.path.join(cdir, "put"), exist_ok=True)
        if os.path.exists(os.path.join(self.root, "meta.db")):
            shutil.copy(os.path.join(self.root, "meta.db"), os.path.join(cdir, "meta.db"))
        port = free_port()
        env = dict(os.environ, HTTPBENCH_ROOT=cdir, HTTPBENCH_BIG=os.path.join(self.root, "big.bin"))
        log_path = os.path.join(self.root, name + ".log")
        with open(log_path, "wb") as logf:  # the child keeps its own descriptor
            self.procs[name] = subprocess.Popen(
                server_cmd(name, port),
                env=env,
                stdout=logf,
                stderr=logf,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop_all() kills exactly that group
            )
        self.ports[name] = port
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.procs[name].poll() is not None:
                with open(log_path) as f:
                    raise RuntimeError(f"{name} exited: {f.read()[-2000:]}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/hello")
                if c.getresponse().read() == b"Hello, world!":
                    c.close()
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not start")

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs.clear()


def prepare_data(root: str) -> None:
    try:
        import anycrc

        crc = anycrc.Model("CRC64-XZ").calc
    except ImportError:  # pragma: no cover
        crc = lambda b: 0  # noqa: E731
    objdir = os.path.join(root, "obj")
    os.makedirs(objdir)
    files = []
    for i in range(N_FILES):
        data = os.urandom(4096)
        p = os.path.join(objdir, f"{i:04d}")
        with open(p, "wb") as f:
            f.write(data)
        files.append((p, hashlib.md5(data).hexdigest().upper(), str(crc(data))))
    db = sqlite3.connect(os.path.join(root, "meta.db"))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE objects(key TEXT PRIMARY KEY, size INTEGER NOT NULL, etag TEXT NOT NULL, "
        "crc64 TEXT, mtime REAL NOT NULL, path TEXT NOT NULL)"
    )
    now = time.time()
    db.executemany(
        "INSERT INTO objects VALUES (?, 4096, ?, ?, ?, ?)",
        (
            (f"k{i}", files[i % N_FILES][1], files[i % N_FILES][2], now - i, files[i % N_FILES][0])
            for i in range(N_ROWS)
        ),
    )
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    block = os.urandom(CHUNK)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for _ in range(BIG_SIZE // CHUNK):
            f.write(block)


def sanity_check(port: int) -> None:
    """Every candidate must return correct data before it is timed."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/obj/k1234")
    r = c.getresponse()
    body = r.read()
    assert r.status == 200 and len(body) == 4096, (r.status, len(body))
    assert r.getheader("etag") == f'"{hashlib.md5(body).hexdigest().upper()}"'
    payload = os.urandom(4096)
    c.request("PUT", "/obj/sanity", body=payload)
    r = c.getresponse()
    r.read()
    assert r.status == 200 and r.getheader("etag") == f'"{hashlib.md5(payload).hexdigest().upper()}"'
    c.request("GET", "/obj/sanity")
    r = c.getresponse()
    assert r.read() == payload
    c.close()


LUA_GET = """
local i = 0
request = function()
  i = (i + 7919) % %(rows)d
  return wrk.format("GET", "/obj/k" .. i)
end
"""
LUA_PUT = """
wrk.method = "PUT"
wrk.body = string.rep("x", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
local i = 0
request = function()
  i = (i + 1) %% 10000
  return wrk.format(nil, "/obj/p" .. i)
end
"""


def cpu_ticks(pgid: int) -> int:
    """utime + stime of every process (all threads) in the server's process group."""
    total = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                total += int(fields[11]) + int(fields[12])
    return total


def wrk(port: int, path: str, script: str | None, duration: int, pgid: int = 0) -> dict:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c32", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    ticks = cpu_ticks(pgid) if pgid else 0
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
    ticks = cpu_ticks(pgid) - ticks if pgid else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not m or not n:
        raise RuntimeError("wrk output not understood:\n" + out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return {
        "rps": float(m.group(1)),
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0),
        "p99": p99.group(1) if p99 else "?",
        "cpu_us": ticks * 1e6 / os.sysconf("SC_CLK_TCK") / max(1, int(n.group(1))),
    }


def curl_big(port: int, upload: str | None, cdir: str) -> float:
    """One 256 MiB GET (upload=None) or PUT of `upload`; returns MB/s as curl measured it."""
    url = f"http://127.0.0.1:{port}/big"
    cmd = ["taskset", "-c", "1", "curl", "-s", "-o", "/dev/null"]
    if upload:
        cmd += ["-H", "Expect:", "-T", upload, "-w", "%{speed_upload} %{size_upload} %{http_code}", url]
    else:
        cmd += ["-w", "%{speed_download} %{size_download} %{http_code}", url]
    speed, size, code = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout.split()
    if code != "200" or int(size) != BIG_SIZE:
        raise RuntimeError(f"curl {'PUT' if upload else 'GET'}: HTTP {code}, {size} bytes")
    if upload:
        got = os.path.getsize(os.path.join(cdir, "big-put.bin"))
        os.unlink(os.path.join(cdir, "big-put.bin"))
        if got != BIG_SIZE:
            raise RuntimeError(f"server stored {got} bytes")
    return float(speed) / 1e6


def run_bench(args) -> None:
    for tool in ("wrk", "curl", "taskset"):
        if not shutil.which(tool):
            sys.exit(
                f"{tool} not found: install it with `apt-get update && apt-get install -y {tool}`"
                + (" (taskset is in util-linux)" if tool == "taskset" else "")
            )
    names = args.only.split(",") if args.only else list(CANDIDATES)
    root = tempfile.mkdtemp(prefix="ossbox-httpbench-")
    bench = Bench(root)
    t0 = time.time()
    try:
        log(f"preparing data in {root} ({N_ROWS} SQLite rows, {N_FILES} x 4 KiB files, 256 MiB file)")
        prepare_data(root)
        with open(os.path.join(root, "get.lua"), "w") as f:
            f.write(LUA_GET.replace("%(rows)d", str(N_ROWS)))
        with open(os.path.join(root, "put.lua"), "w") as f:
            f.write(LUA_PUT.replace("%%", "%"))
        for n in names:
            bench.start(n)
            sanity_check(bench.ports[n])
        log("servers up and correct: " + ", ".join(f"{n}:{bench.ports[n]}" for n in names))
        results: dict[tuple[str, str], dict] = {}
        workloads = [
            ("hello", "/hello", None),
            ("get4k", "/", os.path.join(root, "get.lua")),
            ("put4k", "/", os.path.join(root, "put.lua")),
        ]
        for rnd in range(args.rounds):
            order = names if rnd % 2 == 0 else names[::-1]  # no candidate always runs first
            for wl, path, script in workloads:
                for n in order:  # interleaved, so neighbouring runs see the same machine noise
                    wrk(bench.ports[n], path, script, 1)  # warm-up
                    r = wrk(bench.ports[n], path, script, args.duration, bench.procs[n].pid)
                    log(
                        f"round {rnd + 1} {wl:6s} {n:9s} {r['rps']:8.0f} req/s  p99 {r['p99']:>8s}"
                        f"  server CPU {r['cpu_us']:5.1f} us/req  errors {r['errors']}"
                    )
                    best = results.get((n, wl))
                    if best is None or r["rps"] > best["rps"]:
                        results[(n, wl)] = dict(
                            r, cpu_us=min(r["cpu_us"], best["cpu_us"]) if best else r["cpu_us"]
                        )
                    else:
                        best["cpu_us"] = min(best["cpu_us"], r["cpu_us"])
        big = os.path.join(root, "big.bin")
        for rnd in range(3):  # best of 3, interleaved like the wrk runs
            order = names if rnd % 2 == 0 else names[::-1]
            for wl, upload in (("get256m", None), ("put256m", big)):
                for n in order:
                    mbs = curl_big(bench.ports[n], upload, os.path.join(root, n))
                    log(f"round {rnd + 1} {wl:7s} {n:9s} {mbs:8.0f} MB/s")
                    if mbs > results.get((n, wl), {"rps": 0.0})["rps"]:
                        results[(n, wl)] = {"rps": mbs}
        print_table(names, results, time.time() - t0, args)
    finally:
        t1 = time.time()
        bench.stop_all()
        shutil.rmtree(root, ignore_errors=True)
        log(f"servers stopped and {root} removed in {time.time() - t1:.0f}s")


def print_table(names, results, elapsed, args) -> None:
    cols = [
        ("hello", "hello GET req/s"),
        ("get4k", "4K GET req/s"),
        ("put4k", "4K PUT req/s"),
        ("get256m", "256M GET MB/s"),
        ("put256m", "256M PUT MB/s"),
    ]
    ref = names[0]
    print(
        f"\nserver on core 0, client on core 1; wrk -t1 -c32 -d{args.duration}s best of {args.rounds} "
        f"(interleaved, order reversed every other round); curl best of 3 (same); {elapsed:.0f}s\n"
    )
    print("| candidate | " + " | ".join(c[1] for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for n in names:
        cells = []
        for wl, _ in cols:
            r = results[(n, wl)]
            cell = f"{r['rps']:,.0f}"
            if n != ref:
                cell += f" ({r['rps'] / results[(ref, wl)]['rps']:.2f}x)"
            if r.get("errors"):
                cell += f" [{r['errors']} errors]"
            cells.append(cell)
        print(f"| {CANDIDATES[n]} | " + " | ".join(cells) + " |")
    print(f"\n(Nx) = ratio to {CANDIDATES[ref]} in the same run.")
    print("p99 latency (wrk, from the best round) and server CPU time per request (all processes and threads")
    print("of the server, lowest of the rounds):\n")
    wls = ("hello", "get4k", "put4k")
    cpu = " | ".join(f"{w} CPU us/req" for w in ("hello", "4K GET", "4K PUT"))
    print(f"| candidate | hello p99 | 4K GET p99 | 4K PUT p99 | {cpu} |")
    print("|---|" + "---:|" * 6)
    for n in names:
        cells = [results[(n, wl)]["p99"] for wl in wls] + [f"{results[(n, wl)]['cpu_us']:.1f}" for wl in wls]
        print(f"| {CANDIDATES[n]} | " + " | ".join(cells) + " |")


# ----------------------------------------------------------------------------------------------------------
# Functional probes (--findings): raw sockets, bytes on the wire.
# ----------------------------------------------------------------------------------------------------------
def exchange(port: int, head: bytes, body: bytes | None = None, wait: float = 1.5) -> dict:
    """Send head, collect replies for `wait` s (or until close); then optionally send body and collect."""

    def collect(s: socket.socket) -> tuple[bytes, bool]:
        data, deadline = b"", time.time() + wait
        while (left := deadline - time.time()) > 0:
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            except OSError as e:
                return data + repr(e).encode(), True
            if not d:
                return data, True
            data += d
        return data, False

    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(head)
        before, closed = collect(s)
        after = b""
        if body is not None and not closed:
            try:
                s.sendall(body)
            except OSError as e:
                after = repr(e).encode()
            more, closed = collect(s)
            after += more
        return {"before_body": before, "after_body": after, "closed": closed}
    finally:
        s.close()


def run_findings(args) -> None:
    names = args.only.split(",") if args.only else list(CANDIDATES)
    root = tempfile.mkdtemp(prefix="ossbox-httpprobe-")
    bench = Bench(root)
    try:
        for n in names:
            bench.start(n)
        for n in names:
            port = bench.ports[n]
            print(f"\n=== {CANDIDATES[n]} ===")
            head = (
                b"GET /echo HTTP/1.1\r\nHost: x\r\nx-oss-meta-utf8: h\xc3\xa9llo\r\n"
                b"x-oss-meta-latin1: h\xe9llo\r\nx-oss-meta-ascii: hello\r\nConnection: close\r\n\r\n"
            )
            r = exchange(port, head)["before_body"]
            status, _, body = r.partition(b"\r\n")[0], None, r.partition(b"\r\n\r\n")[2]
            print("1. header values sent as raw bytes:", status.decode())
            try:
                doc = json.loads(body)
                for k, v in doc["headers"]:
                    if "x-oss" in k:
                        print(f"     {k}: {v}")
                for k, v in doc["extra"].items():
                    print(f"     RSGIHeaders {k}: {v}")
            except ValueError:
                print("     response:", r[:300])
            for label, target in (
                ("percent-encoded", b"/echo/a%2Fb/%FF%C3%A9%20c?x=%2F&y=%FF"),
                ("raw UTF-8 bytes", b"/echo/r\xc3\xa9sum\xc3\xa9"),
            ):
                r = exchange(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                r = r["before_body"]
                print(f"2. path {label} {target!r}:", r.partition(b"\r\n")[0].decode("latin-1"))
                try:
                    doc = json.loads(r.partition(b"\r\n\r\n")[2])
                    print(f"     path={doc['path']} raw_path={doc['raw_path']} query={doc['query']}")
                except ValueError:
                    pass
            head = (
                b"PUT /expect/reject HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            r = exchange(port, head, wait=2.0)
            print(
                "3. Expect: 100-continue, app rejects without reading the body; received before sending it:"
            )
            print("     ", r["before_body"].split(b"\r\n\r\n")[0].replace(b"\r\n", b" | ")[:200])
            r = exchange(
                port, head, body=b"x" * 1048576 + b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", wait=2.0
            )
            print(
                "     then sending the body + a pipelined GET /hello: connection closed:",
                r["closed"],
                "| got:",
                r["after_body"][:120],
            )
            head = (
                b"PUT /expect/accept HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            r = exchange(port, head, body=b"hello", wait=2.0)
            print(
                "4. Expect: 100-continue, app reads the body; received before sending it:",
                r["before_body"].split(b"\r\n")[0],
                "| after:",
                r["after_body"].split(b"\r\n")[0],
            )
    finally:
        bench.stop_all()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve-raw", type=int, metavar="PORT", help=argparse.SUPPRESS)
    ap.add_argument("--batch", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--findings", action="store_true", help="run the functional probes instead of the benchmark"
    )
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(CANDIDATES))
    ap.add_argument("--duration", type=int, default=6, help="wrk -d seconds (default 6)")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved wrk rounds, best kept (default 2)")
    args = ap.parse_args()
    if args.serve_raw:
        return serve_raw(args.serve_raw, args.batch)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    (run_findings if args.findings else run_bench)(args)


if __name__ == "__main__":
    main()
