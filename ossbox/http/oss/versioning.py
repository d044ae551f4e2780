"""Bucket versioning: PutBucketVersioning, GetBucketVersioning, ListObjectVersions (GetBucketVersions)."""

from __future__ import annotations

from ossbox.core.errors import invalid_argument, malformed_xml
from ossbox.core.versions import wire_version_id
from ossbox.http.oss.common import Call, enc, int_param, owner_xml
from ossbox.http.responses import quoted_etag, restore_header, xml
from ossbox.http.server import Response
from ossbox.meta.types import ListedVersion, Restore
from ossbox.protocol import xml as X
from ossbox.protocol.times import iso8601
from ossbox.service.versioning import STATUSES

_MAX_PARAM_BYTES = 1024  # prefix, key-marker, version-id-marker and delimiter must be shorter


async def put_bucket_versioning(call: Call) -> Response:
    doc = await call.xml_body("VersioningConfiguration")
    status = X.child_text(doc, "Status")
    if status not in STATUSES:
        # OSS answers a missing status, "Disabled" or anything else as malformed.
        raise malformed_xml("The versioning Status must be Enabled or Suspended.")
    await call.storage.set_bucket_versioning(call.bkt.name, status)
    return Response(200)


async def get_bucket_versioning(call: Call) -> Response:
    status = call.bkt.versioning
    return xml("VersioningConfiguration", X.el("Status", status) if status else "")


def _check_length(name: str, value: str) -> None:
    if len(value.encode()) >= _MAX_PARAM_BYTES:
        raise invalid_argument(f"The {name} parameter must be shorter than 1024 bytes.", name, value[:64])


def _entry(v: ListedVersion, url: bool, owner: str, now_ms: int) -> str:
    head = X.els(
        [
            ("Key", enc(v.key, url)),
            ("VersionId", wire_version_id(v.version_id)),
            ("IsLatest", str(v.is_latest).lower()),
            ("LastModified", iso8601(v.mtime_ms)),
        ]
    )
    if v.delete_marker:
        return f"<DeleteMarker>{head}{owner}</DeleteMarker>"
    body = X.els(
        [
            ("ETag", quoted_etag(v.etag)),
            ("Type", v.object_type),
            ("Size", v.size),
            ("StorageClass", v.storage_class),
        ]
    )
    if v.restore_ready_ms is not None and v.restore_expiry_ms is not None:
        info = restore_header(Restore(v.restore_ready_ms, v.restore_expiry_ms), now_ms)
        if info:
            body += X.el("RestoreInfo", info)
    return f"<Version>{head}{body}{owner}</Version>"


async def list_object_versions(call: Call) -> Response:
    q = call.q
    url = call.encoding_url()
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    version_id_marker = q.get("version-id-marker", "")
    for name, value in (
        ("prefix", prefix),
        ("delimiter", delimiter),
        ("key-marker", key_marker),
        ("version-id-marker", version_id_marker),
    ):
        _check_length(name, value)
    if version_id_marker and not key_marker:
        raise invalid_argument(
            "A version-id-marker needs a key-marker.", "version-id-marker", version_id_marker
        )
    max_keys = int_param(q, "max-keys", 100, 1, 1000)
    listing = call.storage.list_versions(
        call.bkt.name, prefix, delimiter, key_marker, version_id_marker, max_keys
    )
    inner = X.els(
        [
            ("Name", call.bkt.name),
            ("Prefix", enc(prefix, url)),
            ("KeyMarker", enc(key_marker, url)),
            ("VersionIdMarker", version_id_marker),
            ("MaxKeys", max_keys),
            ("Delimiter", enc(delimiter, url)),
        ]
    )
    if url:
        inner += X.el("EncodingType", "url")
    inner += X.el("IsTruncated", str(listing.truncated).lower())
    if listing.truncated:
        inner += X.els(
            [
                ("NextKeyMarker", enc(listing.next_key_marker, url)),
                ("NextVersionIdMarker", listing.next_version_id_marker),
            ]
        )
    owner = owner_xml(call.bkt.owner_id)
    now = call.storage.now_ms()
    inner += "".join(_entry(v, url, owner, now) for v in listing.versions)
    inner += "".join(
        f"<CommonPrefixes><Prefix>{X.esc(enc(p, url))}</Prefix></CommonPrefixes>" for p in listing.prefixes
    )
    return xml("ListVersionsResult", inner)
