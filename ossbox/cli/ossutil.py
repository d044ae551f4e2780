"""ossutil's everyday commands on any OSS endpoint: ls, cp, mv, rm, mb, rb, cat, stat, du, sync, presign,
cleanup. Built on ossbox.fs (and through it the oss2 SDK); never on the server's code.

Exit codes: 0 success, 1 an operation failed (for batches: at least one file), 2 bad usage,
3 not found (bucket, object or local file), 4 access denied or bad keys, 5 configuration or connection.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ossbox.cli.oss_target import OssUrl, connection_options, is_oss, parse_oss
from ossbox.fs.config import ConfigError, parse_duration, parse_size

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_DENIED, EXIT_CONFIG = 1, 2, 3, 4, 5


class CommandError(Exception):
    """A failure with its exit code; the message is for people and names no secret."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _connection_options(f: F) -> F:
    options = [
        click.option("-e", "--endpoint", help="OSS endpoint, e.g. http://127.0.0.1:9000 [env OSS_ENDPOINT]."),
        click.option("-i", "--access-key-id", help="AccessKeyId [env OSS_ACCESS_KEY_ID]."),
        click.option("-k", "--access-key-secret", help="AccessKeySecret [env OSS_ACCESS_KEY_SECRET]."),
        click.option(
            "-c",
            "--config-file",
            help="ossutil config file ([Credentials] endpoint, accessKeyID, accessKeySecret).",
        ),
        click.option("--region", help="Region; signs requests with V4 when given (V1 otherwise)."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


class Session:
    def __init__(self, kw: dict[str, Any]) -> None:
        self.as_json: bool = kw.pop("as_json", False)
        conn = connection_options(
            kw.pop("endpoint", None),
            kw.pop("access_key_id", None),
            kw.pop("access_key_secret", None),
            kw.pop("config_file", None),
            kw.pop("region", None),
        )
        if not conn.get("endpoint"):
            raise CommandError(
                "no endpoint: give -e/--endpoint, set OSS_ENDPOINT, or write ~/.ossutilconfig", EXIT_CONFIG
            )
        from ossbox.fs import OssFileSystem

        self.fs = OssFileSystem(skip_instance_cache=True, **conn)

    def emit(self, data: Any, text: str | None = None) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=None, default=str))
        elif text is not None:
            click.echo(text)


def _command(f: F) -> F:
    """Build the session from the connection flags and turn failures into messages and exit codes."""

    @functools.wraps(f)
    def wrapper(**kw: Any) -> Any:
        as_json = kw.get("as_json", False)
        try:
            session = Session(kw)
            return f(session, **kw)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:  # one mapping from failures to exit codes
            code, message = (e.code, str(e)) if isinstance(e, CommandError) else _classify(e)
            if as_json:
                click.echo(json.dumps({"error": message, "exit_code": code}))
            click.echo(f"ossbox: error: {message}", err=True)
            raise click.exceptions.Exit(code) from e

    return wrapper  # type: ignore[return-value]


def _classify(e: BaseException) -> tuple[int, str]:
    from ossbox.cli.copying import error_text

    text = error_text(e)
    if isinstance(e, ConfigError):
        return EXIT_CONFIG, str(e)
    if isinstance(e, FileNotFoundError):
        return EXIT_NOT_FOUND, text
    if isinstance(e, PermissionError):
        return EXIT_DENIED, text + " (check the AccessKeyId/AccessKeySecret and the bucket's ACL)"
    if isinstance(e, ConnectionError):
        return EXIT_CONFIG, text
    return EXIT_FAILED, text


def _url(arg: str) -> OssUrl:
    try:
        return parse_oss(arg)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(ts))


