"""Tables and rows as the service holds them: a table's schema and options, a row's versioned columns."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

from ossbox.tables.plainbuffer import Cell, PKItem, Value

# Versions of one column, newest first: (timestamp in ms, value).
Versions = list[tuple[int, Value]]
Columns = dict[str, Versions]

FOREVER = -1
DEFAULT_MAX_DEVIATION_S = 86400
DEFAULT_CHANGELOG_RETENTION_S = 24 * 3600  # Tablestore's default stream expiration


@dataclass(frozen=True)
class PKColumn:
    name: str
    type: str  # keys.PK_INTEGER / PK_STRING / PK_BINARY
    auto_increment: bool = False


@dataclass(frozen=True)
class TableInfo:
    table_id: int
    instance: str
    name: str
    pk: tuple[PKColumn, ...]
    defined: tuple[tuple[str, str], ...] = ()
    ttl_s: int = FOREVER
    max_versions: int = 1
    max_deviation_s: int = DEFAULT_MAX_DEVIATION_S
    allow_update: bool = True
    read_cu: int = 0
    write_cu: int = 0
    created_ms: int = 0
    last_increase_ms: int = 0
    last_decrease_ms: int | None = None
    changelog_retention_s: int = DEFAULT_CHANGELOG_RETENTION_S
    pk_types: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pk_types", tuple(c.type for c in self.pk))

    def to_json(self) -> str:
        d = asdict(self)
        del d["table_id"], d["instance"], d["name"], d["pk_types"]
        return json.dumps(d, separators=(",", ":"))

    @staticmethod
    def from_json(table_id: int, instance: str, name: str, text: str) -> TableInfo:
        d = json.loads(text)
        d["pk"] = tuple(PKColumn(**c) for c in d["pk"])
        d["defined"] = tuple((n, t) for n, t in d["defined"])
        return TableInfo(table_id=table_id, instance=instance, name=name, **d)

    def with_options(self, **changes: object) -> TableInfo:
        return replace(self, **changes)  # type: ignore[arg-type]


def expiry_floor(info: TableInfo, now_ms: int) -> int | None:
    """Cells older than this timestamp have outlived the table's TTL (None: they never do)."""
    return None if info.ttl_s == FOREVER else now_ms - info.ttl_s * 1000


def columns_from_cells(cells: Iterable[Cell]) -> Columns:
    """A stored row's cells (every version, each with its timestamp) as versioned columns."""
    columns: Columns = {}
    for cell in cells:
        assert cell.ts is not None and cell.value is not None
        columns.setdefault(cell.name, []).append((cell.ts, cell.value))
    for versions in columns.values():
        versions.sort(key=lambda v: -v[0])
    return columns


def cells_from_columns(columns: Columns) -> list[Cell]:
    """Columns by name, versions newest first: the order Tablestore answers in."""
    return [Cell(name, value, ts) for name in sorted(columns) for ts, value in columns[name]]


def live_columns(columns: Columns, floor: int | None, max_versions: int) -> Columns:
    """What a reader may see: versions within the TTL, at most `max_versions` per column."""
    out: Columns = {}
    for name, versions in columns.items():
        kept = versions if floor is None else [v for v in versions if v[0] >= floor]
        if len(kept) > max_versions:
            kept = kept[:max_versions]
        if kept:
            out[name] = kept
    return out


@dataclass(frozen=True)
class StoredRow:
    pk: list[PKItem]
    columns: Columns
    write_ms: int
