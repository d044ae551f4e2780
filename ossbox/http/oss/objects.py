"""Object operations: read, write, copy, append, delete, ACL."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import unquote

from ossbox.core.errors import OSSError, access_denied, invalid_argument, malformed_xml, not_implemented
from ossbox.core.names import validate_object_key
from ossbox.core.versions import wire_version_id
from ossbox.http import request_view
from ossbox.http.oss import callback, compression, image_styles
from ossbox.http.oss.common import (
    OBJECT_ACLS,
    Call,
    acl_from,
    enc,
    grant_xml,
    owner_xml,
    storage_class_from,
    write_attrs,
    write_condition,
)
from ossbox.http.responses import object_headers, quoted_etag, restore_header, xml
from ossbox.http.server import Response
from ossbox.http.symlink_reads import through_link
from ossbox.meta.types import ObjectMeta
from ossbox.protocol import object_tags, sse
from ossbox.protocol import xml as X
from ossbox.protocol.ranges import parse_range
from ossbox.protocol.request import Access
from ossbox.protocol.times import http_date, iso8601, parse_http_date
from ossbox.service import images
from ossbox.service.archive import FROZEN_CLASSES
from ossbox.service.storage import SYMLINK, WriteAttrs
from ossbox.service.versioning import Deleted

_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
_SMALL_GET = 256 << 10


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
    call.check_object_read(call.bkt, o, call.grant)


def _overrides(call: Call, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    wanted = {name: call.q[p] for p, name in _RESPONSE_OVERRIDES.items() if p in call.q}
    if not wanted:
        return headers
    lowered = {n.lower() for n in wanted}
    return [(k, v) for k, v in headers if k.lower() not in lowered] + list(wanted.items())


def read_target(call: Call, with_body: bool) -> tuple[ObjectMeta, bytes | None]:
    return request_view.read_target(call, with_body, "x-oss-")


def version_headers(call: Call, o: ObjectMeta) -> list[tuple[str, str]]:
    """x-oss-version-id (in buckets whose versioning was ever configured) and x-oss-restore."""
    out = []
    if call.bkt.versioning:
        out.append(("x-oss-version-id", wire_version_id(o.version_id)))
    if o.restore is not None:
        value = restore_header(o.restore, call.storage.now_ms())
        if value:
            out.append(("x-oss-restore", value))
    return out


async def get_object(call: Call) -> Response:
    bucket = call.bkt
    if bucket.versioning or "versionId" in call.req.query:
        o, body = read_target(call, True)
    else:
        o, body = call.storage.head_with_body(bucket.name, call.key)
    _authorize_object_read(call, o)
    if o.object_type == SYMLINK:
        o = through_link(call, o, reading=True)
    elif o.storage_class in FROZEN_CLASSES:
        call.storage.check_readable(o)
    try:
        _check_conditions(call, o)
    except _NotModified:
        return _not_modified(o)
    if "x-oss-process" in call.q:
        return await _processed(call, o, body)
    standard = call.h.get("x-oss-range-behavior", "").lower() == "standard"
    rng = parse_range(call.h.get("range"), o.size, standard)
    headers = _overrides(call, object_headers(o))
    if bucket.versioning or o.restore is not None:
        headers += version_headers(call, o)
    if rng is None:
        start, length, status = 0, o.size, 200
    else:
        start, length, status = rng[0], rng[1] - rng[0] + 1, 206
        headers.append(("Content-Range", f"bytes {rng[0]}-{rng[1]}/{o.size}"))
    if rng is None and compression.applies(call.h, o):
        data = compression.one_chunk(body) if body is not None else call.storage.read(o, 0, o.size)
        gz = compression.gzipped(data, call.storage.executor)
        return Response(200, compression.response_headers(headers), gz, content_length=None)
    if body is not None:
        return Response(status, headers, body if length == o.size else body[start : start + length])
    if length <= _SMALL_GET:
        return Response(status, headers, await call.storage.read_small(o, start, length))
    return Response(status, headers, call.storage.read(o, start, length), content_length=length)


async def _processed(call: Call, o: ObjectMeta, body: bytes | None) -> Response:
    """GET with x-oss-process=image/... (or style/<name>): the object's image transformed
    (ossbox/service/images.py)."""
    spec = image_styles.resolve(call, call.q["x-oss-process"])
    if not images.is_image_process(spec):
        raise not_implemented(f"x-oss-process {spec.split('/', 1)[0]!r} (only image/ is served)")
    if o.size > images.MAX_SOURCE_BYTES:
        raise invalid_argument("The image is larger than 20 MB.", "x-oss-process", spec)
    data = body if body is not None else await call.storage.read_small(o, 0, o.size)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(call.storage.executor, images.process, data, spec, o.size)
    headers = [("Content-Type", result.content_type), ("Last-Modified", http_date(o.mtime_ms / 1000))]
    return Response(200, headers, result.body)


async def process_object(call: Call) -> Response:
    """POST ?x-oss-process: process the image and save the result (sys/saveas) as an object."""
    o, body = read_target(call, True)
    call.check_object_read(call.bkt, o, call.grant)
    if o.size > images.MAX_SOURCE_BYTES:
        raise invalid_argument("The image is larger than 20 MB.", "x-oss-process", "")
    data = body if body is not None else await call.storage.read_small(o, 0, o.size)
    return await image_styles.process_object(call, o, data)


async def head_object(call: Call) -> Response:
    o, _ = read_target(call, False)
    _authorize_object_read(call, o)
    if o.object_type == SYMLINK:
        o = through_link(call, o, reading=False)
    try:
        _check_conditions(call, o)
    except _NotModified:
        return _not_modified(o)
    headers = object_headers(o)
    if call.bkt.versioning or o.restore is not None:
        headers += version_headers(call, o)
    return Response(200, headers, b"", content_length=o.size, head=True)


async def get_object_meta(call: Call) -> Response:
    o, _ = read_target(call, False)
    _authorize_object_read(call, o)
    headers = [
        ("ETag", quoted_etag(o.etag)),
        ("Last-Modified", object_headers(o)[2][1]),
        ("x-oss-hash-crc64ecma", str(o.crc64)),
    ]
    if call.bkt.versioning:
        headers.append(("x-oss-version-id", wire_version_id(o.version_id)))
    return Response(200, headers, b"", content_length=o.size, head=True)


async def put_object(call: Call) -> Response:
    if "x-oss-copy-source" in call.h:
        return await copy_object(call)
    key = call.key
    validate_object_key(key)
    attrs = write_attrs(call, key)
    cb = callback.requested(call)
    o = await call.storage.put_object(
        call.bkt,
        key,
        call.http.body.read_chunk,
        call.content_length(),
        call.h.get("content-md5"),
        attrs,
        write_condition(call),
    )
    headers = _write_result_headers(o)
    if call.bkt.versioning:
        headers.append(("x-oss-version-id", wire_version_id(o.version_id)))
    if cb is not None:
        return await callback.answer(call, cb, o, "PutObject", headers)
    return Response(200, headers)


def _write_result_headers(o: ObjectMeta) -> list[tuple[str, str]]:
    headers = [("ETag", quoted_etag(o.etag)), ("x-oss-hash-crc64ecma", str(o.crc64))]
    if "-" not in o.etag and o.object_type == "Normal":
        headers.append(("Content-MD5", base64.b64encode(bytes.fromhex(o.etag)).decode()))
    if o.sse:
        headers += sse.response_headers(o.sse)
    return headers


def copy_source(call: Call) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) from x-oss-copy-source."""
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
    version_id = None
    if "?" in raw:
        name, _, value = raw.partition("?")[2].partition("=")
        if name != "versionId":
            raise invalid_argument("The copy source may only name a versionId.", "x-oss-copy-source", raw)
        version_id = unquote(value)
    return bucket, key, version_id