def _transfer_options(f: F) -> F:
    options = [
        click.option("-j", "--jobs", default=10, show_default=True, help="Files transferred at once."),
        click.option("--parallel", default=5, show_default=True, help="Parts of one big file at once."),
        click.option("--part-size", default="16MB", show_default=True, help="Part size for big files."),
        click.option(
            "--bigfile-threshold", default="100MB", show_default=True, help="From this size on: resumable."
        ),
        click.option(
            "--checkpoint-dir",
            default=".ossutil_checkpoint",
            show_default=True,
            help="Where resumable transfers keep their checkpoints.",
        ),
        click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def _settings(s: Session, kw: dict[str, Any]) -> Any:
    from ossbox.cli.copying import Settings

    progress = kw.pop("progress")
    return Settings(
        jobs=max(1, kw.pop("jobs")),
        parallel=max(1, kw.pop("parallel")),
        part_size=parse_size(kw.pop("part_size"), "--part-size"),
        bigfile_threshold=parse_size(kw.pop("bigfile_threshold"), "--bigfile-threshold"),
        checkpoint_dir=kw.pop("checkpoint_dir"),
        progress=(sys.stderr.isatty() if progress is None else progress) and not s.as_json,
    )


def _report(s: Session, outcome: Any, verb: str, extra: dict[str, Any] | None = None) -> None:
    extra = extra or {}
    failed = [{"src": j.src or j.dst, "error": msg} for j, msg in outcome.failed]
    data = {
        "ok": outcome.done,
        "failed": len(failed),
        "bytes": outcome.bytes,
        "seconds": round(outcome.elapsed, 3),
    }
    data.update(extra)
    if s.as_json:
        click.echo(json.dumps({**data, "errors": failed}))
    else:
        for f in failed:
            click.echo(f"ossbox: error: {f['src']}: {f['error']}", err=True)
        more = "".join(f", {k}: {v}" for k, v in extra.items())
        click.echo(
            f"Succeed: {verb} num: {outcome.done}, size: {outcome.bytes:,}. Failed num: {len(failed)}{more}\n"
            f"{outcome.elapsed:.3f}(s) elapsed"
        )
    if failed:
        raise click.exceptions.Exit(EXIT_FAILED)


# ================================================================================================ commands
@click.command("ls")
@click.argument("url", required=False)
@click.option("-d", "--directory", is_flag=True, help="One level only: objects and directories.")
@click.option("--limited-num", type=int, default=None, help="Show at most this many entries.")
@_connection_options
@_command
def ls_cmd(s: Session, url: str | None, directory: bool, limited_num: int | None, **_: Any) -> None:
    """List buckets, or the objects under oss://BUCKET[/PREFIX]."""
    from ossbox.fs import paths

    if not url:
        buckets = s.fs._ls_buckets()[:limited_num]
        s.emit(
            [{"name": b["name"], "created": b["CreationDate"]} for b in buckets],
            "\n".join(
                [f"{_when(b['CreationDate'])}    oss://{b['name']}" for b in buckets]
                + [f"Bucket Number is: {len(buckets)}"]
            ),
        )
        return
    u = _url(url)
    rows: list[dict[str, Any]] = []
    prefixes: list[str] = []
    for page in s.fs._pages(u.bucket, u.key, "/" if directory else ""):
        for o in page.object_list:
            rows.append(
                {
                    "key": o.key,
                    "size": o.size,
                    "etag": o.etag.strip('"'),
                    "last_modified": o.last_modified,
                    "storage_class": o.storage_class,
                }
            )
        prefixes.extend(page.prefix_list)
        if limited_num is not None and len(rows) + len(prefixes) >= limited_num:
            break
    if limited_num is not None:
        rows = rows[:limited_num]
        prefixes = prefixes[: max(0, limited_num - len(rows))]
    if not rows and not prefixes and not s.fs._bucket_exists(u.bucket):
        raise FileNotFoundError(2, "NoSuchBucket: the bucket does not exist", f"oss://{u.bucket}")
    header = f"{'LastModifiedTime':<29}  {'Size(B)':>12}  {'StorageClass':<12}  {'ETAG':<36}  ObjectName"
    lines = [header]
    for r in rows:
        lines.append(
            f"{_when(r['last_modified'])}  {r['size']:>12}  {r['storage_class']:<12}  {r['etag']:<36}  "
            f"oss://{paths.join(u.bucket, r['key'])}"
        )
    lines += [f"{'':>62}oss://{u.bucket}/{p}" for p in prefixes]
    lines.append(
        f"Object Number is: {len(rows)}" + (f"\nDirectory Number is: {len(prefixes)}" if directory else "")
    )
    s.emit({"objects": rows, "directories": prefixes}, "\n".join(lines))


@click.command("cp")
@click.argument("src")
@click.argument("dst")
@click.option("-r", "--recursive", is_flag=True, help="Copy a directory tree (its contents go under DST).")
@click.option("-u", "--update", is_flag=True, help="Copy only what is missing or newer at the destination.")
@_transfer_options
@_connection_options
@_command
def cp_cmd(s: Session, src: str, dst: str, recursive: bool, update: bool, **kw: Any) -> None:
    """Copy files: local to OSS, OSS to local, or OSS to OSS (server-side)."""
    _copy(s, src, dst, recursive, update, kw, move=False)


@click.command("mv")
@click.argument("src")
@click.argument("dst")
@click.option("-r", "--recursive", is_flag=True, help="Move a directory tree.")
@_transfer_options
@_connection_options
@_command
def mv_cmd(s: Session, src: str, dst: str, recursive: bool, **kw: Any) -> None:
    """Move: copy, then delete each source that was copied."""
    _copy(s, src, dst, recursive, False, kw, move=True)


def _copy(
    s: Session, src: str, dst: str, recursive: bool, update: bool, kw: dict[str, Any], move: bool
) -> None:
    from ossbox.cli import copying

    settings = _settings(s, kw)
    src_t: str | OssUrl = _url(src) if is_oss(src) else src
    dst_t: str | OssUrl = _url(dst) if is_oss(dst) else dst
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
    _report(s, outcome, "Move" if move else "Total")


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


@click.command("rm")
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="Delete every object under the prefix.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("-m", "--multipart", "uploads", is_flag=True, help="Also abort unfinished multipart uploads.")
@_connection_options
@_command
def rm_cmd(s: Session, url: str, recursive: bool, force: bool, uploads: bool, **_: Any) -> None:
    """Delete an object, or with -r everything under a prefix (in batches of 1000)."""
    import oss2

    from ossbox.cli.copying import remote_prefix

    u = _url(url)
    if not recursive:
        if not u.key:
            raise click.UsageError("give an object, or -r to delete everything under the prefix")
        s.fs.info(u.path)  # FileNotFoundError -> exit 3
        s.fs.bucket(u.bucket).delete_object(u.key)
        s.emit({"deleted": 1}, f"deleted {u}")
        return
    if not force:
        if not sys.stdin.isatty():
            raise click.UsageError("rm -r asks for confirmation; add -f to run without a terminal")
        click.confirm(f"Do you really mean to remove recursively objects of {u}?", abort=True)
    prefix = remote_prefix(u)
    keys = [o.key for o in s.fs._walk_keys(u.bucket, prefix)]
    if u.key:
        keys.append(u.key.rstrip("/") + "_$folder$")
    elif not keys and not s.fs._bucket_exists(u.bucket):
        raise FileNotFoundError(2, "NoSuchBucket: the bucket does not exist", f"oss://{u.bucket}")
    s.fs._delete_keys(u.bucket, keys)
    aborted = 0
    if uploads:
        b = s.fs.bucket(u.bucket)
        for up in oss2.MultipartUploadIterator(b, prefix=prefix):
            b.abort_multipart_upload(up.key, up.upload_id)
            aborted += 1
    deleted = len(keys) - (1 if u.key else 0)
    s.emit({"deleted": deleted, "aborted_uploads": aborted}, f"deleted {deleted} objects under {u}")


@click.command("mb")
@click.argument("url")
@click.option("--acl", type=click.Choice(["private", "public-read", "public-read-write"]), default=None)
@click.option(
    "--storage-class", type=click.Choice(["Standard", "IA", "Archive", "ColdArchive"]), default=None
)
@_connection_options
@_command
def mb_cmd(s: Session, url: str, acl: str | None, storage_class: str | None, **_: Any) -> None:
    """Make a bucket."""
    import oss2

    u = _url(url)
    config = oss2.models.BucketCreateConfig(storage_class) if storage_class else None
    s.fs.bucket(u.bucket).create_bucket(acl, config)
    s.emit({"created": u.bucket}, f"created oss://{u.bucket}")


@click.command("rb")
@click.argument("url")
@click.option("-f", "--force", is_flag=True, help="Delete every object and unfinished upload first.")
@_connection_options
@_command
def rb_cmd(s: Session, url: str, force: bool, **_: Any) -> None:
    """Remove a bucket (it must be empty, unless -f)."""
    import oss2

    u = _url(url)
    b = s.fs.bucket(u.bucket)
    if force:
        s.fs._delete_keys(u.bucket, [o.key for o in s.fs._walk_keys(u.bucket, "")])
        for up in oss2.MultipartUploadIterator(b):
            b.abort_multipart_upload(up.key, up.upload_id)
    try:
        b.delete_bucket()
    except oss2.exceptions.BucketNotEmpty:
        raise CommandError(f"oss://{u.bucket} is not empty: delete its objects first, or add -f") from None
    s.emit({"removed": u.bucket}, f"removed oss://{u.bucket}")


@click.command("cat")
@click.argument("url")
@_connection_options
@_command
def cat_cmd(s: Session, url: str, **_: Any) -> None:
    """Write an object to stdout."""
    u = _url(url)
    out = sys.stdout.buffer
    f: Any = s.fs.open(u.path, "rb")
    with f:
        while chunk := f.read(8 << 20):
            out.write(chunk)
    out.flush()


@click.command("stat")
@click.argument("url")
@_connection_options
@_command
def stat_cmd(s: Session, url: str, **_: Any) -> None:
    """Show a bucket's or an object's properties."""
    u = _url(url)
    b = s.fs.bucket(u.bucket)
    if not u.key:
        import oss2

        from ossbox.fs.errors import translate

        try:
            info = b.get_bucket_info()
        except oss2.exceptions.OssError as e:
            raise translate(e, u.bucket) from e
        data: dict[str, Any] = {
            "Name": info.name,
            "Location": info.location,
            "CreationDate": info.creation_date,
            "ExtranetEndpoint": info.extranet_endpoint,
            "IntranetEndpoint": info.intranet_endpoint,
            "ACL": info.acl.grant,
            "StorageClass": info.storage_class,
        }
    else:
        head = s.fs._head(u.bucket, u.key)
        if head is None:
            raise FileNotFoundError(2, "NoSuchKey: no such object", str(u))
        meta = b.head_object(u.key).headers
        data = {k: v for k, v in meta.items() if k.lower() not in ("server", "connection", "date")}
    width = max(len(k) for k in data)
    s.emit(data, "\n".join(f"{k:<{width}} : {v}" for k, v in data.items()))


@click.command("du")
@click.argument("url")
@_connection_options
@_command
def du_cmd(s: Session, url: str, **_: Any) -> None:
    """Total size and count of the objects under oss://BUCKET[/PREFIX], by storage class."""
    u = _url(url)
    by_class: dict[str, list[int]] = {}
    for o in s.fs._walk_keys(u.bucket, u.key):
        c = by_class.setdefault(o.storage_class or "Standard", [0, 0])
        c[0] += 1
        c[1] += o.size
    if not by_class and not s.fs._bucket_exists(u.bucket):
        raise FileNotFoundError(2, "NoSuchBucket: the bucket does not exist", f"oss://{u.bucket}")
    count = sum(v[0] for v in by_class.values())
    size = sum(v[1] for v in by_class.values())
    lines = [f"storage class {k}: {v[0]} objects, {v[1]:,} bytes" for k, v in sorted(by_class.items())]
    lines.append(f"total object count: {count}\ntotal object size(bytes): {size:,}")
    s.emit({"objects": count, "bytes": size, "by_storage_class": by_class}, "\n".join(lines))


@click.command("sync")
@click.argument("src")
@click.argument("dst")
@click.option("--delete", is_flag=True, help="Delete what the destination has and the source does not.")
@click.option("-f", "--force", is_flag=True, help="Do not ask before --delete removes files.")
@_transfer_options
@_connection_options
@_command
def sync_cmd(s: Session, src: str, dst: str, delete: bool, force: bool, **kw: Any) -> None:
    """Make DST hold what SRC holds: copy what is missing or differs (size, then ETag or mtime)."""
    from ossbox.cli import copying

    settings = _settings(s, kw)
    src_t: str | OssUrl = _url(src) if is_oss(src) else src
    dst_t: str | OssUrl = _url(dst) if is_oss(dst) else dst
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
    _report(s, outcome, "Sync", {"skipped": len(source) - len(todo), "deleted": removed})


@click.command("presign")
@click.argument("url")
@click.option("--timeout", default=3600, show_default=True, help="Seconds the URL stays valid.")
@click.option(
    "--method", default="GET", show_default=True, type=click.Choice(["GET", "PUT", "HEAD", "DELETE"])
)
@_connection_options
@_command
def presign_cmd(s: Session, url: str, timeout: int, method: str, **_: Any) -> None:
    """Print a presigned URL for an object."""
    u = _url(url)
    if not u.key:
        raise click.UsageError("presign needs an object: oss://BUCKET/KEY")
    signed = s.fs.sign(u.path, expiration=timeout, method=method)
    s.emit({"url": signed, "method": method, "expires_in": timeout}, signed)


@click.command("cleanup")
@click.argument("url")
@click.option(
    "--older-than", default="3d", show_default=True, help="Abort uploads started longer ago (e.g. 3d, 12h)."
)
@click.option("--dry-run", is_flag=True, help="Only list them.")
@_connection_options
@_command
def cleanup_cmd(s: Session, url: str, older_than: str, dry_run: bool, **_: Any) -> None:
    """Abort multipart uploads that were started long ago and never completed."""
    from ossbox.fs.cleaner import abort_stale_uploads

    u = _url(url)
    age = parse_duration(older_than if older_than[-1:].isalpha() else older_than + "s", "--older-than")
    stale = abort_stale_uploads(s.fs.bucket(u.bucket), older_than=age or 0, prefix=u.key, dry_run=dry_run)
    verb = "would abort" if dry_run else "aborted"
    s.emit(
        [{"key": x.key, "upload_id": x.upload_id, "initiated": x.initiated} for x in stale],
        "\n".join(
            [f"{verb} {x.upload_id} oss://{u.bucket}/{x.key}" for x in stale]
            + [f"{verb} {len(stale)} uploads"]
        ),
    )


COMMANDS = [
    ls_cmd,
    cp_cmd,
    mv_cmd,
    rm_cmd,
    mb_cmd,
    rb_cmd,
    cat_cmd,
    stat_cmd,
    du_cmd,
    sync_cmd,
    presign_cmd,
    cleanup_cmd,
]


def register(group: click.Group) -> None:
    for cmd in COMMANDS:
        group.add_command(cmd)
