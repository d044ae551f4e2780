"""Opening the server's SQLite databases (metadata, tables, delivery, projects) from several processes.

Every connection is put in WAL mode. Switching a database's journal mode takes an exclusive lock, and when
two processes open a new database at the same moment SQLite answers the loser SQLITE_BUSY at once rather
than waiting (its busy handler is not used there, to avoid deadlocks). So the switch is made while holding an
flock on `<database>.open-lock`: the server's worker processes start together and must not fail that way.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path


def connect_wal(
    path: Path, pragmas: Iterable[str] = (), *, busy_timeout_s: float = 30.0
) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL (every commit on disk), then `pragmas` (run before
    the journal mode is set, so that creation-time ones such as auto_vacuum take effect)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    fd = os.open(f"{path}.open-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for pragma in pragmas:
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        os.close(fd)  # releases the flock
    conn.execute("PRAGMA synchronous=FULL")
    return conn
