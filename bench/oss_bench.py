#!/usr/bin/env python3
"""Benchmark ossbox against this machine's limits (results: docs/benchmarks.md).

The server runs pinned to core 0 (`taskset -c 0`); every load generator (wrk, curl, the oss2 client, which
is this process) runs on core 1. Only 127.0.0.1 is ever contacted. Sections (select with --only):

  limits     single-stream MD5 + CRC-64 over 1 GiB in 1 MiB slices (the PUT ceiling) and a minimal raw-socket
             Python sender serving 1 GiB from a reused buffer to curl (the GET ceiling); for context, the
             disk (one stream hashed + written + fdatasync'd; 4 KiB files fdatasync'd from 32 threads) and a
             minimal httptools+uvloop server answering 4 KiB GET/PUT from memory
  small      4 KiB PUT and GET ops/s at 1 and 32 connections (wrk replaying presigned URLs)
  large      1 GiB PUT and GET with curl on a presigned URL (best of 3), and with oss2 (CRC on)
  multipart  1 GiB multipart upload, 8 parts of 128 MiB uploaded by 8 oss2 threads
  complete   CompleteMultipartUpload time for a 10 MiB object and a 10 GiB object (10 parts of 1 GiB)
  list       one 1000-key page from a bucket of 1,000,000 keys (rows inserted straight into SQLite), with
             and without delimiter '/', median of 20
  rss        server's peak RSS (VmHWM) after streaming a 4 GiB object up and down

Usage:
  python bench/oss_bench.py                      # everything (~6 minutes, ~20 GB free in $TMPDIR)
  python bench/oss_bench.py --quick              # smaller sizes and shorter runs (a smoke test)
  python bench/oss_bench.py --only small,list    # some sections
  python bench/oss_bench.py --profile            # also profile the server under each load with py-spy
                                                 # and perf (separate, unmeasured runs): top functions

Requires wrk and curl (`apt-get update && apt-get install -y wrk curl`); --profile needs py-spy
(`pip install py-spy`) and uses perf when installed (`apt-get install -y linux-perf`). Waits (up to 15 min)
while another benchmark (wrk, bench/http_candidates.py) runs. Results: printed as a markdown table and
written to bench/results/oss_bench-<UTC time>.md and .json (profiles in bench/results/profiles-<UTC time>/).
"""

from __future__ import annotations

import argparse
import base64
import collections
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
AK, SK = "AK", "SK"
HOST = "127.0.0.1"
SERVER_CORE, CLIENT_CORE = "0", "1"
# Cores the server and the clients may run on; with --workers above 1 both may use both cores.
SERVER_CORES, CLIENT_CORES = SERVER_CORE, CLIENT_CORE
MiB, GiB = 1 << 20, 1 << 30
SECTIONS = ("limits", "small", "large", "multipart", "complete", "list", "rss")

TARGETS = {
    "get4k_c32": ("4 KiB GET ops/s, 32 conns", ">= 15,000 ops/s"),
    "put4k_c32": ("4 KiB PUT ops/s, 32 conns", ">= 3,500 ops/s"),
    "put_ratio": ("1 GiB PUT / MD5+CRC-64 rate", ">= 90%"),
    "get_big": ("1 GiB GET", ">= 1,300 MB/s"),
    "list": ("LIST page", "< 20 ms"),
    "rss": ("peak RSS", "< 200 MB"),
}


