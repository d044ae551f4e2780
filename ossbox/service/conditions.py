"""Conditional writes: a PUT, copy, symlink or CompleteMultipartUpload that happens only if the key's
current version is as the client expects, checked inside the write's own transaction (so two writers
racing on one condition cannot both pass it, on one node or several).

Two dialects ask for it: OSS with `x-oss-forbid-overwrite: true` (409 FileAlreadyExists; ignored in a
bucket with versioning, where nothing is overwritten), S3 with `If-None-Match` (`*` or ETags: 412
PreconditionFailed when the current version exists, or has one of them) and `If-Match` (`*` or ETags: 404
NoSuchKey when there is no current version, 412 when its ETag is not listed). A delete marker as the
latest version is no current version.
"""

from __future__ import annotations

from dataclasses import dataclass

from ossbox.core.errors import OSSError, no_such_key
from ossbox.meta.sql_store import SqlTxn
from ossbox.meta.types import Bucket, ObjectMeta


def precondition_failed() -> OSSError:
    return OSSError(
        412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold."
    )


def etag_set(header: str) -> frozenset[str]:
    """`*` or a list of (quoted, possibly weak) ETags, as stored: upper-case hex."""
    return frozenset(t.strip().removeprefix("W/").strip('"').upper() for t in header.split(",") if t.strip())


@dataclass(frozen=True)
class WriteCondition:
    forbid_overwrite: bool = False
    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None

    def __bool__(self) -> bool:
        return self.forbid_overwrite or self.if_match is not None or self.if_none_match is not None

    def check(self, txn: SqlTxn, bucket: Bucket, key: str) -> None:
        """Raise unless the write may go ahead; reads the current version within `txn`."""
        if not self:
            return
        current = txn.get_object(bucket.name, key)
        if self.forbid_overwrite and not bucket.versioning and current is not None:
            raise OSSError(409, "FileAlreadyExists", "The object you specified already exists.")
        if self.if_match is not None:
            if current is None:
                raise no_such_key(key)
            if "*" not in self.if_match and current.etag.upper() not in self.if_match:
                raise precondition_failed()
        unwanted = self.if_none_match
        if (
            unwanted is not None
            and current is not None
            and ("*" in unwanted or current.etag.upper() in unwanted)
        ):
            raise precondition_failed()


NO_CONDITION = WriteCondition()


@dataclass(frozen=True)
class DeleteCondition:
    """S3's conditional delete: the version being deleted (the current one, or the one named) must have one
    of these ETags (`*`: any), this Last-Modified second and this size. A key with nothing to delete passes
    (deleting nothing is no error in S3), and so does a delete marker."""

    if_match: frozenset[str] | None = None
    last_modified_s: int | None = None
    size: int | None = None

    def __bool__(self) -> bool:
        return self.if_match is not None or self.last_modified_s is not None or self.size is not None

    def check(self, target: ObjectMeta | None) -> None:
        if target is None or target.delete_marker or not self:
            return
        if (
            self.if_match is not None
            and "*" not in self.if_match
            and target.etag.upper() not in self.if_match
        ):
            raise precondition_failed()
        if self.last_modified_s is not None and target.mtime_ms // 1000 != self.last_modified_s:
            raise precondition_failed()
        if self.size is not None and target.size != self.size:
            raise precondition_failed()
