"""psycopg connections that look like the sqlite3 ones ossbox.meta.sql_store is written for.

- `?` placeholders become psycopg's `%s` (and a literal `%` becomes `%%`), once per distinct statement.
- A connection that breaks (PostgreSQL restarted, network gone) is dropped and raises MetaUnavailable, which
  the wire turns into OSS's 503; the next use connects again, so a node recovers without a restart.
- Other database errors (a deadlock, a unique violation) pass through unchanged for the caller to judge.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg_pool

from ossbox.core.errors import MetaUnavailable

log = logging.getLogger("ossbox.meta")
_CONNECT_TIMEOUT_S = 5
_translated: dict[str, str] = {}


def to_psycopg(sql: str) -> str:
    """`?` placeholders as `%s`. The metadata queries have no `?` inside string literals."""
    try:
        return _translated[sql]
    except KeyError:
        out = _translated[sql] = sql.replace("%", "%%").replace("?", "%s")
        return out


def redact(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def connect(url: str, search_path: str | None = None) -> psycopg.Connection[Any]:
    """An autocommit connection (transactions are begun explicitly); MetaUnavailable if unreachable."""
    options = f"-c search_path={search_path}" if search_path else None
    try:
        if options is None:
            return psycopg.connect(url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S)
        return psycopg.connect(url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S, options=options)
    except psycopg.OperationalError as exc:
        raise MetaUnavailable() from exc


class Rows:
    """A finished cursor's rows (what pooled reads return: the connection goes back at once)."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


def _is_broken(conn: psycopg.Connection[Any], exc: BaseException) -> bool:
    return conn.closed or conn.broken or isinstance(exc, psycopg.errors.AdminShutdown)


class PgConnection:
    """One connection owned by one thread (the event loop's reader, the committer, a listener)."""

    def __init__(self, url: str, search_path: str | None = None) -> None:
        self._url = url
        self._search_path = search_path
        self._conn: psycopg.Connection[Any] | None = None

    def raw(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url, self._search_path)
        return self._conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        conn = self.raw()
        try:
            return conn.execute(to_psycopg(sql), parameters)
        except psycopg.OperationalError as exc:
            if _is_broken(conn, exc):
                self.drop()
                raise MetaUnavailable() from exc
            raise

    def drop(self) -> None:
        """Forget the connection (closing it if it is still open); the next execute reconnects."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing a broken metadata connection failed", exc_info=True)

    def close(self) -> None:
        self.drop()


class PooledReads:
    """Reads from any thread, each on a connection borrowed from psycopg's pool for one statement."""

    def __init__(self, url: str, max_size: int) -> None:
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=0,
            max_size=max_size,
            kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT_S},
            timeout=_CONNECT_TIMEOUT_S,
            open=True,
            name="ossbox-meta-reads",
        )

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        try:
            with self._pool.connection() as conn:
                cur = conn.execute(to_psycopg(sql), parameters)
                rows = cur.fetchall() if cur.description is not None else []
                return Rows(rows, cur.rowcount)
        except psycopg_pool.PoolTimeout as exc:
            raise MetaUnavailable() from exc
        except psycopg.OperationalError as exc:
            if isinstance(exc, psycopg.errors.QueryCanceled):
                raise
            raise MetaUnavailable() from exc

    def close(self) -> None:
        self._pool.close()


class ChangeFeed:
    """A counter that moves on every NOTIFY on `channel`, and whenever one may have been missed (the
    listening connection was lost or not yet listening), so a cache dropped when it moves is never stale
    for longer than a notification takes. Listens on a thread and connection of its own."""

    def __init__(self, url: str, channel: str, what: str) -> None:
        self.count = 0
        self._url = url
        self._channel = channel
        self._what = what  # for the warning when the feed is lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name=f"ossbox-listen-{channel}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        # Joined, so that a supervisor that forks workers next has no thread holding a connection.
        self._thread.join(timeout=2)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                conn = connect(self._url)
            except MetaUnavailable:
                self.count += 1
                self._stop.wait(0.5)
                continue
            try:
                with conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self.count += 1  # what committed before LISTEN took effect was not announced to us
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            self.count += 1
            except psycopg.Error:
                self.count += 1
                if self._stop.is_set():
                    return
                log.warning("lost the change feed of %s; caches are dropped until it is back", self._what)
                self._stop.wait(0.5)
