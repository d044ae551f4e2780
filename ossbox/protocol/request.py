"""Turning an HTTP request into an OSS operation: addressing, query parsing and routing. No I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote_plus, unquote_to_bytes

from ossbox.core.errors import OSSError, invalid_argument, not_implemented
from ossbox.protocol.actions import action_of


class Access(Enum):
    """What an operation needs, checked once at the edge."""

    SERVICE = "service"  # any authenticated caller
    BUCKET_READ = "bucket-read"  # list objects and uploads
    BUCKET_OWNER = "bucket-owner"  # bucket configuration
    OBJECT_READ = "object-read"
    OBJECT_WRITE = "object-write"
    CREATE_BUCKET = "create-bucket"
    # Checked by the handler for each object the request body names (DeleteMultipleObjects), not at the edge.
    EACH_OBJECT = "each-object"


@dataclass(frozen=True)
class Route:
    op: str
    access: Access

    @property
    def action(self) -> str:
        """The RAM action the operation is checked as (`oss:GetObject`)."""
        return action_of(self.op)


# (method, level, sub-resource) -> operation. Level: service | bucket | object.
_ROUTES: dict[tuple[str, str, str], Route] = {
    ("GET", "service", ""): Route("ListBuckets", Access.SERVICE),
    ("GET", "service", "regions"): Route("DescribeRegions", Access.SERVICE),
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
    ("POST", "bucket", "delete"): Route("DeleteMultipleObjects", Access.EACH_OBJECT),
    ("PUT", "bucket", "policy"): Route("PutBucketPolicy", Access.BUCKET_OWNER),
    ("GET", "bucket", "policy"): Route("GetBucketPolicy", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "policy"): Route("DeleteBucketPolicy", Access.BUCKET_OWNER),
    ("GET", "object", ""): Route("GetObject", Access.OBJECT_READ),
    # Image processing reads the object: checked as oss:GetObject, as on OSS.
    ("GET", "object", "x-oss-process"): Route("GetObject", Access.OBJECT_READ),
    ("POST", "object", "x-oss-process"): Route("ProcessObject", Access.OBJECT_READ),
    ("PUT", "bucket", "style"): Route("PutStyle", Access.BUCKET_OWNER),
    ("POST", "bucket", "worm"): Route("InitiateBucketWorm", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "worm"): Route("AbortBucketWorm", Access.BUCKET_OWNER),
    ("GET", "bucket", "worm"): Route("GetBucketWorm", Access.BUCKET_OWNER),
    ("POST", "bucket", "wormId"): Route("CompleteBucketWorm", Access.BUCKET_OWNER),
    ("GET", "bucket", "style"): Route("GetStyle", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "style"): Route("DeleteStyle", Access.BUCKET_OWNER),
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
    # Bucket configurations (docs/bucket-features.md).
    ("PUT", "bucket", "tagging"): Route("PutBucketTagging", Access.BUCKET_OWNER),
    ("GET", "bucket", "tagging"): Route("GetBucketTagging", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "tagging"): Route("DeleteBucketTagging", Access.BUCKET_OWNER),
    ("PUT", "bucket", "cors"): Route("PutBucketCors", Access.BUCKET_OWNER),
    ("GET", "bucket", "cors"): Route("GetBucketCors", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "cors"): Route("DeleteBucketCors", Access.BUCKET_OWNER),
    ("PUT", "bucket", "referer"): Route("PutBucketReferer", Access.BUCKET_OWNER),
    ("GET", "bucket", "referer"): Route("GetBucketReferer", Access.BUCKET_OWNER),
    ("PUT", "bucket", "website"): Route("PutBucketWebsite", Access.BUCKET_OWNER),
    ("GET", "bucket", "website"): Route("GetBucketWebsite", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "website"): Route("DeleteBucketWebsite", Access.BUCKET_OWNER),
    ("PUT", "bucket", "logging"): Route("PutBucketLogging", Access.BUCKET_OWNER),
    ("GET", "bucket", "logging"): Route("GetBucketLogging", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "logging"): Route("DeleteBucketLogging", Access.BUCKET_OWNER),
    ("POST", "bucket", "cname"): Route("PutCname", Access.BUCKET_OWNER),
    ("GET", "bucket", "cname"): Route("ListCname", Access.BUCKET_OWNER),
    # A browser form upload; the handler authorizes the key named in the form.
    ("POST", "bucket", ""): Route("PostObject", Access.EACH_OBJECT),
    # CORS preflight: answered from the CORS rules, never authenticated.
    ("OPTIONS", "bucket", ""): Route("Options", Access.OBJECT_READ),
    ("OPTIONS", "object", ""): Route("Options", Access.OBJECT_READ),
    # Versioning, storage classes and lifecycle (docs/versioning.md).
    ("PUT", "bucket", "versioning"): Route("PutBucketVersioning", Access.BUCKET_OWNER),
    ("GET", "bucket", "versioning"): Route("GetBucketVersioning", Access.BUCKET_OWNER),
    ("GET", "bucket", "versions"): Route("ListObjectVersions", Access.BUCKET_READ),
    ("PUT", "bucket", "lifecycle"): Route("PutBucketLifecycle", Access.BUCKET_OWNER),
    ("GET", "bucket", "lifecycle"): Route("GetBucketLifecycle", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "lifecycle"): Route("DeleteBucketLifecycle", Access.BUCKET_OWNER),
    ("POST", "object", "restore"): Route("RestoreObject", Access.OBJECT_WRITE),
    # Server-side encryption and symlinks.
    ("PUT", "bucket", "encryption"): Route("PutBucketEncryption", Access.BUCKET_OWNER),
    ("GET", "bucket", "encryption"): Route("GetBucketEncryption", Access.BUCKET_OWNER),
    ("DELETE", "bucket", "encryption"): Route("DeleteBucketEncryption", Access.BUCKET_OWNER),
    ("PUT", "object", "symlink"): Route("PutSymlink", Access.OBJECT_WRITE),
    ("GET", "object", "symlink"): Route("GetSymlink", Access.OBJECT_READ),
    # oss2's get_symlink adds `symlink` to the caller's params dict, which callers then reuse for DELETE
    # (its own test suite does): OSS deletes the object.
    ("DELETE", "object", "symlink"): Route("DeleteObject", Access.OBJECT_WRITE),
    # Object tagging (the tags are stored with each version; see ossbox/protocol/object_tags.py).
    ("GET", "object", "tagging"): Route("GetObjectTagging", Access.OBJECT_READ),
    ("PUT", "object", "tagging"): Route("PutObjectTagging", Access.OBJECT_WRITE),
    ("DELETE", "object", "tagging"): Route("DeleteObjectTagging", Access.OBJECT_WRITE),
}

# Operations chosen by a further parameter: (method, level, sub-resource) -> {value of comp: operation}.
_BY_COMP: dict[tuple[str, str, str], dict[str, Route]] = {
    ("POST", "bucket", "cname"): {
        "add": Route("PutCname", Access.BUCKET_OWNER),
        "delete": Route("DeleteCname", Access.BUCKET_OWNER),
        "token": Route("CreateCnameToken", Access.BUCKET_OWNER),
    },
    ("GET", "bucket", "cname"): {
        "": Route("ListCname", Access.BUCKET_OWNER),
        "token": Route("GetCnameToken", Access.BUCKET_OWNER),
    },
}

# Sub-resources that select an operation, in the order they are tried.
_ROUTING_SUBRESOURCES = (
    "regions",
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
    "policy",
    "tagging",
    "cors",
    "referer",
    "website",
    "logging",
    "cname",
    "versioning",
    "versions",
    "lifecycle",
    "restore",
    "encryption",
    "symlink",
    "style",
    "x-oss-process",
    "worm",
    "wormId",
)

# OSS sub-resources ossbox does not serve yet: a request naming one gets 501 rather than a wrong answer.
_UNSUPPORTED = frozenset(
    [
        "qos",
        "comp",
        "vod",
        "requestPayment",
        "qosInfo",
        "asyncFetch",
        "inventory",
        "replication",
        "replicationLocation",
        "replicationProgress",
        "transferAcceleration",
        "metaQuery",
        "resourceGroup",
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
    # Addressed as BUCKET.<base domain> or a bound custom domain rather than /BUCKET/KEY.
    virtual_host: bool = False


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


# A custom domain (lower case, without port) -> the bucket bound to it, if any.
CnameLookup = Callable[[str], str | None]


def split_target(raw_path: bytes, host: str, base_domains: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(bucket, key) from the Host header and the path. key None means a bucket (or service) request."""
    bucket, key, _ = _split(raw_path, host, base_domains, None)
    return bucket, key


