"""What `ossbox cp` and `ossbox sync` do: plan copies between a local tree and OSS (or OSS and OSS), then
run them in parallel with a progress bar. Big files go through oss2's resumable transfers (checkpoints
in `--checkpoint-dir`), and every transfer is checked against the object's CRC-64."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import click
import oss2

from ossbox.cli.oss_target import OssUrl
from ossbox.fs import OssFileSystem, paths
from ossbox.fs.errors import translate
from ossbox.fs.multipart import crc64, crc64_combine
from ossbox.fs.transfer import server_copy

Kind = Literal["upload", "download", "copy", "mkdir-remote", "mkdir-local"]


@dataclass(frozen=True)
class Entry:
    """One file of a tree, local or remote: its path relative to the tree's root and what sync compares."""

    rel: str
    size: int
    mtime: float
    etag: str = ""
    is_dir: bool = False


@dataclass(frozen=True)
class Job:
    kind: Kind
    src: str  # a local path, or bucket/key
    dst: str
    size: int = 0
    mtime: float | None = None  # remote LastModified, given to a downloaded file


@dataclass
class Outcome:
    done: int = 0
    bytes: int = 0
    failed: list[tuple[Job, str]] = field(default_factory=list)
    elapsed: float = 0.0


@dataclass(frozen=True)
class Settings:
    jobs: int = 10
    parallel: int = 5
    part_size: int = 16 << 20
    bigfile_threshold: int = 100 << 20
    checkpoint_dir: str = ".ossutil_checkpoint"
    progress: bool = False


# ---------------------------------------------------------------------------------------------- trees
def local_tree(root: str) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        if rel_dir and not dirnames and not filenames:
            out[rel_dir + "/"] = Entry(rel_dir + "/", 0, 0.0, is_dir=True)
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.stat(full)
            rel = f"{rel_dir}/{name}" if rel_dir else name
            out[rel] = Entry(rel, st.st_size, st.st_mtime)
    return out


def remote_prefix(url: OssUrl) -> str:
    """A tree's prefix: the key as a directory (`dir/`), or the bucket root."""
    return paths.dir_marker(url.key) if url.key else ""


def remote_tree(fs: OssFileSystem, url: OssUrl) -> dict[str, Entry]:
    prefix = remote_prefix(url)
    out: dict[str, Entry] = {}
    for obj in fs._walk_keys(url.bucket, prefix):
        rel = obj.key[len(prefix) :]
        if not rel:
            continue
        if rel.endswith(paths.FOLDER_SUFFIX):
            rel = rel[: -len(paths.FOLDER_SUFFIX)] + "/"
        if rel.endswith("/"):
            out[rel] = Entry(rel, 0, float(obj.last_modified), is_dir=True)
        else:
            out[rel] = Entry(rel, int(obj.size), float(obj.last_modified), obj.etag.strip('"'))
    return out


def safe_local_path(root: str, rel: str) -> str:
    """`root/rel`, refusing keys that would land outside `root` (`../x`, `/etc/x`)."""
    parts = [p for p in rel.split("/") if p]
    if any(p in ("..", ".") for p in parts) or rel.startswith("/") or "\\" in rel or "\0" in rel:
        raise ValueError(f"refusing to download {rel!r}: it would be written outside {root}")
    return os.path.join(root, *parts) if parts else root


# ---------------------------------------------------------------------------------------------- plans
def plan_tree(src: str | OssUrl, dst: str | OssUrl, src_entries: dict[str, Entry]) -> list[Job]:
    return [job_for(src, dst, src_entries[rel]) for rel in sorted(src_entries)]


