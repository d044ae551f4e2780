"""Request signatures of the project API, in MaxCompute's REST style.

    Authorization: ODPS <AccessKeyId>:<base64(HMAC-SHA1(secret, string to sign))>
    string to sign = METHOD \\n Content-MD5 \\n Content-Type \\n Date \\n
                     {x-odps-* headers, sorted, as name:value lines} <path>[?<sorted query>]

The body's MD5 is signed (and checked), the Date must be within 15 minutes of the server's clock. Both the
console (client.py) and the service (api.py) use these functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime

SCHEME = "ODPS "
MAX_SKEW_S = 15 * 60


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii")


def http_date(now: float) -> str:
    return formatdate(now, usegmt=True)


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def string_to_sign(method: str, path: str, query: str, headers: Mapping[str, str]) -> str:
    lower = {k.lower(): v for k, v in headers.items()}
    lines = [
        method.upper(),
        lower.get("content-md5", ""),
        lower.get("content-type", ""),
        lower.get("date", ""),
    ]
    lines += [f"{k}:{lower[k].strip()}" for k in sorted(lower) if k.startswith("x-odps-")]
    resource = path + ("?" + "&".join(sorted(query.split("&"))) if query else "")
    return "\n".join(lines) + "\n" + resource


def signature(secret: str, to_sign: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization(access_key_id: str, secret: str, to_sign: str) -> str:
    return f"{SCHEME}{access_key_id}:{signature(secret, to_sign)}"


def parse_authorization(value: str) -> tuple[str, str] | None:
    """(access key id, signature) of an `ODPS id:sig` header, or None."""
    if not value.startswith(SCHEME):
        return None
    key_id, sep, sig = value[len(SCHEME) :].strip().partition(":")
    if not sep or not key_id or not sig:
        return None
    return key_id, sig
