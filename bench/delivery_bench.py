#!/usr/bin/env python3
"""Benchmark delivery of table rows to OSS as Parquet (results: docs/benchmarks.md, section "Delivery").

A real server (`python -m ossbox server`, its default worker count) with its default delivery settings
(files at 4 MiB of row data or after 2 minutes) unless --roll-s says otherwise; only 127.0.0.1 is
contacted. Measured:

  full delivery      N rows written first (BatchWriteRow), then a full task: rows/s from the task's creation
                     until its status says the scan is done (the files are in the bucket by then)
  incremental        an incremental task, then N rows written as fast as BatchWriteRow takes them: rows/s
                     from the first write until the last row is delivered
  peer (same run)    the same N rows written with pyarrow directly: Table.from_pylist, write_table (Snappy)
                     into files of the same count, PutObject with oss2; the ratios are printed
  latency            R rows/s written one PutRow at a time for S seconds; a poller lists the bucket every
                     0.5 s and reads every new file: each row's latency is from its write's answer to its
                     file being listed. p50, p99 and max against the promise (under 3 minutes at a steady
                     rate, P99 under 10 minutes)

Usage: python bench/delivery_bench.py [--rows 50000] [--rate 50] [--seconds 300] [--roll-s 120] [--quick]
Writes bench/results/delivery_bench-<UTC time>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

logging.getLogger("tablestore").setLevel(logging.ERROR)

import oss2  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from tablestore import (  # noqa: E402
    BatchWriteRowRequest,
    CapacityUnit,
    OTSClient,
    PutRowItem,
    ReservedThroughput,
    Row,
    TableInBatchWriteRowItem,
    TableMeta,
    TableOptions,
)

from ossbox.delivery.client import DeliveryClient  # noqa: E402
from ossbox.delivery.model import Mode, TaskConfig  # noqa: E402
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port  # noqa: E402

INSTANCE = "bench"


def row_of(i: int) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    return [("id", f"row-{i:09d}")], [
        ("amount", i * 0.25),
        ("quantity", i % 1000),
        ("note", f"order {i} for customer {i % 977}, shipped"),
    ]


def write_batch(ots: OTSClient, table: str, first: int, count: int) -> None:
    for start in range(first, first + count, 200):
        request = BatchWriteRowRequest()
        items = [PutRowItem(Row(*row_of(i)), None) for i in range(start, min(first + count, start + 200))]
        request.add(TableInBatchWriteRowItem(table, items))
        ots.batch_write_row(request)


def new_table(ots: OTSClient, name: str) -> str:
    ots.create_table(
        TableMeta(name, [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
    )
    return name


def wait(client: DeliveryClient, table: str, task: str, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        d = client.describe(table, task)
        if done(d.status):
            return d
        if time.monotonic() > deadline:
            raise SystemExit(f"{task}: not done after {timeout} s: {d.status}")
        time.sleep(0.1)


def bench_full(ots: OTSClient, client: DeliveryClient, bucket: oss2.Bucket, rows: int) -> dict[str, float]:
    table = new_table(ots, "full_rows")
    write_batch(ots, table, 0, rows)
    start = time.monotonic()
    client.create(table, "full", TaskConfig(bucket=bucket.bucket_name, prefix="full", mode=Mode.FULL))
    d = wait(client, table, "full", lambda s: s.full_done, 600)
    seconds = time.monotonic() - start
    assert d.status.rows == rows, d.status
    writers = {k.split("/")[1].split("_")[1] for k in (o.key for o in oss2.ObjectIterator(bucket, "full/"))}
    return {
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "files": d.status.files,
        "bytes": d.status.bytes,
        "writers": len(writers),
    }


def bench_incremental(
    ots: OTSClient, client: DeliveryClient, bucket: oss2.Bucket, rows: int
) -> dict[str, float]:
    """Rows/s until 90% of the rows are in: the last file, below the size threshold, waits for the time
    limit, which says nothing about throughput."""
    table = new_table(ots, "inc_rows")
    client.create(table, "inc", TaskConfig(bucket=bucket.bucket_name, prefix="inc", mode=Mode.INCREMENTAL))
    wait(client, table, "inc", lambda s: s.phase == "incremental", 60)
    start = time.monotonic()
    write_batch(ots, table, 0, rows)
    written = time.monotonic() - start
    most = int(rows * 0.9)
    d = wait(client, table, "inc", lambda s: s.rows >= most, 600)
    seconds = time.monotonic() - start
    return {
        "seconds": seconds,
        "rows_per_s": d.status.rows / seconds,
        "write_s": written,
        "files": d.status.files,
    }


def bench_pyarrow(bucket: oss2.Bucket, rows: int, files: int) -> dict[str, float]:
    """The same rows, written by a program that builds the Parquet files itself."""
    start = time.monotonic()
    per_file = -(-rows // max(1, files))
    for n, first in enumerate(range(0, rows, per_file)):
        records = []
        for i in range(first, min(rows, first + per_file)):
            pk, columns = row_of(i)
            records.append(dict(pk + columns))
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(records), sink, compression="snappy", use_dictionary=False)
        bucket.put_object(f"pyarrow/file-{n}", sink.getvalue())
    seconds = time.monotonic() - start
    return {"seconds": seconds, "rows_per_s": rows / seconds}


class Poller:
    """Lists the bucket every 0.5 s; remembers when each row's file was first listed."""

    def __init__(self, bucket: oss2.Bucket, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.seen: dict[str, float] = {}
        self.known: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            for o in oss2.ObjectIterator(self.bucket, prefix=self.prefix):
                if o.key in self.known:
                    continue
                listed = time.time()
                self.known.add(o.key)
                table = pq.read_table(io.BytesIO(self.bucket.get_object(o.key).read()), columns=["id"])
                for i in table.column("id").to_pylist():
                    self.seen.setdefault(i, listed)
            self.stop.wait(0.5)


def bench_latency(
    ots: OTSClient, client: DeliveryClient, bucket: oss2.Bucket, rate: float, seconds: float, roll_s: float
) -> dict[str, float]:
    table = new_table(ots, "steady")
    client.create(
        table, "steady", TaskConfig(bucket=bucket.bucket_name, prefix="steady/$HH", mode=Mode.INCREMENTAL)
    )
    wait(client, table, "steady", lambda s: s.phase == "incremental", 60)
    poller = Poller(bucket, "steady/")
    poller.thread.start()
    acked: dict[str, float] = {}
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < seconds:
        due = start + i / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        pk, columns = row_of(i)
        ots.put_row(table, Row(pk, columns))
        acked[str(pk[0][1])] = time.time()
        i += 1
    achieved = i / (time.monotonic() - start)
    deadline = time.monotonic() + roll_s + 60
    while len(poller.seen) < len(acked) and time.monotonic() < deadline:
        time.sleep(0.5)
    poller.stop.set()
    poller.thread.join()
    missing = [k for k in acked if k not in poller.seen]
    if missing:
        raise SystemExit(f"{len(missing)} rows never showed up, e.g. {missing[:3]}")
    latencies = sorted(poller.seen[k] - t for k, t in acked.items())
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {
        "rows": len(acked),
        "rate": achieved,
        "p50": statistics.median(latencies),
        "p99": p99,
        "max": latencies[-1],
        "files": len(poller.known),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the throughput runs (~17 MB)")
    parser.add_argument("--rate", type=float, default=50.0, help="rows/s of the latency run")
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the latency run")
    parser.add_argument("--roll-s", type=float, default=120.0, help="the server's time limit for a file")
    parser.add_argument("--quick", action="store_true", help="5,000 rows, a 30 s latency run with 10 s files")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.seconds, args.roll_s = 5_000, 30.0, 10.0
    work = Path(tempfile.mkdtemp(prefix="delivery-bench-"))
    env = {} if args.roll_s == 120 else {"OSSBOX_DELIVERY_ROLL_S": str(args.roll_s)}
    server = ServerProcess(work / "data", free_port(), extra_env=env).start()
    time.sleep(2)  # every worker up
    try:
        ots = OTSClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, INSTANCE)
        client = DeliveryClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, INSTANCE)
        bucket = oss2.Bucket(
            oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "bench-lake", region=REGION
        )
        bucket.create_bucket()
        load = os.getloadavg()[0]
        full = bench_full(ots, client, bucket, args.rows)
        inc = bench_incremental(ots, client, bucket, args.rows)
        peer = bench_pyarrow(bucket, args.rows, int(full["files"]))
        latency = bench_latency(ots, client, bucket, args.rate, args.seconds, args.roll_s)
        load = max(load, os.getloadavg()[0])
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ratio = {name: part["rows_per_s"] / peer["rows_per_s"] for name, part in (("full", full), ("inc", inc))}
    lines = [
        f"Run of {now}, {args.rows:,} rows (load average up to {load:.1f}), "
        f"files after {args.roll_s:g} s or 4 MiB:",
        "",
        "| measurement | value | notes |",
        "|---|---:|---|",
        f"| **full delivery** | {full['rows_per_s']:,.0f} rows/s | {args.rows:,} rows in "
        f"{full['seconds']:.1f} s, {full['files']:.0f} files ({full['bytes'] / 2**20:.1f} MiB), "
        f"{full['writers']:.0f} ConcurrentIDs |",
        f"| **incremental** | {inc['rows_per_s']:,.0f} rows/s | first write to 90% delivered, "
        f"{inc['seconds']:.1f} s (writing took {inc['write_s']:.1f} s), {inc['files']:.0f} files |",
        f"| peer: pyarrow directly | {peer['rows_per_s']:,.0f} rows/s | same rows, same file count, "
        f"{peer['seconds']:.1f} s |",
        f"| **latency at {latency['rate']:.0f} rows/s** | p50 {latency['p50']:.1f} s, "
        f"p99 {latency['p99']:.1f} s, max {latency['max']:.1f} s | {latency['rows']:.0f} rows over "
        f"{args.seconds:g} s, {latency['files']:.0f} files |",
        "",
        f"Ratios in the same run: full delivery / pyarrow directly {ratio['full']:.2f}x; "
        f"incremental / pyarrow directly {ratio['inc']:.2f}x; "
        f"latency p99 / promised 10 minutes {latency['p99'] / 600:.2f}; "
        f"max latency / promised 3 minutes at a steady rate {latency['max'] / 180:.2f}.",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"delivery_bench-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
