#!/usr/bin/env python3
"""CPU time per request of the OSS application itself (no sockets, no HTTP parsing), for comparing source
trees on a noisy machine: process CPU time is far less sensitive to other load than ops/s under wrk.

Each tree runs in its own child process (so each imports its own `ossbox`), alternating, several rounds;
the best round counts. Measured: an anonymous 4 KiB GET from a public-read bucket (no signature work) and a
1000-key ListObjects page, in an unversioned bucket; with --versioned also a GET of the current version in a
versioned bucket (for trees that have versioning).

    python bench/handler_cpu.py /path/to/old/checkout .           # compare two trees
    git archive <rev> | tar -x -C /tmp/base && python bench/handler_cpu.py /tmp/base . --versioned
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import asyncio, json, os, shutil, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ossbox.auth.authenticator import Authenticator
from ossbox.blobs.local import LocalBlobStore
from ossbox.cli.runtime import open_meta
from ossbox.http.app import OssApp
from ossbox.http.server import Body, Request
from ossbox.service.committer import Committer
from ossbox.service.storage import Storage, WriteAttrs

class _Protocol:
    def pause_reading(self): pass
    def resume_reading(self): pass
    def write_raw(self, data): pass

def request(target):
    body = Body(_Protocol(), False)
    body.feed_eof()
    return Request("GET", target, {"host": "127.0.0.1"}, body, "127.0.0.1", "1.1")

async def fill(storage, meta, name, versioned):
    await storage.create_bucket("owner", name, "public-read", "Standard")
    if versioned:
        await storage.set_bucket_versioning(name, "Enabled")
    bucket = meta.get_bucket(name)
    data = os.urandom(4096)
    for i in range(1000):
        chunks = iter([data, b""])
        async def read_chunk():
            return next(chunks)
        await storage.put_object(bucket, f"k/{i:05d}", read_chunk, 4096, None, WriteAttrs())

async def per_request_us(app, target, n):
    start = time.process_time()
    for _ in range(n):
        r = await app(request(target))
        assert r.status == 200, r.status
    return (time.process_time() - start) / n * 1e6

async def main():
    versioned = sys.argv[2] == "1"
    work = Path(tempfile.mkdtemp())
    meta = open_meta(work)
    blobs = LocalBlobStore(work)
    committer = Committer(meta, blobs)
    storage = Storage(meta, blobs, committer, "cn-hangzhou")
    app = OssApp(storage, Authenticator(meta.get_access_key, "cn-hangzhou"), ("localhost",))
    await fill(storage, meta, "plain", False)
    cases = [("get", b"/plain/k/00042", 20000), ("list", b"/plain/?max-keys=1000", 300)]
    if versioned:
        await fill(storage, meta, "versioned", True)
        cases.append(("get_versioned", b"/versioned/k/00042", 20000))
    out = {name: await per_request_us(app, target, n) for name, target, n in cases}
    committer.stop()
    storage.close()
    meta.close()
    shutil.rmtree(work)
    print(json.dumps(out))

asyncio.run(main())
"""


def measure(tree: Path, versioned: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree.resolve()), "1" if versioned else "0"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--versioned", action="store_true", help="also GET in a versioned bucket (last tree)")
    args = ap.parse_args()
    best: dict[Path, dict[str, float]] = {t: {} for t in args.trees}
    for _ in range(args.rounds):
        for tree in args.trees:
            got = measure(tree, args.versioned and tree == args.trees[-1])
            for name, us in got.items():
                best[tree][name] = min(us, best[tree].get(name, us))
    print("| tree | " + " | ".join(sorted(best[args.trees[-1]])) + " |")
    print("|---|" + "---:|" * len(best[args.trees[-1]]))
    for tree in args.trees:
        cells = [f"{best[tree][n]:.1f} us" if n in best[tree] else "-" for n in sorted(best[args.trees[-1]])]
        print(f"| {tree} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
