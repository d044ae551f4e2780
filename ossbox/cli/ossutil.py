"""ossutil's everyday commands on any OSS endpoint: ls, cp, mv, rm, mb, rb, cat, stat, du, sync, presign,
cleanup. Built on ossbox.fs (and through it the oss2 SDK); never on the server's code. Exit codes and the
shared flags are in ossutil_common; the copy commands in ossutil_transfer.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ossbox.cli.ossutil_common import CommandError, Session, command, connection_flags, oss_url, when
from ossbox.cli.ossutil_transfer import cp_cmd, mv_cmd, sync_cmd
from ossbox.fs.config import parse_duration


# ================================================================================================ commands
@click.command("ls")
@click.argument("url", required=False)
@click.option("-d", "--directory", is_flag=True, help="One level only: objects and directories.")
@click.option("--limited-num", type=int, default=None, help="Show at most this many entries.")
@connection_flags
@command
def ls_cmd(s: Session, url: str | None, directory: bool, limited_num: int | None, **_: Any) -> None:
    """List buckets, or the objects under oss://BUCKET[/PREFIX]."""
    from ossbox.fs import paths

    if not url:
        buckets = s.fs._ls_buckets()[:limited_num]
        s.emit(
            [{"name": b["name"], "created": b["CreationDate"]} for b in buckets],
            "\n".join(
                [f"{when(b['CreationDate'])}    oss://{b['name']}" for b in buckets]
                + [f"Bucket Number is: {len(buckets)}"]
            ),
        )
        return
    u = oss_url(url)
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
            f"{when(r['last_modified'])}  {r['size']:>12}  {r['storage_class']:<12}  {r['etag']:<36}  "
            f"oss://{paths.join(u.bucket, r['key'])}"
        )
    lines += [f"{'':>62}oss://{u.bucket}/{p}" for p in prefixes]
    lines.append(
        f"Object Number is: {len(rows)}" + (f"\nDirectory Number is: {len(prefixes)}" if directory else "")
    )
    s.emit({"objects": rows, "directories": prefixes}, "\n".join(lines))


@click.command("rm")
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="Delete every object under the prefix.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("-m", "--multipart", "uploads", is_flag=True, help="Also abort unfinished multipart uploads.")
@connection_flags
@command
def rm_cmd(s: Session, url: str, recursive: bool, force: bool, uploads: bool, **_: Any) -> None:
    """Delete an object, or with -r everything under a prefix (in batches of 1000)."""
    import oss2

    from ossbox.cli.copying import remote_prefix

    u = oss_url(url)
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
@connection_flags
@command
def mb_cmd(s: Session, url: str, acl: str | None, storage_class: str | None, **_: Any) -> None:
    """Make a bucket."""
    import oss2

    u = oss_url(url)
    config = oss2.models.BucketCreateConfig(storage_class) if storage_class else None
    s.fs.bucket(u.bucket).create_bucket(acl, config)
    s.emit({"created": u.bucket}, f"created oss://{u.bucket}")


@click.command("rb")
@click.argument("url")
@click.option("-f", "--force", is_flag=True, help="Delete every object and unfinished upload first.")
@connection_flags
@command
def rb_cmd(s: Session, url: str, force: bool, **_: Any) -> None:
    """Remove a bucket (it must be empty, unless -f)."""
    import oss2

    u = oss_url(url)
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
@connection_flags
@command
def cat_cmd(s: Session, url: str, **_: Any) -> None:
    """Write an object to stdout."""
    u = oss_url(url)
    out = sys.stdout.buffer
    f: Any = s.fs.open(u.path, "rb")
    with f:
        while chunk := f.read(8 << 20):
            out.write(chunk)
    out.flush()


@click.command("stat")
@click.argument("url")
@connection_flags
@command
def stat_cmd(s: Session, url: str, **_: Any) -> None:
    """Show a bucket's or an object's properties."""
    u = oss_url(url)
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
@connection_flags
@command
def du_cmd(s: Session, url: str, **_: Any) -> None:
    """Total size and count of the objects under oss://BUCKET[/PREFIX], by storage class."""
    u = oss_url(url)
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


@click.command("presign")
@click.argument("url")
@click.option("--timeout", default=3600, show_default=True, help="Seconds the URL stays valid.")
@click.option(
    "--method", default="GET", show_default=True, type=click.Choice(["GET", "PUT", "HEAD", "DELETE"])
)
@connection_flags
@command
def presign_cmd(s: Session, url: str, timeout: int, method: str, **_: Any) -> None:
    """Print a presigned URL for an object."""
    u = oss_url(url)
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
@connection_flags
@command
def cleanup_cmd(s: Session, url: str, older_than: str, dry_run: bool, **_: Any) -> None:
    """Abort multipart uploads that were started long ago and never completed."""
    from ossbox.fs.cleaner import abort_stale_uploads

    u = oss_url(url)
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
