"""What a write or a delete does to a key's versions, inside the committer's transaction.

The rules (OSS's, which are S3's):
- Never configured: a write replaces the current object, a delete removes it. No version ids.
- Enabled: a write keeps the current version as a noncurrent one and becomes current with a new id; a
  delete keeps the current version too and adds a delete marker as the newest version.
- Suspended: as Enabled, except that what is written or deleted gets the "null" id, and the key's
  previous null version (current or not) is dropped: a key has at most one null version.
- Deleting a specific version removes it for good; when it was the newest, the next newest becomes
  current again (unless that one is a delete marker, which then stays the newest).

Invariant kept by every function here: when a key has a current version (a row of `objects`) it is the
newest one; when it has none but has history, its newest row of object_versions is a delete marker.
"""

from __future__ import annotations

from dataclasses import dataclass

from ossbox.core.errors import OSSError, invalid_argument
from ossbox.core.versions import NULL_VERSION, version_id_for, vseq_of, wire_version_id
from ossbox.meta.sql_store import SqlTxn
from ossbox.meta.types import Bucket, ObjectMeta
from ossbox.service import worm

ENABLED = "Enabled"
SUSPENDED = "Suspended"
STATUSES = (ENABLED, SUSPENDED)


@dataclass(frozen=True)
class Deleted:
    """The outcome of a delete: the (wire) id of the version removed or of the delete marker created
    ("" in a bucket that never had versioning), and whether that is a delete marker."""

    version_id: str
    delete_marker: bool


class DeleteMarkerError(OSSError):
    """A read that met a delete marker: OSS answers with the marker's id, which the dialect adds."""

    def __init__(self, error: OSSError, marker_version_id: str) -> None:
        super().__init__(error.status, error.code, error.message, dict(error.details))
        self.marker_version_id = marker_version_id


def check_version_id(value: str) -> str:
    """A version id from a request: "null" or one this server issued, else InvalidArgument."""
    if value == "":
        raise invalid_argument("The version id can not be empty.", "versionId", value)
    if value != NULL_VERSION and vseq_of(value) is None:
        raise invalid_argument("Invalid version id specified.", "versionId", value)
    return value


def no_such_version(version_id: str) -> OSSError:
    return OSSError(404, "NoSuchVersion", "The specified version does not exist.", {"VersionId": version_id})


def _retire_current(txn: SqlTxn, bucket: Bucket, key: str, now_ms: int) -> list[str]:
    """Make room for a new newest version of `key` in a versioned bucket."""
    dead: list[str] = []
    suspended = bucket.versioning == SUSPENDED
    cur = txn.get_object(bucket.name, key)
    if cur is not None:
        if suspended and cur.version_id == "":
            dead += txn.delete_object(bucket.name, key)
        else:
            txn.demote_current(bucket.name, key, now_ms, txn.next_vseq() if cur.vseq == 0 else cur.vseq)
    else:
        newest = txn.newest_noncurrent(bucket.name, key)
        if newest is not None and newest.noncurrent_ms == 0:
            txn.mark_noncurrent(bucket.name, key, newest.vseq, now_ms)
    if suspended:
        null = txn.find_version(bucket.name, key, NULL_VERSION)
        if null is not None and not null[1]:
            dead += txn.delete_noncurrent(bucket.name, key, null[0].vseq)
    return dead


def install(
    txn: SqlTxn, bucket: Bucket, obj: ObjectMeta, now_ms: int, retention: worm.Policy | None = None
) -> list[str]:
    """Make `obj` the current version of its key, as the bucket's versioning says. `bucket` must be the
    row read in this transaction. Sets obj's version id; returns the file blobs left unreferenced. Under
    a `retention` policy, replacing a protected version is refused (a new version of a versioned bucket
    replaces nothing)."""
    if retention is not None and bucket.versioning != ENABLED:
        worm.check_mutable(retention, _replaced(txn, bucket, obj.key), now_ms)
    if not bucket.versioning:
        return txn.put_object(obj)
    dead = _retire_current(txn, bucket, obj.key, now_ms)
    obj.vseq = txn.next_vseq()
    obj.version_id = version_id_for(obj.vseq) if bucket.versioning == ENABLED else ""
    return dead + txn.put_object(obj)


def _replaced(txn: SqlTxn, bucket: Bucket, key: str) -> ObjectMeta | None:
    """The version a write or delete of `key` destroys: the current object, or (suspended) the null one."""
    if bucket.versioning == SUSPENDED:
        null = txn.find_version(bucket.name, key, NULL_VERSION)
        return null[0] if null is not None else None
    return txn.get_object(bucket.name, key)


def delete_current(
    txn: SqlTxn, bucket: Bucket, key: str, now_ms: int, retention: worm.Policy | None = None
) -> tuple[Deleted, list[str]]:
    """DeleteObject without a version id (refused for a protected version it would destroy)."""
    if retention is not None and bucket.versioning != ENABLED:
        worm.check_mutable(retention, _replaced(txn, bucket, key), now_ms)
    if not bucket.versioning:
        return Deleted("", False), txn.delete_object(bucket.name, key)
    dead = _retire_current(txn, bucket, key, now_ms)
    vseq = txn.next_vseq()
    version_id = version_id_for(vseq) if bucket.versioning == ENABLED else ""
    marker = ObjectMeta(
        bucket=bucket.name,
        key=key,
        size=0,
        etag="",
        crc64=0,
        mtime_ms=now_ms,
        object_type="",
        storage_class="",
        acl="default",
        content_type="",
        version_id=version_id,
        vseq=vseq,
        delete_marker=True,
    )
    txn.insert_delete_marker(marker)
    return Deleted(wire_version_id(version_id), True), dead


def delete_version(
    txn: SqlTxn,
    bucket: str,
    key: str,
    version_id: str,
    retention: worm.Policy | None = None,
    now_ms: int = 0,
) -> tuple[Deleted, list[str]]:
    """DeleteObject with a (checked) version id: remove that version for good. Deleting a version that
    does not exist succeeds, as deleting a missing key does; a protected one is refused."""
    found = txn.find_version(bucket, key, version_id)
    if found is None:
        return Deleted(version_id, False), []
    victim, current = found
    worm.check_mutable(retention, victim, now_ms)
    if current:
        dead = txn.delete_object(bucket, key)
        was_newest = True
    else:
        was_newest = victim.noncurrent_ms == 0 and txn.get_object(bucket, key) is None
        dead = txn.delete_noncurrent(bucket, key, victim.vseq)
    if was_newest:
        newest = txn.newest_noncurrent(bucket, key)
        if newest is not None:
            if newest.delete_marker:
                txn.mark_noncurrent(bucket, key, newest.vseq, 0)
            else:
                txn.promote(bucket, key, newest.vseq)
    return Deleted(version_id, victim.delete_marker), dead
