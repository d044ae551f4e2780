"""The rows a task delivers, read from the table service's database through its read-only interfaces:
`ossbox.tables.snapshot` for the full scan and `ossbox.tables.changelog` for the changes.

A change becomes a delivered row as Tablestore's delivery does it: a PutRow delivers the row it wrote, an
UpdateRow the columns it put (the others are null), a DeleteRow (and an update that only deletes) nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ossbox.tables.changelog import DELETE_ROW, PUT, ChangeLog, Database
from ossbox.tables.keys import encode_key
from ossbox.tables.plainbuffer import Value
from ossbox.tables.snapshot import RowScan, TableSchema


class OpenDatabase(Database, Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class SourceRow:
    key: bytes  # the encoded primary key: which parallel writer takes the row
    write_ms: int
    primary_key: list[tuple[str, Value]]
    columns: dict[str, Value]  # attribute columns


@dataclass(frozen=True)
class BasePage:
    rows: list[SourceRow]
    last_key: bytes | None
    done: bool


@dataclass(frozen=True)
class ChangePage:
    rows: list[SourceRow]
    next_checkpoint: int
    records: int  # records read, deliverable or not
    last_ms: int  # timestamp of the last record read (0: none)


class TableReader:
    """Both read-only views of one tables database (its SQLite file, or an open database, which the reader
    takes over and closes), opened on first use."""

    def __init__(self, tables_db: Path | OpenDatabase) -> None:
        self._path = tables_db
        self._log: ChangeLog | None = None
        self._scan: RowScan | None = None

    def close(self) -> None:
        for part in (self._log, self._scan):
            if part is not None:
                part.close()
        self._log = self._scan = None
        if not isinstance(self._path, Path):
            self._path.close()

    def _changes(self) -> ChangeLog:
        if self._log is None:
            self._log = ChangeLog(self._path)
        return self._log

    def _rows(self) -> RowScan:
        if self._scan is None:
            self._scan = RowScan(self._path)
        return self._scan

    def schema(self, instance: str, table: str) -> TableSchema:
        return self._rows().schema(instance, table)

    def checkpoint_at(self, instance: str, table: str, timestamp_ms: int) -> int:
        return self._changes().checkpoint_at(instance, table, timestamp_ms)

    def oldest_checkpoint(self, instance: str, table: str) -> int:
        return self._changes().start(instance, table)

    def base_page(
        self,
        instance: str,
        table: str,
        after: bytes | None,
        limit: int,
        now_ms: int,
        before_ms: int | None = None,
    ) -> BasePage:
        page = self._rows().rows(instance, table, after, limit, now_ms, before_ms)
        rows = [SourceRow(r.key, r.write_ms, list(r.primary_key), r.columns) for r in page.rows]
        return BasePage(rows, page.last_key, page.done)

    def change_page(self, instance: str, table: str, checkpoint: int, limit: int) -> ChangePage:
        batch = self._changes().read(instance, table, checkpoint, limit)
        rows = []
        for record in batch.records:
            if record.action == DELETE_ROW:
                continue
            newest: dict[str, tuple[int, Value]] = {}
            for c in record.columns:
                if c.kind != PUT or c.value is None:
                    continue  # deletions of columns or versions are not delivered
                ts = c.timestamp or 0
                held = newest.get(c.name)
                if held is None or ts >= held[0]:
                    newest[c.name] = (ts, c.value)
            if not newest and record.action != "PUT_ROW":
                continue  # an update that only deleted
            pk = list(record.primary_key)
            rows.append(
                SourceRow(
                    key=encode_key([v for _, v in pk]),
                    write_ms=record.timestamp_ms,
                    primary_key=pk,  # type: ignore[arg-type]
                    columns={name: tv[1] for name, tv in newest.items()},
                )
            )
        last_ms = batch.records[-1].timestamp_ms if batch.records else 0
        return ChangePage(rows, batch.next_checkpoint, len(batch.records), last_ms)
