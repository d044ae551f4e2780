"""Reading a test server's metadata database directly, whichever engine it is on (tests/server.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ossbox.meta.pg import PgConnection, to_psycopg
from tests.server import meta_url_for


@contextmanager
def connect(data_dir: Path, timeout: float = 5) -> Iterator[Any]:
    """A connection with sqlite3's `execute(sql, params)` and `?` placeholders, committing on exit."""
    url = meta_url_for(data_dir)
    if url is None:
        with sqlite3.connect(data_dir / "meta.sqlite3", timeout=timeout) as db:
            yield db
        return
    conn = PgConnection(url)
    try:
        yield conn
    finally:
        conn.close()


def executemany(db: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if isinstance(db, sqlite3.Connection):
        db.executemany(sql, rows)
    else:
        db.raw().cursor().executemany(to_psycopg(sql), rows)
