"""The cost of encryption at rest: large PUT/GET of plain objects against AES256 and SM4 ones, same run.

    python bench/sse_bench.py                # 1 GiB, best of 3
    python bench/sse_bench.py --quick        # 256 MiB, best of 1: a smoke test

One server (`python -m ossbox server`, core 0) with three buckets: no rule, default AES256, default SM4; curl
(core 1) PUTs and GETs the same file on V1 presigned URLs, exactly as `bench/oss_bench.py --only large` does,
the three kinds interleaved in each repetition so that machine noise hits them alike. Ranged GETs (1 MiB at
random offsets) show the cost of starting decryption mid-object. Only 127.0.0.1 is contacted; processes and
temporary directories are removed at exit. Results: printed as a markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import oss_bench as ob  # noqa: E402  (shared plumbing: server process, cleanup, curl, signing)

MiB, GiB = ob.MiB, ob.GiB
KINDS = {"plain": None, "aes256": "AES256", "sm4": "SM4"}


def _make_buckets(server: ob.Server) -> None:
    from oss2.models import ServerSideEncryptionRule

    for name, algorithm in KINDS.items():
        b = server.bucket(name)
        b.create_bucket()
        if algorithm:
            rule = ServerSideEncryptionRule()
            rule.sse_algorithm = algorithm
            b.put_bucket_encryption(rule)


def _ranged_gets(server: ob.Server, bucket: str, size: int, count: int) -> float:
    """1 MiB ranged GETs at random offsets; requests/s."""
    b = server.bucket(bucket, crc=False)
    rng = random.Random(7)
    t0 = time.perf_counter()
    for _ in range(count):
        start = rng.randrange(0, size - MiB)
        got = b.get_object("obj", byte_range=(start, start + MiB - 1)).read()
        assert len(got) == MiB
    return count / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="256 MiB, best of 1")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, ob._on_signal)
    os.sched_setaffinity(0, {int(ob.CLIENT_CORE)})
    size = 256 * MiB if args.quick else GiB
    reps = 1 if args.quick else 3
    label = f"{size // MiB} MiB" if size < GiB else f"{size // GiB} GiB"
    work = ob.CLEAN.mkdtemp("ssebench-")
    results = ob.Results()
    try:
        data = work / "data"
        data.mkdir()
        server = ob.Server(data).start()
        _make_buckets(server)
        big = work / "big.bin"
        ob.make_big_file(big, size)
        puts: dict[str, list[float]] = {k: [] for k in KINDS}
        gets: dict[str, list[float]] = {k: [] for k in KINDS}
        for _ in range(reps):
            for kind in KINDS:
                puts[kind].append(ob.curl_put(server.url(ob.v1_presign("PUT", kind, "obj")), big))
                gets[kind].append(ob.curl_get(server.url(ob.v1_presign("GET", kind, "obj"))))
        for kind in KINDS:
            results.add("large", f"{label} PUT, {kind} (best of {reps})", max(puts[kind]), "MB/s",
                        note="all: " + ", ".join(f"{x:.0f}" for x in puts[kind]))  # fmt: skip
        for kind in KINDS:
            results.add("large", f"{label} GET, {kind} (best of {reps})", max(gets[kind]), "MB/s",
                        note="all: " + ", ".join(f"{x:.0f}" for x in gets[kind]))  # fmt: skip
        for kind in KINDS:
            rate = _ranged_gets(server, kind, size, 50 if args.quick else 200)
            results.add("ranged", f"1 MiB ranged GET at random offsets, {kind}", rate, "req/s")
        for kind in ("aes256", "sm4"):
            results.add("ratio", f"PUT {kind} / plain", max(puts[kind]) / max(puts["plain"]), "x")
            results.add("ratio", f"GET {kind} / plain", max(gets[kind]) / max(gets["plain"]), "x")
        server.stop()
    finally:
        ob.CLEAN.all()
    print(f"\nCommand: `python bench/sse_bench.py{' --quick' if args.quick else ''}`\n")
    print("| section | measurement | value | unit | notes |\n|---|---|---:|---|---|")
    for row in results.rows:
        print(f"| {row['section']} | {row['name']} | {ob.fmt(float(row['value']))} | {row['unit']} | "  # type: ignore[arg-type]
              f"{row.get('note', '')} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
