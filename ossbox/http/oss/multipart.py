"""The multipart upload family."""

from __future__ import annotations

import base64

from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.core.names import validate_object_key
from ossbox.core.versions import wire_version_id
from ossbox.http.oss import callback
from ossbox.http.oss.common import (
    MAX_XML_BODY,
    OBJECT_ACLS,
    Call,
    acl_from,
    enc,
    int_param,
    write_attrs,
    write_condition,
)
from ossbox.http.oss.objects import copy_source, source_conditions
from ossbox.http.responses import quoted_etag, xml
from ossbox.http.server import Response
from ossbox.protocol import sse
from ossbox.protocol import xml as X
from ossbox.protocol.times import iso8601
from ossbox.service.storage import WriteAttrs


async def initiate_upload(call: Call) -> Response:
    key = call.key
    validate_object_key(key)
    url = call.encoding_url()
    if (
        write_condition(call).forbid_overwrite
        and call.storage.meta.get_object(call.bkt.name, key) is not None
    ):
        raise OSSError(409, "FileAlreadyExists", "The object you specified already exists.")
    u = await call.storage.initiate_upload(call.bkt, key, write_attrs(call, key))
    inner = X.els([("Bucket", u.bucket), ("Key", enc(u.key, url)), ("UploadId", u.upload_id)])
    if url:
        inner += X.el("EncodingType", "url")
    return xml("InitiateMultipartUploadResult", inner, headers=sse.response_headers(u.sse))


def _part_number(call: Call) -> int:
    return int_param(call.q, "partNumber", -1, 1, 10000) if call.q.get("partNumber") else _missing_part()


def _missing_part() -> int:
    raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive.", "partNumber", "")


async def upload_part(call: Call) -> Response:
    number = _part_number(call)
    upload_id = call.q["uploadId"]
    sse.refuse_headers(call.h, "UploadPart")
    upload = call.storage.upload(call.bkt.name, call.key, upload_id)
    if "x-oss-copy-source" in call.h:
        return await upload_part_copy(call, number, upload_id, upload.sse)
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
            *sse.response_headers(upload.sse),
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


async def upload_part_copy(call: Call, number: int, upload_id: str, upload_sse: str) -> Response:
    src_bucket, src_key, src_version = copy_source(call)
    p = await call.storage.upload_part_copy(
        call.bkt.name,
        call.key,
        upload_id,
        number,
        src_bucket,
        src_key,
        _copy_range(call.h.get("x-oss-copy-source-range")),
        source_conditions(call),
        src_version,
    )
    inner = X.els([("LastModified", iso8601(p.mtime_ms)), ("ETag", quoted_etag(p.etag))])
    return xml(
        "CopyPartResult",
        inner,
        headers=[
            ("ETag", quoted_etag(p.etag)),
            ("x-oss-hash-crc64ecma", str(p.crc64)),
            *sse.response_headers(upload_sse),
        ],
    )


async def complete_upload(call: Call) -> Response:
    upload_id = call.q["uploadId"]
    url = call.encoding_url()
    sse.refuse_headers(call.h, "CompleteMultipartUpload")
    complete_all = call.h.get("x-oss-complete-all", "").lower() == "yes"
    wanted: list[tuple[int, str]] | None = None
    if complete_all:
        body = await call.http.body.read_all(MAX_XML_BODY)
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
    cb = callback.requested(call)  # a malformed callback fails before completing
    acl = acl_from(call.h, OBJECT_ACLS)
    o = await call.storage.complete_upload(
        call.bkt,
        call.key,
        upload_id,
        wanted,
        WriteAttrs(acl=acl) if acl else None,
        write_condition(call),
    )
    inner = ""
    if url:
        inner += X.el("EncodingType", "url")
    inner += X.els(
        [
            ("Location", f"{call.origin}/{call.bkt.name}/{enc(o.key, True)}"),
            ("Bucket", o.bucket),
            ("Key", enc(o.key, url)),
            ("ETag", quoted_etag(o.etag)),
        ]
    )
    result_headers = [("ETag", quoted_etag(o.etag)), ("x-oss-hash-crc64ecma", str(o.crc64))]
    result_headers += sse.response_headers(o.sse)
    if call.bkt.versioning:
        result_headers.append(("x-oss-version-id", wire_version_id(o.version_id)))
    if cb is not None:
        return await callback.answer(call, cb, o, "CompleteMultipartUpload", result_headers)
    return xml("CompleteMultipartUploadResult", inner, headers=result_headers)


async def abort_upload(call: Call) -> Response:
    await call.storage.abort_upload(call.bkt.name, call.key, call.q["uploadId"])
    return Response(204)


async def list_parts(call: Call) -> Response:
    upload_id = call.q["uploadId"]
    url = call.encoding_url()
    upload = call.storage.upload(call.bkt.name, call.key, upload_id)
    max_parts = int_param(call.q, "max-parts", 1000, 1, 1000)
    marker = int_param(call.q, "part-number-marker", 0, 0, 10000)
    parts = call.storage.meta.list_parts(upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    inner = X.els(
        [
            ("Bucket", call.bkt.name),
            ("Key", enc(call.key, url)),
            ("UploadId", upload_id),
            ("PartNumberMarker", marker),
            ("NextPartNumberMarker", parts[-1].part_number if parts else marker),
            ("MaxParts", max_parts),
            ("IsTruncated", str(truncated).lower()),
            ("StorageClass", upload.storage_class),
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
    max_uploads = int_param(q, "max-uploads", 1000, 1, 1000)
    uploads, prefixes, truncated, next_key, next_id = call.storage.list_uploads(
        call.bkt.name, prefix, delimiter, key_marker, upload_id_marker, max_uploads
    )
    inner = X.els(
        [
            ("Bucket", call.bkt.name),
            ("KeyMarker", enc(key_marker, url)),
            ("UploadIdMarker", upload_id_marker),
            ("NextKeyMarker", enc(next_key, url)),
            ("NextUploadIdMarker", next_id),
            ("Delimiter", enc(delimiter, url)),
            ("Prefix", enc(prefix, url)),
            ("MaxUploads", max_uploads),
            ("IsTruncated", str(truncated).lower()),
        ]
    )
    if url:
        inner += X.el("EncodingType", "url")
    inner += "".join(
        "<Upload>"
        + X.els([("Key", enc(u.key, url)), ("UploadId", u.upload_id), ("Initiated", iso8601(u.initiated_ms))])
        + "</Upload>"
        for u in uploads
    )
    inner += "".join(
        f"<CommonPrefixes><Prefix>{X.esc(enc(p, url))}</Prefix></CommonPrefixes>" for p in prefixes
    )
    return xml("ListMultipartUploadsResult", inner)
