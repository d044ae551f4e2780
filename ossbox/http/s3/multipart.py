"""The S3 multipart upload family, on the same uploads as the OSS dialect's."""

from __future__ import annotations

from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.core.names import validate_object_key
from ossbox.http.s3.common import (
    S3Call,
    checksum_headers,
    checksum_xml,
    enc,
    etag,
    int_param,
    owner_xml,
    s3_storage_class,
    version_headers,
    write_attrs,
    xml,
)
from ossbox.http.s3.objects import copy_source, source_check, write_condition
from ossbox.http.server import Response
from ossbox.protocol import xml as X
from ossbox.protocol.s3 import checksums
from ossbox.protocol.times import iso8601


async def create_upload(call: S3Call) -> Response:
    key = call.key
    validate_object_key(key)
    algorithm = ""
    h = call.h
    if "x-amz-checksum-algorithm" in h:
        name = checksums.normalize(h["x-amz-checksum-algorithm"])
        kind = h.get("x-amz-checksum-type", "FULL_OBJECT" if name == "CRC64NVME" else "COMPOSITE").upper()
        if kind not in ("COMPOSITE", "FULL_OBJECT") or (
            kind == "FULL_OBJECT" and name not in checksums.FULL_OBJECT_CAPABLE
        ):
            raise OSSError(400, "InvalidRequest", f"The {kind} checksum type cannot be used with {name}.")
        if name == "CRC64NVME" and kind != "FULL_OBJECT":
            raise OSSError(400, "InvalidRequest", "CRC64NVME supports only the FULL_OBJECT checksum type.")
        algorithm = f"{name}:{kind}"
    u = await call.storage.initiate_upload(call.bkt, key, write_attrs(call), algorithm)
    inner = X.els([("Bucket", u.bucket), ("Key", u.key), ("UploadId", u.upload_id)])
    headers = []
    if algorithm:
        name, _, kind = algorithm.partition(":")
        headers = [("x-amz-checksum-algorithm", name), ("x-amz-checksum-type", kind)]
    return xml("InitiateMultipartUploadResult", inner, headers=headers)


def _part_number(call: S3Call) -> int:
    raw = call.q.get("partNumber", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive", "partNumber", raw
        )
    return int(raw)


async def upload_part(call: S3Call) -> Response:
    number = _part_number(call)
    upload_id = call.q["uploadId"]
    upload = call.storage.upload(call.bkt.name, call.key, upload_id)
    if "x-amz-copy-source" in call.h:
        return await _upload_part_copy(call, number, upload_id)
    body = call.body()
    wanted = upload.checksum_algorithm.partition(":")[0]
    if wanted:
        sent = body.checksum_algorithm
        if sent and sent != wanted:
            raise OSSError(
                400,
                "InvalidRequest",
                f"Checksum Type mismatch occurred, expected checksum Type: {wanted.lower()}, "
                f"actual checksum Type: {sent.lower()}",
            )
        body.compute(wanted)
    p = await call.storage.upload_part(
        call.bkt.name,
        call.key,
        upload_id,
        number,
        body.read_chunk,
        body.content_length,
        call.h.get("content-md5"),
        digest=body if body.wants_digest() else None,
    )
    return Response(200, [("ETag", etag(p.etag)), *checksum_headers(p.checksum)[:1]])


def _copy_range(value: str | None) -> tuple[int, int | None] | None:
    if not value:
        return None
    spec = value.strip()
    if spec.startswith("bytes="):
        first, dash, last = spec[6:].partition("-")
        if dash and first.strip().isdigit() and last.strip().isdigit():
            return int(first), int(last)
    raise invalid_argument(
        "The x-amz-copy-source-range value must be of the form bytes=first-last",
        "x-amz-copy-source-range",
        value,
    )


async def _upload_part_copy(call: S3Call, number: int, upload_id: str) -> Response:
    src_bucket, src_key, src_version = copy_source(call)
    p = await call.storage.upload_part_copy(
        call.bkt.name,
        call.key,
        upload_id,
        number,
        src_bucket,
        src_key,
        _copy_range(call.h.get("x-amz-copy-source-range")),
        source_check(call),
        src_version,
    )
    inner = X.els([("LastModified", iso8601(p.mtime_ms)), ("ETag", etag(p.etag))]) + checksum_xml(
        p.checksum, False
    )
    return xml("CopyPartResult", inner)


