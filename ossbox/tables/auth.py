"""Request signatures as the `tablestore` SDK computes them (its `auth.py`), and the signed answers it checks.

V2 (no region given to the client): HMAC-SHA1 with the secret over
    "/{Api}\\nPOST\\n{sorted query}\\n{sorted x-ots-* headers as name:value lines}\\n"
sent as x-ots-signature. V4 (a region given): the same string plus "ots", HMAC-SHA256 with a key derived from
the secret, the x-ots-signdate day, the x-ots-signregion and the product "ots", sent as x-ots-signaturev4.
The signature headers themselves are not signed (the SDK adds them after signing).

The SDK refuses a 2xx answer without `Authorization: OTS {AccessKeyId}:{sig}`, where sig is HMAC-SHA1 with
the same signing key over the answer's sorted x-ots-* headers, a newline and the API path.

Credentials come from a callable (the server's credential resolver): given the access key id and the STS
token the request carried (x-ots-ststoken), it returns the secret and the caller, or raises OTSAuthFailed.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ossbox.tables.errors import TableError, auth_failed, parameter_invalid

SIGNATURE_V2 = "x-ots-signature"
SIGNATURE_V4 = "x-ots-signaturev4"
_NOT_SIGNED = frozenset((SIGNATURE_V2, SIGNATURE_V4))
_REQUIRED = (
    "x-ots-date",
    "x-ots-apiversion",
    "x-ots-accesskeyid",
    "x-ots-instancename",
    "x-ots-contentmd5",
)
API_VERSION = "2015-12-31"
# The SDK refuses answers dated more than 15 minutes from its clock; Tablestore does the same to requests.
MAX_CLOCK_SKEW_S = 15 * 60


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    secret: str


# (access key id, STS token or None) -> (secret, caller); raises a TableError (OTSAuthFailed) when the key is
# unknown, the token forged or expired. The caller is opaque here: the service's authorizer reads it.
Resolve = Callable[[str, "str | None"], tuple[str, object]]


@dataclass(frozen=True)
class Verified:
    access_key_id: str
    signing_key: bytes
    instance: str
    caller: object


def canonical_headers(headers: Mapping[str, str]) -> str:
    return "\n".join(
        sorted(
            f"{name}:{value.strip()}"
            for name, value in headers.items()
            if name.startswith("x-ots-") and name not in _NOT_SIGNED
        )
    )


@functools.lru_cache(maxsize=256)
def v4_signing_key(secret: str, day: str, region: str) -> bytes:
    key = hmac.new(("aliyun_v4" + secret).encode(), day.encode(), hashlib.sha256).digest()
    key = hmac.new(key, region.encode(), hashlib.sha256).digest()
    key = hmac.new(key, b"ots", hashlib.sha256).digest()
    key = hmac.new(key, b"aliyun_v4_request", hashlib.sha256).digest()
    return base64.b64encode(key)


def _b64_hmac(key: bytes, text: str, digest: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), digest).digest()).decode("ascii")


def _parse_date(text: str) -> datetime.datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    raise parameter_invalid(f"Invalid date format: {text}.")


class Verifier:
    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve

    def verify(
        self, path: str, query: str, headers: Mapping[str, str], body_md5: str, now: datetime.datetime
    ) -> Verified:
        """Checks headers, clock, token, signature and body MD5; raises TableError (OTSAuthFailed mostly)."""
        for name in _REQUIRED:
            if name not in headers:
                raise parameter_invalid(f"Missing header: '{name}'.")
        if SIGNATURE_V2 not in headers and SIGNATURE_V4 not in headers:
            raise parameter_invalid(f"Missing header: '{SIGNATURE_V2}'.")
        sent = _parse_date(headers["x-ots-date"])
        if abs((now - sent).total_seconds()) > MAX_CLOCK_SKEW_S:
            raise auth_failed(f"Mismatch between system time and x-ots-date: {headers['x-ots-date']}.")
        key_id = headers["x-ots-accesskeyid"]
        secret, caller = self._resolve(key_id, headers.get("x-ots-ststoken"))
        to_sign = f"{path}\nPOST\n{query}\n{canonical_headers(headers)}\n"
        if SIGNATURE_V4 in headers:
            day = headers.get("x-ots-signdate")
            region = headers.get("x-ots-signregion")
            if not day or not region:
                raise parameter_invalid("Missing header: 'x-ots-signdate' or 'x-ots-signregion'.")
            signing_key = v4_signing_key(secret, day, region)
            expected = _b64_hmac(signing_key, to_sign + "ots", "sha256")
            given = headers[SIGNATURE_V4]
        else:
            signing_key = secret.encode("utf-8")
            expected = _b64_hmac(signing_key, to_sign, "sha1")
            given = headers[SIGNATURE_V2]
        if not hmac.compare_digest(expected.encode(), given.encode("latin-1")):
            raise auth_failed("Signature mismatch.")
        if not hmac.compare_digest(body_md5.encode(), headers["x-ots-contentmd5"].encode("latin-1")):
            raise auth_failed("Mismatch between MD5 value of request body and x-ots-contentmd5 in header.")
        return Verified(key_id, signing_key, headers["x-ots-instancename"], caller)


def sign_response(path: str, headers: Mapping[str, str], access_key_id: str, signing_key: bytes) -> str:
    """The Authorization header of an answer."""
    signature = _b64_hmac(signing_key, canonical_headers(headers) + "\n" + path, "sha1")
    return f"OTS {access_key_id}:{signature}"


def is_auth_error(exc: TableError) -> bool:
    return exc.code == "OTSAuthFailed"