# ------------------------------------------------------------------------------------------------ plumbing
class Cleanup:
    """Every process and temporary directory this run creates, undone at exit whatever happens."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.dirs: list[Path] = []

    def popen(self, args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(args, start_new_session=True, **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def mkdtemp(self, prefix: str) -> Path:
        d = Path(tempfile.mkdtemp(prefix=prefix))
        self.dirs.append(d)
        return d

    def stop(self, p: subprocess.Popen[bytes], timeout: float = 15) -> None:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def remove_dir(self, d: Path) -> None:
        shutil.rmtree(d, ignore_errors=True)
        if d in self.dirs:
            self.dirs.remove(d)

    def all(self) -> None:
        for p in list(self.procs):
            self.stop(p, timeout=5)
        for d in list(self.dirs):
            self.remove_dir(d)


CLEAN = Cleanup()


def _on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(f"interrupted by signal {signum}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def run(args: list[str], timeout: float = 900) -> str:
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} ... failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def check_tools(profile: bool) -> None:
    missing = [t for t in ("wrk", "curl", "taskset") if shutil.which(t) is None]
    if missing:
        sys.exit(
            f"missing tools: {', '.join(missing)}. Install with: "
            "apt-get update && apt-get install -y wrk curl util-linux"
        )
    if profile and shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        sys.exit("--profile needs py-spy: pip install py-spy")
    if (os.cpu_count() or 1) < 2:
        sys.exit("this benchmark needs 2 cores (server on core 0, load on core 1)")


def wait_for_other_benchmarks(max_wait: float = 900) -> None:
    """Two benchmarks at once on 2 cores spoil both: wait for a running one to end."""
    deadline = time.monotonic() + max_wait
    while True:
        found = subprocess.run(["pgrep", "-f", "wrk|http_candidates"], capture_output=True, text=True).stdout
        others = [p for p in found.split() if int(p) != os.getpid()]
        if not others:
            return
        if time.monotonic() > deadline:
            sys.exit(f"another benchmark is still running (pids {others}); try again later")
        log(f"another benchmark is running (pids {' '.join(others)}); waiting")
        time.sleep(15)


# ------------------------------------------------------------------------------------------------ signing
def v1_presign(
    method: str, bucket: str, key: str, expires_in: int = 7200, params: dict[str, str] | None = None
) -> str:
    """Path of a V1 presigned URL (as oss2's sign_url makes), also for bucket-level requests (key '')."""
    expires = str(int(time.time()) + expires_in)
    resource = f"/{bucket}/{key}"
    sub = {k: v for k, v in (params or {}).items() if k in ("uploadId", "partNumber", "uploads")}
    if sub:
        resource += "?" + "&".join(f"{k}={v}" if v != "" else k for k, v in sorted(sub.items()))
    sts = f"{method}\n\n\n{expires}\n{resource}"
    sig = base64.b64encode(hmac.new(SK.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    query = dict(params or {})
    query.update({"OSSAccessKeyId": AK, "Expires": expires, "Signature": sig})
    return f"/{bucket}/{quote(key, safe='/')}?{urlencode(query)}"


# ------------------------------------------------------------------------------------------------ server
@dataclass
class Server:
    data_dir: Path
    port: int = 0
    # Above 1 the server runs `--workers N` on both cores (sharing core 1 with the clients).
    workers: int = 1
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Server:
        self.port = free_port()
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        env = dict(os.environ, OSSBOX_ROOT_ACCESS_KEY_ID=AK, OSSBOX_ROOT_ACCESS_KEY_SECRET=SK)
        args = [
            "taskset",
            "-c",
            SERVER_CORES,
            sys.executable,
            "-m",
            "ossbox",
            "server",
            "--workers",
            str(self.workers),
        ]
        args += [
            "--address",
            f"{HOST}:{self.port}",
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            "warning",
        ]
        with open(self.log_path, "wb") as out:
            self.proc = CLEAN.popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited at start:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=1):
                return self
            time.sleep(0.1)
        raise RuntimeError("server did not start within 60 s")

    def stop(self) -> None:
        if self.proc is not None:
            CLEAN.stop(self.proc, timeout=60)
            self.proc = None

    def status(self, field_name: str) -> int:
        """A kB figure from /proc/PID/status (VmRSS, VmHWM), in bytes: the largest of the server's
        processes (with --workers above 1, of the workers rather than their supervisor)."""
        found = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/status").read_text()
                m = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.M)
                if m is not None:
                    found.append(int(m.group(1)) * 1024)
        assert found
        return max(found)

    def pids(self) -> list[int]:
        """The server process and its worker processes."""
        found = [self.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                if int(stat.read_text().rpartition(")")[2].split()[1]) == self.pid:
                    found.append(int(stat.parent.name))
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's processes (all their threads) so far."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    @contextlib.contextmanager
    def cpu_meter(self) -> Iterator[list[float]]:
        """Yields a list that holds, afterwards, the server's CPU use in % of one core over the block."""
        out: list[float] = []
        c0, t0 = self.cpu_seconds(), time.monotonic()
        yield out
        out.append(100 * (self.cpu_seconds() - c0) / (time.monotonic() - t0))

    def bucket(self, name: str, crc: bool = True):  # type: ignore[no-untyped-def]
        import oss2

        return oss2.Bucket(oss2.Auth(AK, SK), self.endpoint, name, enable_crc=crc)

    def url(self, path: str) -> str:
        return self.endpoint + path


# ------------------------------------------------------------------------------------------------ results
@dataclass
class Results:
    rows: list[dict[str, object]] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, section: str, name: str, value: float, unit: str, key: str = "", note: str = "") -> None:
        self.rows.append({"section": section, "name": name, "value": value, "unit": unit, "note": note})
        if key:
            self.values[key] = value
        log(f"{name}: {fmt(value)} {unit} {note}")


def fmt(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


# ------------------------------------------------------------------------------------------------ profiling
class Profiler:
    """Profiles of the server during unmeasured repeats of a load.

    py-spy: Python frames, wall time of busy threads. perf (when installed): CPU time by library, syscall and
    symbol, kernel included.
    """

    def __init__(self, enabled: bool, out_dir: Path, results: Results) -> None:
        self.enabled = enabled
        self.out_dir = out_dir
        self.results = results
        self.py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.perf = shutil.which("perf")

    def record(self, name: str, server: Server, seconds: float, load: Callable[[], object]) -> None:
        if not self.enabled:
            return
        seconds = max(2, int(seconds + 0.999))
        parts = [self._py_spy(name, server, seconds, load)]
        if self.perf:
            parts.append(self._perf(name, server, seconds, load))
        summary = "\n".join(parts)
        self.results.profiles[name] = summary
        print(f"\n--- profile: {name} ---\n{summary}\n", flush=True)

    def _py_spy(self, name: str, server: Server, seconds: int, load: Callable[[], object]) -> str:
        raw = self.out_dir / f"{name}.py-spy.txt"
        args = [
            "taskset",
            "-c",
            CLIENT_CORE,
            self.py_spy,
            "record",
            "--pid",
            str(server.pid),
            "--rate",
            "250",
        ]
        args += ["--duration", str(seconds), "--format", "raw", "--threads", "--nonblocking", "-o", str(raw)]
        self._while(args, seconds, load)
        return summarise_py_spy(raw.read_text()) if raw.exists() else "(py-spy wrote no profile)"

    def _perf(self, name: str, server: Server, seconds: int, load: Callable[[], object]) -> str:
        assert self.perf is not None
        data = self.out_dir / f"{name}.perf.data"
        args = [
            "taskset",
            "-c",
            CLIENT_CORE,
            self.perf,
            "record",
            "-q",
            "-F",
            "499",
            "-g",
            "-p",
            str(server.pid),
        ]
        args += ["-o", str(data), "--", "sleep", str(seconds)]
        self._while(args, seconds, load)
        return summarise_perf(self.perf, data) if data.exists() else "(perf wrote no profile)"

    @staticmethod
    def _while(args: list[str], seconds: int, load: Callable[[], object]) -> None:
        """Run the profiler `args` for `seconds` while `load` runs (repeated until the profiler is done)."""
        p = CLEAN.popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            while p.poll() is None:
                load()
            p.wait(timeout=seconds + 60)
        finally:
            CLEAN.stop(p)


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> tuple[str, str]:
    """('func (file)', file) with paths shortened to the package."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip(), ""
    f = m.group("file")
    i = f.rfind("/ossbox/")
    if i >= 0:
        f = f[i + 1 :]
    else:
        for marker in ("site-packages/", "lib/python3.11/", "lib/python3/"):
            j = f.find(marker)
            if j >= 0:
                f = f[j + len(marker) :]
                break
    return f"{m.group('func')} ({f})", f


def _thread_name(frame: str) -> str:
    name = frame.rpartition(": ")[2] if ": " in frame else frame
    return re.sub(r"_\d+$", "", name.strip()) or "?"


def summarise_py_spy(text: str, top: int = 15) -> str:
    """Share of samples per thread, then self and inclusive time per function, as % of busy samples."""
    total = 0
    self_t: collections.Counter[str] = collections.Counter()
    incl_t: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[_thread_name(frames[0])] += n
        names = [_short(f) for f in frames[1:]] or [("(no frame)", "")]
        self_t[names[-1][0]] += n
        for func, path in set(names):
            if path.startswith("ossbox/") and not path.startswith(("ossbox/cli", "ossbox/__main__")):
                incl_t[func] += n
    if not total:
        return "py-spy: no samples"
    lines = [f"py-spy ({total} busy-thread samples; a thread waiting for the GIL counts as busy)"]
    lines.append("  threads: " + ", ".join(f"{t} {100 * n / total:.0f}%" for t, n in threads.most_common(5)))
    lines.append("  self time (function):")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in self_t.most_common(top)]
    lines.append("  inclusive time (ossbox functions):")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in incl_t.most_common(top)]
    return "\n".join(lines)


def _perf_report(perf: str, data: Path, *opts: str) -> list[tuple[float, str]]:
    out = subprocess.run(
        [perf, "report", "-i", str(data), "--stdio", "-g", "none", "--percent-limit", "0.3", *opts],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?(.*)$", line)
        if m:
            rows.append((float(m.group(1)), re.sub(r"\s+", " ", m.group(3)).strip()))
    return rows


def summarise_perf(perf: str, data: Path, top: int = 12) -> str:
    dsos = _perf_report(perf, data, "--no-children", "--sort", "dso")
    syms = _perf_report(perf, data, "--no-children", "--sort", "dso,sym")
    calls = [
        (pct, sym)
        for pct, sym in _perf_report(perf, data, "--children", "--sort", "sym")
        if re.search(r"\[k\] (__x64_sys_|ksys_|__do_sys_)", sym)
    ]
    lines = ["perf (CPU samples of the server process, kernel included)"]
    lines.append("  by library: " + ", ".join(f"{d} {p:.0f}%" for p, d in dsos[:6]))
    lines.append("  syscalls (inclusive): " + ", ".join(f"{s.split()[-1]} {p:.1f}%" for p, s in calls[:8]))
    lines.append("  top symbols (self):")
    lines += [f"    {p:5.1f}%  {s}" for p, s in syms[:top]]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ children
def child_hashrate(size: int, write_dir: str | None) -> None:
    """Runs pinned on the server's core: MD5 + CRC-64 over `size` bytes in 1 MiB slices (one stream)."""
    sys.path.insert(0, str(ROOT))
    from ossbox.protocol.crc64 import crc64

    pool = os.urandom(64 * MiB)
    views = [memoryview(pool)[i : i + MiB] for i in range(0, len(pool), MiB)]
    n = size // MiB
    out: dict[str, float] = {}

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        fn()
        return size / (time.perf_counter() - t0) / 1e6

    def md5_only() -> None:
        h = hashlib.md5()
        for i in range(n):
            h.update(views[i % len(views)])

    def crc_only() -> None:
        c = 0
        for i in range(n):
            c = crc64(views[i % len(views)], c)

    def both() -> None:
        h = hashlib.md5()
        c = 0
        for i in range(n):
            v = views[i % len(views)]
            h.update(v)
            c = crc64(v, c)

    def both_write_sync() -> None:
        assert write_dir is not None
        path = os.path.join(write_dir, "hashrate.tmp")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            h = hashlib.md5()
            c = 0
            for i in range(n):
                v = views[i % len(views)]
                h.update(v)
                c = crc64(v, c)
                os.write(fd, v)
            os.fdatasync(fd)
        finally:
            os.close(fd)
            os.unlink(path)

    out["md5"] = max(timed(md5_only) for _ in range(2))
    out["crc64"] = max(timed(crc_only) for _ in range(2))
    out["md5_crc64"] = max(timed(both) for _ in range(3))
    if write_dir:
        out["md5_crc64_write_sync"] = timed(both_write_sync)
        out["small_files"] = small_files(write_dir, threads=32, seconds=3.0)
    print(json.dumps(out), flush=True)


def small_files(write_dir: str, threads: int, seconds: float) -> float:
    """Files/s: create + write 4 KiB + fdatasync + close + rename from `threads` threads (no dir fsync)."""
    d = os.path.join(write_dir, "smallfiles")
    os.mkdir(d)
    body = os.urandom(4096)
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def worker(t: int) -> None:
        i = 0
        while time.monotonic() < stop:
            tmp = os.path.join(d, f"t{t}-{i}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, body)
            os.fdatasync(fd)
            os.close(fd)
            os.rename(tmp, tmp[:-4])
            i += 1
        counts[t] = i

    t0 = time.monotonic()
    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    rate = sum(counts) / (time.monotonic() - t0)
    shutil.rmtree(d)
    return rate


def child_hello(port: int) -> None:
    """The floor for small requests: httptools + uvloop answering every request from memory, no storage.

    GET gets a fixed 4 KiB body; any other method (a 4 KiB PUT) an empty 200 once its body has arrived."""
    import asyncio

    import httptools
    import uvloop

    get_resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 4096\r\n\r\n"
    get_resp += os.urandom(4096)
    put_resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport
            self.p = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            try:
                self.p.feed_data(data)
            except httptools.HttpParserError:
                self.t.close()

        def on_message_complete(self) -> None:
            self.t.write(get_resp if self.p.get_method() == b"GET" else put_resp)  # type: ignore[attr-defined]

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(Proto, HOST, port, backlog=2048)
        print("ready", flush=True)
        await asyncio.Event().wait()

    uvloop.run(serve())


def child_sender(port: int, size: int) -> None:
    """A minimal HTTP sender: answers every GET with `size` bytes sent from one reused buffer."""
    buf = memoryview(os.urandom(4 * MiB))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, port))
    srv.listen(8)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    break
                data += more
            if not data:
                continue
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size)
            left = size
            with contextlib.suppress(OSError):
                while left:
                    n = min(left, len(buf))
                    conn.sendall(buf[:n])
                    left -= n


