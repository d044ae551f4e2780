"""A local read cache with a size bound: whole files kept near compute, least recently used out first.

Built on fsspec's WholeFileCacheFileSystem (its metadata, its staleness check by ETag), adding what it lacks:
a bound on the bytes kept. Use it through the `osscache` protocol:

    fsspec.open("osscache::oss://bucket/key", osscache={"cache_storage": "/fast/disk", "max_bytes": 10**10},
                oss={"endpoint": ..., "key": ..., "secret": ...})

or wrap a filesystem: `BoundedFileCache(fs=OssFileSystem(...), cache_storage=..., max_bytes=...)`.
"""

from __future__ import annotations

import os
from typing import Any

from fsspec.implementations.cached import WholeFileCacheFileSystem


class BoundedFileCache(WholeFileCacheFileSystem):  # type: ignore[misc]
    protocol = "osscache"

    def __init__(self, max_bytes: int = 10 << 30, **kwargs: Any) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if kwargs.get("fs") is None:
            kwargs.setdefault("target_protocol", "oss")
        kwargs.setdefault("check_files", True)  # a changed object (new ETag) is fetched again
        super().__init__(**kwargs)
        self.max_bytes = int(max_bytes)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        f = super()._open(path, mode, **kwargs)
        if "r" in mode:
            # fsspec's class routes unknown attribute names to the wrapped filesystem, so the helpers
            # live at module level rather than as methods.
            _touch(self, self._strip_protocol(path))
            _evict(self, keep=self._strip_protocol(path))
        return f


def _entries(cache: BoundedFileCache) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = cache._metadata.cached_files[-1]
    return entries


def _local(cache: BoundedFileCache, detail: dict[str, Any]) -> str:
    return os.path.join(str(cache.storage[-1]), str(detail["fn"]))


def _touch(cache: BoundedFileCache, path: str) -> None:
    detail = _entries(cache).get(path)
    if detail is not None:
        try:
            os.utime(_local(cache, detail))  # last use = mtime: the LRU order survives restarts
        except FileNotFoundError:
            pass


def _evict(cache: BoundedFileCache, keep: str) -> None:
    files = []
    for path, detail in list(_entries(cache).items()):
        try:
            st = os.stat(_local(cache, detail))
        except FileNotFoundError:
            continue
        files.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= cache.max_bytes:
            break
        if path == keep:
            continue
        cache.pop_from_cache(path)
        total -= size
    cache.save_cache()