def _split(
    raw_path: bytes, host: str, base_domains: tuple[str, ...], cname: CnameLookup | None
) -> tuple[str | None, str | None, bool]:
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
            return bucket, (key or None), True
    if cname is not None:
        bound = cname(hostname)
        if bound is not None:
            return bound, (path[1:] or None), True
    rest = path[1:]
    if not rest:
        return None, None, False
    bucket, sep, key = rest.partition("/")
    return bucket, (key if sep and key else None), False


def route(method: str, bucket: str | None, key: str | None, query: dict[str, str]) -> Route:
    level = "service" if bucket is None else ("bucket" if key is None else "object")
    if method == "OPTIONS" and bucket is not None:
        return _ROUTES[("OPTIONS", level, "")]  # whatever the query names
    sub = ""
    for name in _ROUTING_SUBRESOURCES:
        if name in query:
            sub = name
            break
    for name in query:
        if name in _UNSUPPORTED and not (name == "comp" and (method, level, sub) in _BY_COMP):
            raise not_implemented(f"The {name!r} sub-resource")
    by_comp = _BY_COMP.get((method, level, sub))
    if by_comp is not None:
        chosen = by_comp.get(query.get("comp", ""))
        if chosen is None:
            raise invalid_argument("The comp parameter is invalid.", "comp", query.get("comp", ""))
        return chosen
    found = _ROUTES.get((method, level, sub))
    if found is None:
        if (method, level, "") in _ROUTES or any(k[0] == method and k[1] == level for k in _ROUTES):
            raise not_implemented(f"{method} on a {level} with {sub or 'no'} sub-resource")
        raise OSSError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    if found.op == "ListObjects" and query.get("list-type") == "2":
        return Route("ListObjectsV2", found.access)
    if found.op == "CompleteBucketWorm" and "wormExtend" in query:
        return Route("ExtendBucketWorm", found.access)
    if found.op == "GetStyle" and "styleName" not in query:
        return Route("ListStyle", found.access)
    if found.op == "ProcessObject":
        process = query.get("x-oss-process", "")
        if process in ("csv/select", "json/select"):
            return Route("SelectObject", found.access)
        if process in ("csv/meta", "json/meta"):
            return Route("CreateSelectObjectMeta", found.access)
    return found


def parse(
    method: str,
    raw_path: bytes,
    raw_query: bytes,
    headers: dict[str, str],
    base_domains: tuple[str, ...],
    cname: CnameLookup | None = None,
) -> OssRequest:
    host = headers.get("host", "")
    bucket, key, virtual = _split(raw_path, host, base_domains, cname)
    query, pairs = parse_query(raw_query)
    r = route(method, bucket, key, query)
    return OssRequest(method, bucket, key, query, pairs, headers, r, host, virtual)
