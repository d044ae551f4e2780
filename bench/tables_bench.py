#!/usr/bin/env python3
"""Benchmark the table service (results: docs/benchmarks.md, section "Tables").

The server runs pinned to core 0 (`taskset -c 0`); the load runs on core 1. Python SDK clients top out near
1,000 requests/s per core, too slow to load the server, so requests are built and signed by the official
`tablestore` SDK (its encoder and signer, V2), then replayed by wrk from a Lua script that rotates through
them (64 connections). Only 127.0.0.1 is contacted. Measured:

  PutRow ops/s       distinct new rows (2 attribute columns), every answer after the group commit's fsync
  GetRow ops/s       random existing rows of a 100,000-row table
  BatchWriteRow      200 new rows per request: rows/s
  GetRange rows/s    5,000-row pages of the 100,000-row table (server side, wrk), and the SDK's xget_range
                     over all 100,000 rows (one client: what a Python consumer sees)
  limits (same run)  SQLite on this disk, through Python's sqlite3 as the server uses it: one-row commits
                     with synchronous=FULL, 64-row commits (what group commit can reach at 64 clients),
                     point SELECTs, and a range scan; the ratios against them are printed

Usage: python bench/tables_bench.py [--seconds 8] [--quick]
Requires wrk (`apt-get install -y wrk`). Writes bench/results/tables_bench-<UTC time>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

logging.getLogger("tablestore").setLevel(logging.ERROR)

from tablestore import (  # noqa: E402
    INF_MAX,
    BatchWriteRowRequest,
    CapacityUnit,
    Condition,
    Direction,
    OTSClient,
    PutRowItem,
    ReservedThroughput,
    Row,
    RowExistenceExpectation,
    TableInBatchWriteRowItem,
    TableMeta,
    TableOptions,
)
from tablestore.auth import RequestContext  # noqa: E402

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess, free_port  # noqa: E402

SERVER_CORE = "0"
LOAD_CORE = "1"
INSTANCE = "bench"
TABLE = "t"
ROWS = 100_000
IGNORE = Condition(RowExistenceExpectation.IGNORE)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def signed(ots: OTSClient, api: str, *args: object) -> tuple[dict[str, str], bytes]:
    """Headers and body exactly as the SDK would send them."""
    _query, headers, body = ots.protocol.make_request(
        api, ots._signer, RequestContext(ots.credentials_provider.get_credentials()), *args
    )
    return headers, bytes(body)


def lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{b}" for b in data) + '"'


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    endpoint: str,
    api: str,
    requests: list[tuple[dict[str, str], bytes]],
    conns: int,
    seconds: int,
    tmp: Path,
    pid: int,
) -> tuple[float, str]:
    """Replays the signed requests round-robin; returns requests/s (fails on any non-2xx answer) and notes:
    latencies and the server's CPU time per request (which other load on the machine disturbs less)."""
    script = tmp / f"{api}.lua"
    with open(script, "w") as f:
        f.write("local reqs = {}\n")
        for headers, body in requests:
            hdr = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
            f.write(f'reqs[#reqs + 1] = wrk.format("POST", "/{api}", {{{hdr}}}, {lua_string(body)})\n')
        f.write(
            "local i = 0\n"
            "request = function() i = i % #reqs + 1; return reqs[i] end\n"
            "local bad = 0\n"
            "response = function(status) if status ~= 200 then bad = bad + 1 end end\n"
            "done = function() if bad > 0 then io.write('NON200 ' .. bad .. '\\n') end end\n"
        )
    cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
    out = subprocess.run(
        [
            "taskset",
            "-c",
            LOAD_CORE,
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    ).stdout
    if "NON200" in out or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failures:\n{out}")
    cpu = cpu_seconds(pid) - cpu_before
    wall = time.perf_counter() - wall_before
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"\n\s+50%\s+(\S+)", out)
    p99 = re.search(r"\n\s+99%\s+(\S+)", out)
    return rate, (
        f"p50 {p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}; "
        f"server CPU {cpu / wall:.0%} of a core, {cpu / total * 1e6:,.0f} µs per request"
    )


