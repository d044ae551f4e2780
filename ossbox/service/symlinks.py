"""Symlinks: objects that point to another key of the same bucket (PutSymlink, GetSymlink, and GET/HEAD
following them).

A symlink is a row like any object's (so it has versions, ACL, storage class, user metadata and shows up in
listings), of type Symlink, without data, with `symlink_target` set. Its size is the length of the target's
name in bytes and its ETag the MD5 of that name: what it costs to store. OSS checks nothing about the target
when the link is made; reading through the link does: the target must exist (SymlinkTargetNotExist) and must
not be a symlink itself (InvalidTargetType), so there are no chains and no loops.

Read through a link, an object has the target's data, and with it the target's Content-Length, ETag,
CRC-64 and encryption; Last-Modified is the later of the two; every other header (Content-Type, user
metadata, object type, storage class) is the link's, as OSS documents for GetObject.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Protocol

from ossbox.core.errors import OSSError
from ossbox.meta.types import ObjectMeta
from ossbox.protocol.crc64 import crc64

SYMLINK = "Symlink"


class _Reader(Protocol):
    def get_object(self, bucket: str, key: str) -> ObjectMeta | None: ...


def identity(target: str) -> tuple[int, str, int]:
    """(size, ETag, CRC-64) of a symlink to `target`: those of the target's name."""
    raw = target.encode()
    return len(raw), hashlib.md5(raw).hexdigest().upper(), crc64(raw, 0)


def target_of(reader: _Reader, link: ObjectMeta) -> ObjectMeta:
    """The current version of the object `link` points to."""
    assert link.symlink_target is not None
    target = reader.get_object(link.bucket, link.symlink_target)
    if target is None:
        raise OSSError(
            404,
            "SymlinkTargetNotExist",
            "The symlink target object does not exist.",
            {"SymlinkTarget": link.symlink_target},
        )
    if target.object_type == SYMLINK:
        raise OSSError(
            400,
            "InvalidTargetType",
            "The symlink target object type is not supported: a symlink cannot point to a symlink.",
            {"SymlinkTarget": link.symlink_target},
        )
    return target


def view(link: ObjectMeta, target: ObjectMeta) -> ObjectMeta:
    """What GET and HEAD of `link` answer with: the target's data and identity, the link's metadata."""
    return replace(
        link,
        size=target.size,
        etag=target.etag,
        crc64=target.crc64,
        mtime_ms=max(link.mtime_ms, target.mtime_ms),
        extents=target.extents,
        sse=target.sse,
    )
