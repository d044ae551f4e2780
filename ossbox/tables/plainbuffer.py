"""PlainBuffer, Tablestore's row format inside the protobuf messages: rows the SDK sends, rows it reads.

Written here rather than taken from the `tablestore` package because the SDK only holds the client's half,
and that half cannot read what its own writer produces: its reader raises NameError on a cell type (every
UpdateRow delete), rejects INF_MIN/INF_MAX/auto-increment primary key values (every GetRange bound), and
computes its CRC-8 a byte at a time in Python. The layout and constants are those of the SDK's
`tablestore.plainbuffer`; tests/tables/test_plainbuffer.py checks this codec against the SDK's writer,
its Python reader and its native parser in both directions.

The same format stores rows on disk (docs/tables.md) and change log records, so this module imports only
the standard library and anycrc: the change log reader runs outside the server.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import anycrc

HEADER = 0x75

TAG_ROW_PK = 0x1
TAG_ROW_DATA = 0x2
TAG_CELL = 0x3
TAG_CELL_NAME = 0x4
TAG_CELL_VALUE = 0x5
TAG_CELL_TYPE = 0x6
TAG_CELL_TIMESTAMP = 0x7
TAG_DELETE_ROW_MARKER = 0x8
TAG_ROW_CHECKSUM = 0x9
TAG_CELL_CHECKSUM = 0xA

VT_INTEGER = 0x0
VT_DOUBLE = 0x1
VT_BOOLEAN = 0x2
VT_STRING = 0x3
VT_BLOB = 0x7
VT_INF_MIN = 0x9
VT_INF_MAX = 0xA
VT_AUTO_INCREMENT = 0xB

# Cell types of an UpdateRow change (a put carries none).
OP_PUT = 0x0
OP_DELETE_ALL_VERSIONS = 0x1
OP_DELETE_ONE_VERSION = 0x3
OP_INCREMENT = 0x4
_OPS = frozenset((OP_DELETE_ALL_VERSIONS, OP_DELETE_ONE_VERSION, OP_INCREMENT))

# CRC-8 with polynomial 0x07, initial value 0, no reflection: the SDK's CRC8_TABLE.
_CRC8 = anycrc.Model("CRC8-SMBUS")


class Special(enum.Enum):
    """Primary key values that are not values: range bounds and 'generate one for me'."""

    INF_MIN = VT_INF_MIN
    INF_MAX = VT_INF_MAX
    AUTO_INCREMENT = VT_AUTO_INCREMENT


INF_MIN = Special.INF_MIN
INF_MAX = Special.INF_MAX
AUTO_INCREMENT = Special.AUTO_INCREMENT

# Cell values: bool is BOOLEAN, int INTEGER, float DOUBLE, str STRING, bytes BINARY.
Value = bool | int | float | str | bytes
PKValue = int | str | bytes
PKItem = tuple[str, "PKValue | Special"]


class PlainBufferError(ValueError):
    """The bytes are not a well-formed PlainBuffer row (bad tag, length, UTF-8 or checksum)."""


@dataclass(slots=True)
class Cell:
    name: str
    value: Value | None
    ts: int | None = None
    op: int = OP_PUT


@dataclass(slots=True)
class PlainRow:
    pk: list[PKItem]
    cells: list[Cell]
    delete_marker: bool = False


def crc8(data: bytes, crc: int = 0) -> int:
    return int(_CRC8.calc(data, crc))


# ----------------------------------------------------------------------------------------------- reading
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")


class _Reader:
    __slots__ = ("buf", "n", "pos", "tag")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.n = len(buf)
        self.pos = 0
        self.tag = 0

    def next_tag(self) -> None:
        if self.pos >= self.n:
            self.tag = 0
        else:
            self.tag = self.buf[self.pos]
            self.pos += 1

    def take(self, size: int) -> bytes:
        start = self.pos
        end = start + size
        if size < 0 or end > self.n:
            raise PlainBufferError("unexpected end of PlainBuffer data")
        self.pos = end
        return self.buf[start:end]

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def expect(self, tag: int, what: str) -> None:
        if self.tag != tag:
            raise PlainBufferError(f"expected {what} (tag {tag:#x}) but found tag {self.tag:#x}")


def _decode_value(raw: bytes) -> Value | Special:
    """`raw` is a value's type byte and payload, as in a cell or a filter's column_value."""
    if not raw:
        raise PlainBufferError("empty value")
    vt = raw[0]
    size = len(raw) - 1
    if vt == VT_INTEGER:
        if size != 8:
            raise PlainBufferError("an INTEGER value takes 8 bytes")
        return int(_I64.unpack_from(raw, 1)[0])
    if vt in (VT_STRING, VT_BLOB):
        if size < 4 or _U32.unpack_from(raw, 1)[0] != size - 4:
            raise PlainBufferError("string or binary length does not match its cell")
        data = raw[5:]
        if vt == VT_BLOB:
            return data
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise PlainBufferError("a STRING value is not valid UTF-8") from None
    if vt == VT_DOUBLE:
        if size != 8:
            raise PlainBufferError("a DOUBLE value takes 8 bytes")
        return float(_F64.unpack_from(raw, 1)[0])
    if vt == VT_BOOLEAN:
        if size != 1 or raw[1] > 1:
            raise PlainBufferError("a BOOLEAN value is one byte, 0 or 1")
        return raw[1] == 1
    if vt in (VT_INF_MIN, VT_INF_MAX, VT_AUTO_INCREMENT):
        if size != 0:
            raise PlainBufferError("INF_MIN, INF_MAX and AUTO_INCREMENT carry no payload")
        return Special(vt)
    raise PlainBufferError(f"unsupported value type {vt:#x}")


def decode_variant(raw: bytes) -> Value:
    """A filter's column_value: type byte and payload, no cell around it."""
    value = _decode_value(bytes(raw))
    if isinstance(value, Special):
        raise PlainBufferError("a column value cannot be INF_MIN, INF_MAX or AUTO_INCREMENT")
    return value


