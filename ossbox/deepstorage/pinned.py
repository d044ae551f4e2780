"""Reading one version of an object in ranged pieces, each GET pinned to the ETag seen first.

Every piece is a ranged GET with `If-Match: <etag>`: if the object is replaced between pieces the server
answers 412 and the reader raises instead of splicing bytes of two different objects together.
"""

from __future__ import annotations

import io

import oss2.exceptions

from ossbox.deepstorage.client import OssClients
from ossbox.deepstorage.errors import ObjectChangedError

DEFAULT_CHUNK = 8 << 20


class PinnedReader(io.RawIOBase):
    """A seekable, read-only view of bytes [start, end) of one object version."""

    def __init__(
        self,
        clients: OssClients,
        bucket: str,
        key: str,
        etag: str,
        start: int,
        end: int,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        changed_error: type[ObjectChangedError] = ObjectChangedError,
    ) -> None:
        super().__init__()
        if not 0 <= start <= end:
            raise ValueError(f"bad range [{start}, {end})")
        self._clients = clients
        self._bucket = bucket
        self._key = key
        self._etag = etag.strip('"')
        self._start = start
        self._end = end
        self._pos = start
        self._chunk_size = max(1, chunk_size)
        self._buf = b""
        self._buf_at = start
        self._changed_error = changed_error

    @property
    def etag(self) -> str:
        return self._etag

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos - self._start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: self._start, io.SEEK_CUR: self._pos, io.SEEK_END: self._end}[whence]
        self._pos = min(max(self._start, base + offset), self._end)
        return self.tell()

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._end or len(b) == 0:
            return 0
        if not self._buf_at <= self._pos < self._buf_at + len(self._buf):
            self._fetch(self._pos)
        offset = self._pos - self._buf_at
        n = min(len(b), len(self._buf) - offset)
        b[:n] = self._buf[offset : offset + n]
        self._pos += n
        return n

    def _fetch(self, at: int) -> None:
        last = min(at + self._chunk_size, self._end) - 1
        handle = self._clients.bucket(self._bucket)
        headers = {"If-Match": f'"{self._etag}"', "x-oss-range-behavior": "standard"}

        def get() -> bytes:
            result = handle.get_object(self._key, byte_range=(at, last), headers=headers)
            data: bytes = result.read()
            return data

        try:
            data = self._clients.call(f"read oss://{self._bucket}/{self._key}", get, self._bucket, self._key)
        except Exception as e:
            cause = e.__cause__ if e.__cause__ is not None else e
            if isinstance(cause, oss2.exceptions.PreconditionFailed) or getattr(cause, "status", None) == 412:
                raise self._changed_error(
                    f"oss://{self._bucket}/{self._key} was replaced while it was being read "
                    f"(its ETag is no longer {self._etag}); {at - self._start} bytes had been read"
                ) from None
            raise
        if len(data) != last - at + 1:
            raise self._changed_error(
                f"oss://{self._bucket}/{self._key}: asked for bytes {at}-{last}, got {len(data)} bytes"
            )
        self._buf, self._buf_at = data, at


def open_pinned(
    clients: OssClients,
    bucket: str,
    key: str,
    etag: str,
    start: int,
    end: int,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    changed_error: type[ObjectChangedError] = ObjectChangedError,
) -> io.BufferedReader:
    raw = PinnedReader(
        clients, bucket, key, etag, start, end, chunk_size=chunk_size, changed_error=changed_error
    )
    return io.BufferedReader(raw, buffer_size=min(chunk_size, 1 << 20))
