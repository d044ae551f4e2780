"""Turning an HTTP request into an S3 operation: addressing, query parsing and routing. No I/O.

Each operation states the permission it needs and the RAM action it is checked as: S3 operations are
checked as the OSS actions of the same use cases (s3:GetObject is oss:GetObject, s3:ListBucket is
oss:ListObjects), so one set of RAM and bucket policies governs both dialects.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from ossbox.core.errors import OSSError, not_implemented
from ossbox.protocol.request import Access, parse_query


@dataclass(frozen=True)
class S3Route:
    op: str
    access: Access
    action: str  # the RAM action, as OSS names it


def _r(op: str, access: Access, action: str = "") -> S3Route:
    return S3Route(op, access, action or "oss:" + op)


_B_READ, _B_OWNER, _O_READ, _O_WRITE = (
    Access.BUCKET_READ,
    Access.BUCKET_OWNER,
    Access.OBJECT_READ,
    Access.OBJECT_WRITE,
)

# (method, level, sub-resource) -> operation.
_ROUTES: dict[tuple[str, str, str], S3Route] = {
    ("GET", "service", ""): _r("ListBuckets", Access.SERVICE),
    ("PUT", "bucket", ""): _r("CreateBucket", Access.CREATE_BUCKET, "oss:PutBucket"),
    ("HEAD", "bucket", ""): _r("HeadBucket", _B_READ, "oss:GetBucketInfo"),
    ("DELETE", "bucket", ""): _r("DeleteBucket", _B_OWNER),
    ("GET", "bucket", ""): _r("ListObjects", _B_READ),
    ("GET", "bucket", "location"): _r("GetBucketLocation", _B_OWNER),
    ("GET", "bucket", "acl"): _r("GetBucketAcl", _B_OWNER),
    ("PUT", "bucket", "acl"): _r("PutBucketAcl", _B_OWNER),
    ("GET", "bucket", "uploads"): _r("ListMultipartUploads", _B_READ),
    ("GET", "bucket", "versions"): _r("ListObjectVersions", _B_READ),
    ("GET", "bucket", "versioning"): _r("GetBucketVersioning", _B_OWNER),
    ("PUT", "bucket", "versioning"): _r("PutBucketVersioning", _B_OWNER),
    ("POST", "bucket", "delete"): _r("DeleteObjects", Access.EACH_OBJECT, "oss:DeleteObject"),
    ("GET", "bucket", "policy"): _r("GetBucketPolicy", _B_OWNER),
    ("PUT", "bucket", "policy"): _r("PutBucketPolicy", _B_OWNER),
    ("DELETE", "bucket", "policy"): _r("DeleteBucketPolicy", _B_OWNER),
    ("GET", "bucket", "tagging"): _r("GetBucketTagging", _B_OWNER),
    ("PUT", "bucket", "tagging"): _r("PutBucketTagging", _B_OWNER),
    ("DELETE", "bucket", "tagging"): _r("DeleteBucketTagging", _B_OWNER),
    ("GET", "bucket", "cors"): _r("GetBucketCors", _B_OWNER),
    ("PUT", "bucket", "cors"): _r("PutBucketCors", _B_OWNER),
    ("DELETE", "bucket", "cors"): _r("DeleteBucketCors", _B_OWNER),
    ("GET", "bucket", "encryption"): _r("GetBucketEncryption", _B_OWNER),
    ("PUT", "bucket", "encryption"): _r("PutBucketEncryption", _B_OWNER),
    ("DELETE", "bucket", "encryption"): _r("DeleteBucketEncryption", _B_OWNER),
    ("GET", "bucket", "lifecycle"): _r("GetBucketLifecycle", _B_OWNER),
    ("PUT", "bucket", "lifecycle"): _r("PutBucketLifecycle", _B_OWNER),
    ("DELETE", "bucket", "lifecycle"): _r("DeleteBucketLifecycle", _B_OWNER),
    ("POST", "bucket", ""): _r("PostObject", _O_WRITE, "oss:PutObject"),
    ("GET", "object", ""): _r("GetObject", _O_READ),
    ("HEAD", "object", ""): _r("HeadObject", _O_READ, "oss:GetObject"),
    ("PUT", "object", ""): _r("PutObject", _O_WRITE),
    ("DELETE", "object", ""): _r("DeleteObject", _O_WRITE),
    ("GET", "object", "acl"): _r("GetObjectAcl", _B_OWNER),
    ("PUT", "object", "acl"): _r("PutObjectAcl", _B_OWNER),
    ("GET", "object", "tagging"): _r("GetObjectTagging", _O_READ),
    ("PUT", "object", "tagging"): _r("PutObjectTagging", _O_WRITE),
    ("DELETE", "object", "tagging"): _r("DeleteObjectTagging", _O_WRITE),
    ("POST", "object", "uploads"): _r("CreateMultipartUpload", _O_WRITE, "oss:PutObject"),
    ("PUT", "object", "uploadId"): _r("UploadPart", _O_WRITE, "oss:PutObject"),
    ("POST", "object", "uploadId"): _r("CompleteMultipartUpload", _O_WRITE, "oss:PutObject"),
    ("DELETE", "object", "uploadId"): _r("AbortMultipartUpload", _O_WRITE),
    ("GET", "object", "uploadId"): _r("ListParts", _B_READ),
    ("POST", "object", "restore"): _r("RestoreObject", _O_WRITE),
}

# Sub-resources that select an operation, in the order they are tried.
_ROUTING = (
    "uploadId",
    "uploads",
    "acl",
    "tagging",
    "location",
    "versions",
    "versioning",
    "delete",
    "policy",
    "restore",
    "cors",
    "encryption",
    "lifecycle",
)

# Sub-resources of S3 operations ossbox does not serve: 501 rather than a wrong answer.
_UNSUPPORTED = frozenset(
    [
        "accelerate",
        "analytics",
        "attributes",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "logging",
        "metadataConfiguration",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "retention",
        "select",
        "session",
        "torrent",
        "website",
    ]
)


@dataclass(slots=True)
class S3Request:
    method: str
    bucket: str | None
    key: str | None
    query: dict[str, str]
    headers: dict[str, str]
    route: S3Route
    host: str
    raw_path: str  # as sent, still percent-encoded (SigV4 signs it so)
    raw_query: str
    virtual_host: bool


def split_target(raw_path: bytes, host: str, domains: tuple[str, ...]) -> tuple[str | None, str | None, bool]:
    """(bucket, key, virtual-hosted) from the Host header and the path."""
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OSSError(400, "InvalidURI", "The object name is not valid UTF-8.") from exc
    if not path.startswith("/"):
        raise OSSError(400, "InvalidURI", "Couldn't parse the specified URI.")
    hostname = (host.rsplit(":", 1)[0] if not host.endswith("]") else host).lower()
    if hostname not in domains:
        for domain in domains:
            if hostname.endswith("." + domain):
                return hostname[: -len(domain) - 1], (path[1:] or None), True
    rest = path[1:]
    if not rest:
        return None, None, False
    bucket, sep, key = rest.partition("/")
    return bucket, (key if sep and key else None), False


def route(method: str, bucket: str | None, key: str | None, query: dict[str, str]) -> S3Route:
    level = "service" if bucket is None else ("bucket" if key is None else "object")
    for name in query:
        if name in _UNSUPPORTED:
            raise not_implemented(f"The S3 {name!r} sub-resource")
    sub = next((name for name in _ROUTING if name in query), "")
    found = _ROUTES.get((method, level, sub))
    if found is None:
        if any(k[0] == method and k[1] == level for k in _ROUTES):
            raise not_implemented(f"{method} on a {level} with {sub or 'no'} sub-resource")
        raise OSSError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    if found.op == "ListObjects" and query.get("list-type") == "2":
        return S3Route("ListObjectsV2", found.access, found.action)
    return found


def parse(
    method: str, raw_path: bytes, raw_query: bytes, headers: dict[str, str], domains: tuple[str, ...]
) -> S3Request:
    host = headers.get("host", "")
    bucket, key, virtual = split_target(raw_path, host, domains)
    query, _ = parse_query(raw_query)
    r = route(method, bucket, key, query)
    return S3Request(
        method,
        bucket,
        key,
        query,
        headers,
        r,
        host,
        raw_path.decode("latin-1"),
        raw_query.decode("latin-1"),
        virtual,
    )
