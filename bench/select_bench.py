"""SelectObject throughput and memory (docs/benchmarks.md, "SelectObject"), in one run.

One `ossbox server --workers 1`; a CSV object of --mib MiB (6 columns, ~60 bytes a record) and the same
records as JSON LINES. Measured: GET of the CSV object through oss2 (the ceiling: bytes moved, nothing
parsed), then SelectObject scans through oss2, as MB/s of object scanned; and the server's peak resident
memory (VmHWM of its processes) before and after, to show it stays flat. Peers on the same file from local
disk: DuckDB's CSV scan (C++, all cores) and Python's csv module (the floor of parsing CSV in Python).
Nothing but 127.0.0.1 is contacted.

    python bench/select_bench.py            # 256 MiB, ~3 minutes
    python bench/select_bench.py --quick    # 32 MiB
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import oss2  # noqa: E402

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port  # noqa: E402

MiB = 1 << 20
_FIELDS = ("year", "state", "city", "pop", "value", "measure")


def make_records(path_csv: Path, path_json: Path, size: int) -> int:
    rnd = random.Random(1)
    states = ["TX", "MA", "CA", "NY", "WA"]
    n = 0
    with path_csv.open("w", newline="") as c, path_json.open("w") as j:
        w = csv.writer(c, lineterminator="\n")
        while c.tell() < size:
            row = [
                str(2014 + n % 3),
                states[n % 5],
                f"city{rnd.randint(0, 9999)}",
                str(rnd.randint(1, 10**6)),
            ]
            row += [f"{rnd.uniform(0, 100):.2f}", "measure-" + str(n % 7)]
            w.writerow(row)
            j.write(json.dumps(dict(zip(_FIELDS, row, strict=True))) + "\n")
            n += 1
    return n


def peak_rss_mib(pid: int) -> float:
    """The largest VmHWM among the server process and its children."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.append(int(stat.parent.name))
    best = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    best = max(best, int(line.split()[1]))
        except OSError:
            continue
    return best / 1024


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    size = (32 if args.quick else args.mib) * MiB
    work = Path(tempfile.mkdtemp(prefix="ossbox-select-bench-"))
    path_csv, path_json = work / "t.csv", work / "t.json"
    records = make_records(path_csv, path_json, size)
    csv_size, json_size = path_csv.stat().st_size, path_json.stat().st_size
    srv = ServerProcess(work / "data", free_port(), extra_args=("--workers", "1", "--log-level", "warning"))
    try:
        srv.start()
        assert srv.proc is not None
        bucket = oss2.Bucket(
            oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), srv.endpoint, "select-bench", region=REGION
        )
        bucket.create_bucket()
        bucket.put_object_from_file("t.csv", str(path_csv))
        bucket.put_object_from_file("t.json", str(path_json))
        rss_before = peak_rss_mib(srv.proc.pid)

        def get() -> None:
            body = bucket.get_object("t.csv")
            while body.read(4 * MiB):
                pass

        def select(key: str, sql: str, params: dict[str, object] | None = None) -> float:
            return timed(lambda: b"".join(bucket.select_object(key, sql, None, params)))

        rows: list[tuple[str, float, int]] = []
        rows.append(("GET of the CSV object (ceiling)", timed(get), csv_size))
        rows.append(
            (
                "CSV `select count(*) ... where _2 = 'TX'`",
                select("t.csv", "select count(*) from ossobject where _2 = 'TX'"),
                csv_size,
            )
        )
        rows.append(
            (
                "CSV `select _1, _3 ... where cast(_4 as int) > 500000` (half the rows out)",
                select("t.csv", "select _1, _3 from ossobject where cast(_4 as int) > 500000"),
                csv_size,
            )
        )
        rows.append(
            (
                "JSON LINES `select count(*) ... where s.state = 'TX'`",
                select(
                    "t.json", "select count(*) from ossobject s where s.state = 'TX'", {"Json_Type": "LINES"}
                ),
                json_size,
            )
        )
        rss_after = peak_rss_mib(srv.proc.pid)
    finally:
        srv.stop()

    def python_csv() -> None:
        with path_csv.open(newline="") as f:
            sum(1 for r in csv.reader(f) if r[1] == "TX")

    peers = [("Python csv module, local file, same filter", timed(python_csv), csv_size)]
    try:
        import duckdb

        q = f"select count(*) from read_csv('{path_csv}', header=false) where column1 = 'TX'"
        peers.append(
            ("DuckDB read_csv, local file, same filter", timed(lambda: duckdb.sql(q).fetchall()), csv_size)
        )
    except ImportError:
        pass
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    print(
        f"\n{stamp}, {records:,} records, CSV {csv_size / MiB:.0f} MiB, "
        f"JSON LINES {json_size / MiB:.0f} MiB\n"
    )
    ceiling = rows[0][2] / rows[0][1]
    print("| load | MB/s | vs GET |")
    print("|---|---:|---:|")
    for label, seconds, nbytes in rows + peers:
        rate = nbytes / seconds
        print(f"| {label} | {rate / 1e6:,.1f} | {rate / ceiling:.3f}x |")
    print(f"\nserver peak RSS: {rss_before:.0f} MiB after the uploads, {rss_after:.0f} MiB after the selects")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
