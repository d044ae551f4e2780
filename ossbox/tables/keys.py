"""Primary keys as byte strings whose byte order is Tablestore's row order, so SQLite's BLOB order serves
GetRange directly.

Each column is a marker byte and the value: 0x01 for a value, 0x00 for INF_MIN and 0x02 for INF_MAX, so
a range bound that ends in INF_MIN sorts before every row sharing its prefix and one ending in INF_MAX
after them. INTEGER is 8 bytes big-endian with the sign bit flipped; STRING (UTF-8) and BINARY escape
0x00 as 0x00 0xFF and end with 0x00 0x01, so a value sorts before its extensions, as in Tablestore.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ossbox.tables.plainbuffer import INF_MAX, INF_MIN, PKValue, Special

PK_INTEGER = "INTEGER"
PK_STRING = "STRING"
PK_BINARY = "BINARY"

_VALUE = b"\x01"
_MIN = b"\x00"
_MAX = b"\x02"
_U64 = struct.Struct(">Q")
_FLIP = 1 << 63


def _encode_bytes(data: bytes) -> bytes:
    return data.replace(b"\x00", b"\x00\xff") + b"\x00\x01"


def encode_key(values: Sequence[PKValue | Special]) -> bytes:
    """Values in schema order, already checked against the schema's types."""
    out = []
    for value in values:
        if value is INF_MIN:
            out.append(_MIN)
            break
        if value is INF_MAX:
            out.append(_MAX)
            break
        if isinstance(value, int):
            out.append(_VALUE + _U64.pack((value + _FLIP) & 0xFFFFFFFFFFFFFFFF))
        elif isinstance(value, str):
            out.append(_VALUE + _encode_bytes(value.encode("utf-8")))
        elif isinstance(value, bytes):
            out.append(_VALUE + _encode_bytes(value))
        else:
            raise TypeError(f"not a primary key value: {value!r}")
    return b"".join(out)


def decode_key(key: bytes, types: Sequence[str]) -> list[PKValue]:
    """The values of a stored row's key (never a bound), given the schema's column types."""
    values: list[PKValue] = []
    pos = 0
    for pk_type in types:
        if key[pos] != 1:
            raise ValueError("not a row key")
        pos += 1
        if pk_type == PK_INTEGER:
            values.append(_U64.unpack_from(key, pos)[0] - _FLIP)
            pos += 8
            continue
        out = bytearray()
        while True:
            zero = key.index(b"\x00", pos)
            out += key[pos:zero]
            if key[zero + 1] == 0xFF:
                out.append(0)
                pos = zero + 2
            else:
                pos = zero + 2
                break
        values.append(out.decode("utf-8") if pk_type == PK_STRING else bytes(out))
    return values