def job_for(src: str | OssUrl, dst: str | OssUrl, e: Entry) -> Job:
    if isinstance(src, str) and isinstance(dst, OssUrl):
        key = remote_prefix(dst) + e.rel
        if e.is_dir:
            return Job("mkdir-remote", "", paths.join(dst.bucket, key))
        return Job("upload", os.path.join(src, *e.rel.split("/")), paths.join(dst.bucket, key), e.size)
    if isinstance(src, OssUrl) and isinstance(dst, str):
        local = safe_local_path(dst, e.rel)
        if e.is_dir:
            return Job("mkdir-local", "", local)
        return Job("download", paths.join(src.bucket, remote_prefix(src) + e.rel), local, e.size, e.mtime)
    if isinstance(src, OssUrl) and isinstance(dst, OssUrl):
        key = remote_prefix(dst) + e.rel
        if e.is_dir:
            return Job("mkdir-remote", "", paths.join(dst.bucket, key))
        return Job(
            "copy", paths.join(src.bucket, remote_prefix(src) + e.rel), paths.join(dst.bucket, key), e.size
        )
    raise click.UsageError("one side must be an oss:// URL (for local to local, use your shell's cp)")


def needs_sync(src: Entry, dst: Entry | None, direction: str) -> bool:
    """By size, then ETag (OSS to OSS) or modification time (local against OSS)."""
    if dst is None:
        return True
    if src.is_dir or dst.is_dir:
        return src.is_dir != dst.is_dir
    if src.size != dst.size:
        return True
    if direction == "copy":
        return not (src.etag and src.etag == dst.etag) and dst.mtime < src.mtime
    if direction == "upload":
        return int(src.mtime) > int(dst.mtime)  # the local file changed after the object was written
    return int(src.mtime) != int(dst.mtime)  # downloads carry the object's time onto the local file


# ---------------------------------------------------------------------------------------------- progress
class Progress:
    """A click progress bar over bytes, updated from worker threads; silent when stderr is no terminal."""

    def __init__(self, total_bytes: int, total_files: int, label: str, enabled: bool) -> None:
        self.files_total = total_files
        self.files_done = 0
        self._lock = threading.Lock()
        self._bar: Any = None
        if enabled:
            self._bar = click.progressbar(
                length=max(total_bytes, 1),
                label=label,
                file=sys.stderr,
                show_pos=False,
                show_percent=True,
                show_eta=True,
                item_show_func=lambda _: f"{self.files_done}/{self.files_total} files",
                width=30,
            )
            self._bar.__enter__()
            self._bar.render_progress()

    def add(self, n: int) -> None:
        if self._bar is not None and n:
            with self._lock:
                self._bar.update(n)

    def file_done(self) -> None:
        with self._lock:
            self.files_done += 1
            if self._bar is not None:
                self._bar.update(0, current_item=self.files_done)
                self._bar.render_progress()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


