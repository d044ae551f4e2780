"""S3 object operations: get, head, put, copy, delete, delete-objects, ACL and tagging."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
from collections.abc import Callable
from urllib.parse import unquote

from ossbox.core.errors import OSSError, access_denied, invalid_argument, malformed_xml, no_such_bucket
from ossbox.core.names import validate_object_key
from ossbox.core.versions import wire_version_id
from ossbox.http.s3.common import (
    CANNED_ACLS,
    S3Call,
    acl_from,
    checksum_headers,
    checksum_xml,
    decode_tags,
    encode_tags,
    etag,
    object_headers,
    owner_xml,
    read_target,
    storage_class_from,
    version_headers,
    write_attrs,
    xml,
)
from ossbox.http.server import Response
from ossbox.http.symlink_reads import through_link
from ossbox.meta.types import ObjectMeta
from ossbox.protocol import object_tags, sse
from ossbox.protocol import xml as X
from ossbox.protocol.ranges import parse_range
from ossbox.protocol.request import Access
from ossbox.protocol.times import iso8601, parse_http_date
from ossbox.service.conditions import DeleteCondition, WriteCondition, etag_set, precondition_failed
from ossbox.service.storage import SYMLINK, WriteAttrs
from ossbox.service.versioning import Deleted, check_version_id

_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
_SMALL_GET = 256 << 10


class _NotModified(Exception):
    pass


def _tags_in(header: str) -> set[str]:
    return {t.strip().removeprefix("W/").strip('"').lower() for t in header.split(",")}


def _check_conditions(h: dict[str, str], o: ObjectMeta) -> None:
    """RFC 7232 as S3 applies it; ETags compare in either case (OSS writes them upper-case)."""
    tag = o.etag.lower()
    mtime = o.mtime_ms // 1000
    if "if-match" in h:
        wanted = _tags_in(h["if-match"])
        if "*" not in wanted and tag not in wanted:
            raise precondition_failed()
    elif "if-unmodified-since" in h:
        when = parse_http_date(h["if-unmodified-since"])
        if when is not None and mtime > when:
            raise precondition_failed()
    if "if-none-match" in h:
        wanted = _tags_in(h["if-none-match"])
        if "*" in wanted or tag in wanted:
            raise _NotModified()
    elif "if-modified-since" in h:
        when = parse_http_date(h["if-modified-since"])
        if when is not None and mtime <= when:
            raise _NotModified()


def _not_modified(o: ObjectMeta) -> Response:
    headers = [("ETag", etag(o.etag)), ("Last-Modified", object_headers(o)[2][1])]
    return Response(304, headers, b"", content_length=0, head=True)


def _overrides(call: S3Call, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    wanted = {name: call.q[p] for p, name in _RESPONSE_OVERRIDES.items() if p in call.q}
    if not wanted:
        return headers
    if call.principal is None:
        raise invalid_argument("Request specific response headers cannot be used for anonymous GET requests.")
    lowered = {n.lower() for n in wanted}
    return [(k, v) for k, v in headers if k.lower() not in lowered] + list(wanted.items())


def _wants_checksum(call: S3Call) -> bool:
    return call.h.get("x-amz-checksum-mode", "").upper() == "ENABLED"


def _check_part_number(call: S3Call) -> None:
    if "partNumber" in call.q:
        raise OSSError(
            501, "NotImplemented", "GetObject/HeadObject by partNumber is not implemented by ossbox."
        )


async def get_object(call: S3Call) -> Response:
    _check_part_number(call)
    o, body = read_target(call, with_body=True)
    call.check_object_read(call.bkt, o, call.grant)
    if o.object_type == SYMLINK:
        o, body = through_link(call, o, reading=True), None
    call.storage.check_readable(o)  # an archived object must be restored first (InvalidObjectState)
    try:
        _check_conditions(call.h, o)
    except _NotModified:
        return _not_modified(o)
    rng = parse_range(call.h.get("range"), o.size, True)
    headers = _overrides(call, object_headers(o)) + version_headers(call, o)
    if rng is None:
        start, length, status = 0, o.size, 200
        if o.checksum and _wants_checksum(call):
            headers += checksum_headers(o.checksum)
    else:
        start, length, status = rng[0], rng[1] - rng[0] + 1, 206
        headers.append(("Content-Range", f"bytes {rng[0]}-{rng[1]}/{o.size}"))
    if body is not None:
        return Response(status, headers, body if length == o.size else body[start : start + length])
    if length <= _SMALL_GET:
        return Response(status, headers, await call.storage.read_small(o, start, length))
    return Response(status, headers, call.storage.read(o, start, length), content_length=length)


async def head_object(call: S3Call) -> Response:
    _check_part_number(call)
    o, _ = read_target(call)
    call.check_object_read(call.bkt, o, call.grant)
    if o.object_type == SYMLINK:
        o = through_link(call, o, reading=False)
    try:
        _check_conditions(call.h, o)
    except _NotModified:
        return _not_modified(o)
    headers = object_headers(o) + version_headers(call, o)
    if o.checksum and _wants_checksum(call):
        headers += checksum_headers(o.checksum)
    return Response(200, headers, b"", content_length=o.size, head=True)


def write_condition(call: S3Call) -> WriteCondition:
    """If-Match / If-None-Match on a write (ETags or `*`), checked against the current version."""
    if_match, if_none_match = call.h.get("if-match"), call.h.get("if-none-match")
    return WriteCondition(
        if_match=None if if_match is None else etag_set(if_match),
        if_none_match=None if if_none_match is None else etag_set(if_none_match),
    )


def result_headers(o: ObjectMeta) -> list[tuple[str, str]]:
    return [("ETag", etag(o.etag)), *checksum_headers(o.checksum), *sse.s3_response_headers(o.sse)]


async def put_object(call: S3Call) -> Response:
    if "x-amz-copy-source" in call.h:
        return await copy_object(call)
    key = call.key
    validate_object_key(key)
    attrs = write_attrs(call)
    body = call.body()
    o = await call.storage.put_object(
        call.bkt,
        key,
        body.read_chunk,
        body.content_length,
        call.h.get("content-md5"),
        attrs,
        write_condition(call),
        digest=body if body.wants_digest() else None,
    )
    return Response(200, result_headers(o) + version_headers(call, o))


def copy_source(call: S3Call) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) from x-amz-copy-source."""
    raw = call.h["x-amz-copy-source"]
    path, _, version = raw.partition("?")
    path = unquote(path)
    bucket, sep, key = path.removeprefix("/").partition("/")
    if not sep or not bucket or not key:
        raise invalid_argument("Invalid copy source object key", "x-amz-copy-source", raw)
    version_id = None
    if version:
        name, _, value = version.partition("=")
        if name != "versionId":
            raise invalid_argument("The copy source may only name a versionId.", "x-amz-copy-source", raw)
        version_id = unquote(value)
    return bucket, key, version_id


