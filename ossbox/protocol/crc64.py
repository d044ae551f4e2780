"""CRC-64/XZ, which OSS calls crc64ecma: incremental update and combine of two CRCs."""

from __future__ import annotations

import anycrc

_MODEL = anycrc.Model("CRC64-XZ")


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC of `data`, continuing from `crc` (the CRC of everything before it)."""
    return int(_MODEL.calc(data, crc)) if crc else int(_MODEL.calc(data))


def crc64_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC of A+B from CRC(A), CRC(B) and len(B), without touching the data."""
    if len2 == 0:
        return crc1
    return int(_MODEL.combine(crc1, crc2, len2))
