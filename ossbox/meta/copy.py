"""Copying a whole metadata store from one engine to another (`ossbox meta copy`): a single node's SQLite
database into the PostgreSQL a cluster shares, or back.

Both ends are migrated to this release's schema first, so the tables and columns match; the target must be
empty. Rows go over table by table in batches, in one transaction on the target: a copy that fails leaves
the target as it was. Then each table is compared, row count and an order-independent digest of its rows,
read back from both ends.

The services' own databases (ossbox.meta.side_db: the project catalog, the table service, delivery) go over
the same way after the metadata, each that the source has: SQLite files next to the source's meta.sqlite3,
or schemas next to a PostgreSQL source.
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
from ossbox.meta.side_db import SideDb, is_postgres, open_side_db

# Every table of the schema (schema_migrations excepted: each end keeps its own).
TABLES = (
    "settings", "access_keys", "buckets", "blobs", "blob_data", "blob_keys", "objects", "object_versions",
    "uploads", "parts", "counters", "bucket_lifecycle", "bucket_policies", "bucket_configs", "ram_users",
    "ram_groups", "ram_group_members", "ram_roles", "ram_policies", "ram_attachments", "sts_sessions",
)  # fmt: skip
_BATCH = 1000
# (name, package of its migrations) of each service database, in ossbox.meta.side_db's terms.
SIDE_DBS = (("projects", "ossbox.volumes"), ("tables", "ossbox.tables"), ("delivery", "ossbox.delivery"))


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
        check_side_targets(source_url, target_url, data_dir)
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
        return reports + copy_side_dbs(source_url, target_url, data_dir)
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


# ---------------------------------------------------------------------------------- the services' databases
def _side_location(url: str, data_dir: Path) -> tuple[Path, str]:
    """(data_dir, meta_url) as open_side_db takes them, for the metadata store at `url`."""
    if is_postgres(url):
        return data_dir, url
    path = sqlite_path(url, data_dir)
    assert path is not None
    return path.parent, ""


def _side_exists(name: str, url: str, data_dir: Path) -> bool:
    directory, meta_url = _side_location(url, data_dir)
    if not is_postgres(meta_url):
        return (directory / f"{name}.sqlite3").exists()
    conn = PgConnection(meta_url)
    try:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = ?", (f"ossbox_{name}",)).fetchone()
        return found is not None
    finally:
        conn.close()


def _side_tables(db: SideDb) -> list[str]:
    """The database's tables in the order they were made (so that a referenced one comes first)."""
    if db.engine == "sqlite":
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT IN ('schema_migrations', 'sqlite_sequence') ORDER BY rowid"
        )
    else:
        sql = (
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'schema_migrations' "
            "ORDER BY c.oid"
        )
    return [str(r[0]) for r in db.conn().execute(sql).fetchall()]


def _advance_sequences(db: SideDb, table: str) -> None:
    """On PostgreSQL, serial columns continue after the copied rows' largest values."""
    if db.engine == "sqlite":
        return  # SQLite's AUTOINCREMENT follows the largest key inserted
    serials = (
        db.conn()
        .execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_default LIKE 'nextval(%'",
            (table,),
        )
        .fetchall()
    )
    for (column,) in serials:
        db.conn().execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), max({column})) FROM {table} HAVING count(*) > 0",
            (table, column),
        )


def _check_empty(db: SideDb, name: str, tables: list[str]) -> None:
    for table in tables:
        if db.conn().execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            raise CopyError(f"the target is not empty: table {table} of {name} has rows")


def check_side_targets(source_url: str, target_url: str, data_dir: Path) -> None:
    """CopyError unless the target's database of every service the source has is empty (or absent)."""
    for name, package in SIDE_DBS:
        if _side_exists(name, source_url, data_dir) and _side_exists(name, target_url, data_dir):
            dst = open_side_db(name, package, *_side_location(target_url, data_dir))
            try:
                _check_empty(dst, name, _side_tables(dst))
            finally:
                dst.close()


def copy_side_dbs(source_url: str, target_url: str, data_dir: Path) -> list[TableReport]:
    """Copy each service database the source has into the target's (which must be empty), then compare."""
    reports = []
    for name, package in SIDE_DBS:
        if not _side_exists(name, source_url, data_dir):
            continue
        src = open_side_db(name, package, *_side_location(source_url, data_dir))
        dst = open_side_db(name, package, *_side_location(target_url, data_dir))
        try:
            tables = _side_tables(src)
            _check_empty(dst, name, tables)
            with dst.write() as c:
                for table in tables:
                    columns = _columns(src.conn(), table)
                    marks = ", ".join("?" * len(columns))
                    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                    count = 0
                    for row in _rows(src.conn(), table, columns):
                        c.execute(insert, row)
                        count += 1
                    _advance_sequences(dst, table)
                    reports.append(TableReport(f"{name}.{table}", count))
            for table in tables:
                columns = _columns(src.conn(), table)
                if digest(src.conn(), table, columns) != digest(dst.conn(), table, columns):
                    raise CopyError(f"table {table} of {name} differs after the copy")
        finally:
            src.close()
            dst.close()
    return reports
