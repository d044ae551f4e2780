"""ListObjects (v1 and v2)."""

from __future__ import annotations

import base64
import binascii

from ossbox.core.errors import invalid_argument
from ossbox.http.oss.common import (
    Call,
    enc,
    int_param,
    owner_xml,
)
from ossbox.http.responses import quoted_etag, restore_header, xml
from ossbox.http.server import Response
from ossbox.meta.types import ListedObject, Restore
from ossbox.protocol import xml as X
from ossbox.protocol.times import iso8601
from ossbox.service.storage import Listing


def _restore_info(o: ListedObject, now_ms: int) -> str:
    assert o.restore_ready_ms is not None and o.restore_expiry_ms is not None
    info = restore_header(Restore(o.restore_ready_ms, o.restore_expiry_ms), now_ms)
    return X.el("RestoreInfo", info) if info else ""


def _contents(listing: Listing, url: bool, owner: str | None, now_ms: int) -> str:
    out = []
    owner_el = owner_xml(owner) if owner else ""
    for o in listing.objects:
        fields = X.els(
            [
                ("Key", enc(o.key, url)),
                ("LastModified", iso8601(o.mtime_ms)),
                ("ETag", quoted_etag(o.etag)),
                ("Type", o.object_type),
                ("Size", o.size),
                ("StorageClass", o.storage_class),
            ]
        )
        restore = "" if o.restore_expiry_ms is None else _restore_info(o, now_ms)
        out.append(f"<Contents>{fields}{restore}{owner_el}</Contents>")
    out += [
        f"<CommonPrefixes><Prefix>{X.esc(enc(p, url))}</Prefix></CommonPrefixes>" for p in listing.prefixes
    ]
    return "".join(out)


def _list_params(call: Call) -> tuple[str, str, int, bool]:
    q = call.q
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    max_keys = int_param(q, "max-keys", 100, 0, 1000)
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
            ("Prefix", enc(prefix, url)),
            ("Marker", enc(marker, url)),
            ("MaxKeys", max_keys),
            ("Delimiter", enc(delimiter, url)),
        ]
    )
    if url:
        inner += X.el("EncodingType", "url")
    inner += X.el("IsTruncated", str(listing.truncated).lower())
    if listing.truncated:
        inner += X.el("NextMarker", enc(listing.next_marker, url))
    inner += _contents(listing, url, call.bkt.owner_id, call.storage.now_ms())
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
    inner = X.els([("Name", call.bkt.name), ("Prefix", enc(prefix, url))])
    if start_after:
        inner += X.el("StartAfter", enc(start_after, url))
    if token:
        inner += X.el("ContinuationToken", token)
    inner += X.els([("MaxKeys", max_keys), ("Delimiter", enc(delimiter, url))])
    if url:
        inner += X.el("EncodingType", "url")
    inner += X.el("IsTruncated", str(listing.truncated).lower())
    if listing.truncated:
        inner += X.el("NextContinuationToken", _encode_token(listing.next_marker))
    inner += X.el("KeyCount", len(listing.objects) + len(listing.prefixes))
    inner += _contents(listing, url, call.bkt.owner_id if fetch_owner else None, call.storage.now_ms())
    return xml("ListBucketResult", inner)
