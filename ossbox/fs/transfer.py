"""Bulk data movement: server-side copies (UploadPartCopy above the single-copy limit) and parallel
ranged downloads checked against the object's CRC-64."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import os
import threading
from typing import TYPE_CHECKING, Any

import oss2
from fsspec.callbacks import Callback

from ossbox.fs import paths
from ossbox.fs.errors import translate
from ossbox.fs.multipart import crc64, crc64_combine

if TYPE_CHECKING:
    from ossbox.fs.filesystem import OssFileSystem


def server_copy(
    fs: OssFileSystem, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, size: int
) -> None:
    """Copy an object inside OSS: CopyObject, or parallel UploadPartCopy above `copy_threshold`."""
    where = paths.join(src_bucket, src_key)
    dst = fs.bucket(dst_bucket)
    if size <= fs.config.copy_threshold:
        try:
            dst.copy_object(src_bucket, src_key, dst_key)
        except oss2.exceptions.OssError as e:
            raise translate(e, where) from e
        return
    part = fs.config.partition_size
    try:
        upload_id = dst.init_multipart_upload(dst_key).upload_id
    except oss2.exceptions.OssError as e:
        raise translate(e, paths.join(dst_bucket, dst_key)) from e

    def copy_part(number: int, start: int) -> oss2.models.PartInfo:
        end = min(start + part, size) - 1
        r = dst.upload_part_copy(src_bucket, src_key, (start, end), dst_key, upload_id, number)
        return oss2.models.PartInfo(number, r.etag)

    try:
        with cf.ThreadPoolExecutor(fs.config.threads, thread_name_prefix="ossbox-copy") as pool:
            futures = [pool.submit(copy_part, i + 1, off) for i, off in enumerate(range(0, size, part))]
            infos = [f.result() for f in futures]
        dst.complete_multipart_upload(dst_key, upload_id, infos)
    except BaseException as e:
        with contextlib.suppress(oss2.exceptions.OssError):
            dst.abort_multipart_upload(dst_key, upload_id)
        if isinstance(e, oss2.exceptions.OssError):
            raise translate(e, where) from e
        raise


_local = threading.local()
READ_CHUNK = 1 << 20


def _range_buffer(size: int) -> memoryview:
    """A per-thread receive buffer, reused: no fresh allocation (and its page faults) per range."""
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None or len(buf) < size:
        buf = _local.buf = bytearray(size)
    return memoryview(buf)[:size]


def _get_range_into(fs: OssFileSystem, bucket: str, key: str, start: int, end: int, etag: str) -> memoryview:
    """Bytes [start, end) read straight into this thread's buffer (readinto: no per-chunk bytes objects)."""
    headers = {"x-oss-range-behavior": "standard"}
    if etag:
        headers["If-Match"] = etag
    r = fs.bucket(bucket).get_object(key, byte_range=(start, end - 1), headers=headers)
    view = _range_buffer(end - start)
    raw = r.resp.response.raw  # urllib3's response
    got = 0
    while got < len(view):
        # At most 1 MiB a call: urllib3 allocates a temporary as large as what is asked for, and a fresh
        # 16 MiB allocation per call costs more in page faults than the copy it saves.
        n = raw.readinto(view[got : got + READ_CHUNK])
        if not n:
            break
        got += n
    r.resp.response.close()
    return view[:got]


def download_to_file(
    fs: OssFileSystem,
    bucket: str,
    key: str,
    info: dict[str, Any],
    lpath: str,
    callback: Callback,
    outfile: Any = None,
) -> None:
    """Ranges of `read_block_size` fetched by `read_threads` workers and written in place with pwrite.

    The file appears under its name only once complete and its CRC-64 matches the server's.
    """
    size = int(info["size"])
    etag = str(info.get("ETag", ""))
    expected = info.get("crc64")
    block = fs.config.read_block_size
    where = paths.join(bucket, key)
    callback.set_size(size)
    ranges = [(off, min(off + block, size)) for off in range(0, size, block)] or [(0, 0)]
    if outfile is not None:
        crc = 0
        for start, end in ranges:
            data = fetch_range(fs, bucket, key, start, end, etag, where)
            outfile.write(data)
            crc = crc64_combine(crc, crc64(data), len(data))
            callback.relative_update(len(data))
        _check(expected, crc, where)
        return
    tmp = f"{lpath}.ossbox-{os.getpid()}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        crcs: dict[int, tuple[int, int]] = {}

        def fetch_into(start: int, end: int) -> int:
            data = _fetch_view(fs, bucket, key, start, end, etag, where)
            if len(data) != end - start:
                raise OSError(errno.EIO, "short read from OSS", where)
            os.pwrite(fd, data, start)
            crcs[start] = (crc64(data), len(data))
            return len(data)

        if len(ranges) == 1:
            callback.relative_update(fetch_into(*ranges[0]))
        else:
            with cf.ThreadPoolExecutor(fs.config.read_threads, thread_name_prefix="ossbox-download") as pool:
                futures = [pool.submit(fetch_into, s, e) for s, e in ranges]
                try:
                    for f in cf.as_completed(futures):
                        callback.relative_update(f.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
        crc = 0
        for start in sorted(crcs):
            c, n = crcs[start]
            crc = crc64_combine(crc, c, n)
        _check(expected, crc, where)
        os.close(fd)
        fd = -1
        os.replace(tmp, lpath)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fetch_view(
    fs: OssFileSystem, bucket: str, key: str, start: int, end: int, etag: str, where: str
) -> memoryview:
    if start >= end:
        return memoryview(b"")
    try:
        return _get_range_into(fs, bucket, key, start, end, etag)
    except oss2.exceptions.OssError as e:
        raise translate(e, where) from e


def fetch_range(
    fs: OssFileSystem, bucket: str, key: str, start: int, end: int, etag: str, where: str
) -> bytes:
    return bytes(_fetch_view(fs, bucket, key, start, end, etag, where))


def _check(expected: Any, crc: int, where: str) -> None:
    if expected is not None and int(expected) != crc:
        raise OSError(errno.EIO, "CRC-64 mismatch: the download was damaged", where)
