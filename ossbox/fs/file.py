"""The file object behind `fs.open()`: ranged reads with read-ahead, parallel multipart writes."""

from __future__ import annotations

import errno
import io
from types import TracebackType
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from ossbox.fs import paths
from ossbox.fs.config import MAX_PART
from ossbox.fs.multipart import MultipartWriter
from ossbox.fs.transfer import fetch_range

if TYPE_CHECKING:
    from ossbox.fs.filesystem import OssFileSystem


class OssFile(AbstractBufferedFile):  # type: ignore[misc]
    fs: OssFileSystem

    def __init__(
        self,
        fs: OssFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        path = fs._strip_protocol(path)
        self.bucket_name, self.key = paths.split(path)
        if mode == "ab":
            raise NotImplementedError(
                "append is not supported (Hadoop's OSS contract: supports-append=false)"
            )
        if mode not in ("rb", "wb", "xb"):
            raise ValueError(f"unsupported mode {mode!r}: use rb, wb or xb")
        if not self.key:
            raise IsADirectoryError(errno.EISDIR, "a bucket is not a file", path)
        self._writer: MultipartWriter | None = None
        self._buf: bytearray | None = None
        self._filled = 0
        self._etag = ""
        if mode == "rb":
            info = kwargs.pop("details", None) or fs.info(path)
            if info["type"] != "file":
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            self._etag = str(info.get("ETag", ""))
            super().__init__(
                fs,
                path,
                mode,
                block_size=block_size or fs.config.read_block_size,
                cache_type=cache_type,
                cache_options=cache_options,
                size=info["size"],
                **kwargs,
            )
            self.details = info
            return
        existing = fs._info_or_none(path)
        if existing is not None and existing["type"] == "directory":
            raise IsADirectoryError(errno.EISDIR, "a directory exists at this path", path)
        if existing is not None and mode == "xb":
            raise FileExistsError(errno.EEXIST, "file exists", path)
        cfg = fs.config
        headers = {"x-oss-forbid-overwrite": "true"} if mode == "xb" else {}
        # Multipart disabled (Alluxio's default): the object is kept in memory and sent in one PutObject.
        self._whole: io.BytesIO | None = None if cfg.multipart_enabled else io.BytesIO()
        super().__init__(fs, path, mode, block_size=cfg.partition_size, **kwargs)
        self._writer = MultipartWriter(fs.bucket(self.bucket_name), self.key, cfg, headers=headers)

    # ------------------------------------------------------------------ reading
    def _fetch_range(self, start: int, end: int) -> bytes:
        # Pinned to the ETag seen at open (If-Match): an object replaced mid-read fails, never mixes versions.
        return fetch_range(
            self.fs, self.bucket_name, self.key, start, min(end, self.size), self._etag, self.path
        )

    def seek(self, loc: int, whence: int = 0) -> int:
        if self.readable():
            base = {0: 0, 1: self.loc, 2: self.size}.get(whence)
            if base is not None and base + int(loc) > self.size:
                raise EOFError(f"seek to {base + int(loc)} past the end of {self.path} ({self.size} bytes)")
        return int(super().seek(loc, whence))

    # ------------------------------------------------------------------ writing
    def write(self, data: Any) -> int:
        if not self.writable():
            raise ValueError("file not open for writing")
        assert self._writer is not None
        view = memoryview(data).cast("B")
        n = len(view)
        pos = 0
        if self._whole is not None:
            if self._whole.tell() + n > MAX_PART:
                self._abort()
                raise OSError(
                    errno.EFBIG,
                    "multipart upload is disabled (alluxio.underfs.oss.multipart.upload.enabled=false)"
                    " and a single PutObject holds at most 5 GiB",
                    self.path,
                )
            self._whole.write(view)
            self.loc += n
            return n
        try:
            while pos < n:
                if self._buf is None:
                    self._buf = self._writer.buffer()
                    self._filled = 0
                part_size = self._writer.part_size
                take = min(n - pos, part_size - self._filled)
                # Overwrites a reused buffer, or grows a new one (a slice past the end extends it).
                self._buf[self._filled : self._filled + take] = view[pos : pos + take]
                self._filled += take
                pos += take
                if self._filled == part_size:
                    self._writer.submit(self._buf, self._filled)
                    self._buf = None
        except BaseException:
            self._abort()
            raise
        self.loc += n
        return n

    def flush(self, force: bool = False) -> None:
        """Parts go out as they fill; there is nothing to push early (OSS has no partial objects)."""
        if self.closed:
            raise ValueError("flush on closed file")

    def _abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self._buf = None
        self._whole = None
        self.closed = True

    def close(self) -> None:
        if self.closed:
            return
        if self.mode == "rb":
            super().close()
            return
        assert self._writer is not None
        try:
            if self._whole is not None and self.autocommit:
                self._writer.put_whole(self._whole.getbuffer())
                self._whole = None
                return
            if self._buf is not None:
                self._writer.submit(self._buf, self._filled)
                self._buf = None
            if self.autocommit:
                self._writer.finish()
            else:
                self._writer.drain()  # in a transaction: the object appears only at commit()
        except BaseException:
            self._abort()
            raise
        finally:
            self.closed = True

    def commit(self) -> None:
        """Make the object appear (fsspec transactions call this for files opened with autocommit=False)."""
        if self._writer is None or self.autocommit:
            return
        if self._whole is not None:
            self._writer.put_whole(self._whole.getbuffer())
            self._whole = None
        else:
            self._writer.finish()

    def discard(self) -> None:
        """Abort: nothing of this file appears (the transaction failed or was cancelled)."""
        if self._writer is not None:
            self._writer.abort()
        self._whole = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.writable():
            self._abort()  # an exception inside `with` leaves no object behind
            return
        self.close()

    def __del__(self) -> None:
        # Never complete an upload from the garbage collector: an unclosed file is an abandoned one.
        if not self.closed and self._writer is not None:
            self._abort()
