"""Row semantics: what PutRow, UpdateRow and DeleteRow do to a stored row (run in the writer's transaction),
and what a read sees of it (TTL, max versions, time range, columns to get, filters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ossbox.tables import filters, keys
from ossbox.tables.errors import condition_check_fail, parameter_invalid, table_not_exist
from ossbox.tables.model import (
    Columns,
    TableInfo,
    Versions,
    cells_from_columns,
    columns_from_cells,
    expiry_floor,
)
from ossbox.tables.model import live_columns as _live
from ossbox.tables.plainbuffer import (
    AUTO_INCREMENT,
    OP_DELETE_ALL_VERSIONS,
    OP_DELETE_ONE_VERSION,
    OP_INCREMENT,
    OP_PUT,
    Cell,
    PKItem,
    PKValue,
    Special,
    decode_row,
    encode_row,
    encode_row_body,
)
from ossbox.tables.storage import ACTION_DELETE, ACTION_PUT, ACTION_UPDATE, RowRecord, Txn

EXPECT_IGNORE = 0
EXPECT_EXIST = 1
EXPECT_NOT_EXIST = 2
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


@dataclass(frozen=True)
class Condition:
    existence: int
    node: filters.Node | None = None


@dataclass(frozen=True)
class WriteResult:
    pk: list[PKItem]  # auto-increment values filled in
    columns: Columns  # the row's visible columns after the write (for RT_AFTER_MODIFY)
    size: int  # bytes written, for the consumed capacity


def visible(rec: RowRecord | None, info: TableInfo, now_ms: int) -> tuple[bool, list[PKItem], Columns]:
    """Whether the row exists for a reader, its key and its live columns."""
    if rec is None:
        return False, [], {}
    stored = decode_row(rec.data)
    floor = expiry_floor(info, now_ms)
    live = _live(columns_from_cells(stored.cells), floor, info.max_versions)
    exists = bool(live) or floor is None or rec.write_ms >= floor
    return exists, stored.pk, live if exists else {}


def _check(condition: Condition, exists: bool, live: Columns) -> None:
    if condition.existence == EXPECT_EXIST and not exists:
        raise condition_check_fail()
    if condition.existence == EXPECT_NOT_EXIST and exists:
        raise condition_check_fail()
    if condition.node is not None and not filters.matches(condition.node, live):
        raise condition_check_fail()


def _record(key: bytes, pk: list[PKItem], columns: Columns, write_ms: int) -> RowRecord:
    cells = cells_from_columns(columns)
    oldest = min((c.ts for c in cells if c.ts is not None), default=write_ms)
    most = max((len(v) for v in columns.values()), default=0)
    return RowRecord(key, encode_row(pk, cells), write_ms, oldest, most)


def _trim(columns: Columns, info: TableInfo, now_ms: int) -> Columns:
    for versions in columns.values():
        versions.sort(key=lambda v: -v[0])
    return _live(columns, expiry_floor(info, now_ms), info.max_versions)


def _put_version(versions: Versions, ts: int, value: object) -> None:
    for i, (old_ts, _) in enumerate(versions):
        if old_ts == ts:
            versions[i] = (ts, value)  # type: ignore[assignment]
            return
    versions.append((ts, value))  # type: ignore[arg-type]


def _row_time(written: Sequence[Cell], now_ms: int) -> int:
    """A row's own timestamp, which keeps it existing for the TTL even without columns: its newest cell
    written, or now for a write of no cells (a row that is only its primary key)."""
    return max((c.ts for c in written if c.ts is not None), default=now_ms)


def _resolve_key(
    txn: Txn, info: TableInfo, values: Sequence[PKValue | Special], now_ms: int
) -> list[PKValue]:
    out: list[PKValue] = []
    for value in values:
        if value is AUTO_INCREMENT:
            out.append(txn.next_auto_increment(info.table_id, now_ms))
        else:
            assert not isinstance(value, Special)
            out.append(value)
    return out


def ensure_table(txn: Txn, info: TableInfo) -> None:
    if txn.c.execute("SELECT 1 FROM tables WHERE table_id = ?", (info.table_id,)).fetchone() is None:
        raise table_not_exist()


def put_row(
    txn: Txn,
    info: TableInfo,
    values: Sequence[PKValue | Special],
    cells: Sequence[Cell],
    condition: Condition,
    now_ms: int,
) -> WriteResult:
    ensure_table(txn, info)
    resolved = _resolve_key(txn, info, values, now_ms)
    key = keys.encode_key(resolved)
    pk: list[PKItem] = [(c.name, v) for c, v in zip(info.pk, resolved, strict=True)]
    if condition.existence != EXPECT_IGNORE or condition.node is not None:
        # A PutRow replaces the row: the old one matters only to a condition.
        exists, _, live = visible(txn.get_row(info.table_id, key), info, now_ms)
        _check(condition, exists, live)
    columns: Columns = {}
    logged = []
    for cell in cells:
        ts = now_ms if cell.ts is None else cell.ts
        _put_version(columns.setdefault(cell.name, []), ts, cell.value)
        logged.append(Cell(cell.name, cell.value, ts))
    columns = _trim(columns, info, now_ms)
    record = _record(key, pk, columns, _row_time(logged, now_ms))
    txn.put_row(info.table_id, record)
    change = encode_row(pk, logged)
    txn.append_change(info.table_id, now_ms, ACTION_PUT, change)
    return WriteResult(pk, columns, len(change))


def update_row(
    txn: Txn,
    info: TableInfo,
    values: Sequence[PKValue | Special],
    cells: Sequence[Cell],
    condition: Condition,
    now_ms: int,
) -> WriteResult:
    ensure_table(txn, info)
    resolved = _resolve_key(txn, info, values, now_ms)
    key = keys.encode_key(resolved)
    pk: list[PKItem] = [(c.name, v) for c, v in zip(info.pk, resolved, strict=True)]
    exists, _, live = visible(txn.get_row(info.table_id, key), info, now_ms)
    _check(condition, exists, live)
    columns = {name: list(versions) for name, versions in live.items()}
    logged = []
    for cell in cells:
        if cell.op == OP_PUT:
            ts = now_ms if cell.ts is None else cell.ts
            _put_version(columns.setdefault(cell.name, []), ts, cell.value)
            logged.append(Cell(cell.name, cell.value, ts))
        elif cell.op == OP_DELETE_ALL_VERSIONS:
            columns.pop(cell.name, None)
            logged.append(cell)
        elif cell.op == OP_DELETE_ONE_VERSION:
            versions = columns.get(cell.name)
            if versions:
                versions[:] = [v for v in versions if v[0] != cell.ts]
                if not versions:
                    del columns[cell.name]
            logged.append(cell)
        else:
            assert cell.op == OP_INCREMENT and isinstance(cell.value, int)
            versions = columns.setdefault(cell.name, [])
            versions.sort(key=lambda v: -v[0])
            current = versions[0][1] if versions else 0
            if type(current) is not int:
                raise parameter_invalid(f"Column '{cell.name}' is not an INTEGER and cannot be incremented.")
            result = current + cell.value
            if not _I64_MIN <= result <= _I64_MAX:
                raise parameter_invalid(f"Increment of column '{cell.name}' overflows a 64-bit integer.")
            _put_version(versions, now_ms, result)
            logged.append(Cell(cell.name, result, now_ms))
    columns = _trim(columns, info, now_ms)
    record = _record(key, pk, columns, _row_time([c for c in logged if c.op == OP_PUT], now_ms))
    txn.put_row(info.table_id, record)
    change = encode_row(pk, logged)
    txn.append_change(info.table_id, now_ms, ACTION_UPDATE, change)
    return WriteResult(pk, columns, len(change))


def delete_row(
    txn: Txn, info: TableInfo, values: Sequence[PKValue | Special], condition: Condition, now_ms: int
) -> WriteResult:
    ensure_table(txn, info)
    resolved = _resolve_key(txn, info, values, now_ms)
    key = keys.encode_key(resolved)
    pk: list[PKItem] = [(c.name, v) for c, v in zip(info.pk, resolved, strict=True)]
    rec = txn.get_row(info.table_id, key)
    exists, _, live = visible(rec, info, now_ms)
    _check(condition, exists, live)
    if rec is None:
        return WriteResult(pk, {}, 0)
    txn.delete_row(info.table_id, key)
    change = encode_row(pk, (), delete_marker=True)
    if exists:  # deleting what no reader could see changes nothing a consumer should hear about
        txn.append_change(info.table_id, now_ms, ACTION_DELETE, change)
    return WriteResult(pk, {}, len(change))


# ------------------------------------------------------------------------------------------------ reads
@dataclass(frozen=True)
class ReadSpec:
    columns: frozenset[str] | None = None
    max_versions: int | None = None
    time_range: tuple[int, int] | None = None  # [start, end) in ms
    start_column: str | None = None
    end_column: str | None = None
    node: filters.Node | None = None
    page: filters.Pagination | None = None

    @property
    def plain(self) -> bool:
        """Nothing but max_versions: stored rows can be answered as they are."""
        return (
            self.columns is None
            and self.time_range is None
            and self.start_column is None
            and self.end_column is None
            and self.node is None
            and self.page is None
        )


def _select(live: Columns, spec: ReadSpec) -> Columns:
    out: Columns = {}
    for name, versions in live.items():
        if spec.time_range is not None:
            lo, hi = spec.time_range
            versions = [v for v in versions if lo <= v[0] < hi]
        if spec.max_versions is not None and len(versions) > spec.max_versions:
            versions = versions[: spec.max_versions]
        if versions:
            out[name] = versions
    return out


def read_row(rec: RowRecord, info: TableInfo, spec: ReadSpec, now_ms: int) -> bytes | None:
    """The row as the reader sees it, as a PlainBuffer row body (no header), or None to leave it out."""
    floor = expiry_floor(info, now_ms)
    if (
        spec.plain
        and (floor is None or rec.oldest_ms >= floor)
        and rec.most_versions <= min(info.max_versions, spec.max_versions or info.max_versions)
    ):
        return rec.data[4:]
    exists, pk, live = visible(rec, info, now_ms)
    if not exists:
        return None
    selected = _select(live, spec)
    if spec.node is not None and not filters.matches(spec.node, selected):
        return None
    names = sorted(selected)
    if spec.columns is not None:
        names = [n for n in names if n in spec.columns]
    if spec.start_column is not None:
        names = [n for n in names if n >= spec.start_column]
    if spec.end_column is not None:
        names = [n for n in names if n < spec.end_column]
    if spec.page is not None:
        names = names[spec.page.offset : spec.page.offset + spec.page.limit]
    if spec.columns is not None and not names and not any(c.name in spec.columns for c in info.pk):
        return None
    cells = [Cell(n, v, ts) for n in names for ts, v in selected[n]]
    return encode_row_body(pk, cells)
