"""The databases of the services beside the object metadata (the project service's catalog, the table
service's rows and change log, delivery's tasks and checkpoints): a SQLite file in the data directory on the
embedded default, or a schema of their own in the metadata's PostgreSQL database when the nodes share one,
so that every node sees the same projects, tables and tasks.

Both engines give the callers the same few things: a connection for the calling thread whose `execute`
takes `?` placeholders; write transactions that run one at a time (SQLite's `BEGIN IMMEDIATE` under an
flock, as the metadata's writers take turns; on PostgreSQL a transaction-scoped advisory lock on the
database's name, so a check-then-insert means the same on both, and rows numbered by a sequence inside a
write commit in the order of their numbers); and a change counter that every process and node sees move
once a write that called `announce()` has committed (a shared memory counter next to the SQLite file;
NOTIFY and a LISTENing thread on PostgreSQL), for the caches a service keeps of its own catalog.

Each database has numbered migrations in its package's `migrations/` directory; a `migrations/postgres/`
file of the same number replaces one where PostgreSQL needs other types.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, cast

import psycopg

from ossbox.core.sqlite_files import connect_wal
from ossbox.meta.pg import ChangeFeed, PgConnection, redact
from ossbox.meta.shared_state import SharedState
from ossbox.meta.sql_store import statements


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class DbConn(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...


class SideDb(Protocol):
    engine: str

    def conn(self) -> DbConn:
        """The calling thread's connection (autocommit outside `write`)."""

    @contextmanager
    def write(self) -> Iterator[DbConn]:
        """One write transaction at a time across every process and node."""
        yield self.conn()

    def announce(self) -> None:
        """Inside `write`: once the transaction commits, every process's `generation()` moves."""

    def generation(self) -> int:
        """Moves after every announced commit (of any process or node), and whenever one may be missed."""
        return 0

    def close(self) -> None: ...


def is_postgres(meta_url: str) -> bool:
    return meta_url.startswith(("postgresql://", "postgres://"))


def open_side_db(
    name: str, package: str, data_dir: Path, meta_url: str, sqlite_pragmas: Sequence[str] = ()
) -> SideDb:
    """The database `name` (`<data_dir>/<name>.sqlite3`, or schema `ossbox_<name>` next to a PostgreSQL
    metadata store) with the migrations of `package` applied."""
    if is_postgres(meta_url):
        return PgSideDb(name, package, meta_url)
    return SqliteSideDb(data_dir / f"{name}.sqlite3", package, sqlite_pragmas)


def _migrations(package: str, engine: str) -> list[tuple[int, str]]:
    root = resources.files(package).joinpath("migrations")
    found: dict[int, str] = {}
    for entry in root.iterdir():
        if entry.name.endswith(".sql"):
            found[int(entry.name.split("_", 1)[0])] = entry.read_text(encoding="utf-8")
    specific = root.joinpath(engine)
    if specific.is_dir():
        for entry in specific.iterdir():
            if entry.name.endswith(".sql"):
                found[int(entry.name.split("_", 1)[0])] = entry.read_text(encoding="utf-8")
    return sorted(found.items())


class _PerThread:
    """One connection per thread (the services run statements on worker threads), all closed together."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _remember(self, conn: Any) -> None:
        self._local.conn = conn
        with self._lock:
            self._all.append(conn)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


class SqliteSideDb(_PerThread):
    engine = "sqlite"

    def __init__(self, path: Path, package: str, pragmas: Sequence[str] = ()) -> None:
        super().__init__()
        self.path = path
        self._pragmas = ("foreign_keys=ON", *pragmas)
        # Writers of several processes take turns on its flock (see SharedState), threads on the lock.
        self._shared: SharedState | None = SharedState(path.with_name(path.name + ".shared"))
        self._write_lock = threading.Lock()
        self._announced = False
        self._migrate(package)

    def conn(self) -> DbConn:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect_wal(self.path)
            for pragma in self._pragmas:
                conn.execute(f"PRAGMA {pragma}")
            self._remember(conn)
        return cast(DbConn, conn)

    @contextmanager
    def write(self) -> Iterator[DbConn]:
        conn = self.conn()
        with self._write_lock, self._state().write_lock():
            self._announced = False
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if cast(Any, conn).in_transaction:  # a failed COMMIT may have rolled back already
                    conn.execute("ROLLBACK")
                raise
            if self._announced:
                self._state().bump()

    def announce(self) -> None:
        self._announced = True

    def generation(self) -> int:
        return self._state().generation()

    def _state(self) -> SharedState:
        assert self._shared is not None, "used after close()"
        return self._shared

    def close(self) -> None:
        super().close()
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def _migrate(self, package: str) -> None:
        conn = self.conn()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER)"
        )
        for version, sql in _migrations(package, self.engine):
            with self.write() as c:
                if c.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                    continue
                for statement in statements(sql):
                    c.execute(statement)
                c.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, int(time.time() * 1000)))


class PgSideDb(_PerThread):
    engine = "postgres"

    def __init__(self, name: str, package: str, url: str) -> None:
        super().__init__()
        self.schema = f"ossbox_{name}"
        self._url = url
        self._lock_name = self.schema
        self._channel = f"{self.schema}_changes"
        self._feed: ChangeFeed | None = None  # started by the first generation()
        self._feed_lock = threading.Lock()
        self._migrate(package)

    def conn(self) -> DbConn:
        conn: PgConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            # `?` placeholders like SQLite's; tables are found in the database's own schema.
            conn = PgConnection(self._url, search_path=self.schema)
            self._remember(conn)
        return conn  # type: ignore[return-value]

    @contextmanager
    def write(self) -> Iterator[DbConn]:
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (self._lock_name,))
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                pass  # the connection broke: PostgreSQL rolled back already
            raise

    def announce(self) -> None:
        self.conn().execute("SELECT pg_notify(?, '')", (self._channel,))

    def generation(self) -> int:
        if self._feed is None:
            with self._feed_lock:
                if self._feed is None:
                    self._feed = ChangeFeed(self._url, self._channel, self.schema)
        return self._feed.count

    def close(self) -> None:
        if self._feed is not None:
            self._feed.close()
        super().close()

    def _migrate(self, package: str) -> None:
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (self._lock_name,))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ms BIGINT)"
            )
            done = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, sql in _migrations(package, self.engine):
                if version in done:
                    continue
                for statement in statements(sql):
                    conn.execute(statement)
                applied = (version, int(time.time() * 1000))
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", applied)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def __repr__(self) -> str:
        return f"PgSideDb({redact(self._url)}, schema {self.schema})"
