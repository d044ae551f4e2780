"""The table service's storage, with group commit: its own SQLite database in the data directory (WAL,
synchronous=FULL), or schema `ossbox_tables` in the metadata's PostgreSQL database when nodes share one
(ossbox.meta.side_db gives both).

Why SQL and not a key-value engine: rows are kept one database row per table row, keyed by an
order-preserving encoding of the primary key (keys.py; SQLite's BLOB and PostgreSQL's bytea both compare
bytewise), so a point read is one B-tree lookup and GetRange is an index range scan in key order;
durability, crash safety and the change log commit in the same transaction as the row.
docs/tables.md and docs/benchmarks.md have the measurements.

Reads run on the caller's (event loop) thread through its own connection. Every write goes through `run`:
a writer thread takes all queued operations, runs each inside its own SAVEPOINT (one failing, say on a
condition check, rolls back alone), commits once, and only then answers them: an acknowledged write is
durable, and nothing is visible before its commit. Writes of every process and node take turns (the side
database's write lock), so change log sequence numbers are in commit order: a reader that has seen record
N never later finds a new record below N.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg

from ossbox.core.errors import MetaUnavailable
from ossbox.meta.side_db import DbConn, SideDb
from ossbox.tables.errors import TableError, storage_full, unavailable
from ossbox.tables.model import TableInfo

log = logging.getLogger("ossbox.tables")

T = TypeVar("T")
_MAX_BATCH = 512
_PRUNE_EVERY_S = 60.0
_SCAN_PAGE = 256
# The SQLite file's page cache (64 MiB): GetRange over a large table stays in memory.
SQLITE_PRAGMAS = ("cache_size=-65536",)

# The stream API's ActionType values.
ACTION_PUT = 1
ACTION_UPDATE = 2
ACTION_DELETE = 3


@dataclass(frozen=True)
class RowRecord:
    pk: bytes
    data: bytes
    write_ms: int
    oldest_ms: int
    most_versions: int


class Txn:
    """Operations inside the writer's transaction."""

    def __init__(self, conn: DbConn) -> None:
        self.c = conn
        # Set when the transaction changes the table catalog, which every server process keeps in memory.
        self.catalog_changed = False

    def ensure_instance(self, name: str, now_ms: int) -> None:
        self.c.execute(
            "INSERT INTO instances (name, created_ms) VALUES (?, ?) ON CONFLICT DO NOTHING", (name, now_ms)
        )

    def table_count(self, instance: str) -> int:
        return int(
            self.c.execute("SELECT count(*) FROM tables WHERE instance = ?", (instance,)).fetchone()[0]
        )

    def insert_table(self, info: TableInfo) -> int:
        self.catalog_changed = True
        row = self.c.execute(
            "INSERT INTO tables (instance, name, meta) VALUES (?, ?, ?) RETURNING table_id",
            (info.instance, info.name, info.to_json()),
        ).fetchone()
        return int(row[0])

    def update_table(self, info: TableInfo) -> None:
        self.catalog_changed = True
        self.c.execute("UPDATE tables SET meta = ? WHERE table_id = ?", (info.to_json(), info.table_id))

    def delete_table(self, table_id: int) -> None:
        self.catalog_changed = True
        self.c.execute("DELETE FROM rows WHERE table_id = ?", (table_id,))
        self.c.execute("DELETE FROM changes WHERE table_id = ?", (table_id,))
        self.c.execute("DELETE FROM tables WHERE table_id = ?", (table_id,))

    def next_auto_increment(self, table_id: int, now_ms: int) -> int:
        """Unique and increasing within the table: microseconds since the epoch, or one more than the last."""
        last = self.c.execute("SELECT autoinc_last FROM tables WHERE table_id = ?", (table_id,)).fetchone()[0]
        value = max(int(last) + 1, now_ms * 1000)
        self.c.execute("UPDATE tables SET autoinc_last = ? WHERE table_id = ?", (value, table_id))
        return value

    def get_row(self, table_id: int, pk: bytes) -> RowRecord | None:
        row = self.c.execute(
            "SELECT data, write_ms, oldest_ms, most_versions FROM rows WHERE table_id = ? AND pk = ?",
            (table_id, pk),
        ).fetchone()
        return None if row is None else RowRecord(pk, row[0], row[1], row[2], row[3])

    def put_row(self, table_id: int, row: RowRecord) -> None:
        self.c.execute(
            "INSERT INTO rows (table_id, pk, data, write_ms, oldest_ms, most_versions) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (table_id, pk) DO UPDATE SET data = excluded.data, "
            "write_ms = excluded.write_ms, oldest_ms = excluded.oldest_ms, "
            "most_versions = excluded.most_versions",
            (table_id, row.pk, row.data, row.write_ms, row.oldest_ms, row.most_versions),
        )

    def delete_row(self, table_id: int, pk: bytes) -> None:
        self.c.execute("DELETE FROM rows WHERE table_id = ? AND pk = ?", (table_id, pk))

    def append_change(self, table_id: int, ts_ms: int, action: int, record: bytes) -> None:
        self.c.execute(
            "INSERT INTO changes (table_id, ts_ms, action, record) VALUES (?, ?, ?, ?)",
            (table_id, ts_ms, action, record),
        )

    def prune_changes(self, table_id: int, older_than_ms: int) -> int:
        row = self.c.execute(
            "SELECT max(seq) FROM changes WHERE table_id = ? AND ts_ms < ?", (table_id, older_than_ms)
        ).fetchone()
        if row[0] is None:
            return 0
        cur = self.c.execute("DELETE FROM changes WHERE table_id = ? AND seq <= ?", (table_id, row[0]))
        self.c.execute(
            "UPDATE tables SET changes_trimmed_through = ? "
            "WHERE table_id = ? AND changes_trimmed_through < ?",
            (row[0], table_id, row[0]),
        )
        return cur.rowcount


