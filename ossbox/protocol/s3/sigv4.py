"""AWS Signature Version 4 as S3 uses it: canonical requests, signing keys, chunk and trailer signatures.

S3 signs the request path exactly as it was sent (no normalisation, no second encoding), the query with
every parameter re-encoded and sorted (`k=v`, an empty value as `k=`), the headers the client listed in
SignedHeaders, and the payload hash from `x-amz-content-sha256`. Pure functions; the verifier lives in
ossbox.auth.s3.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING = frozenset([STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER])
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SPACES = re.compile(r"\s+")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def is_payload_hash(value: str) -> bool:
    return bool(_HEX64.match(value))


def parse_authorization(value: str) -> dict[str, str]:
    """'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...' into its fields."""
    fields: dict[str, str] = {}
    for piece in value[len(ALGORITHM) :].split(","):
        name, _, val = piece.strip().partition("=")
        if name:
            fields[name.strip()] = val.strip()
    return fields


def uri_encode(value: str, safe: str = "") -> str:
    """AWS's UriEncode: everything but unreserved characters as %XX (upper-case hex)."""
    return quote(value, safe="-_.~" + safe)


def canonical_uris(raw_path: str) -> Iterator[str]:
    """Candidates for the canonical URI: the path as sent (what the SDKs sign), then, only if asked for,
    the decoded path re-encoded by AWS's rules (for a client that encoded characters only when signing)."""
    sent = raw_path or "/"
    yield sent
    reencoded = uri_encode(unquote(raw_path), safe="/") or "/"
    if reencoded != sent:
        yield reencoded


_CANONICAL_QUERY_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~=&%"
# An escape that canonical form would write otherwise: not two upper-case hex digits, or an unreserved byte.
_NON_CANONICAL_ESCAPE = re.compile(
    r"%(?![0-9A-F]{2})|%(?:3[0-9]|4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|2D|2E|5F|7E)"
)


def _is_canonical(raw_query: str) -> bool:
    """What the SDKs send: unreserved characters as they are and every other byte as an upper-case %XX
    escape, i.e. each piece already in canonical form."""
    if raw_query.encode("latin-1").translate(None, _CANONICAL_QUERY_BYTES):
        return False  # some character outside the canonical alphabet
    return "%" not in raw_query or _NON_CANONICAL_ESCAPE.search(raw_query) is None


def canonical_query(raw_query: str, exclude: str | None = None, plus_is_space: bool = False) -> str:
    """The canonical query string from the raw one; `exclude` names a parameter left out (the signature),
    by its canonical (encoded) name."""
    if not plus_is_space and _is_canonical(raw_query):
        # The common case, and the hot path of presigned GETs: the pieces are already encoded right.
        pairs = [p.partition("=")[::2] for p in raw_query.split("&") if p]
    else:
        pairs = []
        for piece in raw_query.split("&"):
            if not piece:
                continue
            name, _, value = piece.partition("=")
            if plus_is_space:
                name, value = name.replace("+", " "), value.replace("+", " ")
            pairs.append((uri_encode(unquote(name)), uri_encode(unquote(value))))
    if exclude is not None:
        pairs = [pair for pair in pairs if pair[0] != exclude]
    pairs.sort()
    return "&".join([f"{k}={v}" for k, v in pairs])


def canonical_headers(headers: dict[str, str], signed: list[str]) -> str:
    out = []
    for name in signed:
        value = headers.get(name, "")
        out.append(f"{name}:{_SPACES.sub(' ', value.strip())}\n")
    return "".join(out)


def canonical_request(
    method: str, uri: str, query: str, headers: dict[str, str], signed: list[str], payload_hash: str
) -> str:
    return "\n".join([method, uri, query, canonical_headers(headers, signed), ";".join(signed), payload_hash])


def scope(date: str, region: str) -> str:
    return f"{date}/{region}/{SERVICE}/aws4_request"


def string_to_sign(amz_date: str, credential_scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{credential_scope}\n{digest}"


def signing_key(secret: str, date: str, region: str) -> bytes:
    k = hmac.digest(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), "sha256")
    k = hmac.digest(k, region.encode("utf-8"), "sha256")
    k = hmac.digest(k, SERVICE.encode("utf-8"), "sha256")
    return hmac.digest(k, b"aws4_request", "sha256")


def signature(key: bytes, text: str) -> str:
    return hmac.digest(key, text.encode("utf-8"), "sha256").hex()


def chunk_string_to_sign(amz_date: str, credential_scope: str, previous: str, chunk_sha256: str) -> str:
    """What signs one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body."""
    return "\n".join(
        ["AWS4-HMAC-SHA256-PAYLOAD", amz_date, credential_scope, previous, EMPTY_SHA256, chunk_sha256]
    )


def trailer_string_to_sign(amz_date: str, credential_scope: str, previous: str, trailer: bytes) -> str:
    """What signs the trailing headers of a ...-PAYLOAD-TRAILER body (`name:value\\n` each)."""
    digest = hashlib.sha256(trailer).hexdigest()
    return "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, credential_scope, previous, digest])


class ChunkSigner:
    """The chain of chunk signatures of one streaming upload, seeded by the request's signature."""

    __slots__ = ("_amz_date", "_key", "_scope", "previous")

    def __init__(self, key: bytes, amz_date: str, credential_scope: str, seed_signature: str) -> None:
        self._key = key
        self._amz_date = amz_date
        self._scope = credential_scope
        self.previous = seed_signature

    def check_chunk(self, chunk_sha256: str, provided: str) -> bool:
        expected = signature(
            self._key, chunk_string_to_sign(self._amz_date, self._scope, self.previous, chunk_sha256)
        )
        if not hmac.compare_digest(expected, provided):
            return False
        self.previous = expected
        return True

    def check_trailer(self, trailer: bytes, provided: str) -> bool:
        expected = signature(
            self._key, trailer_string_to_sign(self._amz_date, self._scope, self.previous, trailer)
        )
        return hmac.compare_digest(expected, provided)
