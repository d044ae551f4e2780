"""MaxCompute's types and their DuckDB counterparts."""

from __future__ import annotations

import re

from ossbox.volumes.errors import VolumeError

_SIMPLE = {
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INT": "INTEGER",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "STRING": "VARCHAR",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "DATE": "DATE",
    "BINARY": "BLOB",
    "JSON": "VARCHAR",
}
_DECIMAL = re.compile(r"^DECIMAL(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$")
_SIZED = re.compile(r"^(VARCHAR|CHAR)\(\s*(\d+)\s*\)$")
_ARRAY = re.compile(r"^ARRAY<(.+)>$")
_MAP = re.compile(r"^MAP<(.+)>$")


def normalize_type(raw: str) -> str:
    """A type as MaxCompute spells it, upper case, blanks removed; unknown types are refused."""
    text = re.sub(r"\s+", "", raw).upper()
    duckdb_type(text)
    return text


def duckdb_type(mc_type: str) -> str:
    if mc_type in _SIMPLE:
        return _SIMPLE[mc_type]
    m = _DECIMAL.match(mc_type)
    if m:
        precision, scale = int(m.group(1) or 38), int(m.group(2) or (18 if not m.group(1) else 0))
        if not 1 <= precision <= 38 or scale > precision:
            raise VolumeError("InvalidType", f"invalid DECIMAL({precision},{scale})")
        return f"DECIMAL({precision},{scale})"
    if _SIZED.match(mc_type):
        return "VARCHAR"
    m = _ARRAY.match(mc_type)
    if m:
        return duckdb_type(m.group(1)) + "[]"
    m = _MAP.match(mc_type)
    if m:
        key, _, value = _split_top(m.group(1))
        return f"MAP({duckdb_type(key)}, {duckdb_type(value)})"
    raise VolumeError("InvalidType", f"unknown type {mc_type}")


def _split_top(text: str) -> tuple[str, str, str]:
    depth = 0
    for i, ch in enumerate(text):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            return text[:i], ",", text[i + 1 :]
    raise VolumeError("InvalidType", f"MAP<{text}> needs a key type and a value type")


def display_type(mc_type: str) -> str:
    """How DESC shows a type: lower case, as odpscmd does."""
    return mc_type.lower()
