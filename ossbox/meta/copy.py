"""Copying a whole metadata store from one engine to another (`ossbox meta copy`): a single node's SQLite
database into the PostgreSQL a cluster shares, or back.

Both ends are migrated to this release's schema first, so the tables and columns match; the target must be
empty. Rows go over table by table in batches, in one transaction on the target: a copy that fails leaves
the target as it was. Then each table is compared, row count and an order-independent digest of its rows,
read back from both ends.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossbox.meta.factory import open_meta_store, sqlite_path
from ossbox.meta.pg import PgConnection

# Every table of the schema (schema_migrations excepted: each end keeps its own).
TABLES = (
    "settings", "access_keys", "buckets", "blobs", "blob_data", "blob_keys", "objects", "object_versions",
    "uploads", "parts", "counters", "bucket_lifecycle", "bucket_policies", "bucket_configs", "ram_users",
    "ram_groups", "ram_group_members", "ram_roles", "ram_policies", "ram_attachments", "sts_sessions",
)  # fmt: skip
_BATCH = 1000


class CopyError(Exception):
    pass


@dataclass
class TableReport:
    table: str
    rows: int


def _connect(url: str, data_dir: Path) -> Any:
    path = sqlite_path(url, data_dir)
    if path is not None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn
    return PgConnection(url)


def _is_pg(conn: Any) -> bool:
    return isinstance(conn, PgConnection)


def _columns(conn: Any, table: str) -> list[str]:
    cur = conn.execute(f"SELECT * FROM {table} LIMIT 0")
    return [d[0] for d in cur.description]


def _rows(conn: Any, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    cur = conn.execute(f"SELECT {', '.join(columns)} FROM {table}")
    while True:
        batch = cur.fetchmany(_BATCH)
        if not batch:
            return
        yield from batch


def _canonical(row: tuple[Any, ...]) -> bytes:
    return repr(tuple(bytes(v) if isinstance(v, (bytes, memoryview, bytearray)) else v for v in row)).encode()


def digest(conn: Any, table: str, columns: list[str]) -> tuple[int, str]:
    """(rows, digest): the sum of the rows' SHA-256, so that the engines' row orders do not matter."""
    total, count = 0, 0
    for row in _rows(conn, table, columns):
        total = (total + int.from_bytes(hashlib.sha256(_canonical(row)).digest(), "big")) % (1 << 256)
        count += 1
    return count, f"{total:064x}"


def copy_store(source_url: str, target_url: str, data_dir: Path) -> list[TableReport]:
    """Copy every row of `source_url`'s store into the empty store at `target_url`, then compare them."""
    for url in (source_url, target_url):
        open_meta_store(url, data_dir).close()  # migrate both to this release's schema
    src, dst = _connect(source_url, data_dir), _connect(target_url, data_dir)
    try:
        for table in TABLES:
            if table != "counters" and dst.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
                raise CopyError(f"the target is not empty: table {table} has rows")
        reports = []
        dst.execute("BEGIN")
        try:
            dst.execute("DELETE FROM counters")
            for table in TABLES:
                columns = _columns(src, table)
                insert = (
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                )
                count = 0
                for row in _rows(src, table, columns):
                    dst.execute(insert, row)
                    count += 1
                reports.append(TableReport(table, count))
            _carry_version_sequence(src, dst)
            dst.execute("COMMIT")
        except BaseException:
            dst.execute("ROLLBACK")
            raise
        for table in TABLES:
            columns = _columns(src, table)
            if digest(src, table, columns) != digest(dst, table, columns):
                raise CopyError(f"table {table} differs after the copy")
        return reports
    finally:
        src.close()
        dst.close()


def _carry_version_sequence(src: Any, dst: Any) -> None:
    """Version numbers come from a sequence on PostgreSQL and from the counters row on SQLite."""
    if _is_pg(src):
        last = int(src.execute("SELECT last_value FROM version_seq").fetchone()[0])
        src_is_called = bool(src.execute("SELECT is_called FROM version_seq").fetchone()[0])
        value = last if src_is_called else 0
        counter = int(src.execute("SELECT value FROM counters WHERE name = 'version_seq'").fetchone()[0])
        value = max(value, counter)
    else:
        value = int(src.execute("SELECT value FROM counters WHERE name = 'version_seq'").fetchone()[0])
    dst.execute("UPDATE counters SET value = ? WHERE name = 'version_seq'", (value,))
    if _is_pg(dst) and value > 0:
        dst.execute("SELECT setval('version_seq', ?)", (value,))