async def complete_upload(call: S3Call) -> Response:
    upload_id = call.q["uploadId"]
    doc = await call.xml_body("CompleteMultipartUpload")
    assert doc is not None
    wanted: list[tuple[int, str]] = []
    listed_checksums: dict[int, str] = {}
    for part in doc.findall("Part"):
        number = X.child_text(part, "PartNumber")
        tag = X.child_text(part, "ETag")
        if number is None or tag is None or not number.strip().isdigit():
            raise malformed_xml()
        wanted.append((int(number), tag.strip()))
        for algorithm in checksums.ALGORITHMS:
            value = X.child_text(part, f"Checksum{algorithm}")
            if value:
                listed_checksums[int(number)] = value.strip()
    if not wanted:
        raise malformed_xml("You must specify at least one part")
    o = await call.storage.complete_upload(
        call.bkt,
        call.key,
        upload_id,
        wanted,
        None,
        write_condition(call),
        wanted_checksums=listed_checksums,
        repeat_ok=True,
    )
    inner = X.els(
        [
            ("Location", f"{call.origin}/{call.bkt.name}/{enc(o.key, True)}"),
            ("Bucket", o.bucket),
            ("Key", o.key),
            ("ETag", etag(o.etag)),
        ]
    )
    inner += checksum_xml(o.checksum)
    headers = checksum_headers(o.checksum) + version_headers(call, o)
    return xml("CompleteMultipartUploadResult", inner, headers=headers)


async def abort_upload(call: S3Call) -> Response:
    await call.storage.abort_upload(call.bkt.name, call.key, call.q["uploadId"])
    return Response(204)


async def list_parts(call: S3Call) -> Response:
    upload_id = call.q["uploadId"]
    upload = call.storage.upload(call.bkt.name, call.key, upload_id)
    max_parts = int_param(call.q, "max-parts", 1000, 1000)
    marker = int_param(call.q, "part-number-marker", 0, 10000)
    parts = call.storage.meta.list_parts(upload_id, marker, max_parts + 1)
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    owner = call.bkt.owner_id
    inner = X.els(
        [
            ("Bucket", call.bkt.name),
            ("Key", call.key),
            ("UploadId", upload_id),
            ("PartNumberMarker", marker),
            ("NextPartNumberMarker", parts[-1].part_number if parts else marker),
            ("MaxParts", max_parts),
            ("IsTruncated", str(truncated).lower()),
        ]
    )
    inner += (
        owner_xml(owner, "Initiator")
        + owner_xml(owner)
        + X.el("StorageClass", s3_storage_class(upload.storage_class))
    )
    if upload.checksum_algorithm:
        name, _, kind = upload.checksum_algorithm.partition(":")
        inner += X.els([("ChecksumAlgorithm", name), ("ChecksumType", kind)])
    inner += "".join(
        "<Part>"
        + X.els(
            [
                ("PartNumber", p.part_number),
                ("LastModified", iso8601(p.mtime_ms)),
                ("ETag", etag(p.etag)),
                ("Size", p.size),
            ]
        )
        + checksum_xml(p.checksum, False)
        + "</Part>"
        for p in parts
    )
    return xml("ListPartsResult", inner)


async def list_uploads(call: S3Call) -> Response:
    q = call.q
    url = call.encoding_url()
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    upload_id_marker = q.get("upload-id-marker", "")
    max_uploads = int_param(q, "max-uploads", 1000, 1000)
    uploads, prefixes, truncated, next_key, next_id = call.storage.list_uploads(
        call.bkt.name, prefix, delimiter, key_marker, upload_id_marker, max_uploads
    )
    owner = owner_xml(call.bkt.owner_id, "Initiator") + owner_xml(call.bkt.owner_id)
    inner = X.els(
        [
            ("Bucket", call.bkt.name),
            ("KeyMarker", enc(key_marker, url)),
            ("UploadIdMarker", upload_id_marker),
            ("NextKeyMarker", enc(next_key, url)),
            ("NextUploadIdMarker", next_id),
            ("Prefix", enc(prefix, url)),
        ]
    )
    if delimiter:
        inner += X.el("Delimiter", enc(delimiter, url))
    inner += X.els([("MaxUploads", max_uploads), ("IsTruncated", str(truncated).lower())])
    if url:
        inner += X.el("EncodingType", "url")
    for u in uploads:
        inner += (
            "<Upload>"
            + X.els([("Key", enc(u.key, url)), ("UploadId", u.upload_id)])
            + owner
            + X.els(
                [("StorageClass", s3_storage_class(u.storage_class)), ("Initiated", iso8601(u.initiated_ms))]
            )
            + (
                X.el("ChecksumAlgorithm", u.checksum_algorithm.partition(":")[0])
                if u.checksum_algorithm
                else ""
            )
            + "</Upload>"
        )
    inner += "".join(
        f"<CommonPrefixes><Prefix>{X.esc(enc(p, url))}</Prefix></CommonPrefixes>" for p in prefixes
    )
    return xml("ListMultipartUploadsResult", inner)