def _read_cell(r: _Reader) -> tuple[Cell, int]:
    """At TAG_CELL. Returns the cell and its checksum; leaves r.tag at the tag after the cell.

    Works on local variables rather than _Reader's methods: this is the hot loop of every request."""
    buf, n, pos = r.buf, r.n, r.pos
    try:
        if buf[pos] != TAG_CELL_NAME:
            raise PlainBufferError(f"expected a cell name but found tag {buf[pos]:#x}")
        start = pos + 5
        pos = start + _U32.unpack_from(buf, pos + 1)[0]
        if pos > n:
            raise IndexError
        name_raw = buf[start:pos]
        covered = [name_raw]
        tag = buf[pos]
        pos += 1
        value: Value | Special | None = None
        if tag == TAG_CELL_VALUE:
            start = pos + 4
            pos = start + _U32.unpack_from(buf, pos)[0]
            if pos > n:
                raise IndexError
            raw = buf[start:pos]
            value = _decode_value(raw)
            covered.append(raw)
            tag = buf[pos]
            pos += 1
        op = OP_PUT
        if tag == TAG_CELL_TYPE:
            op = buf[pos]
            if op not in _OPS:
                raise PlainBufferError(f"unknown cell type {op:#x}")
            tag = buf[pos + 1]
            pos += 2
        ts: int | None = None
        if tag == TAG_CELL_TIMESTAMP:
            ts_raw = buf[pos : pos + 8]
            ts = int(_I64.unpack(ts_raw)[0])
            covered.append(ts_raw)
            tag = buf[pos + 8]
            pos += 9
        if op != OP_PUT:
            covered.append(bytes((op,)))
        if tag != TAG_CELL_CHECKSUM:
            raise PlainBufferError(f"expected a cell checksum but found tag {tag:#x}")
        checksum = buf[pos]
        pos += 1
    except (IndexError, struct.error):
        raise PlainBufferError("unexpected end of PlainBuffer data") from None
    if crc8(b"".join(covered)) != checksum:
        raise PlainBufferError("cell checksum mismatch")
    try:
        name = name_raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PlainBufferError("a column name is not valid UTF-8") from None
    r.pos = pos
    r.next_tag()
    return Cell(name, value, ts, op), checksum  # type: ignore[arg-type]  # Special checked by callers


def _read_row(r: _Reader) -> PlainRow:
    r.expect(TAG_ROW_PK, "the primary key")
    r.next_tag()
    row_crc = 0
    pk: list[PKItem] = []
    while r.tag == TAG_CELL:
        cell, checksum = _read_cell(r)
        if cell.value is None or cell.op != OP_PUT or cell.ts is not None:
            raise PlainBufferError("a primary key column must have a value and nothing else")
        pk.append((cell.name, cell.value))  # type: ignore[arg-type]  # floats/bools rejected by schema checks
        row_crc = crc8(bytes((checksum,)), row_crc)
    cells: list[Cell] = []
    if r.tag == TAG_ROW_DATA:
        r.next_tag()
        while r.tag == TAG_CELL:
            cell, checksum = _read_cell(r)
            if isinstance(cell.value, Special):
                raise PlainBufferError("an attribute column cannot be INF_MIN, INF_MAX or AUTO_INCREMENT")
            cells.append(cell)
            row_crc = crc8(bytes((checksum,)), row_crc)
    delete_marker = False
    if r.tag == TAG_DELETE_ROW_MARKER:
        delete_marker = True
        r.next_tag()
    row_crc = crc8(b"\x01" if delete_marker else b"\x00", row_crc)
    r.expect(TAG_ROW_CHECKSUM, "the row checksum")
    if r.take(1)[0] != row_crc:
        raise PlainBufferError("row checksum mismatch")
    r.next_tag()
    return PlainRow(pk, cells, delete_marker)