# ---------------------------------------------------------------------------------------------- running
class Copier:
    def __init__(self, fs: OssFileSystem, settings: Settings) -> None:
        self.fs = fs
        self.s = settings

    def run(self, jobs: list[Job], label: str = "copying") -> Outcome:
        out = Outcome()
        started = time.monotonic()
        progress = Progress(sum(j.size for j in jobs), len(jobs), label, self.s.progress)
        try:
            with cf.ThreadPoolExecutor(self.s.jobs, thread_name_prefix="ossbox-cp") as pool:
                futures = {pool.submit(self._one, j, progress): j for j in jobs}
                for fut in cf.as_completed(futures):
                    job = futures[fut]
                    try:
                        fut.result()
                        out.done += 1
                        out.bytes += job.size
                    except Exception as e:
                        out.failed.append((job, error_text(e)))
                    progress.file_done()
        finally:
            progress.close()
        out.elapsed = time.monotonic() - started
        return out

    def _one(self, job: Job, progress: Progress) -> None:
        if job.kind == "upload":
            self._upload(job, progress)
        elif job.kind == "download":
            self._download(job, progress)
        elif job.kind == "copy":
            sb, sk = paths.split(job.src)
            db, dk = paths.split(job.dst)
            server_copy(self.fs, sb, sk, db, dk, job.size)
            progress.add(job.size)
        elif job.kind == "mkdir-remote":
            b, k = paths.split(job.dst)
            with _oss(job.dst):
                self.fs.bucket(b).put_object(paths.dir_marker(k), b"")
        elif job.kind == "mkdir-local":
            os.makedirs(job.dst, exist_ok=True)

    def _upload(self, job: Job, progress: Progress) -> None:
        bucket, key = paths.split(job.dst)
        b = self.fs.bucket(bucket)
        size = os.path.getsize(job.src)
        if size < self.s.bigfile_threshold:
            with open(job.src, "rb") as f:
                data = f.read()
            with _oss(job.dst):
                r = b.put_object(key, data)
            if r.crc is not None and r.crc != crc64(data):
                raise OSError(f"CRC-64 mismatch uploading {job.src}")
            progress.add(len(data))
            return
        seen = [0]

        def cb(consumed: int, total: int | None) -> None:
            progress.add(consumed - seen[0])
            seen[0] = consumed

        with _oss(job.dst):
            oss2.resumable_upload(
                b,
                key,
                job.src,
                store=oss2.ResumableStore(root=os.path.abspath(self.s.checkpoint_dir), dir="upload"),
                multipart_threshold=self.s.bigfile_threshold,
                part_size=self.s.part_size,
                num_threads=self.s.parallel,
                progress_callback=cb,
            )
            server = b.head_object(key).server_crc
        if server is not None and server != file_crc64(job.src):
            raise OSError(f"CRC-64 mismatch after uploading {job.src}")

    def _download(self, job: Job, progress: Progress) -> None:
        bucket, key = paths.split(job.src)
        b = self.fs.bucket(bucket)
        parent = os.path.dirname(job.dst)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if job.size < self.s.bigfile_threshold:
            tmp = f"{job.dst}.ossbox-{threading.get_ident()}.part"
            try:
                with _oss(job.src):
                    r = b.get_object(key)
                    data = r.read()
                if r.server_crc is not None and r.server_crc != crc64(data):
                    raise OSError(f"CRC-64 mismatch downloading {job.src}")
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, job.dst)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            progress.add(len(data))
        else:
            seen = [0]

            def cb(consumed: int, total: int | None) -> None:
                progress.add(consumed - seen[0])
                seen[0] = consumed

            with _oss(job.src):
                oss2.resumable_download(
                    b,
                    key,
                    job.dst,
                    multiget_threshold=self.s.bigfile_threshold,
                    part_size=self.s.part_size,
                    num_threads=self.s.parallel,
                    progress_callback=cb,
                    store=oss2.ResumableDownloadStore(
                        root=os.path.abspath(self.s.checkpoint_dir), dir="download"
                    ),
                )
                server = b.head_object(key).server_crc
            if server is not None and server != file_crc64(job.dst):
                os.unlink(job.dst)
                raise OSError(f"CRC-64 mismatch after downloading {job.src}")
        if job.mtime is not None:
            os.utime(job.dst, (job.mtime, job.mtime))


def file_crc64(path: str) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            crc = crc64_combine(crc, crc64(chunk), len(chunk))
    return crc


@contextlib.contextmanager
def _oss(where: str) -> Iterator[None]:
    try:
        yield
    except oss2.exceptions.OssError as e:
        raise translate(e, where) from e


def error_text(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}: {e.filename}" if e.filename else e.strerror
    return str(e) or type(e).__name__


def delete_remote(fs: OssFileSystem, bucket: str, keys: list[str]) -> None:
    fs._delete_keys(bucket, keys)


def each(items: list[Any], fn: Callable[[Any], None], jobs: int) -> list[tuple[Any, str]]:
    """Run fn over items in parallel; the failures, with their messages."""
    failed: list[tuple[Any, str]] = []
    with cf.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(fn, i): i for i in items}
        for fut in cf.as_completed(futures):
            try:
                fut.result()
            except Exception as e:
                failed.append((futures[fut], error_text(e)))
    return failed