def source_conditions(call: Call) -> Callable[[ObjectMeta], None]:
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
            raise access_denied("Anonymous users cannot copy objects.")
        src_bucket = call.storage.bucket(src.bucket)
        grant = call.authorize(Access.OBJECT_READ, "oss:GetObject", src_bucket, src.key)
        call.check_object_read(src_bucket, src, grant)

    return check


async def copy_object(call: Call) -> Response:
    key = call.key
    validate_object_key(key)
    src_bucket, src_key, src_version = copy_source(call)
    directive = call.h.get("x-oss-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Invalid metadata directive.", "x-oss-metadata-directive", directive)
    tag_directive = call.h.get("x-oss-tagging-directive", "COPY").upper()
    if tag_directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Invalid tagging directive.", "x-oss-tagging-directive", tag_directive)
    # REPLACE takes x-oss-tagging (none when absent); COPY keeps the source's tags.
    new_tags = (
        object_tags.from_oss_header(call.h.get("x-oss-tagging", "")) if tag_directive == "REPLACE" else None
    )
    attrs = write_attrs(call, key) if directive == "REPLACE" else None
    if attrs is not None:
        attrs = replace(attrs, tagging=new_tags)
    # The copy is encrypted as this request (or else the destination bucket's default) says, whatever the
    # source's encryption is.
    dst_sse = sse.from_headers(call.h)
    storage = call.storage
    if src_bucket != call.bkt.name and storage.meta.get_bucket(src_bucket) is None:
        from ossbox.core.errors import no_such_bucket

        raise no_such_bucket(src_bucket)
    src: ObjectMeta | None = None
    if src_bucket == call.bkt.name and src_key == key and attrs is not None and src_version is None:
        o = await storage.update_meta(
            call.bkt.name, key, attrs, keep_acl="x-oss-object-acl" not in call.h, dst_sse=dst_sse
        )
    else:
        acl_override = acl_from(call.h, OBJECT_ACLS)
        if attrs is None and (acl_override or "x-oss-storage-class" in call.h or new_tags is not None):
            src = storage.object_or_version(src_bucket, src_key, src_version, False)
            attrs = WriteAttrs(
                src.content_type,
                src.headers,
                src.user_meta,
                acl_override or "default",
                storage_class_from(call.h),
                new_tags,
            )
        o, src = await storage.copy_object(
            src_bucket,
            src_key,
            call.bkt,
            key,
            attrs,
            source_conditions(call),
            write_condition(call),
            src_version,
            dst_sse,
        )
    inner = X.els([("LastModified", iso8601(o.mtime_ms)), ("ETag", quoted_etag(o.etag))])
    headers = [("ETag", quoted_etag(o.etag)), ("x-oss-hash-crc64ecma", str(o.crc64))]
    headers += sse.response_headers(o.sse)
    if call.bkt.versioning:
        headers.append(("x-oss-version-id", wire_version_id(o.version_id)))
    if src is not None and src_version is not None:
        headers.append(("x-oss-copy-source-version-id", wire_version_id(src.version_id)))
    return xml("CopyObjectResult", inner, headers=headers)


