"""1 GiB GET and PUT over HTTPS against the same server's plain HTTP, in one run (docs/benchmarks.md, "TLS").

One `ossbox server --workers 1 --tls-dev --https-address ...` serves HTTP and HTTPS on two ports; curl
(single stream, V1 presigned URLs, the development CA trusted with --cacert) PUTs and GETs the object on
each, best of --reps. Nothing but 127.0.0.1 is contacted.

    python bench/tls_bench.py            # ~1 minute, ~2 GB free in $TMPDIR
    python bench/tls_bench.py --quick    # 256 MiB
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.oss_bench as ob  # noqa: E402 - after the path is set
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess, free_port  # noqa: E402

MiB = 1 << 20


def curl(*args: str) -> float:
    out = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True, text=True, check=True)
    return float(out.stdout) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    size = 256 * MiB if args.quick else 1024 * MiB
    work = Path(tempfile.mkdtemp(prefix="ossbox-tls-bench-"))
    https_port = free_port()
    srv = ServerProcess(
        work / "data",
        free_port(),
        extra_args=("--workers", "1", "--tls-dev", "--https-address", f"127.0.0.1:{https_port}",
                    "--log-level", "warning"),
    )  # fmt: skip
    ob.AK, ob.SK = ACCESS_KEY_ID, ACCESS_KEY_SECRET
    try:
        srv.start()
        ca = str(work / "data" / "certs" / "ca.crt")
        big = work / "big.bin"
        ob.make_big_file(big, size)
        plain = f"http://127.0.0.1:{srv.port}"
        secure = f"https://127.0.0.1:{https_port}"
        curl(
            "-o", "/dev/null", "-w", "%{speed_upload}", "-X", "PUT", plain + ob.v1_presign("PUT", "bench", "")
        )
        rows = []
        for label, base in (("HTTP", plain), ("HTTPS", secure)):
            puts, gets = [], []
            for r in range(args.reps):
                key = f"{label}-{r}"
                put = base + ob.v1_presign("PUT", "bench", key)
                puts.append(curl("--cacert", ca, "-o", "/dev/null", "-H", "Expect:", "-T", str(big),
                                 "-w", "%{speed_upload}", put))  # fmt: skip
                get = base + ob.v1_presign("GET", "bench", key)
                gets.append(curl("--cacert", ca, "-o", "/dev/null", "-w", "%{speed_download}", get))
            rows.append((label, max(puts), max(gets)))
            print(f"{label}: PUT {max(puts):,.0f} MB/s, GET {max(gets):,.0f} MB/s", flush=True)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    (_, put_plain, get_plain), (_, put_tls, get_tls) = rows
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = "python bench/tls_bench.py" + (" --quick" if args.quick else "")
    print(f"\n{stamp}, `{command}`, {os.cpu_count()} cores, {size // MiB} MiB\n")
    print("| | PUT | GET |\n|---|---:|---:|")
    print(f"| HTTP | {put_plain:,.0f} MB/s | {get_plain:,.0f} MB/s |")
    put_ratio, get_ratio = put_tls / put_plain, get_tls / get_plain
    print(f"| HTTPS | {put_tls:,.0f} MB/s ({put_ratio:.2f}x) | {get_tls:,.0f} MB/s ({get_ratio:.2f}x) |")


if __name__ == "__main__":
    main()
