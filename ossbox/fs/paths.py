"""oss:// paths: `bucket/key` inside the filesystem, and the two directory-marker conventions."""

from __future__ import annotations

PROTOCOL = "oss"
FOLDER_SUFFIX = "_$folder$"  # Alluxio's (and old Hadoop's) directory marker: a zero-byte `dir_$folder$`


def strip_protocol(path: str) -> str:
    """`oss://bucket/a/b/` -> `bucket/a/b`."""
    if path.startswith(PROTOCOL + "://"):
        path = path[len(PROTOCOL) + 3 :]
    return path.strip("/")


def split(path: str) -> tuple[str, str]:
    """`bucket/a/b` -> (`bucket`, `a/b`); a bucket alone -> (`bucket`, ``)."""
    bucket, _, key = strip_protocol(path).partition("/")
    return bucket, key


def join(bucket: str, key: str) -> str:
    return f"{bucket}/{key}" if key else bucket


def dir_marker(key: str) -> str:
    """Hadoop's marker: the zero-byte object `dir/` (the one ossbox writes)."""
    return key.rstrip("/") + "/"


def is_marker(key: str) -> bool:
    return key.endswith("/") or key.endswith(FOLDER_SUFFIX)


def parent_key(key: str) -> str:
    """`a/b/c` -> `a/b`; `a` -> `` (the bucket root)."""
    return key.rsplit("/", 1)[0] if "/" in key else ""


def ancestors(key: str) -> list[str]:
    """`a/b/c` -> [`a`, `a/b`] (outermost first; the bucket root excluded)."""
    parts = key.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