async def append_object(call: Call) -> Response:
    key = call.key
    validate_object_key(key)
    raw = call.q.get("position", "")
    if not raw.isdigit():
        raise invalid_argument("Position is not a valid number.", "position", raw)
    position = int(raw)
    o = await call.storage.append_object(
        call.bkt,
        key,
        position,
        call.http.body.read_chunk,
        call.content_length(),
        call.h.get("content-md5"),
        write_attrs(call, key, with_tags=position == 0),
    )
    headers = [
        ("ETag", quoted_etag(o.etag)),
        ("x-oss-next-append-position", str(o.size)),
        ("x-oss-hash-crc64ecma", str(o.crc64)),
        *sse.response_headers(o.sse),
    ]
    if call.bkt.versioning:
        headers.append(("x-oss-version-id", wire_version_id(o.version_id)))
    return Response(200, headers)


async def delete_object(call: Call) -> Response:
    validate_object_key(call.key)
    done = await call.storage.delete_object(call.bkt.name, call.key, call.q.get("versionId"))
    headers = []
    if done.version_id:
        headers.append(("x-oss-version-id", done.version_id))
    if done.delete_marker:
        headers.append(("x-oss-delete-marker", "true"))
    return Response(204, headers)


async def delete_multiple(call: Call) -> Response:
    if "content-md5" not in call.h:
        raise OSSError(
            400, "MissingArgument", "Missing Some Required Arguments.", {"ArgumentName": "Content-MD5"}
        )
    url = call.encoding_url()
    doc = await call.xml_body("Delete")
    quiet = (X.child_text(doc, "Quiet") or "false").strip().lower() == "true"
    targets: list[tuple[str, str | None]] = []
    for obj in doc.findall("Object"):
        key = X.child_text(obj, "Key")
        if key is None:
            raise malformed_xml()
        if url:
            key = unquote(key)
        validate_object_key(key)
        targets.append((key, X.child_text(obj, "VersionId")))
    if not targets or len(targets) > 1000:
        raise malformed_xml("A Delete request must name between 1 and 1000 objects.")
    for key, version in targets:  # all or nothing: one key the caller may not delete refuses the request
        action = "oss:DeleteObjectVersion" if version is not None else "oss:DeleteObject"
        call.authorize(Access.OBJECT_WRITE, action, call.bkt, key)
    results = await call.storage.delete_objects(call.bkt.name, targets)
    inner = X.el("EncodingType", "url") if url else ""
    if not quiet:
        inner += "".join(
            _deleted_xml(key, asked, done, url)
            for (key, asked), done in zip(targets, results, strict=True)
            # Conditional deletes (S3's) and keys under retention fail one by one: OSS lists only the deleted.
            if not isinstance(done, OSSError)
        )
    return xml("DeleteResult", inner)


def _deleted_xml(key: str, asked_version: str | None, done: Deleted, url: bool) -> str:
    out = X.el("Key", enc(key, url))
    if asked_version is not None:
        out += X.el("VersionId", asked_version)
    if done.delete_marker:
        out += X.el("DeleteMarker", "true")
        out += X.el("DeleteMarkerVersionId", done.version_id)
    return f"<Deleted>{out}</Deleted>"


async def get_object_acl(call: Call) -> Response:
    o, _ = read_target(call, False)
    headers = [("x-oss-version-id", wire_version_id(o.version_id))] if call.bkt.versioning else []
    return xml("AccessControlPolicy", owner_xml(call.bkt.owner_id) + grant_xml(o.acl), headers=headers)


async def put_object_acl(call: Call) -> Response:
    acl = acl_from(call.h, OBJECT_ACLS)
    if acl is None:
        raise OSSError(400, "MissingArgument", "Missing x-oss-object-acl header.")
    version_id = await call.storage.set_object_acl(call.bkt.name, call.key, acl, call.q.get("versionId"))
    headers = [("x-oss-version-id", wire_version_id(version_id))] if call.bkt.versioning else []
    return Response(200, headers)
