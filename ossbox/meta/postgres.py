"""The metadata engine for several nodes: PostgreSQL (`--meta-url postgresql://...`).

Same tables, same queries as SQLite (ossbox.meta.sql_store), with these differences:
- Writers run side by side, one transaction per node's committer at a time (group commit still makes many
  requests share one commit). An operation takes a transaction-scoped advisory lock on each key, upload or
  bucket it reads before it writes (PgTxn.lock), so that checks and writes stay atomic across nodes: one of
  16 `If-None-Match: *` writers wins, one append at a position wins. A deadlock or serialization failure
  between two nodes' batches rolls back the losing batch, which runs again (up to _ATTEMPTS times).
- Caches: a commit that changes buckets, keys, identities or bucket configurations sends NOTIFY; every
  process LISTENs and drops its caches when one arrives, or when its listening connection was lost (it may
  have missed some). Processes on the same data directory also see the shared counter move at once.
- A lost connection raises MetaUnavailable (OSS's 503) and the next use reconnects.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import psycopg

from ossbox.core.errors import MetaUnavailable, OSSError
from ossbox.meta.leases import PgLease
from ossbox.meta.names import PG_SHARED_FILE
from ossbox.meta.pg import ChangeFeed, PgConnection, PooledReads
from ossbox.meta.shared_state import SharedState
from ossbox.meta.sql_store import (
    SqlMeta,
    SqlTxn,
    object_with_body_sql,
    pending_migrations,
    run_savepointed,
    statements,
)
from ossbox.meta.types import BlobKey

log = logging.getLogger("ossbox.meta")
T = TypeVar("T")
CHANNEL = "ossbox_changes"
_ATTEMPTS = 20
# pg_advisory_xact_lock(MIGRATION_LOCK): nodes starting together migrate one after the other.
_MIGRATION_LOCK = 0x6F7373626F78  # "ossbox"
_READ_POOL_SIZE = 8
# Batches committed side by side by one process: a batch waits on one round trip per statement, which on a
# network (not measured) is most of its time. On loopback here it did not move the 4 KiB PUT figure, which
# is bound by the client library's CPU (docs/benchmarks.md, Scale-out).
_COMMITTERS = 4


class PgTxn(SqlTxn):
    __slots__ = ("_locked",)
    blob_exists_sql = "SELECT 1 FROM blobs WHERE blob_id = ? FOR UPDATE"

    def __init__(self, conn: PgConnection) -> None:
        super().__init__(conn)
        self._locked: dict[str, bool] = {}  # name -> held in shared mode only

    def lock(self, name: str, shared: bool = False) -> None:
        held = self._locked.get(name)
        if held is None or (held and not shared):
            fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
            self.c.execute(f"SELECT {fn}(hashtextextended(?, 0))", (name,))
            self._locked[name] = shared

    def forget_locks(self) -> None:
        self._locked.clear()

    def must_abort(self, exc: Exception) -> bool:
        return isinstance(exc, (MetaUnavailable, psycopg.errors.TransactionRollback))

    def add_blob(
        self, blob_id: str, size: int, data: bytes | None = None, key: BlobKey | None = None
    ) -> None:
        # One round trip for a small body and its blob row (what most PUTs register).
        if data is None or key is not None:
            super().add_blob(blob_id, size, data, key)
            return
        self.c.execute(
            "WITH b AS (INSERT INTO blobs VALUES (?, ?, 0)) INSERT INTO blob_data VALUES (?, ?)",
            (blob_id, size, blob_id, data),
        )

    def next_vseq(self) -> int:
        # A sequence, not the counters row: nodes writing versions at once do not queue on one row.
        return int(self.c.execute("SELECT nextval('version_seq')").fetchone()[0])


class PostgresMeta(SqlMeta):
    engine = "postgresql"
    object_with_body_sql = object_with_body_sql("(objects.extents::json->0->>0)")
    committer_threads = _COMMITTERS

    def __init__(self, url: str, data_dir: Path) -> None:
        """`data_dir` holds this node's shared state (the test clock, same-node change counter)."""
        self.url = url
        migrating = PgConnection(url)
        try:
            self._migrate(migrating)
        finally:
            migrating.close()
        self._writers = threading.local()
        self._all_writers: list[PgConnection] = []
        shared = SharedState(data_dir / PG_SHARED_FILE)
        self._writers_lock = threading.Lock()
        self._reads = PooledReads(url, _READ_POOL_SIZE)
        self._feed = ChangeFeed(url, CHANNEL, "the metadata")
        super().__init__(PgConnection(url), shared)

    def close(self) -> None:
        self._feed.close()
        self._reads.close()
        self._read.close()  # type: ignore[attr-defined]
        for conn in self._all_writers:
            conn.close()
        super().close()

    def _migrate(self, c: PgConnection) -> None:
        c.execute("BEGIN")
        try:
            c.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT)"
            )
            done = {int(r[0]) for r in c.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, sql in pending_migrations("postgres", done):
                for statement in statements(sql):
                    c.execute(statement)
                c.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, int(time.time() * 1000)))
            c.execute("COMMIT")
        except BaseException:
            _rollback(c)
            raise

    # ---------------------------------------------------------------- caches across nodes
    def _generation(self) -> int:
        return self._shared.generation() + self._feed.count

    # ---------------------------------------------------------------- reads from worker threads
    def _reader(self) -> PooledReads:
        return self._reads

    def lease(self, name: str) -> PgLease:
        return PgLease(self.url, name)

    # ---------------------------------------------------------------- writes
    def _writer(self) -> PgConnection:
        """The calling committer thread's connection (each thread runs its own transactions)."""
        conn: PgConnection | None = getattr(self._writers, "conn", None)
        if conn is None:
            conn = self._writers.conn = PgConnection(self.url)
            with self._writers_lock:
                self._all_writers.append(conn)
        return conn

    def write_batch(self, ops: Sequence[Callable[[SqlTxn], T]]) -> list[T | OSSError | Exception]:
        c = self._writer()
        for attempt in range(_ATTEMPTS):
            txn = PgTxn(c)
            try:
                c.execute("BEGIN")
                results = run_savepointed(c, txn, ops) if len(ops) > 1 else _run_alone(c, txn, ops[0])
                if isinstance(results[0], Exception) and len(ops) == 1:
                    c.execute("ROLLBACK")  # the one operation failed: nothing to commit
                    return list(results)
                if txn.changed_config:
                    c.execute("SELECT pg_notify(?, '')", (CHANNEL,))
                c.execute("COMMIT")
            except psycopg.errors.TransactionRollback:
                # Another batch (of this node or another) holds what this one needs, or the reverse:
                # PostgreSQL aborted this one; run it again.
                _rollback(c)
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
            except BaseException:
                _rollback(c)
                raise
            break
        else:
            raise MetaUnavailable("The metadata database is too busy; try again.")
        if txn.changed_config:
            with self._shared.write_lock():
                self._shared.bump()
        return list(results)


def _run_alone(c: PgConnection, txn: PgTxn, op: Callable[[SqlTxn], T]) -> list[T | Exception]:
    """A batch of one needs no savepoint (two round trips fewer): the transaction is the operation's."""
    try:
        return [op(txn)]
    except Exception as exc:
        if txn.must_abort(exc):
            raise
        return [exc]


def _rollback(conn: PgConnection) -> None:
    try:
        conn.execute("ROLLBACK")
    except Exception:
        conn.drop()
