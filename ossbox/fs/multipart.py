"""Parallel multipart upload with bounded memory, per-part timeouts, and all-or-nothing results.

The writer owns `threads` part buffers of `partition_size` bytes; the caller fills one at a time and hands
it back, while the others are being uploaded. So memory never exceeds threads x partition size, and nothing
touches the local disk. The upload is initiated lazily: a file that fits in one part is one PutObject.
Any failed part (after retries), any part running past `part_timeout`, or any exception in the caller
aborts the upload, so no partial object ever appears.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import anycrc
import oss2

from ossbox.fs.config import OssConfig
from ossbox.fs.errors import describe, translate

log = logging.getLogger("ossbox.fs")
_CRC = anycrc.Model("CRC64-XZ")
MAX_PARTS = 10_000


def crc64(data: bytes | bytearray | memoryview) -> int:
    return int(_CRC.calc(data))


def crc64_combine(crc1: int, crc2: int, len2: int) -> int:
    return int(_CRC.combine(crc1, crc2, len2)) if len2 else crc1


class UploadAborted(OSError):
    """The multipart upload was cancelled and aborted; no object was written."""


@dataclass
class _Part:
    number: int
    buf: bytearray
    size: int
    started: float = 0.0


class MultipartWriter:
    """Upload one object from a sequence of filled buffers. Not thread-safe: one producer."""

    def __init__(
        self,
        bucket: oss2.Bucket,
        key: str,
        cfg: OssConfig,
        headers: Mapping[str, str] | None = None,
        on_part_done: Callable[[int], None] | None = None,
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.cfg = cfg
        self.headers = dict(headers or {})
        self.on_part_done = on_part_done
        self.part_size = cfg.partition_size
        self.upload_id: str | None = None
        self._free: list[bytearray] = []
        self._allocated = 0
        self._held: _Part | None = None  # the first full part, kept until we know a second one follows
        self._next_number = 1
        self._inflight: dict[cf.Future[oss2.models.PartInfo], _Part] = {}
        self._done: list[oss2.models.PartInfo] = []
        self._pool: cf.ThreadPoolExecutor | None = None
        self._cancelled = threading.Event()
        self._finished = False
        self.total = 0
        self.crc = 0

    # ---------------------------------------------------------------- buffers
    def buffer(self, size: int | None = None) -> bytearray:
        """A part buffer to fill; blocks while all `threads` buffers are in use.

        A reused buffer is `partition_size` long (overwrite it); a new one is `size` long, or empty to be
        grown by the caller (`buf[n:n + k] = data` does both), so a 4 KiB file never costs a 64 MiB buffer.
        """
        self._check_open()
        if not self._free and self._allocated >= self.cfg.threads and self._held is not None:
            # Every buffer is taken and one holds part 1: more data means a multipart upload after all.
            self._initiate()
            self._start(self._held)
            self._held = None
        while not self._free and self._allocated >= self.cfg.threads:
            self._wait_one()
        if self._free:
            return self._free.pop()
        self._allocated += 1
        return bytearray(min(size, self.part_size)) if size else bytearray()

    def submit(self, buf: bytearray, size: int) -> None:
        """Hand back a buffer holding `size` bytes (a full part, or the last one)."""
        self._check_open()
        if size == 0:
            if len(buf) == self.part_size:
                self._free.append(buf)
            else:
                self._allocated -= 1
            return
        if self._next_number > MAX_PARTS:
            self.abort()
            raise UploadAborted(f"an object has at most {MAX_PARTS} parts; raise the partition size")
        part = _Part(self._next_number, buf, size)
        self._next_number += 1
        self.total += size
        if self._held is None and self.upload_id is None and part.number == 1:
            self._held = part
            return
        if self.upload_id is None:
            self._initiate()
        if self._held is not None:
            self._start(self._held)
            self._held = None
        self._start(part)

    def drain(self) -> None:
        """Wait until every submitted part is uploaded, without completing (for commit-later writes)."""
        self._check_open()
        try:
            while self._inflight:
                self._wait_one()
        except BaseException:
            self.abort()
            raise

    def finish(self) -> str:
        """Complete the object; returns its ETag. Aborts and raises on any failure."""
        self._check_open()
        try:
            if self.upload_id is None:
                return self._put_single()
            while self._inflight:
                self._wait_one()
            parts = sorted(self._done, key=lambda p: p.part_number)
            crc = 0
            for p in parts:
                crc = crc64_combine(crc, p.part_crc, p.size)
            self.crc = crc
            try:
                result = self.bucket.complete_multipart_upload(self.key, self.upload_id, parts)
            except oss2.exceptions.OssError as e:
                raise translate(e, self.key) from e
            self._check_crc(result, crc, "complete")
            self._finished = True
            return str(result.etag)
        except BaseException:
            self.abort()
            raise
        finally:
            self._shutdown()

    def abort(self) -> None:
        """Cancel every part and abort the upload (idempotent)."""
        if self._finished:
            return
        self._finished = True
        self._cancelled.set()
        self._shutdown()
        if self.upload_id is not None:
            for attempt in range(self.cfg.retries + 1):
                try:
                    self.bucket.abort_multipart_upload(self.key, self.upload_id)
                    break
                except oss2.exceptions.NoSuchUpload:
                    break
                except oss2.exceptions.OssError as e:
                    if attempt == self.cfg.retries:
                        log.warning(
                            "could not abort upload %s of %s: %s", self.upload_id, self.key, describe(e)
                        )
                    time.sleep(0.2 * (attempt + 1))

    # ---------------------------------------------------------------- internals
    def _check_open(self) -> None:
        if self._finished:
            raise UploadAborted("the upload is already finished or aborted")

    def _initiate(self) -> None:
        try:
            result = self.bucket.init_multipart_upload(self.key, headers=self.headers)
        except oss2.exceptions.OssError as e:
            raise translate(e, self.key) from e
        self.upload_id = str(result.upload_id)
        self._pool = cf.ThreadPoolExecutor(self.cfg.threads, thread_name_prefix="ossbox-upload")

    def put_whole(self, data: bytes | bytearray | memoryview) -> str:
        """The whole object in one PutObject (multipart disabled)."""
        self._check_open()
        self.total = len(data)
        return self._put_data(data, self.total)

    def _put_single(self) -> str:
        held = self._held
        data = memoryview(held.buf)[: held.size] if held else b""
        return self._put_data(data, held.size if held else 0)

    def _put_data(self, data: bytes | bytearray | memoryview, size: int) -> str:
        headers = dict(self.headers)
        if self.cfg.content_md5:
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        crc = crc64(data)
        try:
            result = self._retry(lambda: self.bucket.put_object(self.key, data, headers=headers))
        except oss2.exceptions.OssError as e:
            raise translate(e, self.key) from e
        self._check_crc(result, crc, "put")
        self.crc = crc
        self._finished = True
        if size and self.on_part_done:
            self.on_part_done(size)
        return str(result.etag)

    def _start(self, part: _Part) -> None:
        assert self._pool is not None
        self._inflight[self._pool.submit(self._upload, part)] = part

    def _upload(self, part: _Part) -> oss2.models.PartInfo:
        part.started = time.monotonic()
        data = memoryview(part.buf)[: part.size]
        headers = {}
        if self.cfg.content_md5:
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        crc = crc64(data)
        assert self.upload_id is not None
        upload_id = self.upload_id
        result = self._retry(
            lambda: self.bucket.upload_part(self.key, upload_id, part.number, data, headers=headers)
        )
        self._check_crc(result, crc, f"part {part.number}")
        return oss2.models.PartInfo(part.number, result.etag, size=part.size, part_crc=crc)

    def _retry(self, call: Callable[[], oss2.models.RequestResult]) -> oss2.models.RequestResult:
        for attempt in range(self.cfg.retries + 1):
            if self._cancelled.is_set():
                raise UploadAborted("upload cancelled")
            try:
                return call()
            except oss2.exceptions.OssError as e:
                retryable = isinstance(e, oss2.exceptions.RequestError) or e.status >= 500
                if not retryable or attempt == self.cfg.retries or self._cancelled.is_set():
                    raise
                time.sleep(min(0.1 * 2**attempt, 2.0))
        raise AssertionError("unreachable")

    def _check_crc(self, result: oss2.models.RequestResult, expected: int, what: str) -> None:
        got = getattr(result, "crc", None)
        if got is not None and got != expected:
            raise OSError(f"CRC-64 mismatch on {what} of {self.key}: the data was damaged in transit")

    def _wait_one(self) -> None:
        """Wait for one part to end; enforce the per-part timeout; abort on failure."""
        if not self._inflight:
            raise AssertionError("no part in flight")
        timeout = self.cfg.part_timeout
        wait_for: float | None = None
        if timeout is not None:
            now = time.monotonic()
            starts = [p.started for p in self._inflight.values() if p.started]
            oldest = min(starts) if starts else now
            wait_for = max(0.0, oldest + timeout - now) + 0.01
        done, _ = cf.wait(list(self._inflight), timeout=wait_for, return_when=cf.FIRST_COMPLETED)
        if not done:
            if timeout is not None and any(
                p.started and time.monotonic() - p.started > timeout for p in self._inflight.values()
            ):
                self.abort()
                raise TimeoutError(
                    f"a part of {self.key} took longer than the part timeout ({timeout:g} s); upload aborted"
                )
            return
        for fut in done:
            part = self._inflight.pop(fut)
            try:
                info = fut.result()
            except UploadAborted:
                raise
            except oss2.exceptions.OssError as e:
                self.abort()
                raise translate(e, self.key) from e
            except BaseException:
                self.abort()
                raise
            self._done.append(info)
            if len(part.buf) == self.part_size:
                self._free.append(part.buf)  # reuse: no fresh allocation (page faults) per part
            else:
                self._allocated -= 1
            if self.on_part_done:
                self.on_part_done(part.size)

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._free.clear()
        self._held = None