def source_check(call: S3Call) -> Callable[[ObjectMeta], None]:
    """Preconditions on the copy source and the caller's right to read it."""
    h = call.h

    def check(src: ObjectMeta) -> None:
        tag = src.etag.lower()
        mtime = src.mtime_ms // 1000
        if "x-amz-copy-source-if-match" in h:
            wanted = {t.strip().strip('"').lower() for t in h["x-amz-copy-source-if-match"].split(",")}
            if tag not in wanted and "*" not in wanted:
                raise precondition_failed()
        elif (
            (since := h.get("x-amz-copy-source-if-unmodified-since"))
            and (when := parse_http_date(since)) is not None
            and mtime > when
        ):
            raise precondition_failed()
        if "x-amz-copy-source-if-none-match" in h:
            wanted = {t.strip().strip('"').lower() for t in h["x-amz-copy-source-if-none-match"].split(",")}
            if tag in wanted or "*" in wanted:
                raise precondition_failed()
        elif (
            (since := h.get("x-amz-copy-source-if-modified-since"))
            and (when := parse_http_date(since)) is not None
            and mtime <= when
        ):
            raise precondition_failed()
        if call.principal is None:
            raise access_denied("Anonymous users cannot copy objects.")
        src_bucket = call.storage.bucket(src.bucket)
        grant = call.authorize(Access.OBJECT_READ, "oss:GetObject", src_bucket, src.key)
        call.check_object_read(src_bucket, src, grant)

    return check