def sqlite_limits(tmp: Path, quick: bool) -> dict[str, float]:
    path = tmp / "limits.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE r (t INTEGER, pk BLOB, data BLOB, PRIMARY KEY (t, pk)) WITHOUT ROWID")
    data = os.urandom(120)
    n = 500 if quick else 2000
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN")
        conn.execute("INSERT OR REPLACE INTO r VALUES (1, ?, ?)", (b"one%08d" % i, data))
        conn.execute("COMMIT")
    one = n / (time.perf_counter() - start)
    n_batches = 100 if quick else 400
    start = time.perf_counter()
    for b in range(n_batches):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR REPLACE INTO r VALUES (1, ?, ?)", ((b"b%06d%03d" % (b, i), data) for i in range(64))
        )
        conn.execute("COMMIT")
    batched = n_batches * 64 / (time.perf_counter() - start)
    keys = [b"b%06d%03d" % (random.randrange(n_batches), random.randrange(64)) for _ in range(20000)]
    start = time.perf_counter()
    for k in keys:
        conn.execute("SELECT data FROM r WHERE t = 1 AND pk = ?", (k,)).fetchone()
    point = len(keys) / (time.perf_counter() - start)
    start = time.perf_counter()
    count = sum(1 for _ in conn.execute("SELECT pk, data FROM r WHERE t = 1 ORDER BY pk"))
    scan = count / (time.perf_counter() - start)
    conn.close()
    return {"commit1": one, "commit64": batched, "point": point, "scan": scan}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    seconds = 3 if args.quick else args.seconds
    tmp = Path(tempfile.mkdtemp(prefix="tables-bench-"))
    results: list[tuple[str, str, str]] = []
    server = ServerProcess(tmp / "data", free_port())
    try:
        log("SQLite limits")
        limits = sqlite_limits(tmp, args.quick)
        # The server on core 0: ServerProcess starts `python -m ossbox server`; pin it afterwards.
        server.start()
        assert server.proc is not None
        subprocess.run(["taskset", "-pc", SERVER_CORE, str(server.proc.pid)], check=True, capture_output=True)
        for task in os.listdir(f"/proc/{server.proc.pid}/task"):
            subprocess.run(["taskset", "-pc", SERVER_CORE, task], check=True, capture_output=True)
        os.sched_setaffinity(0, {int(LOAD_CORE)})
        ots = OTSClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, INSTANCE)
        ots.create_table(
            TableMeta(TABLE, [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
        )
        n_rows = 20_000 if args.quick else ROWS
        log(f"filling {n_rows} rows (BatchWriteRow through the SDK)")
        for start in range(0, n_rows, 200):
            req = BatchWriteRowRequest()
            req.add(
                TableInBatchWriteRowItem(
                    TABLE,
                    [
                        PutRowItem(Row([("id", f"row{i:07d}")], [("name", f"name-{i}"), ("n", i)]), IGNORE)
                        for i in range(start, start + 200)
                    ],
                )
            )
            ots.batch_write_row(req)

        n_req = 5000 if args.quick else 20000
        log("PutRow")
        puts = [
            signed(
                ots,
                "PutRow",
                TABLE,
                Row([("id", f"new{i:07d}")], [("name", f"n{i}"), ("n", i)]),
                None,
                None,
                None,
            )
            for i in range(n_req)
        ]
        rate, lat = wrk(server.endpoint, "PutRow", puts, 64, seconds, tmp, server.proc.pid)
        results.append(("PutRow, 64 connections", f"{rate:,.0f} ops/s", lat))
        put_rate = rate

        log("GetRow")
        gets = [
            signed(
                ots,
                "GetRow",
                TABLE,
                [("id", f"row{random.randrange(n_rows):07d}")],
                None,
                None,
                1,
                None,
                None,
                None,
                None,
                None,
            )
            for _ in range(n_req)
        ]
        rate, lat = wrk(server.endpoint, "GetRow", gets, 64, seconds, tmp, server.proc.pid)
        results.append(("GetRow, 64 connections", f"{rate:,.0f} ops/s", lat))
        get_rate = rate

        log("BatchWriteRow")
        batches = []
        for b in range(200 if args.quick else 1000):
            req = BatchWriteRowRequest()
            req.add(
                TableInBatchWriteRowItem(
                    TABLE,
                    [
                        PutRowItem(Row([("id", f"batch{b:05d}-{i:03d}")], [("name", "x"), ("n", i)]), IGNORE)
                        for i in range(200)
                    ],
                )
            )
            batches.append(signed(ots, "BatchWriteRow", req))
        rate, lat = wrk(server.endpoint, "BatchWriteRow", batches, 8, seconds, tmp, server.proc.pid)
        results.append(
            (
                "BatchWriteRow (200 rows each), 8 connections",
                f"{rate * 200:,.0f} rows/s",
                f"{rate:,.0f} requests/s; {lat}",
            )
        )
        batch_rate = rate * 200

        log("GetRange")
        pages = [
            signed(
                ots,
                "GetRange",
                TABLE,
                Direction.FORWARD,
                [("id", f"row{s:07d}")],
                [("id", INF_MAX)],
                None,
                5000,
                None,
                1,
                None,
                None,
                None,
                None,
                None,
            )
            for s in range(0, max(1, n_rows - 5000), 5000)
        ]
        rate, lat = wrk(server.endpoint, "GetRange", pages, 4, seconds, tmp, server.proc.pid)
        results.append(
            (
                "GetRange, 5,000-row pages, 4 connections",
                f"{rate * 5000:,.0f} rows/s",
                f"{rate:,.1f} pages/s; {lat}",
            )
        )
        range_rate = rate * 5000
        start_t = time.perf_counter()
        count = sum(
            1
            for _ in ots.xget_range(
                TABLE, Direction.FORWARD, [("id", "row")], [("id", "rox")], CapacityUnit(0, 0)
            )
        )
        sdk_rate = count / (time.perf_counter() - start_t)
        results.append(
            (
                f"xget_range over {count:,} rows, one SDK client",
                f"{sdk_rate:,.0f} rows/s",
                "client decodes with the SDK's native PlainBuffer parser",
            )
        )
        results += [
            ("limit: SQLite, one-row commits, synchronous=FULL", f"{limits['commit1']:,.0f} rows/s", ""),
            ("limit: SQLite, 64-row commits, synchronous=FULL", f"{limits['commit64']:,.0f} rows/s", ""),
            ("limit: SQLite point SELECT (Python sqlite3)", f"{limits['point']:,.0f} rows/s", ""),
            ("limit: SQLite range scan (Python sqlite3)", f"{limits['scan']:,.0f} rows/s", ""),
        ]
        ratios = [
            f"PutRow / one-row SQLite commits = {put_rate / limits['commit1']:.2f}x",
            f"PutRow / 64-row SQLite commits = {put_rate / limits['commit64']:.0%}",
            f"BatchWriteRow rows/s / 64-row SQLite commits = {batch_rate / limits['commit64']:.0%}",
            f"GetRow / SQLite point SELECT = {get_rate / limits['point']:.0%}",
            f"GetRange rows/s / SQLite range scan = {range_rate / limits['scan']:.0%}",
        ]
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["| measurement | value | notes |", "|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in results]
    lines += ["", "Ratios in the same run:", ""] + [f"- {r}" for r in ratios]
    lines += ["", f"Load average at the end: {os.getloadavg()[0]:.2f} (2 cores, shared with other processes)"]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"tables_bench-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
