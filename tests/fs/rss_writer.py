"""Run in a fresh process: write N MiB through oss:// and print the peak RSS.

The peak is VmHWM from /proc/self/status, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec
from the forked parent (here the pytest process), while VmHWM belongs to this process image alone.
"""

from __future__ import annotations

import json
import sys

from ossbox.fs import OssFileSystem


def peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    endpoint, key, secret, path, mib, threads, part = sys.argv[1:8]
    fs = OssFileSystem(endpoint=endpoint, key=key, secret=secret, threads=int(threads), partition_size=part)
    chunk = bytes(range(256)) * 4096  # 1 MiB, reused: cheap to produce, not all zeros
    baseline = peak_rss()
    with fs.open(path, "wb") as f:
        for _ in range(int(mib)):
            f.write(chunk)
    peak = peak_rss()
    print(json.dumps({"baseline": baseline, "peak": peak, "size": fs.info(path)["size"]}))


if __name__ == "__main__":
    main()