async def copy_object(call: S3Call) -> Response:
    key = call.key
    validate_object_key(key)
    src_bucket, src_key, src_version = copy_source(call)
    h = call.h
    directive = h.get("x-amz-metadata-directive", "COPY").upper()
    tag_directive = h.get("x-amz-tagging-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE") or tag_directive not in ("COPY", "REPLACE"):
        raise invalid_argument(
            "Unknown metadata or tagging directive.", "x-amz-metadata-directive", directive
        )
    storage = call.storage
    if src_bucket != call.bkt.name and storage.meta.get_bucket(src_bucket) is None:
        raise no_such_bucket(src_bucket)
    dst_sse = sse.from_s3_headers(h)
    changes = (
        directive == "REPLACE"
        or tag_directive == "REPLACE"
        or "x-amz-storage-class" in h
        or dst_sse is not None
    )
    if src_bucket == call.bkt.name and src_key == key and src_version is None and not changes:
        raise OSSError(
            400,
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing "
            "the object's metadata, storage class, website redirect location or encryption attributes.",
        )
    new_tags = encode_tags(decode_tags(h.get("x-amz-tagging", ""))) if tag_directive == "REPLACE" else None
    attrs: WriteAttrs | None = None
    if directive == "REPLACE":
        attrs = write_attrs(call)
        attrs = WriteAttrs(
            attrs.content_type, attrs.headers, attrs.user_meta, attrs.acl, attrs.storage_class, new_tags
        )
    elif new_tags is not None or "x-amz-storage-class" in h or "x-amz-acl" in h:
        src = storage.object_or_version(src_bucket, src_key, src_version, False)
        attrs = WriteAttrs(
            src.content_type,
            src.headers,
            src.user_meta,
            acl_from(h) or "default",
            storage_class_from(h),
            new_tags,
        )
    source_version = None
    if src_bucket == call.bkt.name and src_key == key and attrs is not None and src_version is None:
        source_check(call)(storage.head(src_bucket, src_key))
        o = await storage.update_meta(
            call.bkt.name, key, attrs, keep_acl="x-amz-acl" not in h, dst_sse=dst_sse
        )
    else:
        o, source_version = await storage.copy_object(
            src_bucket,
            src_key,
            call.bkt,
            key,
            attrs,
            source_check(call),
            write_condition(call),
            src_version,
            dst_sse,
        )
    inner = X.els([("LastModified", iso8601(o.mtime_ms)), ("ETag", etag(o.etag))])
    inner += checksum_xml(o.checksum)
    headers = checksum_headers(o.checksum) + version_headers(call, o) + sse.s3_response_headers(o.sse)
    if source_version is not None and src_version is not None:
        headers.append(("x-amz-copy-source-version-id", wire_version_id(source_version.version_id)))
    return xml("CopyObjectResult", inner, headers=headers)


def _delete_condition(if_match: str | None, mtime: str | None, size: str | None) -> DeleteCondition | None:
    """If-Match / x-amz-if-match-last-modified-time / x-amz-if-match-size (or a DeleteObjects entry's ETag,
    LastModifiedTime, Size)."""
    if if_match is None and mtime is None and size is None:
        return None
    if size is not None and not size.strip().isdigit():
        raise invalid_argument(
            "The size to match must be a non-negative integer.", "x-amz-if-match-size", size
        )
    return DeleteCondition(
        if_match=None if if_match is None else etag_set(if_match),
        last_modified_s=None if mtime is None else _timestamp_s(mtime),
        size=None if size is None else int(size),
    )


def _timestamp_s(text: str) -> int:
    """An HTTP date or an ISO 8601 timestamp, as seconds since the epoch."""
    value = text.strip()
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError):
        pass
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid_argument(
            "The time to match is not a valid date.", "x-amz-if-match-last-modified-time", text
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp())