# ------------------------------------------------------------------------------------------------ helpers
def curl(args: list[str], timeout: float = 900) -> str:
    return run(["taskset", "-c", CLIENT_CORES, "curl", "-sS", "--fail", *args], timeout=timeout)


def curl_put(url: str, path: Path) -> float:
    """Upload `path`; MB/s."""
    out = curl(["-o", "/dev/null", "-H", "Expect:", "-T", str(path), "-w", "%{speed_upload}", url])
    return float(out) / 1e6


def curl_get(url: str) -> float:
    return float(curl(["-o", "/dev/null", "-w", "%{speed_download}", url])) / 1e6


def make_big_file(path: Path, size: int) -> None:
    pool = os.urandom(64 * MiB)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(pool))
            f.write(pool[:n])
            left -= n


def create_bucket(server: Server, name: str) -> None:
    server.bucket(name).create_bucket()


@dataclass
class WrkResult:
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float


WRK_LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local n = #paths
local i = 0
wrk.method = "%(method)s"
%(body)s
function request()
  i = i + 1
  if i > n then i = 1 end
  return wrk.format(nil, paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%%d,\\"duration_us\\":%%d,\\"connect\\":%%d,\\"read\\":%%d,\\"write\\":%%d," ..
    "\\"status\\":%%d,\\"timeout\\":%%d,\\"p50_us\\":%%d,\\"p99_us\\":%%d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def write_wrk_script(work: Path, name: str, method: str, paths: list[str], body_size: int = 0) -> Path:
    pfile = work / f"{name}.paths"
    pfile.write_text("\n".join(paths) + "\n")
    body = f'wrk.body = string.rep("a", {body_size})' if body_size else ""
    lua = work / f"{name}.lua"
    lua.write_text(WRK_LUA % {"paths": pfile, "method": method, "body": body})
    return lua


def wrk(endpoint: str, lua: Path, conns: int, seconds: int, log_path: Path | None = None) -> WrkResult:
    args = ["taskset", "-c", CLIENT_CORES, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s"]
    out = run([*args, "-s", str(lua), endpoint], timeout=seconds + 120)
    m = re.search(r"^WRKJSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    s = json.loads(m.group(1))
    errors = {k: s[k] for k in ("connect", "read", "write", "status", "timeout") if s[k]}
    if errors or s["requests"] == 0:
        tail = log_path.read_text()[-2000:] if log_path else ""
        raise RuntimeError(
            f"wrk {lua.name} -c{conns}: {s['requests']} requests with errors {errors} "
            f"(status = non-2xx/3xx answers); wrk output:\n{out}\nserver log tail:\n{tail}"
        )
    rps = s["requests"] / (s["duration_us"] / 1e6)
    return WrkResult(rps, s["requests"], s["p50_us"] / 1e3, s["p99_us"] / 1e3)


# ------------------------------------------------------------------------------------------------ sections
@dataclass
class Ctx:
    args: argparse.Namespace
    work: Path
    results: Results
    prof: Profiler
    big: int  # "1 GiB"
    wrk_s: int
    reps: int
    _server: Server | None = None
    _big_file: Path | None = None

    def server(self) -> Server:
        if self._server is None:
            data = self.work / "data"
            data.mkdir(exist_ok=True)
            self._server = Server(data, workers=self.args.workers).start()
            create_bucket(self._server, "bench")
        return self._server

    def big_file(self) -> Path:
        if self._big_file is None:
            self._big_file = self.work / "big.bin"
            make_big_file(self._big_file, self.big)
        return self._big_file

    @property
    def big_label(self) -> str:
        return f"{self.big // GiB} GiB" if self.big >= GiB else f"{self.big // MiB} MiB"


def child_proc(*args: str) -> subprocess.Popen[bytes]:
    """A helper child of this script pinned to the server's core, started once it prints 'ready'."""
    p = CLEAN.popen(
        ["taskset", "-c", SERVER_CORE, sys.executable, __file__, *args], stdout=subprocess.PIPE, cwd=ROOT
    )
    assert p.stdout is not None
    if p.stdout.readline().strip() != b"ready":
        CLEAN.stop(p)
        raise RuntimeError(f"helper {args[0]} did not start")
    return p


def section_limits(ctx: Ctx) -> None:
    r = ctx.results
    args = ["--child-hashrate", str(ctx.big), "--child-dir", str(ctx.work)]
    out = run(["taskset", "-c", SERVER_CORE, sys.executable, __file__, *args])
    rates = json.loads(out.strip().splitlines()[-1])
    r.add("limits", f"MD5 alone, 1 MiB slices ({ctx.big_label}, core 0)", rates["md5"], "MB/s")
    r.add("limits", "CRC-64 alone (anycrc, as ossbox)", rates["crc64"], "MB/s")
    r.add("limits", "MD5 + CRC-64, one stream = PUT ceiling", rates["md5_crc64"], "MB/s", key="ceiling_put")
    r.add(
        "limits",
        "MD5 + CRC-64 + write + fdatasync, one stream (context: the disk)",
        rates["md5_crc64_write_sync"],
        "MB/s",
        key="ceiling_put_disk",
    )
    r.add(
        "limits",
        "4 KiB files: create + write + fdatasync + rename, 32 threads (context: the disk)",
        rates["small_files"],
        "files/s",
        key="ceiling_small_files",
    )
    port = free_port()
    p = child_proc("--child-sender", str(port), str(ctx.big))
    try:
        speeds = [curl_get(f"http://{HOST}:{port}/x") for _ in range(ctx.reps)]
    finally:
        CLEAN.stop(p)
    r.add(
        "limits",
        f"raw-socket Python sender -> curl = GET ceiling (best of {ctx.reps})",
        max(speeds),
        "MB/s",
        key="ceiling_get",
        note="all: " + ", ".join(f"{x:.0f}" for x in speeds),
    )
    # The floor cost of a small request in Python on this core: httptools + uvloop answering from memory.
    port = free_port()
    p = child_proc("--child-hello", str(port))
    try:
        get_lua = write_wrk_script(
            ctx.work, "hello-get", "GET", [v1_presign("GET", "bench", f"k/{i:05d}") for i in range(1000)]
        )
        put_lua = write_wrk_script(
            ctx.work,
            "hello-put",
            "PUT",
            [v1_presign("PUT", "bench", f"k/{i:05d}") for i in range(1000)],
            4096,
        )
        for method, lua in (("GET", get_lua), ("PUT", put_lua)):
            w = wrk(f"http://{HOST}:{port}", lua, 32, ctx.wrk_s)
            r.add(
                "limits",
                f"minimal httptools+uvloop server, no storage: 4 KiB {method}, 32 conn (context)",
                w.rps,
                "ops/s",
                key=f"hello_{method.lower()}",
            )
    finally:
        CLEAN.stop(p)


def section_small(ctx: Ctx) -> None:
    srv = ctx.server()
    r = ctx.results
    n_put = 10_000 if ctx.args.quick else 40_000
    runs = iter(range(1000))

    def fresh_put_lua() -> Path:
        """Every PUT run writes new keys (an overwrite would also delete the old blob)."""
        n = next(runs)
        paths = [v1_presign("PUT", "bench", f"small/put{n}/{i:07d}") for i in range(n_put)]
        return write_wrk_script(ctx.work, f"put4k-{n}", "PUT", paths, 4096)

    get_keys = [f"small/get/{i:05d}" for i in range(1000)]
    body = os.urandom(4096)
    bucket = srv.bucket("bench", crc=False)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: bucket.put_object(k, body), get_keys))
    get_lua = write_wrk_script(ctx.work, "get4k", "GET", [v1_presign("GET", "bench", k) for k in get_keys])
    for conns in (1, 32):
        for method in ("PUT", "GET"):
            lua = fresh_put_lua() if method == "PUT" else get_lua
            with srv.cpu_meter() as cpu:
                w = wrk(srv.endpoint, lua, conns, ctx.wrk_s, srv.log_path)
            r.add(
                "small",
                f"4 KiB {method}, {conns} conn",
                w.rps,
                "ops/s",
                key=f"{method.lower()}4k_c{conns}",
                note=f"p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms, {w.requests} requests, "
                f"server CPU {cpu[0]:.0f}%",
            )
    r.add(
        "small",
        "server RSS after the 4 KiB runs (largest process)",
        srv.status("VmRSS") / 1e6,
        "MB",
        note=f"VmHWM {srv.status('VmHWM') / 1e6:.0f} MB",
    )
    ctx.prof.record("put4k_c32", srv, ctx.wrk_s, lambda: wrk(srv.endpoint, fresh_put_lua(), 32, ctx.wrk_s))
    ctx.prof.record("get4k_c32", srv, ctx.wrk_s, lambda: wrk(srv.endpoint, get_lua, 32, ctx.wrk_s))


def section_large(ctx: Ctx) -> None:
    srv = ctx.server()
    r = ctx.results
    f = ctx.big_file()
    key = "large/obj"
    put_url = srv.url(v1_presign("PUT", "bench", key))
    get_url = srv.url(v1_presign("GET", "bench", key))
    puts: list[float] = []
    gets: list[float] = []
    put_cpu: list[float] = []
    get_cpu: list[float] = []
    for _ in range(ctx.reps):
        with srv.cpu_meter() as cpu:
            puts.append(curl_put(put_url, f))
        put_cpu += cpu
        with srv.cpu_meter() as cpu:
            gets.append(curl_get(get_url))
        get_cpu += cpu
    lbl = ctx.big_label
    r.add(
        "large",
        f"{lbl} PUT, curl (best of {ctx.reps})",
        max(puts),
        "MB/s",
        key="put_big",
        note="all: " + ", ".join(f"{x:.0f}" for x in puts) + f"; server CPU {max(put_cpu):.0f}%",
    )
    r.add(
        "large",
        f"{lbl} GET, curl (best of {ctx.reps})",
        max(gets),
        "MB/s",
        key="get_big",
        note="all: " + ", ".join(f"{x:.0f}" for x in gets) + f"; server CPU {max(get_cpu):.0f}%",
    )
    # oss2 with CRC on: the realistic client (runs in this process, on core 1).
    bucket = srv.bucket("bench", crc=True)
    t0 = time.perf_counter()
    with open(f, "rb") as fh:
        bucket.put_object("large/oss2", fh)
    r.add(
        "large",
        f"{lbl} PUT, oss2 put_object (CRC on)",
        ctx.big / (time.perf_counter() - t0) / 1e6,
        "MB/s",
        key="put_big_oss2",
    )
    t0 = time.perf_counter()
    res = bucket.get_object("large/oss2")
    got = 0
    while chunk := res.read(MiB):
        got += len(chunk)
    assert got == ctx.big
    r.add(
        "large",
        f"{lbl} GET, oss2 get_object (CRC on)",
        ctx.big / (time.perf_counter() - t0) / 1e6,
        "MB/s",
        key="get_big_oss2",
    )
    ctx.prof.record("put_big", srv, ctx.big / max(puts) / 1e6 * 2, lambda: curl_put(put_url, f))
    ctx.prof.record("get_big", srv, ctx.big / max(gets) / 1e6 * 4, lambda: curl_get(get_url))
    bucket.batch_delete_objects(["large/obj", "large/oss2"])


def section_multipart(ctx: Ctx) -> None:
    srv = ctx.server()
    r = ctx.results
    data = ctx.big_file().read_bytes()
    part = ctx.big // 8
    parts_data = [data[i * part : (i + 1) * part] for i in range(8)]
    del data
    import oss2
    from oss2.models import PartInfo

    for crc in (False, True):
        bucket = srv.bucket("bench", crc=crc)
        key = f"mpu/obj-{int(crc)}"
        t0 = time.perf_counter()
        upload_id = bucket.init_multipart_upload(key).upload_id

        def one(n: int, bucket: oss2.Bucket = bucket, key: str = key, upload_id: str = upload_id) -> PartInfo:
            res = bucket.upload_part(key, upload_id, n + 1, parts_data[n])
            return PartInfo(n + 1, res.etag)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            infos = list(pool.map(one, range(8)))
        bucket.complete_multipart_upload(key, upload_id, infos)
        rate = ctx.big / (time.perf_counter() - t0) / 1e6
        r.add(
            "multipart",
            f"{ctx.big_label} multipart, 8 x {part // MiB} MiB parts in 8 oss2 threads, "
            f"CRC {'on' if crc else 'off'}",
            rate,
            "MB/s",
            key=f"mpu_crc{int(crc)}",
        )
        bucket.delete_object(key)


def section_complete(ctx: Ctx) -> None:
    srv = ctx.server()
    r = ctx.results
    from oss2.models import PartInfo

    bucket = srv.bucket("bench", crc=False)
    # Small: 10 parts of 1 MiB, completed 5 times (new uploads), median.
    small_times = []
    piece = os.urandom(MiB)
    for i in range(5):
        key = f"complete/small-{i}"
        uid = bucket.init_multipart_upload(key).upload_id
        infos = [PartInfo(n, bucket.upload_part(key, uid, n, piece).etag) for n in range(1, 11)]
        t0 = time.perf_counter()
        bucket.complete_multipart_upload(key, uid, infos)
        small_times.append((time.perf_counter() - t0) * 1e3)
        bucket.delete_object(key)
    # Big: 10 parts of `big` bytes each, uploaded with curl to presigned UploadPart URLs.
    f = ctx.big_file()
    key = "complete/big"
    uid = bucket.init_multipart_upload(key).upload_id
    infos = []
    for n in range(1, 11):
        url = srv.url(v1_presign("PUT", "bench", key, params={"partNumber": str(n), "uploadId": uid}))
        etag = curl(["-o", "/dev/null", "-H", "Expect:", "-T", str(f), "-w", "%header{etag}", url]).strip()
        infos.append(PartInfo(n, etag.strip('"')))
    t0 = time.perf_counter()
    res = bucket.complete_multipart_upload(key, uid, infos)
    big_ms = (time.perf_counter() - t0) * 1e3
    head = bucket.head_object(key)
    assert head.content_length == 10 * ctx.big, head.content_length
    big_label = f"{10 * ctx.big / GiB:.0f} GiB" if ctx.big >= GiB else f"{10 * ctx.big // MiB} MiB"
    r.add(
        "complete",
        "complete multipart, 10 MiB object (10 x 1 MiB, median of 5)",
        statistics.median(small_times),
        "ms",
        key="complete_small",
        note="all: " + ", ".join(f"{x:.1f}" for x in small_times),
    )
    r.add(
        "complete",
        f"complete multipart, {big_label} object (10 x {ctx.big_label})",
        big_ms,
        "ms",
        key="complete_big",
        note=f"ETag {res.etag}",
    )
    bucket.delete_object(key)


def populate_list_db(db: Path, bucket: str, n: int) -> float:
    t0 = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        now = int(time.time() * 1000)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO objects (bucket, key, size, etag, crc64, mtime_ms, object_type, storage_class, acl, "
            "content_type, headers, user_meta, extents) VALUES (?, ?, 0, 'D41D8CD98F00B204E9800998ECF8427E', "
            "0, ?, 'Normal', 'Standard', 'default', 'application/octet-stream', '{}', '{}', '[]')",
            ((bucket, f"d{i % 1000:04d}/f{i:07d}", now) for i in range(n)),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - t0


def time_list(
    srv: Server, path: str, n: int, budget_s: float
) -> tuple[list[float], list[float], list[float], int]:
    """Up to `n` requests each way (at least 3; fewer when `budget_s` is spent), alternating the two clients
    so that noise hits both alike: (http.client ms on a kept-alive connection, curl time_starttransfer ms,
    curl time_total ms, entries in the page)."""
    client: list[float] = []
    ttfb: list[float] = []
    total: list[float] = []
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=300)
    body = b""
    start = time.monotonic()
    while len(client) < n and (len(client) < 3 or time.monotonic() - start < budget_s):
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        client.append((time.perf_counter() - t0) * 1e3)
        if resp.status != 200:
            raise RuntimeError(f"LIST answered {resp.status}: {body[:500]!r}")
        out = curl(["-o", "/dev/null", "-w", "%{time_starttransfer} %{time_total}", srv.url(path)])
        a, b = out.split()
        ttfb.append(float(a) * 1e3)
        total.append(float(b) * 1e3)
    conn.close()
    entries = body.count(b"<Contents>") + body.count(b"<CommonPrefixes>")
    return client, ttfb, total, entries


def section_list(ctx: Ctx) -> None:
    r = ctx.results
    n_keys = 100_000 if ctx.args.quick else 1_000_000
    data = ctx.work / "listdata"
    data.mkdir()
    srv = Server(data).start()
    create_bucket(srv, "listbench")
    srv.stop()
    secs = populate_list_db(data / "meta.sqlite3", "listbench", n_keys)
    log(f"inserted {n_keys:,} rows straight into meta.sqlite3 (server stopped) in {secs:.1f} s")
    srv.start()
    try:
        reqs = 5 if ctx.args.quick else 20
        for label, params, key in (
            ("no delimiter", {"max-keys": "1000"}, "list_flat"),
            ("delimiter '/'", {"max-keys": "1000", "delimiter": "/"}, "list_delim"),
        ):
            path = v1_presign("GET", "listbench", "", params=params)
            client, ttfb, total, entries = time_list(srv, path, reqs, budget_s=60)
            if entries != 1000:
                raise RuntimeError(f"LIST {label} returned {entries} entries, not 1000")
            what = f"LIST 1000 of {n_keys:,} keys, {label}"
            r.add(
                "list",
                f"{what}: http.client, keep-alive (median of {len(client)})",
                statistics.median(client),
                "ms",
                key=key,
                note=f"min {min(client):.1f}, max {max(client):.1f}",
            )
            r.add(
                "list",
                f"{what}: curl time_starttransfer (~ server time)",
                statistics.median(ttfb),
                "ms",
                key=key + "_ttfb",
            )
            r.add(
                "list",
                f"{what}: curl time_total (client-observed)",
                statistics.median(total),
                "ms",
                key=key + "_curl",
            )
            dur = min(15.0, max(4.0, statistics.median(client) * 20 / 1e3))
            ctx.prof.record(key, srv, dur, lambda path=path: time_list(srv, path, 1, 0))
    finally:
        srv.stop()
        CLEAN.remove_dir(data)


def section_rss(ctx: Ctx) -> None:
    r = ctx.results
    size = GiB if ctx.args.quick else 4 * GiB
    data = ctx.work / "rssdata"
    data.mkdir()
    srv = Server(data).start()
    try:
        create_bucket(srv, "rss")
        start_rss = srv.status("VmRSS")
        sparse = ctx.work / "sparse.bin"
        with open(sparse, "wb") as fh:
            fh.truncate(size)
        put = curl_put(srv.url(v1_presign("PUT", "rss", "big")), sparse)
        after_put = srv.status("VmHWM")
        get = curl_get(srv.url(v1_presign("GET", "rss", "big")))
        hwm = srv.status("VmHWM")
        sparse.unlink()
        lbl = f"{size // GiB} GiB"
        r.add("rss", "server RSS after start", start_rss / 1e6, "MB")
        r.add("rss", f"server VmHWM after {lbl} PUT (curl, {put:.0f} MB/s)", after_put / 1e6, "MB")
        r.add("rss", f"server VmHWM after {lbl} PUT + GET (GET {get:.0f} MB/s)", hwm / 1e6, "MB", key="rss")
    finally:
        srv.stop()
        CLEAN.remove_dir(data)
    if ctx._server is not None:
        r.add(
            "rss",
            "main server VmHWM after its sections (4 KiB loads, big objects)",
            ctx._server.status("VmHWM") / 1e6,
            "MB",
            key="rss_main",
        )


# ------------------------------------------------------------------------------------------------ report
def verdicts(v: dict[str, float]) -> list[tuple[str, str, str, str]]:
    out = []

    def add(key: str, measured: str, ok: bool | None) -> None:
        name, target = TARGETS[key]
        out.append((name, target, measured, "n/a" if ok is None else ("met" if ok else "NOT met")))

    if "get4k_c32" in v:
        add("get4k_c32", f"{v['get4k_c32']:,.0f} ops/s", v["get4k_c32"] >= 15_000)
    if "put4k_c32" in v:
        add("put4k_c32", f"{v['put4k_c32']:,.0f} ops/s", v["put4k_c32"] >= 3_500)
    if "put_big" in v and "ceiling_put" in v:
        ratio = v["put_big"] / v["ceiling_put"]
        add(
            "put_ratio",
            f"{100 * ratio:.0f}% ({v['put_big']:,.0f} / {v['ceiling_put']:,.0f} MB/s)",
            ratio >= 0.9,
        )
    if "get_big" in v:
        extra = f" ({100 * v['get_big'] / v['ceiling_get']:.0f}% of the sender)" if "ceiling_get" in v else ""
        add("get_big", f"{v['get_big']:,.0f} MB/s{extra}", v["get_big"] >= 1300)
    if "list_flat" in v:
        worst = max(v["list_flat"], v.get("list_delim", 0))
        add(
            "list",
            f"{v['list_flat']:.1f} ms flat, {v.get('list_delim', float('nan')):.1f} ms delimiter",
            worst < 20,
        )
    if "rss" in v:
        add("rss", f"{v['rss']:.0f} MB", v["rss"] < 200)
    return out


def render(res: Results, meta: dict[str, object]) -> str:
    lines = [
        f"# ossbox benchmark, {meta['date']}",
        "",
        f"Command: `{meta['command']}`  ",
        f"Host: {meta['host']}",
        "",
    ]
    lines += ["| section | measurement | value | unit | notes |", "|---|---|---:|---|---|"]
    for row in res.rows:
        lines.append(
            f"| {row['section']} | {row['name']} | {fmt(float(row['value']))} | {row['unit']} "
            f"| {row['note']} |"
        )
    v = res.values
    ratios = []
    if "put_big" in v and "ceiling_put" in v:
        ratios.append(f"1 GiB PUT (curl) / MD5+CRC-64 rate = {100 * v['put_big'] / v['ceiling_put']:.0f}%")
    if "put_big" in v and "ceiling_put_disk" in v:
        ratios.append(
            "1 GiB PUT (curl) / MD5+CRC-64+write+fdatasync = "
            f"{100 * v['put_big'] / v['ceiling_put_disk']:.0f}%"
        )
    if "get_big" in v and "ceiling_get" in v:
        ratios.append(f"1 GiB GET (curl) / raw-socket sender = {100 * v['get_big'] / v['ceiling_get']:.0f}%")
    if "get4k_c32" in v and "hello_get" in v:
        ratios.append(
            f"4 KiB GET at 32 conns / minimal httptools+uvloop server = "
            f"{100 * v['get4k_c32'] / v['hello_get']:.0f}%"
        )
    if "put4k_c32" in v and "hello_put" in v:
        ratios.append(
            f"4 KiB PUT at 32 conns / minimal httptools+uvloop server = "
            f"{100 * v['put4k_c32'] / v['hello_put']:.0f}%"
        )
    if "put4k_c32" in v and "ceiling_small_files" in v:
        ratios.append(
            "4 KiB PUT at 32 conns / 4 KiB create+write+fdatasync+rename in 32 threads = "
            f"{100 * v['put4k_c32'] / v['ceiling_small_files']:.0f}%"
        )
    if "complete_big" in v and "complete_small" in v:
        ratios.append(f"complete big / complete small = {v['complete_big'] / v['complete_small']:.2f}x")
    if ratios:
        lines += ["", "Ratios (same run):", ""] + [f"- {x}" for x in ratios]
    ver = verdicts(v)
    if ver:
        lines += ["", "| target | wanted | measured | verdict |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in ver]
    for name, text in res.profiles.items():
        lines += ["", f"Profile `{name}` (py-spy, server process, % of samples):", "", "```", text, "```"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and short runs (smoke test)")
    ap.add_argument("--only", default="", help=f"comma-separated sections: {','.join(SECTIONS)}")
    ap.add_argument("--profile", action="store_true", help="also record py-spy profiles of the server")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for other running benchmarks")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (--workers); above 1 the server may use both cores, sharing core 1 with the "
        "clients, and CPU %% is summed over its processes",
    )
    ap.add_argument("--child-hashrate", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-dir", help=argparse.SUPPRESS)
    ap.add_argument("--child-sender", nargs=2, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-hello", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_hashrate:
        child_hashrate(args.child_hashrate, args.child_dir)
        return 0
    if args.child_sender:
        child_sender(*args.child_sender)
        return 0
    if args.child_hello:
        child_hello(args.child_hello)
        return 0

    sections = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    check_tools(args.profile)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    # This process (the oss2 client and every load generator it starts) runs on core 1, or on both cores
    # beside a server of several workers.
    if args.workers > 1:
        global SERVER_CORES, CLIENT_CORES
        SERVER_CORES = CLIENT_CORES = f"{SERVER_CORE},{CLIENT_CORE}"
    os.sched_setaffinity(0, {int(c) for c in CLIENT_CORES.split(",")})
    if not args.no_wait:
        wait_for_other_benchmarks()

    started = dt.datetime.now(dt.UTC)
    results = Results()
    work = CLEAN.mkdtemp("ossbench-")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    prof_dir = RESULTS / f"profiles-{stamp}"
    if args.profile:
        prof_dir.mkdir()
    ctx = Ctx(
        args=args,
        work=work,
        results=results,
        prof=Profiler(args.profile, prof_dir, results),
        big=256 * MiB if args.quick else GiB,
        wrk_s=3 if args.quick else 8,
        reps=1 if args.quick else 3,
    )
    funcs = {
        "limits": section_limits,
        "small": section_small,
        "large": section_large,
        "multipart": section_multipart,
        "complete": section_complete,
        "list": section_list,
        "rss": section_rss,
    }
    failed: list[str] = []
    try:
        for name in SECTIONS:
            if name in sections:
                log(f"== {name}")
                try:
                    funcs[name](ctx)
                except (RuntimeError, AssertionError, OSError, subprocess.SubprocessError) as exc:
                    failed.append(name)
                    log(f"!! section {name} FAILED: {exc}")
                    results.notes.append(f"section {name} failed: {str(exc)[:300]}")
    finally:
        if ctx._server is not None:
            ctx._server.stop()
        CLEAN.all()
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python bench/oss_bench.py " + " ".join(sys.argv[1:]),
        "host": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "quick": args.quick,
    }
    text = render(results, meta)
    if failed:
        text += (
            "\nFAILED sections: "
            + ", ".join(failed)
            + "\n"
            + "\n".join(f"- {n}" for n in results.notes)
            + "\n"
        )
    print("\n" + text)
    md = RESULTS / f"oss_bench-{stamp}.md"
    md.write_text(text)
    data = {
        **meta,
        "rows": results.rows,
        "values": results.values,
        "profiles": results.profiles,
        "failed": failed,
    }
    (RESULTS / f"oss_bench-{stamp}.json").write_text(json.dumps(data, indent=2))
    log(f"wrote {md} and {md.with_suffix('.json')}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        CLEAN.all()