@dataclass
class _Job(Generic[T]):
    op: Callable[[Txn], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, psycopg.errors.DiskFull):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


def _failure(exc: BaseException) -> BaseException:
    """What a write's caller is answered when its batch could not commit."""
    if _is_disk_full(exc):
        return storage_full()
    if isinstance(exc, MetaUnavailable | psycopg.OperationalError):
        return unavailable()
    return exc


class TableStorage:
    def __init__(self, db: SideDb, now_ms: Callable[[], int]) -> None:
        """Takes over `db` (closed with the storage)."""
        self._db = db
        self._now_ms = now_ms
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._last_prune = float("-inf")  # the first commit prunes
        self._thread = threading.Thread(target=self._run, name="ossbox-tables-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._db.close()

    def catalog_generation(self) -> int:
        """Changes whenever any process or node commits a change to the table catalog."""
        return self._db.generation()

    @property
    def _read(self) -> DbConn:
        return self._db.conn()

    # ----------------------------------------------------------------------------------------- reads
    def load_tables(self) -> list[TableInfo]:
        rows = self._read.execute("SELECT table_id, instance, name, meta FROM tables").fetchall()
        return [TableInfo.from_json(r[0], r[1], r[2], r[3]) for r in rows]

    def load_table(self, instance: str, name: str) -> TableInfo | None:
        row = self._read.execute(
            "SELECT table_id, instance, name, meta FROM tables WHERE instance = ? AND name = ?",
            (instance, name),
        ).fetchone()
        return None if row is None else TableInfo.from_json(row[0], row[1], row[2], row[3])

    def get_row(self, table_id: int, pk: bytes) -> RowRecord | None:
        row = self._read.execute(
            "SELECT data, write_ms, oldest_ms, most_versions FROM rows WHERE table_id = ? AND pk = ?",
            (table_id, pk),
        ).fetchone()
        return None if row is None else RowRecord(pk, row[0], row[1], row[2], row[3])

    def scan(self, table_id: int, start: bytes, end: bytes, forward: bool) -> Iterator[RowRecord]:
        """Rows from `start` (inclusive) towards `end` (exclusive), in key order or reversed, read a page
        at a time (each page is one statement, consistent in itself), so a caller that stops early has not
        read the rest of the range."""
        columns = "SELECT pk, data, write_ms, oldest_ms, most_versions FROM rows WHERE table_id = ? AND "
        if forward:
            first = columns + "pk >= ? AND pk < ? ORDER BY pk LIMIT ?"
            rest = columns + "pk > ? AND pk < ? ORDER BY pk LIMIT ?"
        else:
            first = columns + "pk <= ? AND pk > ? ORDER BY pk DESC LIMIT ?"
            rest = columns + "pk < ? AND pk > ? ORDER BY pk DESC LIMIT ?"
        sql, bound = first, start
        while True:
            page = self._read.execute(sql, (table_id, bound, end, _SCAN_PAGE)).fetchall()
            for r in page:
                yield RowRecord(bytes(r[0]), bytes(r[1]), r[2], r[3], r[4])
            if len(page) < _SCAN_PAGE:
                return
            sql, bound = rest, bytes(page[-1][0])

    def changes_trimmed_through(self, table_id: int) -> int:
        row = self._read.execute(
            "SELECT changes_trimmed_through FROM tables WHERE table_id = ?", (table_id,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def changes_after(self, table_id: int, after: int, limit: int) -> list[tuple[int, int, bytes]]:
        """(seq, action, record) of up to `limit` change log records after `after`."""
        rows = self._read.execute(
            "SELECT seq, action, record FROM changes WHERE table_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (table_id, after, limit),
        ).fetchall()
        return [(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]

    # ---------------------------------------------------------------------------------------- writes
    async def run(self, op: Callable[[Txn], T]) -> T:
        """Runs `op` in the writer's transaction; returns once it is durable. TableError passes through."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(op, fut, loop))
        return await asyncio.shield(fut)

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

    def _process(self, batch: list[_Job[Any]]) -> None:
        results: list[tuple[bool, Any]] = []
        try:
            with self._db.write() as c:
                txn = Txn(c)
                for job in batch:
                    c.execute("SAVEPOINT op")
                    try:
                        value = job.op(txn)
                    except Exception as exc:
                        c.execute("ROLLBACK TO op")
                        c.execute("RELEASE op")
                        if not isinstance(exc, TableError):
                            if _is_disk_full(exc):
                                exc = storage_full()
                            else:
                                log.exception("table write failed")
                        results.append((False, exc))
                        continue
                    c.execute("RELEASE op")
                    results.append((True, value))
                self._maybe_prune(txn)
                if txn.catalog_changed:
                    self._db.announce()
        except Exception as exc:  # disk full, I/O error or a lost database: nothing in the batch happened
            failure = _failure(exc)
            if failure is exc:
                log.exception("commit of %d table writes failed", len(batch))
            for job in batch:
                _settle(job, False, failure)
            return
        for job, (ok, value) in zip(batch, results, strict=True):
            _settle(job, ok, value)

    def _maybe_prune(self, txn: Txn) -> None:
        """Drops change log records past each table's retention, at most once a minute."""
        now = time.monotonic()
        if now - self._last_prune < _PRUNE_EVERY_S:
            return
        self._last_prune = now
        now_ms = self._now_ms()
        for table_id, meta in txn.c.execute("SELECT table_id, meta FROM tables").fetchall():
            info = TableInfo.from_json(table_id, "", "", meta)
            removed = txn.prune_changes(table_id, now_ms - info.changelog_retention_s * 1000)
            if removed:
                log.info("change log of table %d: removed %d records past retention", table_id, removed)


def _settle(job: _Job[Any], ok: bool, value: Any) -> None:
    def settle() -> None:
        if job.future.done():
            return
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)

    job.loop.call_soon_threadsafe(settle)
