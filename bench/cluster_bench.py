"""Scale-out figures (docs/benchmarks.md, "Scale-out"): the same loads on several deployments, in one run.

Deployments: one node on SQLite + local disk (the embedded default); one node on PostgreSQL + local disk;
two nodes on PostgreSQL sharing one data directory (the shared-directory blob store), the load split
evenly between them. Every node is `ossbox server --workers 1`; PostgreSQL is a throwaway cluster on
loopback (tests/pg.py), fsync on.

Loads: 4 KiB PUT and GET at 32 connections (wrk replaying V1 presigned URLs; with two nodes, two wrk
processes of 16 connections, one per node, their rates added), and a 1 GiB PUT and GET with curl (best of
--reps). Nothing but 127.0.0.1 is contacted.

    apt-get install -y wrk curl postgresql
    python bench/cluster_bench.py              # ~5 minutes
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
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Node:
        self.port = free_port()
        env = dict(os.environ, OSSBOX_ROOT_ACCESS_KEY_ID=AK, OSSBOX_ROOT_ACCESS_KEY_SECRET=SK)
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

    def bucket(self, name: str):  # type: ignore[no-untyped-def]
        import oss2

        return oss2.Bucket(oss2.Auth(AK, SK), self.endpoint, name)


def curl(*args: str) -> float:
    out = subprocess.run(
        ["curl", "-sS", "--fail", *args], capture_output=True, text=True, check=True, timeout=900
    )
    return float(out.stdout) / 1e6


def small_ops(nodes: list[Node], work: Path, tag: str, seconds: int) -> tuple[float, float]:
    """(4 KiB PUT ops/s, 4 KiB GET ops/s) at 32 connections spread over the nodes."""
    conns = 32 // len(nodes)
    put_paths = [v1_presign("PUT", "bench", f"{tag}/put/{i:07d}") for i in range(60_000)]
    get_keys = [f"{tag}/get/{i:04d}" for i in range(1000)]
    body = os.urandom(4096)
    writer = nodes[0].bucket("bench")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: writer.put_object(k, body), get_keys))
    get_paths = [v1_presign("GET", "bench", k) for k in get_keys]

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


def large(nodes: list[Node], big: Path, tag: str, reps: int) -> tuple[float, float]:
    """(PUT MB/s, GET MB/s), best of `reps`; with two nodes, PUT through one and GET through the other."""
    puts, gets = [], []
    for r in range(reps):
        key = f"{tag}/big{r}"
        put_url = nodes[0].endpoint + v1_presign("PUT", "bench", key)
        puts.append(
            curl("-o", "/dev/null", "-H", "Expect:", "-T", str(big), "-w", "%{speed_upload}", put_url)
        )
        get_url = nodes[-1].endpoint + v1_presign("GET", "bench", key)
        gets.append(curl("-o", "/dev/null", "-w", "%{speed_download}", get_url))
        nodes[0].bucket("bench").delete_object(key)
    return max(puts), max(gets)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    for tool in ("wrk", "curl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y {tool}")
    seconds, size = (3, 256 * MiB) if args.quick else (10, GiB)
    work = Path(tempfile.mkdtemp(prefix="ossbox-cluster-bench-"))
    pg = PgCluster()
    nodes: list[Node] = []
    rows: list[tuple[str, float, float, float, float]] = []
    try:
        big = work / "big.bin"
        make_big_file(big, size)
        deployments = [
            ("1 node, SQLite + local disk", 1, False),
            ("1 node, PostgreSQL + local disk", 1, True),
            ("2 nodes, PostgreSQL + shared directory", 2, True),
        ]
        for n, (label, count, on_pg) in enumerate(deployments):
            data = work / f"d{n}" / "data"
            data.mkdir(parents=True)
            url = pg.create_database(f"bench{n}") if on_pg else ""
            nodes = [Node(data, url).start() for _ in range(count)]
            nodes[0].bucket("bench").create_bucket()
            put4k, get4k = small_ops(nodes, work, f"d{n}", seconds)
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
        shutil.rmtree(work, ignore_errors=True)
    base = rows[0]
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = "python bench/cluster_bench.py" + (" --quick" if args.quick else "")
    print(f"\n{stamp}, `{command}`, {os.cpu_count()} cores\n")
    print("| deployment | 4 KiB PUT, 32 conn | 4 KiB GET, 32 conn | 1 GiB PUT | 1 GiB GET |")
    print("|---|---:|---:|---:|---:|")
    for label, put4k, get4k, put_big, get_big in rows:
        cells = [
            f"{put4k:,.0f} ops/s ({put4k / base[1]:.2f}x)",
            f"{get4k:,.0f} ops/s ({get4k / base[2]:.2f}x)",
            f"{put_big:,.0f} MB/s ({put_big / base[3]:.2f}x)",
            f"{get_big:,.0f} MB/s ({get_big / base[4]:.2f}x)",
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
