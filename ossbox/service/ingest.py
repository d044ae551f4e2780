"""Streaming a request body into a new blob: MD5 and CRC-64 in the same pass, then fdatasync.

Small bodies are hashed and written on the event loop (a thread hop costs more than the work); large
ones are coalesced into 1 MiB slices and handed to a worker thread, so the loop keeps receiving while
hashlib (which releases the GIL) and the disk work.
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
from ossbox.core.errors import OSSError, insufficient_storage
from ossbox.protocol.crc64 import crc64

_SLICE = 1 << 20
_INLINE_LIMIT = 256 << 10

ReadChunk = Callable[[], Awaitable[bytes]]


@dataclass
class Ingested:
    blob_id: str
    size: int
    md5: bytes
    crc64: int

    @property
    def etag(self) -> str:
        return self.md5.hex().upper()


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
    """Store the body as a durable temporary blob. On any failure the blob is removed."""
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
                raise OSSError(
                    400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."
                )
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
            raise OSSError(
                400, "IncompleteBody", "The request body is shorter or longer than its Content-Length."
            )
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
