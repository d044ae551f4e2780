"""ListObjects (v1 and v2) and ListObjectVersions in S3's shape."""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import replace
from urllib.parse import quote

from ossbox.core.errors import invalid_argument
from ossbox.core.versions import wire_version_id
from ossbox.http.s3.common import S3Call, enc, int_param, owner_xml, s3_storage_class, xml
from ossbox.http.server import Response
from ossbox.meta.types import ListedVersion
from ossbox.protocol import xml as X
from ossbox.protocol.times import iso8601
from ossbox.service.storage import Listing

MAX_KEYS = 1000


def _params(call: S3Call) -> tuple[str, str, int, bool]:
    q = call.q
    prefix = q.get("prefix", "")
    if len(prefix.encode()) > 1024:
        raise invalid_argument("Argument prefix is too long.", "prefix", prefix[:64])
    return prefix, q.get("delimiter", ""), int_param(q, "max-keys", MAX_KEYS, MAX_KEYS), call.encoding_url()


# Characters a key keeps under encoding-type=url (and that need no XML escaping either).
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-_.~")


@functools.lru_cache(maxsize=65536)
def _timestamp(epoch_s: int) -> str:
    return iso8601(epoch_s * 1000)


def _key_text(key: str, url: bool) -> str:
    if _URL_SAFE.issuperset(key):
        return key  # the common case: nothing to encode or escape
    return quote(key, safe="/-_.~") if url else X.esc(key)


def _contents(listing: Listing, url: bool, owner: str | None) -> str:
    """One <Contents> per key, built directly: a 1,000-key page is rendered in about a millisecond."""
    owner_part = owner_xml(owner) if owner else ""
    classes: dict[str, str] = {}
    out = []
    for o in listing.objects:
        sc = classes.get(o.storage_class)
        if sc is None:
            sc = classes[o.storage_class] = s3_storage_class(o.storage_class)
        # ETags are hex digits and '-': nothing to escape but the quotes around them.
        out.append(
            f"<Contents><Key>{_key_text(o.key, url)}</Key><LastModified>{_timestamp(o.mtime_ms // 1000)}"
            f"</LastModified><ETag>&quot;{o.etag.lower()}&quot;</ETag><Size>{o.size}</Size>"
            f"<StorageClass>{sc}</StorageClass>{owner_part}</Contents>"
        )
    out += [
        f"<CommonPrefixes><Prefix>{X.esc(enc(p, url))}</Prefix></CommonPrefixes>" for p in listing.prefixes
    ]
    return "".join(out)


def _head(call: S3Call, prefix: str, delimiter: str, max_keys: int, url: bool) -> str:
    inner = X.els([("Name", call.bkt.name), ("Prefix", enc(prefix, url))])
    if delimiter:
        inner += X.el("Delimiter", enc(delimiter, url))
    inner += X.el("MaxKeys", max_keys)
    if url:
        inner += X.el("EncodingType", "url")
    return inner


def _truncated_only_with_keys(listing: Listing, max_keys: int) -> Listing:
    """S3 answers max-keys=0 with an empty page that is not truncated (OSS says truncated)."""
    return replace(listing, truncated=False) if max_keys == 0 else listing


async def list_objects(call: S3Call) -> Response:
    prefix, delimiter, max_keys, url = _params(call)
    marker = call.q.get("marker", "")
    listing = _truncated_only_with_keys(
        call.storage.list_objects(call.bkt.name, prefix, delimiter, marker, max_keys), max_keys
    )
    inner = _head(call, prefix, delimiter, max_keys, url) + X.el("Marker", enc(marker, url))
    inner += X.el("IsTruncated", str(listing.truncated).lower())
    if listing.truncated:
        inner += X.el("NextMarker", enc(listing.next_marker, url))
    inner += _contents(listing, url, call.bkt.owner_id)
    return xml("ListBucketResult", inner)


def encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from exc


async def list_objects_v2(call: S3Call) -> Response:
    prefix, delimiter, max_keys, url = _params(call)
    q = call.q
    token = q.get("continuation-token")
    start_after = q.get("start-after", "")
    after = decode_token(token) if token else start_after
    if token and start_after > after:
        after = start_after
    listing = _truncated_only_with_keys(
        call.storage.list_objects(call.bkt.name, prefix, delimiter, after, max_keys), max_keys
    )
    fetch_owner = q.get("fetch-owner", "").lower() == "true"
    inner = _head(call, prefix, delimiter, max_keys, url)
    inner += X.el("KeyCount", len(listing.objects) + len(listing.prefixes))
    inner += X.el("IsTruncated", str(listing.truncated).lower())
    if token is not None:  # echoed even when empty
        inner += X.el("ContinuationToken", token)
    if listing.truncated:
        inner += X.el("NextContinuationToken", encode_token(listing.next_marker))
    if start_after:
        inner += X.el("StartAfter", enc(start_after, url))
    inner += _contents(listing, url, call.bkt.owner_id if fetch_owner else None)
    return xml("ListBucketResult", inner)


def _version_entry(v: ListedVersion, url: bool, owner: str) -> str:
    head = (
        f"<Key>{_key_text(v.key, url)}</Key><VersionId>{wire_version_id(v.version_id)}</VersionId>"
        f"<IsLatest>{str(v.is_latest).lower()}</IsLatest><LastModified>{_timestamp(v.mtime_ms // 1000)}"
        "</LastModified>"
    )
    if v.delete_marker:
        return f"<DeleteMarker>{head}{owner}</DeleteMarker>"
    return (
        f"<Version>{head}<ETag>&quot;{v.etag.lower()}&quot;</ETag><Size>{v.size}</Size>"
        f"<StorageClass>{s3_storage_class(v.storage_class)}</StorageClass>{owner}</Version>"
    )


async def list_object_versions(call: S3Call) -> Response:
    prefix, delimiter, max_keys, url = _params(call)
    key_marker = call.q.get("key-marker", "")
    version_id_marker = call.q.get("version-id-marker", "")
    if version_id_marker and not key_marker:
        raise invalid_argument(
            "A version-id marker cannot be specified without a key marker.",
            "version-id-marker",
            version_id_marker,
        )
    listing = call.storage.list_versions(
        call.bkt.name, prefix, delimiter, key_marker, version_id_marker, max_keys
    )
    inner = X.els([("Name", call.bkt.name), ("Prefix", enc(prefix, url))])
    inner += X.els([("KeyMarker", enc(key_marker, url)), ("VersionIdMarker", version_id_marker)])
    inner += X.el("MaxKeys", max_keys)
    if delimiter:
        inner += X.el("Delimiter", enc(delimiter, url))
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
    inner += "".join(_version_entry(v, url, owner) for v in listing.versions)
    inner += "".join(
        f"<CommonPrefixes><Prefix>{X.esc(enc(p, url))}</Prefix></CommonPrefixes>" for p in listing.prefixes
    )
    return xml("ListVersionsResult", inner)
