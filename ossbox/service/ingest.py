"""Streaming a request body into a new blob: MD5 and CRC-64 in the same pass, then fdatasync.

A body whose Content-Length is at most INLINE_MAX_BYTES is kept in memory, hashed on the event loop and
becomes an inline blob, made durable by the metadata commit itself. Larger bodies go to a file: they are
coalesced into 1 MiB slices and handed to a worker thread, so the loop keeps receiving while hashlib
(which releases the GIL) and the disk work.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from ossbox.blobs.local import BlobWriter, LocalBlobStore
from ossbox.core.blob_ids import INLINE_MAX_BYTES, new_inline_blob_id
from ossbox.core.errors import OSSError, insufficient_storage
from ossbox.protocol.crc64 import crc64
from ossbox.service.committer import NewBlob

_SLICE = 1 << 20
_INLINE_LIMIT = 256 << 10

ReadChunk = Callable[[], Awaitable[bytes]]


@dataclass
class Ingested:
    blob_id: str
    size: int
    md5: bytes
    crc64: int
    inline_data: bytes | None = None

    @property
    def etag(self) -> str:
        return self.md5.hex().upper()

    @property
    def new_blob(self) -> NewBlob:
        return NewBlob(self.blob_id, self.size, self.inline_data)


def _too_large() -> OSSError:
    return OSSError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")


def _incomplete() -> OSSError:
    return OSSError(400, "IncompleteBody", "The request body is shorter or longer than its Content-Length.")


async def _ingest_inline(read_chunk: ReadChunk, content_length: int, content_md5: str | None) -> Ingested:
    parts = []
    total = 0
    while chunk := await read_chunk():
        total += len(chunk)
        if total > content_length:
            break
        parts.append(chunk)
    if total != content_length:
        raise _incomplete()
    data = b"".join(parts)
    digest = hashlib.md5(data).digest()
    if content_md5 is not None:
        check_content_md5(content_md5, digest)
    return Ingested(new_inline_blob_id(), len(data), digest, crc64(data, 0), data)


class _Sink:
    __slots__ = ("crc", "md5", "writer")

    def __init__(self, writer: BlobWriter) -> None:
        self.writer = writer
        self.md5 = hashlib.md5()
        self.crc = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.md5.update(data)
        self.crc = crc64(data, self.crc)
        self.writer.write(data)


async def ingest(
    blobs: LocalBlobStore,
    read_chunk: ReadChunk,
    executor: Executor,
    *,
    content_length: int | None,
    content_md5: str | None,
    max_size: int,
) -> Ingested:
    """Store the body as a durable temporary blob (or an inline one). On any failure nothing is kept."""
    if not blobs.has_room_for(content_length or 0):
        raise insufficient_storage()
    if content_length is not None and content_length <= min(INLINE_MAX_BYTES, max_size):
        return await _ingest_inline(read_chunk, content_length, content_md5)
    writer = blobs.create()
    sink = _Sink(writer)
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    try:
        buf = bytearray()
        total = 0
        while chunk := await read_chunk():
            total += len(chunk)
            if total > max_size:
                raise _too_large()
            if content_length is not None and total > content_length:
                break
            buf += chunk
            if len(buf) >= _SLICE:
                if pending is not None:
                    await pending
                slice_ = bytes(buf)
                buf.clear()
                pending = loop.run_in_executor(executor, sink.update, slice_)
        if pending is not None:
            await pending
            pending = None
        if content_length is not None and total != content_length:
            raise _incomplete()
        if buf:
            if len(buf) <= _INLINE_LIMIT and total <= _INLINE_LIMIT:
                sink.update(buf)
            else:
                await loop.run_in_executor(executor, sink.update, bytes(buf))
        digest = sink.md5.digest()
        if content_md5 is not None:
            check_content_md5(content_md5, digest)
        await loop.run_in_executor(executor, writer.sync)
        return Ingested(writer.blob_id, writer.size, digest, sink.crc)
    except BaseException as exc:
        if pending is not None:
            # The worker thread may still be writing: let it finish before the file goes away.
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()
        writer.discard()
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise insufficient_storage() from exc
        raise


def check_content_md5(header: str, digest: bytes) -> None:
    try:
        expected = base64.b64decode(header, validate=True)
    except ValueError as exc:
        raise OSSError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.") from exc
    if len(expected) != 16:
        raise OSSError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    if expected != digest:
        raise OSSError(
            400,
            "InvalidDigest",
            "The Content-MD5 you specified did not match what we received.",
            {"CalculatedDigest": base64.b64encode(digest).decode()},
        )
