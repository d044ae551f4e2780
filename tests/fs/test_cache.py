"""The size-bounded local read cache on fsspec's caching layer."""

from __future__ import annotations

import os
from pathlib import Path

import fsspec
import oss2

from ossbox.fs.cache import BoundedFileCache
from tests.fs.conftest import make_fs
from tests.fs.fault_proxy import FaultProxy
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess

MiB = 1 << 20


def cache_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.iterdir() if p.name != "cache")


def test_hot_files_are_served_locally_and_the_bound_holds(
    server: ServerProcess, oss_bucket: oss2.Bucket, tmp_path: Path
) -> None:
    b = oss_bucket.bucket_name
    blobs = {f"f{i}": os.urandom(MiB) for i in range(3)}
    for k, v in blobs.items():
        oss_bucket.put_object(k, v)
    proxy = FaultProxy(server.port, lambda m, t: None).start()
    try:
        cache = BoundedFileCache(
            fs=make_fs(proxy.endpoint),
            cache_storage=str(tmp_path),
            max_bytes=int(2.5 * MiB),
            check_files=False,
        )

        def gets(key: str) -> int:
            return sum(1 for m, t in proxy.requests if m == "GET" and f"/{b}/{key}" in t)

        for key in ("f0", "f1"):
            with cache.open(f"{b}/{key}", "rb") as f:
                assert f.read() == blobs[key]
        with cache.open(f"{b}/f0", "rb") as f:  # hot: no new GET
            assert f.read() == blobs["f0"]
        assert gets("f0") == 1
        with cache.open(f"{b}/f2", "rb") as f:  # over the bound: f1 (least recently used) goes
            assert f.read() == blobs["f2"]
        assert cache_bytes(tmp_path) <= 2.5 * MiB
        with cache.open(f"{b}/f0", "rb") as f:
            assert f.read() == blobs["f0"]
        assert gets("f0") == 1
        with cache.open(f"{b}/f1", "rb") as f:
            assert f.read() == blobs["f1"]
        assert gets("f1") == 2  # evicted, so fetched again
    finally:
        proxy.stop()


def test_osscache_protocol_through_fsspec_open(
    server: ServerProcess, oss_bucket: oss2.Bucket, tmp_path: Path
) -> None:
    b = oss_bucket.bucket_name
    oss_bucket.put_object("c.txt", b"cached")
    url = f"osscache::oss://{b}/c.txt"
    kw = {
        "osscache": {"cache_storage": str(tmp_path), "max_bytes": MiB},
        "oss": {"endpoint": server.endpoint, "key": ACCESS_KEY_ID, "secret": ACCESS_KEY_SECRET},
    }
    with fsspec.open(url, "rb", **kw) as f:
        assert f.read() == b"cached"
    oss_bucket.put_object("c.txt", b"changed")  # new ETag: check_files fetches the new version
    with fsspec.open(url, "rb", **kw) as f:
        assert f.read() == b"changed"
