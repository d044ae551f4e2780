"""Streaming a request body into a new blob: MD5 and CRC-64 in the same pass, then fdatasync.

A body whose Content-Length is at most INLINE_MAX_BYTES is kept in memory, hashed on the event loop and
becomes an inline blob, made durable by the metadata commit itself. Larger bodies go to a file: they are
coalesced into 1 MiB slices and handed to a worker thread, so the loop keeps receiving while hashlib
(which releases the GIL) and the disk work.

For an encrypted object, `new_key` makes the blob's data key: the writer thread encrypts each slice just
before writing it (hashes are of the plaintext, as OSS's ETag and CRC-64 are), and an inline body is
encrypted before it is handed to the committer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import hashlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.ciphers import CipherContext

from ossbox.blobs.store import BlobStore, BlobWriter
from ossbox.core.blob_ids import INLINE_MAX_BYTES, new_inline_blob_id
from ossbox.core.errors import OSSError, insufficient_storage
from ossbox.meta.types import BlobKey
from ossbox.protocol.crc64 import crc64
from ossbox.service.committer import NewBlob
from ossbox.service.encryption import DataKey

_SLICE = 1 << 20
# Bodies up to this size are hashed and written on the event loop: a thread hop would cost more.
_HASH_ON_LOOP_LIMIT = 256 << 10
# A slice is handed to the worker threads at _SLICE bytes or this many chunks (writev takes at most 1024).
_MAX_CHUNKS = 512

ReadChunk = Callable[[], Awaitable[bytes]]
# Given a new blob's id: its data key (encrypted objects only).
NewKey = Callable[[str], DataKey]


class BodyDigest(Protocol):
    """Further digests of a body that the dialect checks (S3's payload SHA-256 and x-amz-checksum-*).

    `update` is called with every byte of the body, on a worker thread, in order; `finish` once the body
    is complete and before anything is kept: it raises OSSError when a digest does not match and returns
    the checksum to store with the object ('' for none).
    """

    def update(self, data: bytes) -> None: ...

    def finish(self) -> str: ...


@dataclass
class Ingested:
    blob_id: str
    size: int
    md5: bytes
    crc64: int
    inline_data: bytes | None = None  # as stored (encrypted when `key` is set)
    key: BlobKey | None = None
    checksum: str = ""

    @property
    def etag(self) -> str:
        return self.md5.hex().upper()

    @property
    def new_blob(self) -> NewBlob:
        return NewBlob(self.blob_id, self.size, self.inline_data, self.key)


def _too_large() -> OSSError:
    return OSSError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")


def _incomplete() -> OSSError:
    return OSSError(400, "IncompleteBody", "The request body is shorter or longer than its Content-Length.")


async def _ingest_inline(
    read_chunk: ReadChunk,
    content_length: int,
    content_md5: str | None,
    extra: BodyDigest | None,
    new_key: NewKey | None,
) -> Ingested:
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
    checksum = ""
    if extra is not None:
        extra.update(data)
        checksum = extra.finish()
    blob_id = new_inline_blob_id()
    if new_key is None:
        return Ingested(blob_id, len(data), digest, crc64(data, 0), data, checksum=checksum)
    key = new_key(blob_id)
    stored = key.cipher.apply(0, data)
    return Ingested(blob_id, len(data), digest, crc64(data, 0), stored, key.record, checksum)


class _Sink:
    """Hashes (MD5 + CRC-64) and writes slices of a body on two worker threads at once.

    One slice is in flight while the event loop receives the next: a PUT then runs at the speed of its
    slowest stage (MD5, on one core) instead of the sum of the three. Slices must not change after `feed`.
    """

    __slots__ = (
        "_encrypt",
        "_executor",
        "_extra",
        "_extra_hashing",
        "_hashing",
        "_loop",
        "_writing",
        "crc",
        "md5",
        "writer",
    )

    def __init__(
        self,
        writer: BlobWriter,
        executor: Executor,
        loop: asyncio.AbstractEventLoop,
        extra: BodyDigest | None,
        encrypt: CipherContext | None = None,
    ) -> None:
        self.writer = writer
        # CTR keystream of the blob; slices reach _write one at a time and in order, so its position
        # always matches the writer's.
        self._encrypt = encrypt
        self.md5 = hashlib.md5()
        self.crc = 0
        self._executor = executor
        self._loop = loop
        self._extra = extra
        self._hashing: asyncio.Future[None] | None = None
        self._writing: asyncio.Future[None] | None = None
        self._extra_hashing: asyncio.Future[None] | None = None

    def _hash(self, chunks: list[bytes]) -> None:
        md5, crc = self.md5, self.crc
        for chunk in chunks:
            md5.update(chunk)
            crc = crc64(chunk, crc)
        self.crc = crc

    def _hash_extra(self, chunks: list[bytes]) -> None:
        assert self._extra is not None
        for chunk in chunks:
            self._extra.update(chunk)

    def _write(self, chunks: list[bytes]) -> None:
        encrypt = self._encrypt
        if encrypt is None:
            self.writer.write_chunks(chunks)
        else:
            self.writer.write_chunks([encrypt.update(c) for c in chunks])

    def update_here(self, chunks: list[bytes]) -> None:
        """Hash and write on the calling thread (small tails, where a thread hop costs more)."""
        self._hash(chunks)
        self._write(chunks)
        if self._extra is not None:
            self._hash_extra(chunks)

    async def feed(self, chunks: list[bytes]) -> None:
        await self.drain()
        self._hashing = self._loop.run_in_executor(self._executor, self._hash, chunks)
        self._writing = self._loop.run_in_executor(self._executor, self._write, chunks)
        if self._extra is not None:
            # A third thread: the dialect's digests (SHA-256 of a signed payload) run beside MD5.
            self._extra_hashing = self._loop.run_in_executor(self._executor, self._hash_extra, chunks)

    async def drain(self) -> None:
        """Wait for the slice in flight; raises what its write or hashing raised."""
        hashing, writing, extra = self._hashing, self._writing, self._extra_hashing
        self._hashing = self._writing = self._extra_hashing = None
        if hashing is None or writing is None:
            return
        pending = [hashing, writing] if extra is None else [hashing, writing, extra]
        await asyncio.wait(pending)
        for fut in pending:
            error = None if fut.cancelled() else fut.exception()
            if error is not None:
                raise error


async def ingest(
    blobs: BlobStore,
    read_chunk: ReadChunk,
    executor: Executor,
    *,
    content_length: int | None,
    content_md5: str | None,
    max_size: int,
    extra: BodyDigest | None = None,
    new_key: NewKey | None = None,
) -> Ingested:
    """Store the body as a durable temporary blob (or an inline one), encrypted when `new_key` is given.
    On any failure nothing is kept."""
    if not blobs.has_room_for(content_length or 0):
        raise insufficient_storage()
    if content_length is not None and content_length <= min(INLINE_MAX_BYTES, max_size):
        return await _ingest_inline(read_chunk, content_length, content_md5, extra, new_key)
    loop = asyncio.get_running_loop()
    # Creating the file (an inode allocation, slow when the filesystem is busy) happens off the event loop.
    writer = await loop.run_in_executor(executor, blobs.create, content_length)
    key = new_key(writer.blob_id) if new_key is not None else None
    sink = _Sink(writer, executor, loop, extra, key.cipher.at(0) if key is not None else None)
    try:
        # Chunks are collected, not concatenated: copying them into one buffer costs more than receiving.
        chunks: list[bytes] = []
        pending = 0
        total = 0
        while chunk := await read_chunk():
            total += len(chunk)
            if total > max_size:
                raise _too_large()
            if content_length is not None and total > content_length:
                break
            chunks.append(chunk)
            pending += len(chunk)
            if pending >= _SLICE or len(chunks) >= _MAX_CHUNKS:
                await sink.feed(chunks)
                chunks, pending = [], 0
        await sink.drain()
        if content_length is not None and total != content_length:
            raise _incomplete()
        if chunks:
            if total <= _HASH_ON_LOOP_LIMIT:
                sink.update_here(chunks)
            else:
                await sink.feed(chunks)
                await sink.drain()
        digest = sink.md5.digest()
        if content_md5 is not None:
            check_content_md5(content_md5, digest)
        checksum = extra.finish() if extra is not None else ""
        await loop.run_in_executor(executor, writer.sync)
        record = key.record if key else None
        return Ingested(writer.blob_id, writer.size, digest, sink.crc, None, record, checksum)
    except BaseException as exc:
        # The worker threads may still be writing: let them finish before the file goes away.
        with contextlib.suppress(BaseException):
            await sink.drain()
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
