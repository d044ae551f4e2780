"""Reading a table's change log: every acknowledged PutRow, UpdateRow and DeleteRow, in commit order.

For incremental delivery and anything else that follows a table. It reads the server's tables database
directly (read-only; SQLite's WAL lets it run beside the server) and imports no server module. Give it the
SQLite file, or, where the nodes keep it in PostgreSQL, the open database (ossbox.meta.side_db's
`open_side_db("tables", "ossbox.tables", data_dir, meta_url)`), which it reads and leaves open:

    with ChangeLog(data_dir / "tables.sqlite3") as log:
        checkpoint = log.start("my-instance", "orders")       # before the oldest record still kept
        while True:
            batch = log.read("my-instance", "orders", checkpoint, limit=1000)
            for record in batch.records:
                ...                                           # record.action, .primary_key, .columns
            checkpoint = batch.next_checkpoint                # persist it after handling the batch
            if not batch.records:
                break

A checkpoint is an integer: the position after some record. Records are kept for the table's retention
(24 hours unless the table's stream specification says otherwise); reading from a checkpoint whose
following records were already dropped raises ChangeLogTrimmed rather than silently skipping them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from ossbox.tables.plainbuffer import (
    OP_DELETE_ALL_VERSIONS,
    OP_DELETE_ONE_VERSION,
    PKValue,
    Value,
    decode_row,
)

PUT_ROW = "PUT_ROW"
UPDATE_ROW = "UPDATE_ROW"
DELETE_ROW = "DELETE_ROW"
_ACTIONS = {1: PUT_ROW, 2: UPDATE_ROW, 3: DELETE_ROW}

PUT = "PUT"
DELETE_ONE_VERSION = "DELETE_ONE_VERSION"
DELETE_ALL_VERSIONS = "DELETE_ALL_VERSIONS"


class NoSuchTable(LookupError):
    pass


class ChangeLogTrimmed(Exception):
    """Records after the checkpoint were dropped (past retention): start again from `start()`."""


@dataclass(frozen=True)
class ColumnChange:
    name: str
    kind: str  # PUT, DELETE_ONE_VERSION or DELETE_ALL_VERSIONS
    value: Value | None  # None unless PUT (an increment is logged as a PUT of the resulting value)
    timestamp: int | None  # the version written or deleted (ms); None for DELETE_ALL_VERSIONS


@dataclass(frozen=True)
class ChangeRecord:
    checkpoint: int  # read(..., record.checkpoint) continues after this record
    timestamp_ms: int
    action: str  # PUT_ROW (the row was replaced by `columns`), UPDATE_ROW or DELETE_ROW
    primary_key: list[tuple[str, PKValue]]
    columns: list[ColumnChange]


@dataclass(frozen=True)
class ChangeBatch:
    records: list[ChangeRecord]
    next_checkpoint: int


def _kind(op: int) -> str:
    if op == OP_DELETE_ONE_VERSION:
        return DELETE_ONE_VERSION
    if op == OP_DELETE_ALL_VERSIONS:
        return DELETE_ALL_VERSIONS
    return PUT


class Database(Protocol):
    """An open tables database: its `conn()` is the calling thread's connection."""

    def conn(self) -> Any: ...


class ReadOnly:
    """Statements on the tables database: a read-only SQLite connection of its own, or the calling
    thread's connection of an open database."""

    def __init__(self, source: Path | Database) -> None:
        self._db: Database | None = None
        self._own: sqlite3.Connection | None = None
        if isinstance(source, Path):
            self._own = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
            self._own.execute("PRAGMA busy_timeout=30000")
        else:
            self._db = source

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        if self._own is not None:
            return self._own.execute(sql, parameters)
        assert self._db is not None
        return self._db.conn().execute(sql, parameters)

    def close(self) -> None:
        if self._own is not None:
            self._own.close()


class ChangeLog:
    def __init__(self, source: Path | Database) -> None:
        self._conn = ReadOnly(source)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ChangeLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def tables(self) -> list[tuple[str, str, int]]:
        """(instance, table, created_ms) of every table."""
        rows = self._conn.execute(
            "SELECT instance, name, meta FROM tables ORDER BY instance, name"
        ).fetchall()
        return [(r[0], r[1], int(json.loads(r[2])["created_ms"])) for r in rows]

    def _table(self, instance: str, table: str) -> tuple[int, int]:
        row = self._conn.execute(
            "SELECT table_id, changes_trimmed_through FROM tables WHERE instance = ? AND name = ?",
            (instance, table),
        ).fetchone()
        if row is None:
            raise NoSuchTable(f"{instance}/{table}")
        return int(row[0]), int(row[1])

    def start(self, instance: str, table: str) -> int:
        """The checkpoint before the oldest record still kept."""
        return self._table(instance, table)[1]

    def latest(self, instance: str, table: str) -> int:
        """The checkpoint after the newest record: read from it to get only changes still to come."""
        table_id, trimmed = self._table(instance, table)
        row = self._conn.execute("SELECT max(seq) FROM changes WHERE table_id = ?", (table_id,)).fetchone()
        return trimmed if row[0] is None else max(int(row[0]), trimmed)

    def checkpoint_at(self, instance: str, table: str, timestamp_ms: int) -> int:
        """The checkpoint before the first record written at or after `timestamp_ms`."""
        table_id, trimmed = self._table(instance, table)
        row = self._conn.execute(
            "SELECT max(seq) FROM changes WHERE table_id = ? AND ts_ms < ?", (table_id, timestamp_ms)
        ).fetchone()
        return trimmed if row[0] is None else max(int(row[0]), trimmed)

    def read(self, instance: str, table: str, checkpoint: int, limit: int = 1000) -> ChangeBatch:
        """Up to `limit` records after `checkpoint`, oldest first."""
        if limit < 1:
            raise ValueError("limit must be positive")
        table_id, trimmed = self._table(instance, table)
        if checkpoint < trimmed:
            raise ChangeLogTrimmed(
                f"records after checkpoint {checkpoint} of {instance}/{table} are past retention "
                f"(kept from {trimmed})"
            )
        rows = self._conn.execute(
            "SELECT seq, ts_ms, action, record FROM changes "
            "WHERE table_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (table_id, checkpoint, limit),
        ).fetchall()
        records = []
        for seq, ts_ms, action, data in rows:
            row = decode_row(bytes(data))
            records.append(
                ChangeRecord(
                    checkpoint=int(seq),
                    timestamp_ms=int(ts_ms),
                    action=_ACTIONS[int(action)],
                    primary_key=[(n, v) for n, v in row.pk],  # type: ignore[misc]  # stored keys are values
                    columns=[ColumnChange(c.name, _kind(c.op), c.value, c.ts) for c in row.cells],
                )
            )
        return ChangeBatch(records, records[-1].checkpoint if records else checkpoint)
