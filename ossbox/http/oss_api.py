"""The OSS dialect: one handler per operation, from a parsed request to a response."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from ossbox.auth.authenticator import Principal
from ossbox.core.errors import OSSError, access_denied, invalid_argument, malformed_xml, no_such_key
from ossbox.core.names import validate_bucket_name, validate_object_key
from ossbox.http.responses import object_headers, quoted_etag, xml
from ossbox.http.server import BodyTooLarge, Request, Response
from ossbox.meta.types import Bucket, ObjectMeta
from ossbox.protocol import xml as X
from ossbox.protocol.ranges import parse_range
from ossbox.protocol.request import OssRequest
from ossbox.protocol.times import iso8601, parse_http_date
from ossbox.service.storage import Listing, Storage, WriteAttrs

ACLS = ("private", "public-read", "public-read-write")
OBJECT_ACLS = (*ACLS, "default")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
_STORED_HEADERS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "expires": "Expires",
}
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
_MAX_XML_BODY = 2 << 20
_SMALL_GET = 256 << 10
MAX_USER_META = 8 << 10


@dataclass(slots=True)
class Call:
    """Everything a handler needs about one request."""

    http: Request
    req: OssRequest
    principal: Principal | None
    bucket: Bucket | None
    storage: Storage
    owner_id: str

    @property
    def q(self) -> dict[str, str]:
        return self.req.query

    @property
    def h(self) -> dict[str, str]:
        return self.req.headers

    @property
    def key(self) -> str:
        assert self.req.key is not None
        return self.req.key

    @property
    def bkt(self) -> Bucket:
        assert self.bucket is not None
        return self.bucket

    def content_length(self) -> int | None:
        value = self.h.get("content-length")
        if value is None:
            return None
        if not value.isdigit():
            raise invalid_argument("Content-Length is not a number.", "Content-Length", value)
        return int(value)

    async def xml_body(self, root: str) -> Element:
        try:
            body = await self.http.body.read_all(_MAX_XML_BODY)
        except BodyTooLarge as exc:
            raise malformed_xml("The XML body is too large.") from exc
        if "content-md5" in self.h:
            import hashlib

            from ossbox.service.ingest import check_content_md5

            check_content_md5(self.h["content-md5"], hashlib.md5(body).digest())
        return X.parse(body, root)

    def encoding_url(self) -> bool:
        value = self.q.get("encoding-type", "")
        if value not in ("", "url"):
            raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", value)
        return value == "url"


Handler = Callable[[Call], Awaitable[Response]]


def _int_param(q: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(name, "")
    if raw == "":
        return default
    if not raw.lstrip("-").isdigit():
        raise invalid_argument(f"Argument {name} must be an integer.", name, raw)
    value = int(raw)
    if value < lo or value > hi:
        raise invalid_argument(f"Argument {name} must be between {lo} and {hi}.", name, raw)
    return value


def _owner(owner_id: str) -> str:
    return f"<Owner><ID>{owner_id}</ID><DisplayName>{owner_id}</DisplayName></Owner>"


def _location(region: str) -> str:
    return f"oss-{region}"


def _acl_from(
    headers: dict[str, str], allowed: tuple[str, ...], name: str = "x-oss-object-acl"
) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise invalid_argument("no such bucket access control exists", name, value)
    return value


def _storage_class(headers: dict[str, str]) -> str | None:
    value = headers.get("x-oss-storage-class")
    if value is None:
        return None
    for known in STORAGE_CLASSES:
        if value.lower() == known.lower():
            return known
    raise invalid_argument("Invalid storage class.", "x-oss-storage-class", value)


def write_attrs(call: Call, key: str) -> WriteAttrs:
    h = call.h
    meta = {k[len("x-oss-meta-") :]: v for k, v in h.items() if k.startswith("x-oss-meta-")}
    if sum(len(k) + len(v) for k, v in meta.items()) > MAX_USER_META:
        raise invalid_argument("User metadata is larger than 8 KB.", "x-oss-meta-*", "")
    # No guessing from the key's extension: the SDKs do that client-side, and OSS stores exactly what it got.
    content_type = h.get("content-type") or "application/octet-stream"
    return WriteAttrs(
        content_type=content_type,
        headers={canon: h[name] for name, canon in _STORED_HEADERS.items() if name in h},
        user_meta=meta,
        acl=_acl_from(h, OBJECT_ACLS) or "default",
        storage_class=_storage_class(h),
    )


def _forbid_overwrite(call: Call) -> bool:
    return call.h.get("x-oss-forbid-overwrite", "").lower() == "true"


# ====================================================================== service and buckets
async def list_buckets(call: Call) -> Response:
    q = call.q
    prefix = q.get("prefix", "")
    marker = q.get("marker", "")
    max_keys = _int_param(q, "max-keys", 100, 1, 1000)
    assert call.principal is not None
    found = call.storage.meta.list_buckets(call.principal.owner_id, prefix, marker, max_keys)
    truncated = len(found) > max_keys
    found = found[:max_keys]
    host = call.req.host
    items = "".join(
        "<Bucket>"
        + X.els(
            [
                ("CreationDate", iso8601(b.created_ms)),
                ("ExtranetEndpoint", host),
                ("IntranetEndpoint", host),
                ("Location", _location(b.region)),
                ("Name", b.name),
                ("Region", b.region),
                ("StorageClass", b.storage_class),
            ]
        )
        + "</Bucket>"
        for b in found
    )
    inner = _owner(call.principal.owner_id)
    if prefix or marker or "max-keys" in q:
        inner += X.els([("Prefix", prefix), ("Marker", marker), ("MaxKeys", max_keys)])
        inner += X.el("IsTruncated", str(truncated).lower())
        if truncated:
            inner += X.el("NextMarker", found[-1].name)
    inner += f"<Buckets>{items}</Buckets>"
    return xml("ListAllMyBucketsResult", inner)


async def put_bucket(call: Call) -> Response:
    name = call.req.bucket
    assert name is not None and call.principal is not None
    validate_bucket_name(name)
    acl = _acl_from(call.h, ACLS, "x-oss-acl") or "private"
    storage_class = "Standard"
    body = await call.http.body.read_all(_MAX_XML_BODY)
    if body.strip():
        doc = X.parse(body, "CreateBucketConfiguration")
        sc = X.child_text(doc, "StorageClass")
        if sc:
            storage_class = _storage_class({"x-oss-storage-class": sc}) or "Standard"
    await call.storage.create_bucket(call.principal.owner_id, name, acl, storage_class)
    return Response(200, [("Location", f"/{name}")])


async def delete_bucket(call: Call) -> Response:
    await call.storage.delete_bucket(call.bkt.name)
    return Response(204)


async def head_bucket(call: Call) -> Response:
    return Response(200, [("x-oss-bucket-region", call.bkt.region)], b"", content_length=0, head=True)


def _grant(acl: str) -> str:
    return f"<AccessControlList><Grant>{acl}</Grant></AccessControlList>"


async def get_bucket_acl(call: Call) -> Response:
    b = call.bkt
    return xml("AccessControlPolicy", _owner(b.owner_id) + _grant(b.acl))


async def put_bucket_acl(call: Call) -> Response:
    acl = _acl_from(call.h, ACLS, "x-oss-acl")
    if acl is None:
        raise OSSError(400, "MissingArgument", "Missing x-oss-acl header.")
    await call.storage.set_bucket_acl(call.bkt.name, acl)
    return Response(200)


async def get_bucket_info(call: Call) -> Response:
    b = call.bkt
    host = call.req.host
    inner = X.els(
        [
            ("AccessMonitor", "Disabled"),
            ("CreationDate", iso8601(b.created_ms)),
            ("ExtranetEndpoint", host),
            ("IntranetEndpoint", host),
            ("Location", _location(b.region)),
            ("StorageClass", b.storage_class),
            ("TransferAcceleration", "Disabled"),
            ("CrossRegionReplication", "Disabled"),
            ("DataRedundancyType", "LRS"),
            ("Name", b.name),
            ("Region", b.region),
            ("ResourceGroupId", ""),
            ("Comment", ""),
            ("Versioning", ""),
        ]
    )
    inner += _owner(b.owner_id) + _grant(b.acl)
    inner += "<ServerSideEncryptionRule><SSEAlgorithm>None</SSEAlgorithm></ServerSideEncryptionRule>"
    inner += "<BucketPolicy><LogBucket></LogBucket><LogPrefix></LogPrefix></BucketPolicy>"
    return xml("BucketInfo", f"<Bucket>{inner}</Bucket>")


async def get_bucket_location(call: Call) -> Response:
    return xml("LocationConstraint", X.esc(_location(call.bkt.region)))


async def get_bucket_stat(call: Call) -> Response:
    s = call.storage.meta.bucket_stat(call.bkt.name)
    inner = X.els(
        [
            ("Storage", s.storage),
            ("ObjectCount", s.object_count),
            ("MultipartUploadCount", s.multipart_upload_count),
            ("LiveChannelCount", 0),
            ("LastModifiedTime", s.last_modified_ms // 1000),
            ("StandardStorage", s.storage),
            ("StandardObjectCount", s.object_count),
            ("InfrequentAccessStorage", 0),
            ("InfrequentAccessRealStorage", 0),
            ("InfrequentAccessObjectCount", 0),
            ("ArchiveStorage", 0),
            ("ArchiveRealStorage", 0),
            ("ArchiveObjectCount", 0),
            ("ColdArchiveStorage", 0),
            ("ColdArchiveRealStorage", 0),
            ("ColdArchiveObjectCount", 0),
        ]
    )
    return xml("BucketStat", inner)


async def list_live_channels(call: Call) -> Response:
    q = call.q
    inner = X.els(
        [
            ("Prefix", q.get("prefix", "")),
            ("Marker", q.get("marker", "")),
            ("MaxKeys", _int_param(q, "max-keys", 100, 1, 1000)),
            ("IsTruncated", "false"),
            ("NextMarker", ""),
        ]
    )
    return xml("ListLiveChannelResult", inner)


# ====================================================================== listing
def _enc(value: str, url: bool) -> str:
    return X.url_encode(value) if url else value


def _contents(listing: Listing, url: bool, owner: str | None) -> str:
    out = []
    for o in listing.objects:
        out.append(
            "<Contents>"
            + X.els(
                [
                    ("Key", _enc(o.key, url)),
                    ("LastModified", iso8601(o.mtime_ms)),
                    ("ETag", quoted_etag(o.etag)),
                    ("Type", o.object_type),
                    ("Size", o.size),
                    ("StorageClass", o.storage_class),
                ]
            )
            + (_owner(owner) if owner else "")
            + "</Contents>"
        )
    out += [
        f"<CommonPrefixes><Prefix>{X.esc(_enc(p, url))}</Prefix></CommonPrefixes>" for p in listing.prefixes
    ]
    return "".join(out)


def _list_params(call: Call) -> tuple[str, str, int, bool]:
    q = call.q
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    max_keys = _int_param(q, "max-keys", 100, 0, 1000)
    if len(prefix.encode()) > 1023:
        raise invalid_argument("Argument prefix is too long.", "prefix", prefix[:64])
    return prefix, delimiter, max_keys, call.encoding_url()


async def list_objects(call: Call) -> Response:
    prefix, delimiter, max_keys, url = _list_params(call)
    marker = call.q.get("marker", "")
    listing = call.storage.list_objects(call.bkt.name, prefix, delimiter, marker, max_keys)
    inner = X.els(
        [
            ("Name", call.bkt.name),
            ("Prefix", _enc(prefix, url)),
            ("Marker", _enc(marker, url)),
            ("MaxKeys", max_keys),
            ("Delimiter", _enc(delimiter, url)),
        ]
    )
    if url:
        inner += X.el("EncodingType", "url")
    inner += X.el("IsTruncated", str(listing.truncated).lower())
    if listing.truncated:
        inner += X.el("NextMarker", _enc(listing.next_marker, url))
    inner += _contents(listing, url, call.bkt.owner_id)
    return xml("ListBucketResult", inner)


def _encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from exc


async def list_objects_v2(call: Call) -> Response:
    prefix, delimiter, max_keys, url = _list_params(call)
    q = call.q
    token = q.get("continuation-token")
    start_after = q.get("start-after", "")
    after = _decode_token(token) if token else start_after
    if token and start_after > after:
        after = start_after
    listing = call.storage.list_objects(call.bkt.name, prefix, delimiter, after, max_keys)
    fetch_owner = q.get("fetch-owner", "").lower() == "true"
    inner = X.els([("Name", call.bkt.name), ("Prefix", _enc(prefix, url))])
    if start_after:
        inner += X.el("StartAfter", _enc(start_after, url))
    if token:
        inner += X.el("ContinuationToken", token)
    inner += X.els([("MaxKeys", max_keys), ("Delimiter", _enc(delimiter, url))])
    if url:
        inner += X.el("EncodingType", "url")
    inner += X.el("IsTruncated", str(listing.truncated).lower())
    if listing.truncated:
        inner += X.el("NextContinuationToken", _encode_token(listing.next_marker))
    inner += X.el("KeyCount", len(listing.objects) + len(listing.prefixes))
    inner += _contents(listing, url, call.bkt.owner_id if fetch_owner else None)
    return xml("ListBucketResult", inner)


# ====================================================================== objects
def _check_conditions(call: Call, o: ObjectMeta) -> None:
    h = call.h
    etag = o.etag.upper()
    mtime = o.mtime_ms // 1000

    def matches(header: str) -> bool:
        tags = {t.strip().strip('"').upper() for t in header.split(",")}
        return "*" in tags or etag in tags

    if "if-match" in h and not matches(h["if-match"]):
        raise OSSError(
            412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
        )
    if "if-unmodified-since" in h and "if-match" not in h:
        when = parse_http_date(h["if-unmodified-since"])
        if when is not None and mtime > when:
            raise OSSError(
                412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
            )
    if "if-none-match" in h and matches(h["if-none-match"]):
        raise _NotModified(o)
    if "if-modified-since" in h and "if-none-match" not in h:
        when = parse_http_date(h["if-modified-since"])
        if when is not None and mtime <= when:
            raise _NotModified(o)


class _NotModified(Exception):
    def __init__(self, o: ObjectMeta) -> None:
        super().__init__("not modified")
        self.obj = o


def _not_modified(o: ObjectMeta) -> Response:
    return Response(
        304,
        [("ETag", quoted_etag(o.etag)), ("Last-Modified", object_headers(o)[2][1])],
        b"",
        content_length=0,
        head=True,
    )


def _authorize_object_read(call: Call, o: ObjectMeta) -> None:
    if call.principal is not None:
        return
    acl = o.acl if o.acl != "default" else call.bkt.acl
    if acl not in ("public-read", "public-read-write"):
        raise access_denied("You have no right to access this object because of bucket acl.")


def _overrides(call: Call, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    wanted = {name: call.q[p] for p, name in _RESPONSE_OVERRIDES.items() if p in call.q}
    if not wanted:
        return headers
    lowered = {n.lower() for n in wanted}
    return [(k, v) for k, v in headers if k.lower() not in lowered] + list(wanted.items())


async def get_object(call: Call) -> Response:
    o, body = call.storage.head_with_body(call.bkt.name, call.key)
    _authorize_object_read(call, o)
    try:
        _check_conditions(call, o)
    except _NotModified:
        return _not_modified(o)
    standard = call.h.get("x-oss-range-behavior", "").lower() == "standard"
    rng = parse_range(call.h.get("range"), o.size, standard)
    headers = _overrides(call, object_headers(o))
    if rng is None:
        start, length, status = 0, o.size, 200
    else:
        start, length, status = rng[0], rng[1] - rng[0] + 1, 206
        headers.append(("Content-Range", f"bytes {rng[0]}-{rng[1]}/{o.size}"))
    if body is not None:
        return Response(status, headers, body if length == o.size else body[start : start + length])
    if length <= _SMALL_GET:
        return Response(status, headers, call.storage.read_small(o.extents, start, length))
    return Response(status, headers, call.storage.read(o.extents, start, length), content_length=length)


async def head_object(call: Call) -> Response:
    o = call.storage.head(call.bkt.name, call.key)
    _authorize_object_read(call, o)
    try:
        _check_conditions(call, o)
    except _NotModified:
        return _not_modified(o)
    return Response(200, object_headers(o), b"", content_length=o.size, head=True)


async def get_object_meta(call: Call) -> Response:
    o = call.storage.head(call.bkt.name, call.key)
    _authorize_object_read(call, o)
    headers = [
        ("ETag", quoted_etag(o.etag)),
        ("Last-Modified", object_headers(o)[2][1]),
        ("x-oss-hash-crc64ecma", str(o.crc64)),
    ]
    return Response(200, headers, b"", content_length=o.size, head=True)


async def put_object(call: Call) -> Response:
    if "x-oss-copy-source" in call.h:
        return await copy_object(call)
    key = call.key
    validate_object_key(key)
    attrs = write_attrs(call, key)
    wants_callback = _callback_requested(call)
    o = await call.storage.put_object(
        call.bkt,
        key,
        call.http.body.read_chunk,
        call.content_length(),
        call.h.get("content-md5"),
        attrs,
        _forbid_overwrite(call),
    )
    if wants_callback:
        raise _callback_not_sent(_write_result_headers(o))
    return Response(200, _write_result_headers(o))


def _callback_requested(call: Call) -> bool:
    """Checks an upload callback's form before the upload; see _callback_not_sent for the outcome."""
    raw = call.h.get("x-oss-callback") or call.q.get("callback")
    if raw is None:
        return False
    try:
        config = json.loads(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise invalid_argument("The callback configuration is not json format.", "callback", "") from exc
    if not isinstance(config, dict) or not config.get("callbackUrl"):
        raise invalid_argument("The callback configuration lacks callbackUrl.", "callback", "")
    return True


def _callback_not_sent(result_headers: list[tuple[str, str]]) -> OSSError:
    """ossbox never calls out to a callback server. OSS answers a failed callback with 203 CallbackFailed
    after storing the object, and so does ossbox: the object is there, the callback was not sent."""
    return OSSError(
        203,
        "CallbackFailed",
        "The object is stored, but ossbox does not deliver upload callbacks.",
        headers=dict(result_headers),
    )


def _write_result_headers(o: ObjectMeta) -> list[tuple[str, str]]:
    headers = [("ETag", quoted_etag(o.etag)), ("x-oss-hash-crc64ecma", str(o.crc64))]
    if "-" not in o.etag and o.object_type == "Normal":
        headers.append(("Content-MD5", base64.b64encode(bytes.fromhex(o.etag)).decode()))
    return headers


def _copy_source(call: Call) -> tuple[str, str]:
    raw = call.h["x-oss-copy-source"]
    path = unquote(raw.partition("?")[0])
    if path.startswith("/"):
        path = path[1:]
    bucket, sep, key = path.partition("/")
    if not sep or not bucket or not key:
        raise invalid_argument(
            "Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.",
            "x-oss-copy-source",
            raw,
        )
    if "?" in raw:
        version = raw.partition("?")[2]
        if version and version != "versionId=null":
            raise OSSError(501, "NotImplemented", "Copying a specific version is not supported yet.")
    return bucket, key


def _source_conditions(call: Call) -> Callable[[ObjectMeta], None]:
    h = call.h

    def check(src: ObjectMeta) -> None:
        etag = src.etag.upper()
        mtime = src.mtime_ms // 1000
        fail = OSSError(
            412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
        )
        if "x-oss-copy-source-if-match" in h and h["x-oss-copy-source-if-match"].strip('"').upper() != etag:
            raise fail
        if (
            "x-oss-copy-source-if-none-match" in h
            and h["x-oss-copy-source-if-none-match"].strip('"').upper() == etag
        ):
            raise OSSError(304, "NotModified", "The source object has not been modified.")
        since = h.get("x-oss-copy-source-if-unmodified-since")
        if since and (when := parse_http_date(since)) is not None and mtime > when:
            raise fail
        since = h.get("x-oss-copy-source-if-modified-since")
        if since and (when := parse_http_date(since)) is not None and mtime <= when:
            raise OSSError(304, "NotModified", "The source object has not been modified.")
        if call.principal is None:
            raise access_denied()

    return check


async def copy_object(call: Call) -> Response:
    key = call.key
    validate_object_key(key)
    src_bucket, src_key = _copy_source(call)
    directive = call.h.get("x-oss-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Invalid metadata directive.", "x-oss-metadata-directive", directive)
    attrs = write_attrs(call, key) if directive == "REPLACE" else None
    storage = call.storage
    if src_bucket != call.bkt.name and storage.meta.get_bucket(src_bucket) is None:
        from ossbox.core.errors import no_such_bucket

        raise no_such_bucket(src_bucket)
    if src_bucket == call.bkt.name and src_key == key and attrs is not None:
        o = await storage.update_meta(call.bkt.name, key, attrs, keep_acl="x-oss-object-acl" not in call.h)
    else:
        acl_override = _acl_from(call.h, OBJECT_ACLS)
        if attrs is None and (acl_override or "x-oss-storage-class" in call.h):
            src = storage.meta.get_object(src_bucket, src_key)
            if src is None:
                raise no_such_key(src_key)
            attrs = WriteAttrs(
                src.content_type,
                src.headers,
                src.user_meta,
                acl_override or "default",
                _storage_class(call.h),
            )
        o = await storage.copy_object(
            src_bucket, src_key, call.bkt, key, attrs, _source_conditions(call), _forbid_overwrite(call)
        )
    inner = X.els([("LastModified", iso8601(o.mtime_ms)), ("ETag", quoted_etag(o.etag))])
    return xml(
        "CopyObjectResult",
        inner,
        headers=[("ETag", quoted_etag(o.etag)), ("x-oss-hash-crc64ecma", str(o.crc64))],
    )


async def append_object(call: Call) -> Response:
    key = call.key
    validate_object_key(key)
    raw = call.q.get("position", "")
    if not raw.isdigit():
        raise invalid_argument("Position is not a valid number.", "position", raw)
    o = await call.storage.append_object(
        call.bkt,
        key,
        int(raw),
        call.http.body.read_chunk,
        call.content_length(),
        call.h.get("content-md5"),
        write_attrs(call, key),
    )
    return Response(
        200,
        [
            ("ETag", quoted_etag(o.etag)),
            ("x-oss-next-append-position", str(o.size)),
            ("x-oss-hash-crc64ecma", str(o.crc64)),
        ],
    )


async def delete_object(call: Call) -> Response:
    validate_object_key(call.key)
    await call.storage.delete_object(call.bkt.name, call.key)
    return Response(204)


async def delete_multiple(call: Call) -> Response:
    if "content-md5" not in call.h:
        raise OSSError(
            400, "MissingArgument", "Missing Some Required Arguments.", {"ArgumentName": "Content-MD5"}
        )
    url = call.encoding_url()
    doc = await call.xml_body("Delete")
    quiet = (X.child_text(doc, "Quiet") or "false").strip().lower() == "true"
    keys = []
    for obj in doc.findall("Object"):
        key = X.child_text(obj, "Key")
        if key is None:
            raise malformed_xml()
        if url:
            key = unquote(key)
        validate_object_key(key)
        keys.append(key)
    if not keys or len(keys) > 1000:
        raise malformed_xml("A Delete request must name between 1 and 1000 objects.")
    await call.storage.delete_objects(call.bkt.name, keys)
    inner = X.el("EncodingType", "url") if url else ""
    if not quiet:
        inner += "".join(f"<Deleted><Key>{X.esc(_enc(k, url))}</Key></Deleted>" for k in keys)
    return xml("DeleteResult", inner)


async def get_object_acl(call: Call) -> Response:
    o = call.storage.head(call.bkt.name, call.key)
    return xml("AccessControlPolicy", _owner(call.bkt.owner_id) + _grant(o.acl))


async def put_object_acl(call: Call) -> Response:
    acl = _acl_from(call.h, OBJECT_ACLS)
    if acl is None:
        raise OSSError(400, "MissingArgument", "Missing x-oss-object-acl header.")
    await call.storage.set_object_acl(call.bkt.name, call.key, acl)
    return Response(200)


# ====================================================================== multipart
async def initiate_upload(call: Call) -> Response:
    key = call.key
    validate_object_key(key)
    url = call.encoding_url()
    if _forbid_overwrite(call) and call.storage.meta.get_object(call.bkt.name, key) is not None:
        raise OSSError(409, "FileAlreadyExists", "The object you specified already exists.")
    u = await call.storage.initiate_upload(call.bkt, key, write_attrs(call, key))
    inner = X.els([("Bucket", u.bucket), ("Key", _enc(u.key, url)), ("UploadId", u.upload_id)])
    if url:
        inner += X.el("EncodingType", "url")
    return xml("InitiateMultipartUploadResult", inner)


def _part_number(call: Call) -> int:
    return _int_param(call.q, "partNumber", -1, 1, 10000) if call.q.get("partNumber") else _missing_part()


def _missing_part() -> int:
    raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive.", "partNumber", "")


async def upload_part(call: Call) -> Response:
    number = _part_number(call)
    upload_id = call.q["uploadId"]
    if "x-oss-copy-source" in call.h:
        return await upload_part_copy(call, number, upload_id)
    p = await call.storage.upload_part(
        call.bkt.name,
        call.key,
        upload_id,
        number,
        call.http.body.read_chunk,
        call.content_length(),
        call.h.get("content-md5"),
    )
    return Response(
        200,
        [
            ("ETag", quoted_etag(p.etag)),
            ("x-oss-hash-crc64ecma", str(p.crc64)),
            ("Content-MD5", base64.b64encode(bytes.fromhex(p.etag)).decode()),
        ],
    )


def _copy_range(value: str | None) -> tuple[int, int | None] | None:
    """`bytes=first-last` or `bytes=first-` (to the end of the source)."""
    if not value:
        return None
    spec = value.strip()
    if spec.startswith("bytes="):
        first, dash, last = spec[6:].partition("-")
        first, last = first.strip(), last.strip()
        if dash and first.isdigit() and (last.isdigit() or not last):
            return int(first), int(last) if last else None
    raise invalid_argument("The x-oss-copy-source-range is invalid.", "x-oss-copy-source-range", value)


async def upload_part_copy(call: Call, number: int, upload_id: str) -> Response:
    src_bucket, src_key = _copy_source(call)
    p = await call.storage.upload_part_copy(
        call.bkt.name,
        call.key,
        upload_id,
        number,
        src_bucket,
        src_key,
        _copy_range(call.h.get("x-oss-copy-source-range")),
        _source_conditions(call),
    )
    inner = X.els([("LastModified", iso8601(p.mtime_ms)), ("ETag", quoted_etag(p.etag))])
    return xml(
        "CopyPartResult",
        inner,
        headers=[("ETag", quoted_etag(p.etag)), ("x-oss-hash-crc64ecma", str(p.crc64))],
    )


async def complete_upload(call: Call) -> Response:
    upload_id = call.q["uploadId"]
    url = call.encoding_url()
    complete_all = call.h.get("x-oss-complete-all", "").lower() == "yes"
    wanted: list[tuple[int, str]] | None = None
    if complete_all:
        body = await call.http.body.read_all(_MAX_XML_BODY)
        if body.strip():
            raise invalid_argument(
                "Should not speficy both complete all header and body.", "x-oss-complete-all", "yes"
            )
    else:
        doc = await call.xml_body("CompleteMultipartUpload")
        wanted = []
        for part in doc.findall("Part"):
            number = X.child_text(part, "PartNumber")
            etag = X.child_text(part, "ETag")
            if number is None or etag is None or not number.strip().isdigit():
                raise malformed_xml()
            wanted.append((int(number), etag.strip()))
        if not wanted:
            raise malformed_xml("The CompleteMultipartUpload body lists no parts.")
    wants_callback = _callback_requested(call)  # a malformed callback fails before completing
    acl = _acl_from(call.h, OBJECT_ACLS)
    o = await call.storage.complete_upload(
        call.bkt,
        call.key,
        upload_id,
        wanted,
        WriteAttrs(acl=acl) if acl else None,
        _forbid_overwrite(call),
    )
    host = call.req.host
    inner = ""
    if url:
        inner += X.el("EncodingType", "url")
    inner += X.els(
        [
            ("Location", f"http://{host}/{call.bkt.name}/{_enc(o.key, True)}"),
            ("Bucket", o.bucket),
            ("Key", _enc(o.key, url)),
            ("ETag", quoted_etag(o.etag)),
        ]
    )
    result_headers = [("ETag", quoted_etag(o.etag)), ("x-oss-hash-crc64ecma", str(o.crc64))]
    if wants_callback:
        raise _callback_not_sent(result_headers)
    return xml("CompleteMultipartUploadResult", inner, headers=result_headers)


async def abort_upload(call: Call) -> Response:
    await call.storage.abort_upload(call.bkt.name, call.key, call.q["uploadId"])
    return Response(204)


async def list_parts(call: Call) -> Response:
    upload_id = call.q["uploadId"]
    url = call.encoding_url()
    call.storage.upload(call.bkt.name, call.key, upload_id)
    max_parts = _int_param(call.q, "max-parts", 1000, 1, 1000)
    marker = _int_param(call.q, "part-number-marker", 0, 0, 10000)
    parts = call.storage.meta.list_parts(upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    inner = X.els(
        [
            ("Bucket", call.bkt.name),
            ("Key", _enc(call.key, url)),
            ("UploadId", upload_id),
            ("PartNumberMarker", marker),
            ("NextPartNumberMarker", parts[-1].part_number if parts else marker),
            ("MaxParts", max_parts),
            ("IsTruncated", str(truncated).lower()),
        ]
    )
    if url:
        inner += X.el("EncodingType", "url")
    inner += "".join(
        "<Part>"
        + X.els(
            [
                ("PartNumber", p.part_number),
                ("LastModified", iso8601(p.mtime_ms)),
                ("ETag", quoted_etag(p.etag)),
                ("HashCrc64ecma", p.crc64),
                ("Size", p.size),
            ]
        )
        + "</Part>"
        for p in parts
    )
    return xml("ListPartsResult", inner)


async def list_uploads(call: Call) -> Response:
    q = call.q
    url = call.encoding_url()
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    upload_id_marker = q.get("upload-id-marker", "")
    max_uploads = _int_param(q, "max-uploads", 1000, 1, 1000)
    uploads, prefixes, truncated, next_key, next_id = call.storage.list_uploads(
        call.bkt.name, prefix, delimiter, key_marker, upload_id_marker, max_uploads
    )
    inner = X.els(
        [
            ("Bucket", call.bkt.name),
            ("KeyMarker", _enc(key_marker, url)),
            ("UploadIdMarker", upload_id_marker),
            ("NextKeyMarker", _enc(next_key, url)),
            ("NextUploadIdMarker", next_id),
            ("Delimiter", _enc(delimiter, url)),
            ("Prefix", _enc(prefix, url)),
            ("MaxUploads", max_uploads),
            ("IsTruncated", str(truncated).lower()),
        ]
    )
    if url:
        inner += X.el("EncodingType", "url")
    inner += "".join(
        "<Upload>"
        + X.els(
            [("Key", _enc(u.key, url)), ("UploadId", u.upload_id), ("Initiated", iso8601(u.initiated_ms))]
        )
        + "</Upload>"
        for u in uploads
    )
    inner += "".join(
        f"<CommonPrefixes><Prefix>{X.esc(_enc(p, url))}</Prefix></CommonPrefixes>" for p in prefixes
    )
    return xml("ListMultipartUploadsResult", inner)


HANDLERS: dict[str, Handler] = {
    "ListBuckets": list_buckets,
    "PutBucket": put_bucket,
    "DeleteBucket": delete_bucket,
    "HeadBucket": head_bucket,
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetBucketInfo": get_bucket_info,
    "GetBucketLocation": get_bucket_location,
    "GetBucketStat": get_bucket_stat,
    "ListLiveChannel": list_live_channels,
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
    "GetObject": get_object,
    "HeadObject": head_object,
    "GetObjectMeta": get_object_meta,
    "PutObject": put_object,
    "AppendObject": append_object,
    "DeleteObject": delete_object,
    "DeleteMultipleObjects": delete_multiple,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
    "InitiateMultipartUpload": initiate_upload,
    "UploadPart": upload_part,
    "CompleteMultipartUpload": complete_upload,
    "AbortMultipartUpload": abort_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_uploads,
}
