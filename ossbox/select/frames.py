"""OSS's framed answer to SelectObject and CreateSelectObjectMeta.

Each frame: type (4 bytes; the first is the version, 1), payload length (4), header checksum (4, 0), the
payload, and the payload's CRC-32 (4), all big-endian. Every payload starts with the offset: how many bytes
of the object have been scanned. Clients check the payload CRC when EnablePayloadCrc is on; it is always sent.
"""

from __future__ import annotations

import struct
import zlib

DATA = 8388609
CONTINUOUS = 8388612
END = 8388613
META_END_CSV = 8388614
META_END_JSON = 8388615
_VERSION = 1 << 24


def _frame(kind: int, payload: bytes) -> bytes:
    return (
        struct.pack(">III", _VERSION | kind, len(payload), 0)
        + payload
        + struct.pack(">I", zlib.crc32(payload) & 0xFFFFFFFF)
    )


def data(offset: int, body: bytes) -> bytes:
    return _frame(DATA, struct.pack(">Q", offset) + body)


def continuous(offset: int) -> bytes:
    return _frame(CONTINUOUS, struct.pack(">Q", offset))


def _message(status: int, code: str, message: str) -> bytes:
    return b"" if status // 100 == 2 else f"{code}.{message}".encode()


def end(offset: int, scanned: int, status: int, code: str = "", message: str = "") -> bytes:
    return _frame(END, struct.pack(">QQI", offset, scanned, status) + _message(status, code, message))


def meta_end(
    kind: str,
    offset: int,
    scanned: int,
    status: int,
    splits: int,
    rows: int,
    columns: int,
    code: str,
    message: str,
) -> bytes:
    head = struct.pack(">QQIIQ", offset, scanned, status, splits, rows)
    if kind == "csv":
        return _frame(META_END_CSV, head + struct.pack(">I", columns) + _message(status, code, message))
    return _frame(META_END_JSON, head + _message(status, code, message))
