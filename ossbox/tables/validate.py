"""Checks of names, primary keys and cells against a table's schema and Tablestore's documented limits."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ossbox.tables import keys
from ossbox.tables.errors import (
    invalid_pk,
    out_of_column_count_limit,
    parameter_invalid,
)
from ossbox.tables.model import TableInfo
from ossbox.tables.plainbuffer import (
    AUTO_INCREMENT,
    INF_MAX,
    INF_MIN,
    OP_DELETE_ONE_VERSION,
    OP_INCREMENT,
    OP_PUT,
    Cell,
    PKItem,
    PKValue,
    Special,
)

# Tablestore's limits ("Limits on the Wide Column model").
MAX_PK_COLUMNS = 4
MAX_PK_VALUE_BYTES = 1024
MAX_CELL_VALUE_BYTES = 2 * 1024 * 1024
MAX_COLUMNS_PER_WRITE = 1024
MAX_DEFINED_COLUMNS = 32
MAX_TABLES_PER_INSTANCE = 64
MAX_BATCH_WRITE_ROWS = 200
MAX_BATCH_GET_ROWS = 100
MAX_RANGE_ROWS = 5000
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_CU = 100000
MIN_TTL_S = 86400

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INSTANCE = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,14}[A-Za-z0-9]\Z")

_TYPE_NAMES = {int: "INTEGER", str: "STRING", bytes: "BINARY", float: "DOUBLE", bool: "BOOLEAN"}


def is_valid_instance(name: str) -> bool:
    return bool(_INSTANCE.match(name))


def check_table_name(name: str) -> None:
    if not (1 <= len(name.encode("utf-8")) <= 255) or not _NAME.match(name):
        raise parameter_invalid(f"Invalid table name: '{name}'.")


def check_column_name(name: str) -> None:
    if not (1 <= len(name.encode("utf-8")) <= 255) or not _NAME.match(name):
        raise parameter_invalid(f"Invalid column name: '{name}'.")


def _type_name(value: object) -> str:
    if isinstance(value, Special):
        return value.name
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def pk_values(
    info: TableInfo, pk: Sequence[PKItem], *, bounds: bool = False, auto_increment: bool = False
) -> list[PKValue | Special]:
    """The primary key's values in schema order. `bounds`: INF_MIN/INF_MAX allowed (GetRange);
    `auto_increment`: AUTO_INCREMENT allowed in auto-increment columns (PutRow)."""
    if len(pk) != len(info.pk):
        raise invalid_pk(f"Validate PK size fail. Input: {len(pk)}, Meta: {len(info.pk)}.")
    values: list[PKValue | Special] = []
    for (name, value), column in zip(pk, info.pk, strict=True):
        if name != column.name:
            raise invalid_pk(f"Validate PK name fail. Input: {name}, Meta: {column.name}.")
        if isinstance(value, Special):
            if value in (INF_MIN, INF_MAX) and bounds:
                values.append(value)
                continue
            if value is AUTO_INCREMENT and auto_increment and column.auto_increment:
                values.append(value)
                continue
            raise invalid_pk(f"Validate PK type fail. Input: {value.name}, Meta: {column.type}.")
        expected = {keys.PK_INTEGER: int, keys.PK_STRING: str, keys.PK_BINARY: bytes}[column.type]
        if type(value) is not expected:
            raise invalid_pk(f"Validate PK type fail. Input: {_type_name(value)}, Meta: {column.type}.")
        size = (
            len(value.encode("utf-8"))
            if isinstance(value, str)
            else len(value)
            if isinstance(value, bytes)
            else 0
        )
        if size > MAX_PK_VALUE_BYTES:
            raise parameter_invalid(
                f"The length of primary key column: '{name}' exceeded the MaxLength:{MAX_PK_VALUE_BYTES} "
                f"with CurrentLength:{size}."
            )
        values.append(value)
    return values


def check_cells(info: TableInfo, cells: Sequence[Cell], now_ms: int, *, update: bool) -> None:
    """Attribute columns of a PutRow row or UpdateRow change."""
    if len(cells) > MAX_COLUMNS_PER_WRITE:
        raise out_of_column_count_limit(
            "The number of columns from the request exceeds the limit, "
            f"limit count: {MAX_COLUMNS_PER_WRITE}, column count: {len(cells)}."
        )
    pk_names = {c.name for c in info.pk}
    deviation_ms = info.max_deviation_s * 1000
    for cell in cells:
        check_column_name(cell.name)
        if cell.name in pk_names:
            raise parameter_invalid(f"Attribute column '{cell.name}' has the name of a primary key column.")
        if not update and cell.op != OP_PUT:
            raise parameter_invalid("A PutRow row cannot delete or increment columns.")
        if cell.op == OP_PUT or cell.op == OP_INCREMENT:
            if cell.value is None:
                raise parameter_invalid(f"Column '{cell.name}' has no value.")
        elif cell.value is not None:
            raise parameter_invalid(f"Deleting column '{cell.name}' takes no value.")
        if cell.op == OP_INCREMENT:
            if type(cell.value) is not int:
                raise parameter_invalid(f"Increment of column '{cell.name}' takes an INTEGER.")
            if cell.ts is not None:
                raise parameter_invalid(f"Increment of column '{cell.name}' takes no timestamp.")
        if cell.op == OP_DELETE_ONE_VERSION and cell.ts is None:
            raise parameter_invalid(f"Deleting one version of column '{cell.name}' needs its timestamp.")
        value = cell.value
        if isinstance(value, str | bytes):
            size = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
            if size > MAX_CELL_VALUE_BYTES:
                raise parameter_invalid(
                    f"The length of attribute column: '{cell.name}' exceeded the MaxLength:"
                    f"{MAX_CELL_VALUE_BYTES} with CurrentLength:{size}."
                )
        if (
            cell.ts is not None
            and cell.op == OP_PUT
            and (cell.ts < 0 or abs(cell.ts - now_ms) > deviation_ms)
        ):
            raise parameter_invalid(
                f"The timestamp {cell.ts} of column '{cell.name}' is out of the table's time range "
                f"(max time deviation {info.max_deviation_s} s)."
            )


def check_options(ttl_s: int | None, max_versions: int | None, deviation_s: int | None) -> None:
    if ttl_s is not None and ttl_s != -1 and ttl_s < MIN_TTL_S:
        raise parameter_invalid(f"time_to_live must be -1 or at least {MIN_TTL_S} seconds, not {ttl_s}.")
    if max_versions is not None and max_versions < 1:
        raise parameter_invalid(f"max_versions must be at least 1, not {max_versions}.")
    if deviation_s is not None and deviation_s < 1:
        raise parameter_invalid(f"deviation_cell_version_in_sec must be positive, not {deviation_s}.")


def check_cu(read: int, write: int) -> None:
    for value in (read, write):
        if not 0 <= value <= MAX_CU:
            raise parameter_invalid(f"Reserved capacity units must be within [0, {MAX_CU}], not {value}.")


def ensure(condition: bool, message: str) -> None:
    if not condition:
        raise parameter_invalid(message)
