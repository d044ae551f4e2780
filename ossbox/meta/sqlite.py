"""The embedded metadata engine: one SQLite database in WAL mode, `<data-dir>/meta.sqlite3`.

Reads run on the caller's thread through one connection (worker threads get their own); writes run on
the committer's connection. Several processes may open one database (`ossbox server --workers N`, the
admin commands): an flock in the data directory's shared state serialises their write transactions and
its change counter tells them when cached rows changed (ossbox.meta.shared_state).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ossbox.core.errors import OSSError
from ossbox.core.sqlite_files import connect_wal
from ossbox.meta.leases import FileLease
from ossbox.meta.shared_state import SharedState
from ossbox.meta.sql_store import SqlMeta, SqlTxn, pending_migrations, run_savepointed, statements

T = TypeVar("T")
_VACUUM_PAGES_PER_BATCH = 4096  # 16 MiB of 4 KiB pages


def _connect(path: Path, cache_mib: int = 64) -> sqlite3.Connection:
    # auto_vacuum: pages freed by deleting inline blobs go back to the filesystem (see write_batch); this
    # takes effect only on a database created with it, i.e. before the first table exists. Commits are
    # fsync'd (synchronous=FULL); group commit keeps that affordable.
    conn = connect_wal(path, ["auto_vacuum=INCREMENTAL"])
    conn.execute("PRAGMA foreign_keys=OFF")
    # The page cache of each connection; the file's pages are in the OS's page cache as well.
    conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    return conn


class SqliteMeta(SqlMeta):
    engine = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        shared = SharedState(path.with_name(path.name + ".shared"))
        # The writer touches index pages and freshly written rows; the event loop's reader serves GETs and
        # LIST pages (the hot set); worker threads' readers are many (one per thread) and get a little each.
        self._write = _connect(path, 32)
        try:
            with shared.write_lock():
                self._migrate()
        except BaseException:
            self._write.close()
            shared.close()
            raise
        read = _connect(path)
        self._read_thread = threading.get_ident()
        self._thread_reads = threading.local()
        self._extra_reads: list[sqlite3.Connection] = []
        self._write_lock = threading.Lock()
        super().__init__(read, shared)

    def close(self) -> None:
        for conn in self._extra_reads:
            conn.close()
        self._read.close()  # type: ignore[attr-defined]
        self._write.close()
        super().close()

    def _migrate(self) -> None:
        c = self._write
        c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER)"
        )
        done = {row[0] for row in c.execute("SELECT version FROM schema_migrations")}
        for version, sql in pending_migrations("sqlite", done):
            c.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements(sql):
                    c.execute(statement)
                c.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, int(time.time() * 1000)))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def _reader(self) -> sqlite3.Connection:
        if threading.get_ident() == self._read_thread:
            return self._read  # type: ignore[return-value]
        conn: sqlite3.Connection | None = getattr(self._thread_reads, "conn", None)
        if conn is None:
            conn = self._thread_reads.conn = _connect(self.path, 8)
            with self._write_lock:
                self._extra_reads.append(conn)
        return conn

    def lease(self, name: str) -> FileLease:
        return FileLease(self.path.with_name(f"{name}.lock"))

    def write_batch(self, ops: Sequence[Callable[[SqlTxn], T]]) -> list[T | OSSError | Exception]:
        with self._write_lock, self._shared.write_lock():
            c = self._write
            txn = SqlTxn(c)
            c.execute("BEGIN IMMEDIATE")
            try:
                results = run_savepointed(c, txn, ops)
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
            self.freed_inline_pages = self.freed_inline_pages or txn.freed_inline
            if txn.changed_config:
                self._shared.bump()
        return list(results)

    def reclaim_space(self) -> None:
        """Give the pages of deleted inline bodies back to the filesystem (a bounded amount per call).

        The database file shrinks only when the WAL is checkpointed, so this checkpoints too: the
        committer calls it when the disk runs low, so that deleting objects makes room for new ones.
        """
        with self._write_lock, self._shared.write_lock():
            # execute() steps this pragma once, which frees a single page; executescript runs it out.
            self._write.executescript(f"PRAGMA incremental_vacuum({_VACUUM_PAGES_PER_BATCH});")
            self._write.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.freed_inline_pages = False
