"""The orphan sweep while serving: blobs no metadata refers to (left by a node killed between writing a blob
and committing it, or by a blob delete that failed) are removed by one process of the cluster, every
`--blob-sweep-interval-seconds`, sparing blobs younger than the grace period that other requests may be
about to commit."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from ossbox.blobs.store import BlobStore
from ossbox.meta.sql_store import SqlMeta

log = logging.getLogger("ossbox.sweep")


def sweep_once(meta: SqlMeta, blobs: BlobStore, grace_s: float) -> tuple[int, int]:
    """(unfinished writes removed, orphaned blobs removed). The referenced set is read before the store is
    listed: a blob committed in between is younger than the grace period, so it is spared."""
    referenced = meta.all_file_blob_ids()
    return blobs.sweep(referenced, grace_s)


async def sweep(meta: SqlMeta, blobs: BlobStore, executor: Executor, grace_s: float) -> None:
    """One sweep while serving, on a worker thread (it lists the whole store)."""
    loop = asyncio.get_running_loop()
    unfinished, orphans = await loop.run_in_executor(executor, sweep_once, meta, blobs, grace_s)
    if unfinished or orphans:
        log.info("blob sweep removed %d unfinished writes and %d orphans", unfinished, orphans)