async def delete_object(call: S3Call) -> Response:
    validate_object_key(call.key)
    h = call.h
    condition = _delete_condition(
        h.get("if-match"), h.get("x-amz-if-match-last-modified-time"), h.get("x-amz-if-match-size")
    )
    done = await call.storage.delete_object(call.bkt.name, call.key, call.q.get("versionId"), condition)
    headers = []
    if done.version_id:
        headers.append(("x-amz-version-id", done.version_id))
    if done.delete_marker:
        headers.append(("x-amz-delete-marker", "true"))
    return Response(204, headers)


async def delete_objects(call: S3Call) -> Response:
    doc = await call.xml_body("Delete")
    assert doc is not None
    quiet = (X.child_text(doc, "Quiet") or "false").strip().lower() == "true"
    targets: list[tuple[str, str | None]] = []
    conditions: dict[tuple[str, str | None], DeleteCondition | None] = {}
    for obj in doc.findall("Object"):
        key = X.child_text(obj, "Key")
        if key is None:
            raise malformed_xml()
        target = (key, X.child_text(obj, "VersionId"))
        targets.append(target)
        conditions[target] = _delete_condition(
            X.child_text(obj, "ETag"), X.child_text(obj, "LastModifiedTime"), X.child_text(obj, "Size")
        )
    if not targets or len(targets) > 1000:
        raise malformed_xml("A Delete request must name between 1 and 1000 objects.")
    allowed: list[tuple[str, str | None]] = []
    errors: list[tuple[str, str | None, str, str]] = []
    for key, version in targets:
        try:
            validate_object_key(key)
            if version is not None:
                check_version_id(version)
            action = "oss:DeleteObjectVersion" if version is not None else "oss:DeleteObject"
            call.authorize(Access.OBJECT_WRITE, action, call.bkt, key)
        except OSSError as exc:
            errors.append((key, version, exc.code, exc.message))
            continue
        allowed.append((key, version))
    checks = [conditions[t] for t in allowed]
    results = await call.storage.delete_objects(call.bkt.name, allowed, checks) if allowed else []
    inner = ""
    for (key, version), done in zip(allowed, results, strict=True):
        if isinstance(done, OSSError):
            errors.append((key, version, done.code, done.message))
        elif not quiet:
            inner += _deleted_xml(key, version, done)
    for key, version, code, message in errors:
        fields = [("Key", key), *([("VersionId", version)] if version is not None else []), ("Code", code)]
        inner += f"<Error>{X.els([*fields, ('Message', message)])}</Error>"
    return xml("DeleteResult", inner)


def _deleted_xml(key: str, asked_version: str | None, done: Deleted) -> str:
    out = X.el("Key", key)
    if asked_version is not None:
        out += X.el("VersionId", asked_version)
    if done.delete_marker:
        out += X.el("DeleteMarker", "true") + X.el("DeleteMarkerVersionId", done.version_id)
    return f"<Deleted>{out}</Deleted>"


# -- ACL ---------------------------------------------------------------------------------------------------
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def acl_xml(owner_id: str, acl: str) -> str:
    def grant(grantee: str, permission: str) -> str:
        return f"<Grant>{grantee}<Permission>{permission}</Permission></Grant>"

    owner = (
        '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
        f"<ID>{X.esc(owner_id)}</ID><DisplayName>{X.esc(owner_id)}</DisplayName></Grantee>"
    )
    everyone = (
        '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">'
        f"<URI>{_ALL_USERS}</URI></Grantee>"
    )
    grants = grant(owner, "FULL_CONTROL")
    if acl in ("public-read", "public-read-write"):
        grants += grant(everyone, "READ")
    if acl == "public-read-write":
        grants += grant(everyone, "WRITE")
    return owner_xml(owner_id) + f"<AccessControlList>{grants}</AccessControlList>"


