"""Group commit: many requests' metadata changes share one durable transaction.

A request writes and fdatasyncs its blobs itself (in parallel with others), then submits a metadata
operation together with the ids of the blobs it created. The committer thread takes everything queued,
publishes those blobs (rename + one directory fsync), registers them, runs every operation in one
transaction (each in its own savepoint) and fsyncs once. Only then do the requests get their answers, so
an acknowledged write is durable and nothing is visible before its commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ossbox.blobs.local import LocalBlobStore
from ossbox.meta.sqlite import SqliteMeta, SqliteTxn

log = logging.getLogger("ossbox.commit")

T = TypeVar("T")
_MAX_BATCH = 512


@dataclass
class Outcome(Generic[T]):
    """What a metadata operation returns: its result and the blobs it left unreferenced."""

    value: T
    dead_blobs: list[str]


@dataclass
class _Job:
    op: Callable[[SqliteTxn], Outcome[Any]]
    new_blobs: Sequence[tuple[str, int]]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class Committer:
    def __init__(self, meta: SqliteMeta, blobs: LocalBlobStore) -> None:
        self._meta = meta
        self._blobs = blobs
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ossbox-committer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    async def commit(
        self, op: Callable[[SqliteTxn], Outcome[T]], new_blobs: Sequence[tuple[str, int]] = ()
    ) -> T:
        """Run `op` durably. `new_blobs` are (blob_id, size) of synced temporary blobs it references."""
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
        new_ids = [b for job in batch for b, _ in job.new_blobs]
        try:
            if new_ids:
                self._blobs.publish(new_ids)
            results = self._meta.write_batch([self._wrap(job) for job in batch])
        except Exception as exc:  # disk full, I/O error: every job in the batch fails cleanly
            log.exception("commit of %d operations failed", len(batch))
            self._blobs.delete(new_ids)
            for job in batch:
                _resolve(job, exc)
            return
        dead: list[str] = []
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                dead += [b for b, _ in job.new_blobs]
                _resolve(job, result)
            else:
                dead += result.dead_blobs
                _resolve(job, result)
        if dead:
            try:
                self._blobs.delete(dead)
            except OSError:
                log.exception("could not delete %d unreferenced blobs; the next start sweeps them", len(dead))

    @staticmethod
    def _wrap(job: _Job) -> Callable[[SqliteTxn], Outcome[Any]]:
        def run(txn: SqliteTxn) -> Outcome[Any]:
            for blob_id, size in job.new_blobs:
                txn.add_blob(blob_id, size)
            outcome = job.op(txn)
            outcome.dead_blobs += txn.drop_unreferenced(b for b, _ in job.new_blobs)
            return outcome

        return run


def _resolve(job: _Job, result: Outcome[Any] | BaseException) -> None:
    def settle() -> None:
        if job.future.done():
            return
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result.value)

    job.loop.call_soon_threadsafe(settle)
