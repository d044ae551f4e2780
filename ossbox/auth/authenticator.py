"""Who is calling: signature verification for V1, V2 and V4, in headers or presigned URLs."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from ossbox.auth.principals import Credential, Principal
from ossbox.core.errors import OSSError, access_denied, invalid_argument
from ossbox.protocol import signing
from ossbox.protocol.request import OssRequest
from ossbox.protocol.times import parse_http_date

MAX_SKEW_S = 15 * 60
MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600


# access key id, security token (if the request carried one) -> the credential to verify against
ResolveCredential = Callable[[str, str | None], Credential]


def _skew_error() -> OSSError:
    return OSSError(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    )


def _mismatch(access_key_id: str, string_to_sign: str, provided: str) -> OSSError:
    return OSSError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        {"OSSAccessKeyId": access_key_id, "SignatureProvided": provided, "StringToSign": string_to_sign},
    )


def _expired() -> OSSError:
    return access_denied("Request has expired.")


@lru_cache(maxsize=256)
def _cached_signing_key(secret: str, date: str, region: str) -> bytes:
    return signing.v4_signing_key(secret, date, region)


def _header_variants(headers: dict[str, str]) -> list[dict[str, str]]:
    """Header values arrive as latin-1; a client that sent UTF-8 signed the decoded text instead."""
    variants = [headers]
    if any(not v.isascii() for v in headers.values()):
        alt = {}
        for k, v in headers.items():
            try:
                alt[k] = v.encode("latin-1").decode("utf-8")
            except UnicodeError:
                alt[k] = v
        variants.append(alt)
    return variants


class Authenticator:
    def __init__(self, resolve: ResolveCredential, region: str) -> None:
        self._resolve = resolve
        self.region = region

    def resolve(self, access_key_id: str, token: str | None) -> Credential:
        """The credential of a key (and security token), for signatures in a form (PostObject)."""
        return self._resolve(access_key_id, token)

    def v4_scope(self, credential: str) -> tuple[str, str, str]:
        """(access key id, date, region) of a V4 credential `<ak>/<date>/<region>/oss/aliyun_v4_request`."""
        return self._check_scope(credential)

    @staticmethod
    def v4_signing_key(secret: str, date: str, region: str) -> bytes:
        return _cached_signing_key(secret, date, region)

    def authenticate(self, req: OssRequest) -> Principal | None:
        """The caller, or None for an anonymous request. Raises on a bad or expired signature."""
        auth = req.headers.get("authorization")
        if auth:
            if auth.startswith("OSS4-HMAC-SHA256"):
                return self._v4_header(req, auth)
            if auth.startswith("OSS "):
                return self._v1_header(req, auth)
            if auth.startswith("OSS2 "):
                return self._v2_header(req, auth)
            raise invalid_argument("Authorization header is invalid.", "Authorization", auth.split(" ")[0])
        q = req.query
        if "x-oss-signature" in q:
            if q.get("x-oss-signature-version") == "OSS2":
                return self._v2_query(req)
            return self._v4_query(req)
        if "Signature" in q or "OSSAccessKeyId" in q:
            return self._v1_query(req)
        return None

    def _credential(self, req: OssRequest, access_key_id: str) -> Credential:
        token = (
            req.headers.get("x-oss-security-token")
            or req.query.get("security-token")
            or req.query.get("x-oss-security-token")
        )
        return self._resolve(access_key_id, token)

    # ---------------------------------------------------------------- V1
    def _v1_header(self, req: OssRequest, auth: str) -> Principal:
        access_key_id, sep, provided = auth[4:].strip().rpartition(":")
        if not sep or not access_key_id:
            raise invalid_argument("Authorization header is invalid.", "Authorization", "OSS")
        key = self._credential(req, access_key_id)
        self._check_request_time(req)
        self._verify_v1(req, key, _date_lines(req), provided, exclude=frozenset())
        return key.principal

    @staticmethod
    def _check_request_time(req: OssRequest) -> None:
        """x-oss-date, when present, is the request time; otherwise Date."""
        when = parse_http_date(req.headers.get("x-oss-date") or req.headers.get("date", ""))
        if when is None:
            raise access_denied("OSS authentication requires a valid Date.")
        if abs(time.time() - when) > MAX_SKEW_S:
            raise _skew_error()

    def _v1_query(self, req: OssRequest) -> Principal:
        q = req.query
        for name in ("OSSAccessKeyId", "Expires", "Signature"):
            if name not in q:
                raise access_denied(f"Presigned URL lacks {name}.")
        expires = q["Expires"]
        if not expires.isdigit():
            raise access_denied("Expires is not a valid epoch time.")
        if int(expires) < time.time():
            raise _expired()
        key = self._credential(req, q["OSSAccessKeyId"])
        self._verify_v1(req, key, [expires], q["Signature"], exclude=frozenset(["Signature"]))
        return key.principal

    def _verify_v1(
        self, req: OssRequest, key: Credential, dates: list[str], provided: str, exclude: frozenset[str]
    ) -> None:
        query = [(k, v) for k, v in req.query_pairs if k not in exclude]
        first = ""
        for headers in _header_variants(req.headers):
            for date in dates:
                for subs in (signing.OSS2_SUBRESOURCES, signing.V2SDK_SUBRESOURCES):
                    sts = signing.v1_string_to_sign(
                        req.method, headers, date, req.bucket, req.key, query, subs
                    )
                    first = first or sts
                    if hmac.compare_digest(signing.v1_signature(key.secret, sts), provided):
                        return
        raise _mismatch(key.principal.access_key_id, first, provided)

    # ---------------------------------------------------------------- V2
    def _v2_header(self, req: OssRequest, auth: str) -> Principal:
        fields = signing.parse_v2_authorization(auth)
        access_key_id = fields.get("AccessKeyId", "")
        provided = fields.get("Signature", "")
        if not access_key_id or not provided:
            raise invalid_argument("Authorization header is invalid.", "Authorization", "OSS2")
        key = self._credential(req, access_key_id)
        self._check_request_time(req)
        additional = _header_list(fields.get("AdditionalHeaders", ""))
        self._verify_v2(req, key, _date_lines(req), additional, provided, frozenset())
        return key.principal

    def _v2_query(self, req: OssRequest) -> Principal:
        q = req.query
        for name in ("x-oss-access-key-id", "x-oss-expires"):
            if name not in q:
                raise access_denied(f"Presigned URL lacks {name}.")
        expires = q["x-oss-expires"]
        if not expires.isdigit():
            raise access_denied("x-oss-expires is not a valid epoch time.")
        if int(expires) < time.time():
            raise _expired()
        key = self._credential(req, q["x-oss-access-key-id"])
        additional = _header_list(q.get("x-oss-additional-headers", ""))
        self._verify_v2(req, key, [expires], additional, q["x-oss-signature"], frozenset(["x-oss-signature"]))
        return key.principal

    def _verify_v2(
        self,
        req: OssRequest,
        key: Credential,
        dates: list[str],
        additional: list[str],
        provided: str,
        exclude: frozenset[str],
    ) -> None:
        query = [(k, v) for k, v in req.query_pairs if k not in exclude]
        first = ""
        for headers in _header_variants(req.headers):
            for date in dates:
                sts = signing.v2_string_to_sign(
                    req.method, headers, date, req.bucket, req.key, query, additional
                )
                first = first or sts
                if hmac.compare_digest(signing.v2_signature(key.secret, sts), provided):
                    return
        raise _mismatch(key.principal.access_key_id, first, provided)

    # ---------------------------------------------------------------- V4
    def _check_scope(self, credential: str) -> tuple[str, str, str]:
        parts = credential.split("/")
        if len(parts) != 5 or parts[3] != "oss" or parts[4] != "aliyun_v4_request":
            raise invalid_argument("Invalid credential in Authorization header.", "Credential", credential)
        access_key_id, date, region = parts[0], parts[1], parts[2]
        if not region:
            raise invalid_argument("The signing region in credential is invalid.", "Credential", credential)
        if region != self.region:
            error = invalid_argument(
                "Invalid signing region in Authorization header.", "Credential", credential
            )
            error.ec_override = "0002-00000226"
            raise error
        return access_key_id, date, region

    def _v4_header(self, req: OssRequest, auth: str) -> Principal:
        fields = signing.parse_v4_authorization(auth)
        credential = fields.get("Credential", "")
        provided = fields.get("Signature", "")
        if not credential or not provided:
            raise invalid_argument("Authorization header is invalid.", "Authorization", signing.V4_ALGORITHM)
        access_key_id, date, region = self._check_scope(credential)
        key = self._credential(req, access_key_id)
        timestamp = req.headers.get("x-oss-date", "")
        when = _parse_v4_time(timestamp)
        if when is None:
            raise access_denied("x-oss-date is missing or not in yyyymmddTHHMMSSZ form.")
        if abs(time.time() - when) > MAX_SKEW_S:
            raise _skew_error()
        if timestamp[:8] != date:
            raise invalid_argument("Invalid signing date in Authorization header.", "Credential", credential)
        additional = _header_list(fields.get("AdditionalHeaders", ""))
        payload = req.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
        self._verify_v4(req, key, timestamp, date, region, additional, payload, provided, frozenset())
        return key.principal

    def _v4_query(self, req: OssRequest) -> Principal:
        q = req.query
        if q.get("x-oss-signature-version") != signing.V4_ALGORITHM:
            raise invalid_argument("x-oss-signature-version is invalid.", "x-oss-signature-version", "")
        credential = q.get("x-oss-credential", "")
        access_key_id, date, region = self._check_scope(credential)
        timestamp = q.get("x-oss-date", "")
        when = _parse_v4_time(timestamp)
        expires = q.get("x-oss-expires", "")
        if when is None or not expires.isdigit():
            raise access_denied("x-oss-date or x-oss-expires is invalid.")
        if int(expires) > MAX_PRESIGN_EXPIRES_S:
            raise invalid_argument("x-oss-expires is too large.", "x-oss-expires", expires)
        if when + int(expires) < time.time():
            raise _expired()
        if when - time.time() > MAX_SKEW_S:
            raise _skew_error()
        key = self._credential(req, access_key_id)
        additional = _header_list(q.get("x-oss-additional-headers", ""))
        self._verify_v4(
            req,
            key,
            timestamp,
            date,
            region,
            additional,
            "UNSIGNED-PAYLOAD",
            q["x-oss-signature"],
            frozenset(["x-oss-signature"]),
        )
        return key.principal

    def _verify_v4(
        self,
        req: OssRequest,
        key: Credential,
        timestamp: str,
        date: str,
        region: str,
        additional: list[str],
        payload: str,
        provided: str,
        exclude: frozenset[str],
    ) -> None:
        scope = f"{date}/{region}/oss/aliyun_v4_request"
        signing_key = _cached_signing_key(key.secret, date, region)
        first = ""
        for headers in _header_variants(req.headers):
            canonical = signing.v4_canonical_request(
                req.method, req.bucket, req.key, req.query_pairs, headers, additional, payload, exclude
            )
            sts = signing.v4_string_to_sign(timestamp, scope, canonical)
            first = first or sts
            if hmac.compare_digest(signing.v4_signature(signing_key, sts), provided):
                return
        raise _mismatch(key.principal.access_key_id, first, provided)


def _header_list(value: str) -> list[str]:
    """'a;B; c' -> ['a', 'b', 'c']: the AdditionalHeaders list of V2 and V4."""
    return [h.strip().lower() for h in value.split(";") if h.strip()]


def _date_lines(req: OssRequest) -> list[str]:
    """Candidates for the string-to-sign's date line: the Date header (what the SDKs sign) and
    x-oss-date (what OSS's documentation describes when both are sent)."""
    lines = [req.headers.get("date", "")]
    alt = req.headers.get("x-oss-date")
    if alt and alt not in lines:
        lines.append(alt)
    return lines


def _parse_v4_time(value: str) -> float | None:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
