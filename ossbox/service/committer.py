"""Group commit: many requests' metadata changes share one durable transaction.

A request writes and fdatasyncs its file blobs itself (in parallel with others), or keeps a small body in
memory as an inline blob, then submits a metadata operation together with the blobs it created. The
committer thread takes everything queued, publishes the file blobs (rename + one directory fsync),
registers all blobs (inline ones with their bytes), runs every operation in one transaction (each in its
own savepoint) and fsyncs once. Only then do the requests get their answers, so an acknowledged write is
durable and nothing is visible before its commit.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ossbox.blobs.store import BlobStore
from ossbox.core.errors import MetaUnavailable, insufficient_storage
from ossbox.meta.sql_store import SqlMeta, SqlTxn
from ossbox.meta.types import BlobKey

log = logging.getLogger("ossbox.commit")

T = TypeVar("T")
_MAX_BATCH = 512


@dataclass
class Outcome(Generic[T]):
    """What a metadata operation returns: its result and the blobs it left unreferenced."""

    value: T
    dead_blobs: list[str]


@dataclass(frozen=True)
class NewBlob:
    """A blob written for this operation: a synced temporary file, or `data` to store inline (as stored:
    ciphertext when the blob is encrypted)."""

    blob_id: str
    size: int
    data: bytes | None = None
    key: BlobKey | None = None  # its wrapped data key, when it is encrypted


def _files(blobs: Sequence[NewBlob]) -> list[str]:
    return [b.blob_id for b in blobs if b.data is None]


@dataclass
class _Job:
    op: Callable[[SqlTxn], Outcome[Any]]
    new_blobs: Sequence[NewBlob]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class Committer:
    def __init__(self, meta: SqlMeta, blobs: BlobStore) -> None:
        self._meta = meta
        self._blobs = blobs
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # One thread on SQLite (one writer at a time anyway); several on PostgreSQL, where a commit waits on
        # round trips rather than on the CPU, so batches in flight side by side multiply throughput.
        self._threads = [
            threading.Thread(target=self._run, name=f"ossbox-committer-{i}", daemon=True)
            for i in range(meta.committer_threads)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    async def commit(self, op: Callable[[SqlTxn], Outcome[T]], new_blobs: Sequence[NewBlob] = ()) -> T:
        """Run `op` durably. `new_blobs` are the blobs written for it, which it may reference."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(op, new_blobs, fut, loop))
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            # The request went away; the commit still happens (or not) as a whole.
            raise

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._process(batch)
            if stop:
                return

    def _process(self, batch: list[_Job]) -> None:
        new_files = [b for job in batch for b in _files(job.new_blobs)]
        try:
            if new_files:
                self._blobs.publish(new_files)
            results = self._meta.write_batch([self._wrap(job) for job in batch])
        except MetaUnavailable as exc:
            # The database went away, perhaps during COMMIT: whether the batch committed is unknown, so its
            # new files stay (the orphan sweep reclaims them if it did not). The requests get a 503.
            log.warning("commit of %d operations failed: %s", len(batch), exc.message)
            for job in batch:
                _resolve(job, exc)
            return
        except Exception as exc:  # disk full, I/O error: every job in the batch fails cleanly
            failure: BaseException = exc
            if _is_disk_full(exc):
                log.warning("commit of %d operations failed: no space left", len(batch))
                failure = insufficient_storage()
            else:
                log.exception("commit of %d operations failed", len(batch))
            self._blobs.delete(new_files)
            for job in batch:
                _resolve(job, failure)
            return
        dead: list[str] = []
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                dead += _files(job.new_blobs)
                _resolve(job, insufficient_storage() if _is_disk_full(result) else result)
            else:
                dead += result.dead_blobs
                _resolve(job, result)
        if self._meta.freed_inline_pages and not self._blobs.has_room_for(self._blobs.reserve_bytes):
            try:
                self._meta.reclaim_space()
            except Exception:
                log.exception("could not reclaim the space of deleted inline bodies")
        if dead:
            try:
                self._blobs.delete(dead)
            except OSError:
                log.exception("could not delete %d unreferenced blobs; the next start sweeps them", len(dead))

    @staticmethod
    def _wrap(job: _Job) -> Callable[[SqlTxn], Outcome[Any]]:
        def run(txn: SqlTxn) -> Outcome[Any]:
            for blob in job.new_blobs:
                txn.add_blob(blob.blob_id, blob.size, blob.data, blob.key)
            outcome = job.op(txn)
            outcome.dead_blobs += txn.drop_unreferenced(b.blob_id for b in job.new_blobs)
            return outcome

        return run


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    # SQLITE_FULL surfaces as OperationalError("database or disk is full").
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


def _resolve(job: _Job, result: Outcome[Any] | BaseException) -> None:
    def settle() -> None:
        if job.future.done():
            return
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result.value)

    job.loop.call_soon_threadsafe(settle)
