"""Objects past 2 and 4 GiB: 64-bit offsets, streaming both ways, metadata-only copy."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import oss2
import pytest

GiB = 1 << 30
SIZE = 4 * GiB + 12345
BLOCK = 8 << 20


def _block(i: int) -> bytes:
    # Mostly zeros (cheap to make), with a marker per block so that misplaced ranges are caught.
    return i.to_bytes(8, "big") + bytes(BLOCK - 8)


def _stream(size: int) -> Iterator[bytes]:
    sent, i = 0, 0
    while sent < size:
        chunk = _block(i)[: size - sent]
        sent += len(chunk)
        i += 1
        yield chunk


def _expected(offset: int, length: int) -> bytes:
    out = bytearray()
    while length > 0:
        i, within = divmod(offset, BLOCK)
        take = min(BLOCK - within, length)
        out += _block(i)[within : within + take]
        offset += take
        length -= take
    return bytes(out)


@pytest.mark.slow
def test_multi_gib_object(v1_bucket: oss2.Bucket) -> None:
    md5 = hashlib.md5()
    for chunk in _stream(SIZE):
        md5.update(chunk)
    r = v1_bucket.put_object("huge", _stream(SIZE))  # a generator goes out chunked, with CRC-64 checked
    assert r.etag == md5.hexdigest().upper()
    assert v1_bucket.head_object("huge").content_length == SIZE
    for offset in (0, 2 * GiB - 3, 4 * GiB - 1, SIZE - 100):
        got = v1_bucket.get_object("huge", byte_range=(offset, offset + 99)).read()
        assert got == _expected(offset, 100), offset
    v1_bucket.copy_object(v1_bucket.bucket_name, "huge", "huge-copy")
    assert v1_bucket.head_object("huge-copy").etag == r.etag
    tail = v1_bucket.get_object("huge-copy", byte_range=(SIZE - BLOCK - 5, None)).read()
    assert tail == _expected(SIZE - BLOCK - 5, BLOCK + 5)
