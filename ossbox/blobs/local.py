"""Blob files on local disk.

A blob is written under `tmp/` and moved into `blobs/<dir>/` only when the committer makes it durable:
fdatasync of the file (done by the writer, in parallel across requests), rename into the current
directory, then one fsync of that directory for the whole batch. New blobs all land in one directory
(rotated every `_FILES_PER_DIR` blobs), so a batch of many small writes costs a single directory fsync.

Blob ids are random hex prefixed by the directory number; nothing derived from an object key ever
reaches a path.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ossbox.blobs.store import BlobConfigError

log = logging.getLogger("ossbox.blobs")

_FILES_PER_DIR = 4096
_READ_CHUNK = 1 << 20
_WRITEBACK_STEP = 8 << 20
_WRITEV_MAX = 512  # iovecs per writev (the kernel takes at most 1024)
# Space kept free for the metadata store: 2% of the filesystem, at least 16 MiB (inline bodies pass
# through SQLite's WAL, up to ~4 MiB, before being copied into the database), at most 256 MiB.
_RESERVE_MIN = 16 << 20
_RESERVE_MAX = 256 << 20
_OWNER_FILE = "ossbox-owner"


class BlobWriter:
    """An open temporary blob. Not thread-safe: one writer per request."""

    __slots__ = ("_fd", "_flushed", "blob_id", "path", "size")

    def __init__(self, blob_id: str, path: Path) -> None:
        self.blob_id = blob_id
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self.size = 0
        self._flushed = 0  # bytes handed to writeback so far

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.write_chunks([data])

    def write_chunks(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
        """Append `chunks` in order (one writev for all of them, unless the kernel takes less)."""
        for i in range(0, len(chunks), _WRITEV_MAX):
            group = chunks[i : i + _WRITEV_MAX]
            want = sum(len(c) for c in group)
            done = os.writev(self._fd, group)
            if done < want:
                rest = memoryview(b"".join(group))[done:]
                while rest:
                    rest = rest[os.write(self._fd, rest) :]
            self.size += want
        if self.size - self._flushed >= _WRITEBACK_STEP:
            # Start writing the new pages to disk now, without waiting: the fdatasync at the end of a large
            # body then has only the last few MiB left to flush instead of the whole object.
            _start_writeback(self._fd, self._flushed, self.size - self._flushed)
            self._flushed = self.size

    def sync(self) -> None:
        """Flush the data to stable storage and close the file (callable from any thread)."""
        try:
            os.fdatasync(self._fd)
        finally:
            self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def discard(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class LocalBlobStore:
    """Blobs under `root` (the data directory, or a directory every node mounts: NFS, CephFS, JuiceFS)."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.blob_dir = root / "blobs"
        self._blob_dir_str = str(self.blob_dir)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._dir_no, self._dir_count = self._current_dir()
        total = _disk_bytes(root)[0]
        self.reserve_bytes = min(_RESERVE_MAX, max(_RESERVE_MIN, total // 50))

    def has_room_for(self, nbytes: int) -> bool:
        """Whether `nbytes` more still leave the reserve free.

        New data is refused while less than `reserve_bytes` would remain, so that the metadata database
        can always grow its log a little: deletes, which are how a user makes room, keep working on a
        full disk.
        """
        return _disk_bytes(self.root)[1] - nbytes >= self.reserve_bytes

    def _current_dir(self) -> tuple[int, int]:
        numbers = [int(p.name, 16) for p in self.blob_dir.iterdir() if p.is_dir() and len(p.name) == 8]
        if not numbers:
            return 0, 0
        last = max(numbers)
        return last, sum(1 for _ in (self.blob_dir / f"{last:08x}").iterdir())

    def _next_blob_id(self) -> str:
        with self._lock:
            if self._dir_count >= _FILES_PER_DIR:
                self._dir_no += 1
                self._dir_count = 0
            self._dir_count += 1
            return f"{self._dir_no:08x}{secrets.token_hex(10)}"

    def path(self, blob_id: str) -> Path:
        return self.blob_dir / blob_id[:8] / blob_id

    def create(self, size: int | None = None) -> BlobWriter:
        blob_id = self._next_blob_id()
        return BlobWriter(blob_id, self.tmp_dir / blob_id)

    def publish(self, blob_ids: Iterable[str]) -> None:
        """Move synced temporary blobs into place and make their directory entries durable."""
        dirs: set[Path] = set()
        for blob_id in blob_ids:
            target = self.path(blob_id)
            if target.parent not in dirs:
                target.parent.mkdir(exist_ok=True)
                dirs.add(target.parent)
            os.rename(self.tmp_dir / blob_id, target)
        for d in dirs:
            _fsync_dir(d)
        if dirs:
            _fsync_dir(self.blob_dir)

    def delete(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            for candidate in (self.path(blob_id), self.tmp_dir / blob_id):
                try:
                    os.unlink(candidate)
                    break
                except FileNotFoundError:
                    continue

    def read_range(self, blob_id: str, offset: int, length: int) -> bytes:
        # A string path: pathlib costs more than the read itself for small blobs.
        fd = os.open(f"{self._blob_dir_str}/{blob_id[:8]}/{blob_id}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            return _pread_exact(fd, offset, length)
        finally:
            os.close(fd)

    def iter_range(self, blob_id: str, offset: int, length: int, chunk: int = _READ_CHUNK) -> Iterator[bytes]:
        fd = os.open(self.path(blob_id), os.O_RDONLY | os.O_CLOEXEC)
        try:
            end = offset + length
            while offset < end:
                n = min(chunk, end - offset)
                data = _pread_exact(fd, offset, n)
                offset += n
                yield data
        finally:
            os.close(fd)

    def claim(self, owner: str) -> None:
        marker = self.blob_dir / _OWNER_FILE
        try:
            current = marker.read_text().strip()
        except FileNotFoundError:
            current = ""
        if current and current != owner:
            raise BlobConfigError(
                f"the blob directory {self.blob_dir} holds the blobs of another ossbox metadata store "
                f"(owner {current}, this one is {owner}); give each its own directory"
            )
        if not current:
            tmp = self.tmp_dir / f"{_OWNER_FILE}-{secrets.token_hex(8)}"  # nodes may start together
            tmp.write_text(owner)
            os.replace(tmp, marker)
            _fsync_dir(self.blob_dir)

    def close(self) -> None:
        """Nothing to release: every read and write opens and closes its own file."""

    def sweep(self, referenced: set[str], min_age_s: float = 0) -> tuple[int, int]:
        """Delete temporary files and blobs no metadata refers to. With `min_age_s` 0, run only before
        serving; when other nodes share the directory, `min_age_s` spares what they are writing now (a file
        being written, or published a moment before its commit, was modified less than that long ago)."""
        cutoff = time.time() - min_age_s

        def old_enough(entry: os.DirEntry[str]) -> bool:
            if min_age_s <= 0:
                return True
            try:
                return entry.stat().st_mtime < cutoff
            except FileNotFoundError:
                return False

        tmp_removed = 0
        for entry in os.scandir(self.tmp_dir):
            if old_enough(entry):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                tmp_removed += 1
        orphans = 0
        seen: set[str] = set()
        for d in os.scandir(self.blob_dir):
            if not d.is_dir():
                continue
            for entry in os.scandir(d.path):
                if entry.name in referenced:
                    seen.add(entry.name)
                elif old_enough(entry):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                    orphans += 1
        # (With other nodes at work, a blob may be freed between reading `referenced` and listing files.)
        missing = sorted(referenced - seen) if min_age_s <= 0 else []
        for b in missing[:20]:
            log.error("blob %s is referenced by metadata but missing on disk", b)
        return tmp_removed, orphans


def _pread_exact(fd: int, offset: int, length: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) == length:
        return data
    parts = [data]
    got = len(data)
    while got < length:
        more = os.pread(fd, length - got, offset + got)
        if not more:
            raise OSError(f"blob shorter than its metadata says (wanted {length} bytes at {offset})")
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _load_sync_file_range() -> Callable[[int, int, int], None]:
    """Linux's sync_file_range(SYNC_FILE_RANGE_WRITE) through libc; elsewhere a no-op."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.sync_file_range
    except (OSError, AttributeError):
        return lambda fd, offset, length: None
    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func.restype = ctypes.c_int
    sync_file_range_write = 2

    def start(fd: int, offset: int, length: int) -> None:
        func(fd, offset, length, sync_file_range_write)  # advisory: a failure only means a longer fsync

    return start


_start_writeback = _load_sync_file_range()


def _disk_bytes(path: Path) -> tuple[int, int]:
    """(size, bytes available to us) of the filesystem holding `path`."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
