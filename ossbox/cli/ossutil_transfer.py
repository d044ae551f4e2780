"""`ossbox cp`, `mv` and `sync`: ossutil's copy commands on ossbox.cli.copying."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ossbox.cli.oss_target import OssUrl, is_oss
from ossbox.cli.ossutil_common import (
    Session,
    command,
    connection_flags,
    oss_url,
    report,
    transfer_flags,
    transfer_settings,
)


@click.command("cp")
@click.argument("src")
@click.argument("dst")
@click.option("-r", "--recursive", is_flag=True, help="Copy a directory tree (its contents go under DST).")
@click.option("-u", "--update", is_flag=True, help="Copy only what is missing or newer at the destination.")
@transfer_flags
@connection_flags
@command
def cp_cmd(s: Session, src: str, dst: str, recursive: bool, update: bool, **kw: Any) -> None:
    """Copy files: local to OSS, OSS to local, or OSS to OSS (server-side)."""
    _copy(s, src, dst, recursive, update, kw, move=False)


@click.command("mv")
@click.argument("src")
@click.argument("dst")
@click.option("-r", "--recursive", is_flag=True, help="Move a directory tree.")
@transfer_flags
@connection_flags
@command
def mv_cmd(s: Session, src: str, dst: str, recursive: bool, **kw: Any) -> None:
    """Move: copy, then delete each source that was copied."""
    _copy(s, src, dst, recursive, False, kw, move=True)


def _copy(
    s: Session, src: str, dst: str, recursive: bool, update: bool, kw: dict[str, Any], move: bool
) -> None:
    from ossbox.cli import copying

    settings = transfer_settings(s, kw)
    src_t: str | OssUrl = oss_url(src) if is_oss(src) else src
    dst_t: str | OssUrl = oss_url(dst) if is_oss(dst) else dst
    if isinstance(src_t, str) and isinstance(dst_t, str):
        raise click.UsageError("one side must be an oss:// URL (for local to local, use your shell's cp)")
    if recursive:
        entries = copying.remote_tree(s.fs, src_t) if isinstance(src_t, OssUrl) else _local_dir_tree(src_t)
        if isinstance(src_t, OssUrl) and not entries and not s.fs._bucket_exists(src_t.bucket):
            raise FileNotFoundError(2, "NoSuchBucket: the bucket does not exist", f"oss://{src_t.bucket}")
        if update:
            dest = (
                copying.remote_tree(s.fs, dst_t)
                if isinstance(dst_t, OssUrl)
                else _local_dir_tree(dst_t, True)
            )
            direction = (
                "copy"
                if isinstance(src_t, OssUrl) and isinstance(dst_t, OssUrl)
                else ("upload" if isinstance(dst_t, OssUrl) else "download")
            )
            entries = {r: e for r, e in entries.items() if copying.needs_sync(e, dest.get(r), direction)}
        jobs = copying.plan_tree(src_t, dst_t, entries)
    else:
        jobs = [_single_job(s, src_t, dst_t)]
        if update and not _single_needs_copy(s, jobs[0]):
            jobs = []
    outcome = copying.Copier(s.fs, settings).run(jobs, "moving" if move else "copying")
    if move:
        _delete_sources(s, [j for j in jobs if (j, "") not in outcome.failed], outcome)
    report(s, outcome, "Move" if move else "Total")


def _local_dir_tree(path: str, missing_ok: bool = False) -> dict[str, Any]:
    from ossbox.cli import copying

    if not os.path.isdir(path):
        if missing_ok and not os.path.exists(path):
            return {}
        raise FileNotFoundError(2, "no such local directory", path)
    return copying.local_tree(path)


def _single_job(s: Session, src: str | OssUrl, dst: str | OssUrl) -> Any:
    from ossbox.cli.copying import Job
    from ossbox.fs import paths

    if isinstance(src, str):
        if os.path.isdir(src):
            raise click.UsageError(f"{src} is a directory: add -r to copy a tree")
        if not os.path.isfile(src):
            raise FileNotFoundError(2, "no such local file", src)
        assert isinstance(dst, OssUrl)
        key = dst.key + os.path.basename(src) if (not dst.key or dst.key.endswith("/")) else dst.key
        return Job("upload", src, paths.join(dst.bucket, key), os.path.getsize(src))
    info = s.fs.info(src.path)
    if info["type"] != "file":
        raise click.UsageError(f"{src} is a directory: add -r to copy a tree")
    if isinstance(dst, str):
        local = (
            os.path.join(dst, src.key.rsplit("/", 1)[-1])
            if (os.path.isdir(dst) or dst.endswith(os.sep))
            else dst
        )
        return Job("download", src.path, local, info["size"], info["LastModified"])
    key = dst.key + src.key.rsplit("/", 1)[-1] if (not dst.key or dst.key.endswith("/")) else dst.key
    return Job("copy", src.path, paths.join(dst.bucket, key), info["size"])


def _single_needs_copy(s: Session, job: Any) -> bool:
    """-u for one file: copy only when the destination is missing, of another size, or older."""
    from ossbox.cli.copying import Entry, needs_sync

    def entry(where: str, remote: bool) -> Any:
        if remote:
            info = s.fs._info_or_none(where)
            if info is None or info["type"] != "file":
                return None
            return Entry("", info["size"], info["LastModified"], info.get("ETag", ""))
        if not os.path.isfile(where):
            return None
        st = os.stat(where)
        return Entry("", st.st_size, st.st_mtime)

    src = entry(job.src, job.kind != "upload")
    dst = entry(job.dst, job.kind != "download")
    return src is None or needs_sync(src, dst, job.kind)


def _delete_sources(s: Session, jobs: list[Any], outcome: Any) -> None:
    from ossbox.fs import paths

    failed_srcs = {j.src for j, _ in outcome.failed}
    remote: dict[str, list[str]] = {}
    for j in jobs:
        if j.src in failed_srcs or not j.src:
            continue
        if j.kind == "upload":
            os.unlink(j.src)
        else:
            b, k = paths.split(j.src)
            remote.setdefault(b, []).append(k)
    for b, keys in remote.items():
        s.fs._delete_keys(b, keys)


@click.command("sync")
@click.argument("src")
@click.argument("dst")
@click.option("--delete", is_flag=True, help="Delete what the destination has and the source does not.")
@click.option("-f", "--force", is_flag=True, help="Do not ask before --delete removes files.")
@transfer_flags
@connection_flags
@command
def sync_cmd(s: Session, src: str, dst: str, delete: bool, force: bool, **kw: Any) -> None:
    """Make DST hold what SRC holds: copy what is missing or differs (size, then ETag or mtime)."""
    from ossbox.cli import copying

    settings = transfer_settings(s, kw)
    src_t: str | OssUrl = oss_url(src) if is_oss(src) else src
    dst_t: str | OssUrl = oss_url(dst) if is_oss(dst) else dst
    if isinstance(src_t, str) and isinstance(dst_t, str):
        raise click.UsageError("one side must be an oss:// URL")
    source = copying.remote_tree(s.fs, src_t) if isinstance(src_t, OssUrl) else _local_dir_tree(src_t)
    if isinstance(src_t, OssUrl) and not source and not s.fs._bucket_exists(src_t.bucket):
        raise FileNotFoundError(2, "NoSuchBucket: the bucket does not exist", f"oss://{src_t.bucket}")
    if isinstance(dst_t, OssUrl):
        if not s.fs._bucket_exists(dst_t.bucket):
            raise FileNotFoundError(2, "NoSuchBucket: the bucket does not exist", f"oss://{dst_t.bucket}")
        dest = copying.remote_tree(s.fs, dst_t)
    else:
        dest = _local_dir_tree(dst_t, missing_ok=True)
    direction = (
        "copy"
        if isinstance(src_t, OssUrl) and isinstance(dst_t, OssUrl)
        else "upload"
        if isinstance(dst_t, OssUrl)
        else "download"
    )
    todo = {r: e for r, e in source.items() if copying.needs_sync(e, dest.get(r), direction)}
    outcome = copying.Copier(s.fs, settings).run(copying.plan_tree(src_t, dst_t, todo), "syncing")
    removed = 0
    extra = [
        r for r in dest if r not in source and not any(k.startswith(r) for k in source if r.endswith("/"))
    ]
    if delete and extra:
        if not force and sys.stdin.isatty():
            click.confirm(f"sync --delete will remove {len(extra)} files from {dst}; go on?", abort=True)
        if isinstance(dst_t, OssUrl):
            prefix = copying.remote_prefix(dst_t)
            s.fs._delete_keys(dst_t.bucket, [prefix + r for r in extra])
        else:
            for r in sorted(extra, reverse=True):
                p = copying.safe_local_path(dst_t, r)
                if not os.path.isdir(p):
                    os.unlink(p)
                elif not os.listdir(p):
                    os.rmdir(p)
        removed = len(extra)
    report(s, outcome, "Sync", {"skipped": len(source) - len(todo), "deleted": removed})
