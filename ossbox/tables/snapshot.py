"""Reading a table's current rows in primary-key order, read-only: the full (BASE) part of delivery.

Like `changelog`, it reads the server's tables database (the SQLite file, opened read-only beside the running
server, or an open database) and imports no server module (standard library and anycrc only):

    with RowScan(data_dir / "tables.sqlite3") as scan:
        schema = scan.schema("my-instance", "orders")
        page = scan.rows("my-instance", "orders", after=None, limit=1000, now_ms=now)
        for row in page.rows:
            row.primary_key, row.columns, row.write_ms     # columns: name -> newest live value
        next_page = scan.rows("my-instance", "orders", after=page.last_key, ...)

Each page is read in one statement, so it is consistent in itself; pages are not a snapshot of the whole
table (rows written between pages are seen if their key comes later), unless `before_ms` asks for the
versions written before a point in time only. Values are each column's newest version still within the
table's TTL, as GetRow with max_versions=1 answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ossbox.tables.changelog import Database, NoSuchTable, ReadOnly
from ossbox.tables.plainbuffer import PKValue, Value, decode_row


@dataclass(frozen=True)
class TableSchema:
    table_id: int
    primary_key: list[tuple[str, str]]  # (name, INTEGER | STRING | BINARY), in key order
    defined: list[tuple[str, str]]  # predefined attribute columns (name, type)
    ttl_s: int  # -1: forever


@dataclass(frozen=True)
class ScannedRow:
    key: bytes  # the stored key: pass the last one as `after` to continue
    primary_key: list[tuple[str, PKValue]]
    columns: dict[str, Value]
    write_ms: int  # the row's own timestamp: its newest cell, or the time of a write without columns


@dataclass(frozen=True)
class Page:
    rows: list[ScannedRow]
    last_key: bytes | None  # continue after this key; None: nothing was read
    done: bool  # no rows after this page (at the time it was read)


class RowScan:
    def __init__(self, source: Path | Database) -> None:
        self._conn = ReadOnly(source)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RowScan:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def schema(self, instance: str, table: str) -> TableSchema:
        row = self._conn.execute(
            "SELECT table_id, meta FROM tables WHERE instance = ? AND name = ?", (instance, table)
        ).fetchone()
        if row is None:
            raise NoSuchTable(f"{instance}/{table}")
        meta = json.loads(row[1])
        return TableSchema(
            table_id=int(row[0]),
            primary_key=[(c["name"], c["type"]) for c in meta["pk"]],
            defined=[(n, t) for n, t in meta.get("defined", [])],
            ttl_s=int(meta.get("ttl_s", -1)),
        )

    def rows(
        self,
        instance: str,
        table: str,
        after: bytes | None,
        limit: int,
        now_ms: int,
        before_ms: int | None = None,
    ) -> Page:
        """Up to `limit` rows with keys after `after` (None: from the first row). With `before_ms`, the rows
        as they were then: only versions written before it count, and rows without any are left out."""
        if limit < 1:
            raise ValueError("limit must be positive")
        schema = self.schema(instance, table)
        floor = None if schema.ttl_s < 0 else now_ms - schema.ttl_s * 1000
        fetched = self._conn.execute(
            "SELECT pk, data, write_ms FROM rows WHERE table_id = ? AND pk > ? ORDER BY pk LIMIT ?",
            (schema.table_id, after or b"", limit + 1),
        ).fetchall()
        done = len(fetched) <= limit
        out: list[ScannedRow] = []
        last_key = after
        for key, data, write_ms in fetched[:limit]:
            last_key = bytes(key)
            if floor is not None and write_ms < floor:
                continue  # the whole row has outlived the TTL
            decoded = decode_row(bytes(data))
            newest: dict[str, tuple[int, Value]] = {}
            for cell in decoded.cells:
                if cell.value is None or cell.ts is None or (floor is not None and cell.ts < floor):
                    continue
                if before_ms is not None and cell.ts >= before_ms:
                    continue
                held = newest.get(cell.name)
                if held is None or cell.ts > held[0]:
                    newest[cell.name] = (cell.ts, cell.value)
            row_ms = int(write_ms)
            if before_ms is not None and row_ms >= before_ms:
                if not newest:
                    continue  # the row was written (or every column rewritten) after `before_ms`
                row_ms = max(ts for ts, _ in newest.values())
            out.append(
                ScannedRow(
                    key=last_key,
                    primary_key=[(n, v) for n, v in decoded.pk],  # type: ignore[misc]  # stored keys are values
                    columns={name: tv[1] for name, tv in newest.items()},
                    write_ms=row_ms,
                )
            )
        return Page(out, last_key, done)