async def acl_from_request(call: S3Call) -> str:
    """A canned ACL from x-amz-acl, or the canned ACL an AccessControlPolicy body amounts to."""
    canned = acl_from(call.h)
    if canned is not None:
        return canned
    doc = await call.xml_body("AccessControlPolicy", required=False)
    if doc is None:
        raise OSSError(400, "MissingSecurityHeader", "Your request was missing a required header: x-amz-acl")
    public = set()
    for g in doc.iter("Grant"):
        grantee = g.find("Grantee")
        uri = X.child_text(grantee, "URI") if grantee is not None else None
        permission = X.child_text(g, "Permission") or ""
        if uri == _ALL_USERS:
            public.add(permission)
        elif uri is not None or (grantee is not None and X.child_text(grantee, "ID") is None):
            raise OSSError(501, "NotImplemented", "Only grants to the owner and to AllUsers are supported.")
    if public - {"READ", "WRITE"}:
        raise OSSError(501, "NotImplemented", "Only READ and WRITE may be granted to AllUsers.")
    if "WRITE" in public:
        return "public-read-write"
    return "public-read" if "READ" in public else "private"


async def get_object_acl(call: S3Call) -> Response:
    o, _ = read_target(call)
    acl = o.acl if o.acl != "default" else call.bkt.acl
    return xml("AccessControlPolicy", acl_xml(call.bkt.owner_id, acl))


async def put_object_acl(call: S3Call) -> Response:
    acl = await acl_from_request(call)
    if acl not in CANNED_ACLS:
        raise invalid_argument("Invalid canned ACL.", "x-amz-acl", acl)
    await call.storage.set_object_acl(call.bkt.name, call.key, acl, call.q.get("versionId"))
    return Response(200)


# -- tagging -----------------------------------------------------------------------------------------------
async def get_object_tagging(call: S3Call) -> Response:
    o, _ = read_target(call)
    call.check_object_read(call.bkt, o, call.grant)
    return xml("Tagging", object_tags.tag_set_xml(o.tagging))


async def put_object_tagging(call: S3Call) -> Response:
    doc = await call.xml_body("Tagging")
    assert doc is not None
    tag_set = doc.find("TagSet")
    if tag_set is None:
        raise malformed_xml()
    pairs = []
    for tag in tag_set.findall("Tag"):
        k, v = X.child_text(tag, "Key"), X.child_text(tag, "Value")
        if k is None or v is None:
            raise malformed_xml()
        pairs.append((k, v))
    await call.storage.set_object_tagging(
        call.bkt.name, call.key, encode_tags(pairs), call.q.get("versionId")
    )
    return Response(200)


async def delete_object_tagging(call: S3Call) -> Response:
    await call.storage.set_object_tagging(call.bkt.name, call.key, "", call.q.get("versionId"))
    return Response(204)


def content_md5_b64(hex_etag: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_etag)).decode()


# -- restore -----------------------------------------------------------------------------------------------
_TIERS = {"Expedited": "Expedited", "Standard": "Standard", "Bulk": "Bulk"}


async def restore_object(call: S3Call) -> Response:
    """POST ?restore: `<RestoreRequest><Days>` and `<GlacierJobParameters><Tier>`, onto the same restore."""
    doc = await call.xml_body("RestoreRequest", required=False)
    days, tier = 1, None
    if doc is not None:
        if doc.find("Type") is not None or doc.find("OutputLocation") is not None:
            raise OSSError(501, "NotImplemented", "Restore with SELECT is not implemented by ossbox.")
        days_text = (X.child_text(doc, "Days") or "1").strip()
        if not days_text.isdigit():
            raise malformed_xml("Days must be an integer.")
        days = int(days_text)
        job = doc.find("GlacierJobParameters")
        if job is not None:
            tier = _TIERS.get((X.child_text(job, "Tier") or "Standard").strip())
            if tier is None:
                raise malformed_xml("Tier must be Expedited, Standard or Bulk.")
    done = await call.storage.restore_object(call.bkt.name, call.key, call.q.get("versionId"), days, tier)
    headers = [("x-amz-version-id", wire_version_id(done.version_id))] if call.bkt.versioning else []
    return Response(202 if done.started else 200, headers)
