"""Leases: which process runs a piece of background work (lifecycle passes) among all that could.

On one machine an flock on a file in the data directory (released by the kernel when the holder dies); on
PostgreSQL a session advisory lock on a connection of the holder's own (released by PostgreSQL when that
connection ends, which a killed node's does at once), so the work moves to another node within one retry
interval.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

import psycopg

from ossbox.core.errors import MetaUnavailable
from ossbox.meta.pg import connect

log = logging.getLogger("ossbox.meta")


class Lease(Protocol):
    def acquire(self) -> bool:
        """True while this process holds the lease (taking it if it is free)."""

    def release(self) -> None: ...


class FileLease:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class PgLease:
    def __init__(self, url: str, name: str) -> None:
        self._url = url
        self._name = name
        self._conn: psycopg.Connection[Any] | None = None

    def acquire(self) -> bool:
        try:
            if self._conn is not None:
                self._conn.execute("SELECT 1")  # still ours while the session lives
                return True
            conn = connect(self._url)
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 1))", (self._name,)
            ).fetchone()
            if row is not None and row[0]:
                self._conn = conn
                return True
            conn.close()
            return False
        except (psycopg.Error, MetaUnavailable):
            log.warning("lost the %s lease (metadata database unreachable)", self._name)
            self.release()
            return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