def _reader(data: bytes) -> _Reader:
    r = _Reader(bytes(data))
    if r.n < 4 or _I32.unpack_from(r.buf, 0)[0] != HEADER:
        raise PlainBufferError("missing PlainBuffer header")
    r.pos = 4
    r.next_tag()
    return r


def decode_row(data: bytes) -> PlainRow:
    """Exactly one row (a primary key, a PutRow row, an UpdateRow change, a DeleteRow marker row)."""
    r = _reader(data)
    row = _read_row(r)
    if r.tag != 0:
        raise PlainBufferError("unexpected data after the row")
    return row


def decode_rows(data: bytes) -> list[PlainRow]:
    r = _reader(data)
    rows = []
    while r.tag != 0:
        rows.append(_read_row(r))
    return rows


# ----------------------------------------------------------------------------------------------- writing
def encode_value(value: Value | Special) -> bytes:
    """Type byte and payload (what a cell's TAG_CELL_VALUE holds after its length)."""
    if isinstance(value, Special):
        return bytes((value.value,))
    if value is True or value is False:
        return b"\x02\x01" if value else b"\x02\x00"
    if isinstance(value, int):
        return b"\x00" + _I64.pack(value)
    if isinstance(value, float):
        return b"\x01" + _F64.pack(value)
    if isinstance(value, str):
        data = value.encode("utf-8")
        return b"\x03" + _U32.pack(len(data)) + data
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return b"\x07" + _U32.pack(len(data)) + data
    raise TypeError(f"not a Tablestore value: {type(value).__name__}")


def _cell(name: str, value: Value | Special | None, ts: int | None, op: int, out: list[bytes]) -> int:
    name_raw = name.encode("utf-8")
    covered = [name_raw]
    out.append(bytes((TAG_CELL, TAG_CELL_NAME)) + _U32.pack(len(name_raw)) + name_raw)
    if value is not None:
        raw = encode_value(value)
        covered.append(raw)
        out.append(bytes((TAG_CELL_VALUE,)) + _U32.pack(len(raw)) + raw)
    if op != OP_PUT:
        out.append(bytes((TAG_CELL_TYPE, op)))
    if ts is not None:
        ts_raw = _I64.pack(ts)
        covered.append(ts_raw)
        out.append(bytes((TAG_CELL_TIMESTAMP,)) + ts_raw)
    if op != OP_PUT:
        covered.append(bytes((op,)))
    checksum = crc8(b"".join(covered))
    out.append(bytes((TAG_CELL_CHECKSUM, checksum)))
    return checksum


def encode_row_body(pk: Sequence[PKItem], cells: Iterable[Cell] = (), delete_marker: bool = False) -> bytes:
    """One row without the header: rows are concatenated after a single header."""
    out: list[bytes] = [bytes((TAG_ROW_PK,))]
    checksums = bytearray()
    for name, value in pk:
        checksums.append(_cell(name, value, None, OP_PUT, out))
    first = True
    for cell in cells:
        if first:
            out.append(bytes((TAG_ROW_DATA,)))
            first = False
        checksums.append(_cell(cell.name, cell.value, cell.ts, cell.op, out))
    if delete_marker:
        out.append(bytes((TAG_DELETE_ROW_MARKER,)))
    checksums.append(1 if delete_marker else 0)
    out.append(bytes((TAG_ROW_CHECKSUM, crc8(bytes(checksums)))))
    return b"".join(out)


HEADER_BYTES = _I32.pack(HEADER)


def encode_row(pk: Sequence[PKItem], cells: Iterable[Cell] = (), delete_marker: bool = False) -> bytes:
    return HEADER_BYTES + encode_row_body(pk, cells, delete_marker)


def join_rows(bodies: Iterable[bytes]) -> bytes:
    """Rows from encode_row_body as one PlainBuffer (GetRange's `rows`); empty when there are none."""
    parts = list(bodies)
    return HEADER_BYTES + b"".join(parts) if parts else b""
