"""Opening the blob store a URL names: nothing (the data directory), `file:///path` (a directory every node
mounts) or `s3://bucket/prefix?endpoint=http://host:port&region=...` (an S3-compatible cluster)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ossbox.blobs.local import LocalBlobStore
from ossbox.blobs.store import BlobConfigError, BlobStore

BLOB_URL_ENV = "OSSBOX_BLOB_URL"
_S3_OPTIONS = {"endpoint", "region"}


def open_blob_store(url: str, data_dir: Path) -> BlobStore:
    if not url:
        return LocalBlobStore(data_dir)
    parts = urlsplit(url)
    if parts.scheme == "file":
        if not parts.path or parts.netloc not in ("", "localhost"):
            raise BlobConfigError(f"blob URL {url!r}: expected file:///absolute/path")
        return LocalBlobStore(Path(parts.path))
    if parts.scheme == "s3":
        return _open_s3(url)
    raise BlobConfigError(
        f"unsupported blob URL {url!r}: expected file:///path or s3://bucket/prefix?endpoint=..."
    )


def _open_s3(url: str) -> BlobStore:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise BlobConfigError(
            "the blob URL must not carry credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead"
        )
    bucket = parts.netloc
    if not bucket:
        raise BlobConfigError(f"no bucket in blob URL {url!r} (expected s3://bucket/prefix?endpoint=...)")
    query = parse_qs(parts.query)
    unknown = set(query) - _S3_OPTIONS
    if unknown:
        raise BlobConfigError(f"blob URL {url!r}: unknown option(s) {', '.join(sorted(unknown))}")
    prefix = parts.path.strip("/")
    endpoint = query.get("endpoint", [None])[0]
    region = query.get("region", ["us-east-1"])[0]
    from ossbox.blobs.s3 import S3BlobStore  # botocore loads in ~0.3 s: only when an s3:// store is used

    return S3BlobStore(bucket, prefix + "/" if prefix else "", endpoint, region)
