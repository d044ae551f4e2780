"""What the service layer needs from a blob store: the interface the local directory (ossbox.blobs.local)
and an S3-compatible cluster (ossbox.blobs.s3) both provide.

Blobs are immutable once synced; extents in the metadata point into them, so complete, append and copy
never touch blob data. A store only creates, reads, deletes and sweeps whole blobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol


class BlobConfigError(Exception):
    """The blob store cannot be used as configured; the message says why, without secrets."""


class BlobWriter(Protocol):
    """An open, not yet durable blob. One writer per request; `write_chunks` calls arrive in order."""

    blob_id: str
    size: int

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def write_chunks(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None: ...

    def sync(self) -> None:
        """Make the data durable (after this, `publish` or nothing makes the blob readable)."""

    def discard(self) -> None:
        """Drop everything written; callable at any point, also after `sync`."""


class BlobStore(Protocol):
    # Bytes of free space kept for the metadata store (0 when the data tier is elsewhere).
    reserve_bytes: int
    # Reads block on the network: the service layer runs them on worker threads, not the event loop.
    remote: bool

    def has_room_for(self, nbytes: int) -> bool: ...

    def create(self, size: int | None = None) -> BlobWriter:
        """A new blob; `size`, when the request says how long its body is, lets a store stream it in one
        piece."""

    def publish(self, blob_ids: Iterable[str]) -> None:
        """Make synced blobs visible to reads, for the batch about to be committed."""

    def delete(self, blob_ids: Iterable[str]) -> None: ...

    def read_range(self, blob_id: str, offset: int, length: int) -> bytes: ...

    def iter_range(self, blob_id: str, offset: int, length: int) -> Iterator[bytes]: ...

    def sweep(self, referenced: set[str], min_age_s: float = 0) -> tuple[int, int]:
        """Remove unfinished writes and blobs no metadata refers to, sparing those younger than
        `min_age_s`; returns (unfinished writes removed, orphaned blobs removed)."""

    def claim(self, owner: str) -> None:
        """Mark the store as holding the blobs of the metadata store `owner`; raises BlobConfigError when
        another metadata store already holds it (its sweep would delete this one's blobs) or when the store
        refuses to be written."""

    def close(self) -> None: ...
