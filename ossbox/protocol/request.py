"""Turning an HTTP request into an OSS operation: addressing, query parsing and routing. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote_plus, unquote_to_bytes

from ossbox.core.errors import OSSError, invalid_argument, not_implemented


class Access(Enum):
    """What an operation needs, checked once at the edge."""

    SERVICE = "service"  # any authenticated caller
    BUCKET_READ = "bucket-read"  # list objects and uploads
    BUCKET_OWNER = "bucket-owner"  # bucket configuration
    OBJECT_READ = "object-read"
    OBJECT_WRITE = "object-write"
    CREATE_BUCKET = "create-bucket"


@dataclass(frozen=True)
class Route:
    op: str
    access: Access


# (method, level, sub-resource) -> operation. Level: service | bucket | object.
_ROUTES: dict[tuple[str, str, str], Route] = {
    ("GET", "service", ""): Route("ListBuckets", Access.SERVICE),
    ("PUT", "bucket", ""): Route("PutBucket", Access.CREATE_BUCKET),
    ("PUT", "bucket", "acl"): Route("PutBucketAcl", Access.BUCKET_OWNER),
    ("GET", "bucket", ""): Route("ListObjects", Access.BUCKET_READ),
    ("GET", "bucket", "acl"): Route("GetBucketAcl", Access.BUCKET_OWNER),
    ("GET", "bucket", "bucketInfo"): Route("GetBucketInfo", Access.BUCKET_OWNER),
    ("GET", "bucket", "location"): Route("GetBucketLocation", Access.BUCKET_OWNER),
    ("GET", "bucket", "stat"): Route("GetBucketStat", Access.BUCKET_OWNER),
    ("GET", "bucket", "uploads"): Route("ListMultipartUploads", Access.BUCKET_READ),
    ("GET", "bucket", "live"): Route("ListLiveChannel", Access.BUCKET_OWNER),
    ("HEAD", "bucket", ""): Route("HeadBucket", Access.BUCKET_READ),
    ("DELETE", "bucket", ""): Route("DeleteBucket", Access.BUCKET_OWNER),
    ("POST", "bucket", "delete"): Route("DeleteMultipleObjects", Access.OBJECT_WRITE),
    ("GET", "object", ""): Route("GetObject", Access.OBJECT_READ),
    ("GET", "object", "acl"): Route("GetObjectAcl", Access.BUCKET_OWNER),
    ("GET", "object", "uploadId"): Route("ListParts", Access.BUCKET_READ),
    ("HEAD", "object", ""): Route("HeadObject", Access.OBJECT_READ),
    ("HEAD", "object", "objectMeta"): Route("GetObjectMeta", Access.OBJECT_READ),
    ("GET", "object", "objectMeta"): Route("GetObjectMeta", Access.OBJECT_READ),
    ("PUT", "object", ""): Route("PutObject", Access.OBJECT_WRITE),
    ("PUT", "object", "acl"): Route("PutObjectAcl", Access.BUCKET_OWNER),
    ("PUT", "object", "uploadId"): Route("UploadPart", Access.OBJECT_WRITE),
    ("DELETE", "object", ""): Route("DeleteObject", Access.OBJECT_WRITE),
    ("DELETE", "object", "uploadId"): Route("AbortMultipartUpload", Access.OBJECT_WRITE),
    ("POST", "object", "uploads"): Route("InitiateMultipartUpload", Access.OBJECT_WRITE),
    ("POST", "object", "uploadId"): Route("CompleteMultipartUpload", Access.OBJECT_WRITE),
    ("POST", "object", "append"): Route("AppendObject", Access.OBJECT_WRITE),
    ("PUT", "bucket", "versioning"): Route("PutBucketVersioning", Access.BUCKET_OWNER),
    ("GET", "bucket", "versioning"): Route("GetBucketVersioning", Access.BUCKET_OWNER),
    ("GET", "bucket", "versions"): Route("ListObjectVersions", Access.BUCKET_READ),
    ("PUT", "bucket", "lifecycle"): Route("PutBucketLifecycle", Access.BUCKET_OWNER),
    ("GET", "bucket", "lifecycle"): Route("GetBucketLifecycle", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "lifecycle"): Route("DeleteBucketLifecycle", Access.BUCKET_OWNER),
    ("POST", "object", "restore"): Route("RestoreObject", Access.OBJECT_WRITE),
}

# Sub-resources that select an operation, in the order they are tried.
_ROUTING_SUBRESOURCES = (
    "uploadId",
    "uploads",
    "append",
    "acl",
    "bucketInfo",
    "location",
    "stat",
    "live",
    "delete",
    "objectMeta",
    "versioning",
    "versions",
    "lifecycle",
    "restore",
)

# OSS sub-resources ossbox does not serve yet: a request naming one gets 501 rather than a wrong answer.
_UNSUPPORTED = frozenset(
    [
        "logging",
        "website",
        "cors",
        "referer",
        "qos",
        "comp",
        "vod",
        "symlink",
        "tagging",
        "encryption",
        "policy",
        "requestPayment",
        "qosInfo",
        "asyncFetch",
        "inventory",
        "worm",
        "wormId",
        "wormExtend",
        "replication",
        "replicationLocation",
        "replicationProgress",
        "transferAcceleration",
        "cname",
        "metaQuery",
        "resourceGroup",
        "style",
        "x-oss-process",
        "x-oss-async-process",
        "regionList",
        "bucketArchiveDirectRead",
        "httpsConfig",
        "redundancyTransition",
        "accessPoint",
        "accessPointPolicy",
        "publicAccessBlock",
        "objectInfo",
        "policyStatus",
        "dataredundancytransition",
        "status",
        "select",
        "processConfiguration",
    ]
)


@dataclass(slots=True)
class OssRequest:
    method: str
    bucket: str | None
    key: str | None
    # Decoded query; the first value of a repeated parameter wins.
    query: dict[str, str]
    # Every decoded (name, value) pair in arrival order, for signatures.
    query_pairs: list[tuple[str, str]]
    headers: dict[str, str]
    route: Route
    host: str


def parse_query(raw: bytes) -> tuple[dict[str, str], list[tuple[str, str]]]:
    query: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    if not raw:
        return query, pairs
    for piece in raw.decode("latin-1").split("&"):
        if not piece:
            continue
        k, _, v = piece.partition("=")
        name, value = _decode_component(k), _decode_component(v)
        pairs.append((name, value))
        if name not in query:
            query[name] = value
    return query, pairs


def _decode_component(value: str) -> str:
    if "%" not in value and "+" not in value:
        return value  # the common case: nothing to decode (and latin-1 of ASCII is ASCII)
    try:
        return unquote_plus(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise invalid_argument("The query string is not valid UTF-8.") from exc


def split_target(raw_path: bytes, host: str, base_domains: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(bucket, key) from the Host header and the path. key None means a bucket (or service) request."""
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OSSError(400, "InvalidObjectName", "The object name is not valid UTF-8.") from exc
    if not path.startswith("/"):
        raise OSSError(400, "InvalidURI", "The request URI is not valid.")
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower()
    for domain in base_domains:
        if hostname.endswith("." + domain):
            bucket = hostname[: -len(domain) - 1]
            key = path[1:]
            return bucket, (key or None)
    rest = path[1:]
    if not rest:
        return None, None
    bucket, sep, key = rest.partition("/")
    return bucket, (key if sep and key else None)


def route(method: str, bucket: str | None, key: str | None, query: dict[str, str]) -> Route:
    level = "service" if bucket is None else ("bucket" if key is None else "object")
    for name in query:
        if name in _UNSUPPORTED:
            raise not_implemented(f"The {name!r} sub-resource")
    sub = ""
    for name in _ROUTING_SUBRESOURCES:
        if name in query:
            sub = name
            break
    found = _ROUTES.get((method, level, sub))
    if found is None:
        if (method, level, "") in _ROUTES or any(k[0] == method and k[1] == level for k in _ROUTES):
            raise not_implemented(f"{method} on a {level} with {sub or 'no'} sub-resource")
        raise OSSError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    if found.op == "ListObjects" and query.get("list-type") == "2":
        return Route("ListObjectsV2", found.access)
    return found


def parse(
    method: str, raw_path: bytes, raw_query: bytes, headers: dict[str, str], base_domains: tuple[str, ...]
) -> OssRequest:
    host = headers.get("host", "")
    bucket, key = split_target(raw_path, host, base_domains)
    query, pairs = parse_query(raw_query)
    r = route(method, bucket, key, query)
    return OssRequest(method, bucket, key, query, pairs, headers, r, host)
