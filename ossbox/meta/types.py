"""Rows the metadata store hands to the service layer. Plain data, no behaviour.

Treat every row as immutable. The two built for every GET and for every key of a listing (ObjectMeta,
ListedObject) are plain slotted dataclasses rather than frozen ones: constructing a frozen dataclass costs
about 1.4 us more, which is measurable on the request path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (blob_id, offset, length): an object's bytes are the concatenation of its extents.
Extent = tuple[str, int, int]


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret: str
    owner_id: str
    is_root: bool
    created_ms: int
    description: str = ""
    user_name: str | None = None  # None: a key of the account owner; else the RAM user's
    service: str | None = None  # a cloud service's key (e.g. "odps.aliyuncs.com"): it may only assume roles


@dataclass(frozen=True)
class Bucket:
    name: str
    owner_id: str
    created_ms: int
    region: str
    acl: str
    storage_class: str
    versioning: str = ""  # "" (never configured) | "Enabled" | "Suspended"


@dataclass(frozen=True)
class Restore:
    """A restore of an archived object: readable from ready_ms until expiry_ms (storage clock times)."""

    ready_ms: int
    expiry_ms: int
    tier: str = ""


@dataclass(slots=True)
class ObjectMeta:
    bucket: str
    key: str
    size: int
    etag: str
    crc64: int
    mtime_ms: int
    object_type: str
    storage_class: str
    acl: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    user_meta: dict[str, str] = field(default_factory=dict)
    extents: tuple[Extent, ...] = ()
    # "" is the "null" version (unversioned buckets, or written while versioning was suspended).
    version_id: str = ""
    # Order among the versions of the key; 0 until the object was written in a versioned bucket.
    vseq: int = 0
    restore: Restore | None = None
    # Only for rows of object_versions: a delete marker, and when the version stopped being current.
    delete_marker: bool = False
    noncurrent_ms: int = 0
    # S3's additional checksum, "<ALGORITHM>:<base64>" ('' when none was sent); see protocol/s3/checksums.py
    checksum: str = ""
    # Tags, URL-encoded "k1=v1&k2=v2" ('' for none)
    tagging: str = ""
    # How the data is encrypted at rest (ossbox/protocol/sse.py's stored form); "" when it is not.
    sse: str = ""
    # The key a Symlink points to; None for every other object type.
    symlink_target: str | None = None


@dataclass(slots=True)
class ListedObject:
    key: str
    size: int
    etag: str
    mtime_ms: int
    object_type: str
    storage_class: str
    restore_ready_ms: int | None = None
    restore_expiry_ms: int | None = None


@dataclass(slots=True)
class ListedVersion:
    """One entry of ListObjectVersions: a version or a delete marker."""

    key: str
    version_id: str
    vseq: int
    is_latest: bool
    delete_marker: bool
    size: int
    etag: str
    mtime_ms: int
    object_type: str
    storage_class: str
    restore_ready_ms: int | None
    restore_expiry_ms: int | None


@dataclass(frozen=True)
class Upload:
    upload_id: str
    bucket: str
    key: str
    initiated_ms: int
    storage_class: str
    acl: str
    content_type: str
    headers: dict[str, str]
    user_meta: dict[str, str]
    checksum_algorithm: str = ""  # "<ALGORITHM>:<COMPOSITE|FULL_OBJECT>" for S3 uploads that asked for one
    tagging: str = ""
    sse: str = ""  # what the object will be encrypted with (every part is written so)


@dataclass(frozen=True)
class BlobKey:
    """The wrapped data key of an encrypted blob (see ossbox/service/encryption.py)."""

    cipher: str
    kek: str
    wrapped: bytes
    iv: bytes


@dataclass(frozen=True)
class Part:
    part_number: int
    size: int
    etag: str
    crc64: int
    mtime_ms: int
    extents: tuple[Extent, ...]
    checksum: str = ""


@dataclass(frozen=True)
class BucketStat:
    storage: int
    object_count: int
    multipart_upload_count: int
    last_modified_ms: int
    # storage class -> (bytes, objects), current versions only
    by_class: dict[str, tuple[int, int]] = field(default_factory=dict)
    delete_marker_count: int = 0


@dataclass(frozen=True)
class RamUser:
    name: str
    user_id: str
    created_ms: int
    comment: str = ""


@dataclass(frozen=True)
class RamGroup:
    name: str
    created_ms: int
    comment: str = ""


@dataclass(frozen=True)
class RamRole:
    name: str
    role_id: str
    trust_policy: str
    max_session_s: int
    created_ms: int
    comment: str = ""


@dataclass(frozen=True)
class RamPolicy:
    name: str
    document: str
    created_ms: int
    comment: str = ""


@dataclass(frozen=True)
class StsSession:
    access_key_id: str
    secret: str
    token_sha256: str
    role_name: str
    session_name: str
    session_policy: str | None
    caller_arn: str
    created_ms: int
    expires_ms: int
