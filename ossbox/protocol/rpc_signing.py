"""Signatures of Alibaba Cloud's RPC-style APIs (STS), as the official SDKs compute them. Pure functions.

Two schemes are in use:
- Signature version 1.0 (aliyun-python-sdk-core, `alibabacloud_tea_openapi` with signature_algorithm v2): the
  parameters (query and form body, less `Signature`) sorted by name and percent-encoded, then
  `METHOD&%2F&<percent-encoded canonical query>` signed with HMAC-SHA1 under `secret + "&"`, base64.
- ACS3-HMAC-SHA256 (`alibabacloud_tea_openapi`'s default): an `Authorization: ACS3-HMAC-SHA256
  Credential=<ak>,SignedHeaders=<a;b>,Signature=<hex>` header over a canonical request of method, path,
  sorted query, the signed headers and the body's SHA-256 (`x-acs-content-sha256`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"


def percent_encode(value: str) -> str:
    return quote(value, safe="~")


def v1_string_to_sign(method: str, params: Sequence[tuple[str, str]]) -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params) if k != "Signature"
    )
    return f"{method}&%2F&{percent_encode(canonical)}"


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.digest((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), "sha1")
    return base64.b64encode(digest).decode("ascii")


def parse_acs3_authorization(value: str) -> dict[str, str]:
    """`ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..` -> its fields."""
    _, _, rest = value.partition(" ")
    fields = {}
    for part in rest.split(","):
        name, sep, v = part.strip().partition("=")
        if sep:
            fields[name] = v
    return fields


def acs3_canonical_request(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_sha256: str,
) -> str:
    canonical_query = "&".join(f"{k}={percent_encode(v)}" for k, v in sorted(query))
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed_headers)
    return "\n".join(
        [method, path or "/", canonical_query, canonical_headers, ";".join(signed_headers), payload_sha256]
    )


def acs3_signature(secret: str, canonical_request: str) -> str:
    string_to_sign = f"{ACS3}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"
    return hmac.digest(secret.encode("utf-8"), string_to_sign.encode("utf-8"), "sha256").hex()
