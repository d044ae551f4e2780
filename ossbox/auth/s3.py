"""Who is calling through the S3 dialect: AWS Signature V4 in the Authorization header or presigned.

The same access keys (and STS credentials, with `x-amz-security-token`) as the OSS dialect. The signing
region is ossbox's region; `us-east-1`, which many S3 tools sign with when told no region, is accepted as
another name for it, and so is `oss-<region>`.
"""

from __future__ import annotations

import calendar
import hmac
import time
from dataclasses import dataclass
from functools import lru_cache

from ossbox.auth.authenticator import MAX_PRESIGN_EXPIRES_S, MAX_SKEW_S, ResolveCredential
from ossbox.auth.principals import Credential, Principal
from ossbox.core.errors import OSSError, access_denied
from ossbox.protocol.s3 import sigv4
from ossbox.protocol.s3.request import S3Request

DEFAULT_S3_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class S3Auth:
    """The caller and what their signature says about the body."""

    principal: Principal | None
    payload: str = (
        sigv4.UNSIGNED_PAYLOAD
    )  # x-amz-content-sha256: a hex digest, UNSIGNED-PAYLOAD or STREAMING-*
    signer: sigv4.ChunkSigner | None = None  # set for signed streaming bodies


def _malformed(message: str, region: str = "") -> OSSError:
    details = {"Region": region} if region else {}
    return OSSError(400, "AuthorizationHeaderMalformed", message, details)


def _skew() -> OSSError:
    return OSSError(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    )


@lru_cache(maxsize=1024)
def _parse_time(value: str) -> float | None:
    """yyyymmddTHHMMSSZ as epoch seconds (by hand: strptime costs more than the whole signature check)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (value[:8] + value[9:15]).isdigit():
        return None
    y, mo, d = int(value[0:4]), int(value[4:6]), int(value[6:8])
    h, mi, sec = int(value[9:11]), int(value[11:13]), int(value[13:15])
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60 and sec < 61):
        return None
    return calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0))


@lru_cache(maxsize=256)
def _signed_names(value: str) -> list[str]:
    """'host;x-amz-date' -> ['host', 'x-amz-date'] (the same few lists on every request: parsed once)."""
    return [h.strip().lower() for h in value.split(";") if h.strip()]


@lru_cache(maxsize=256)
def _cached_key(secret: str, date: str, region: str) -> bytes:
    return sigv4.signing_key(secret, date, region)


class S3Authenticator:
    def __init__(self, resolve: ResolveCredential, region: str) -> None:
        self.resolve = resolve
        self.region = region
        self._regions = frozenset([region, f"oss-{region}", DEFAULT_S3_REGION])

    def authenticate(self, req: S3Request) -> S3Auth:
        auth = req.headers.get("authorization")
        if auth:
            if not auth.startswith(sigv4.ALGORITHM):
                raise OSSError(
                    400,
                    "InvalidArgument",
                    "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported.",
                    {"ArgumentName": "Authorization"},
                )
            return self._header(req, auth)
        if "X-Amz-Signature" in req.query or "X-Amz-Credential" in req.query:
            return self._presigned(req)
        return S3Auth(None)

    def _credential(self, req: S3Request, access_key_id: str) -> Credential:
        token = req.headers.get("x-amz-security-token") or req.query.get("X-Amz-Security-Token")
        return self.resolve(access_key_id, token)

    def _scope(self, credential: str) -> tuple[str, str, str]:
        parts = credential.split("/")
        if len(parts) != 5 or parts[3] != sigv4.SERVICE or parts[4] != "aws4_request":
            raise _malformed(f"The authorization credential {credential!r} is malformed.")
        if parts[2] not in self._regions:
            raise _malformed(
                f"The authorization header is malformed; the region '{parts[2]}' is wrong; "
                f"expecting '{self.region}'",
                self.region,
            )
        return parts[0], parts[1], parts[2]

    def _header(self, req: S3Request, auth: str) -> S3Auth:
        fields = sigv4.parse_authorization(auth)
        credential, signed, provided = (
            fields.get("Credential", ""),
            fields.get("SignedHeaders", ""),
            fields.get("Signature", ""),
        )
        if not credential or not signed or not provided:
            raise _malformed(
                "The authorization header is malformed; it needs Credential, SignedHeaders and Signature."
            )
        access_key_id, date, region = self._scope(credential)
        amz_date = req.headers.get("x-amz-date", "")
        when = _parse_time(amz_date)
        if when is None:
            raise access_denied("AWS authentication requires a valid x-amz-date header (yyyymmddTHHMMSSZ).")
        if abs(time.time() - when) > MAX_SKEW_S:
            raise _skew()
        if amz_date[:8] != date:
            raise _malformed("The date in the credential does not match x-amz-date.")
        payload = req.headers.get("x-amz-content-sha256", "")
        if not payload:
            raise OSSError(
                400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
            )
        if (
            payload not in sigv4.STREAMING
            and payload != sigv4.UNSIGNED_PAYLOAD
            and not sigv4.is_payload_hash(payload)
        ):
            raise OSSError(
                400,
                "InvalidArgument",
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a SHA256 hex digest.",
            )
        key = self._credential(req, access_key_id)
        names = _signed_names(signed)
        if "host" not in names:
            raise access_denied("The host header must be signed.")
        signing_key = _cached_key(key.secret, date, region)
        self._verify(
            req, key, signing_key, amz_date, sigv4.scope(date, region), names, payload, provided, None
        )
        signer = None
        if payload in (sigv4.STREAMING_SIGNED, sigv4.STREAMING_SIGNED_TRAILER):
            signer = sigv4.ChunkSigner(signing_key, amz_date, sigv4.scope(date, region), provided)
        return S3Auth(key.principal, payload, signer)

    def _presigned(self, req: S3Request) -> S3Auth:
        q = req.query
        if q.get("X-Amz-Algorithm") != sigv4.ALGORITHM:
            raise OSSError(
                400, "AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'
            )
        for name in (
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
        ):
            if not q.get(name):
                raise OSSError(
                    400,
                    "AuthorizationQueryParametersError",
                    f"Query-string authentication version 4 requires the {name} parameter.",
                )
        access_key_id, date, region = self._scope(q["X-Amz-Credential"])
        amz_date, expires = q["X-Amz-Date"], q["X-Amz-Expires"]
        when = _parse_time(amz_date)
        if when is None or not expires.isdigit():
            raise OSSError(
                400, "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is invalid."
            )
        if int(expires) > MAX_PRESIGN_EXPIRES_S:
            raise OSSError(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
                "must be less than 604800 seconds",
            )
        now = time.time()
        if when + int(expires) < now:
            raise access_denied("Request has expired")
        if when - now > MAX_SKEW_S:
            raise _skew()
        key = self._credential(req, access_key_id)
        names = _signed_names(q["X-Amz-SignedHeaders"])
        # A presigned URL signs UNSIGNED-PAYLOAD, unless the signer also signed a payload hash header.
        payload = sigv4.UNSIGNED_PAYLOAD
        if "x-amz-content-sha256" in names:
            payload = req.headers.get("x-amz-content-sha256", "") or payload
        signing_key = _cached_key(key.secret, date, region)
        self._verify(
            req,
            key,
            signing_key,
            amz_date,
            sigv4.scope(date, region),
            names,
            payload,
            q["X-Amz-Signature"],
            "X-Amz-Signature",
        )
        return S3Auth(key.principal, payload if sigv4.is_payload_hash(payload) else sigv4.UNSIGNED_PAYLOAD)

    def _verify(
        self,
        req: S3Request,
        key: Credential,
        signing_key: bytes,
        amz_date: str,
        credential_scope: str,
        signed: list[str],
        payload: str,
        provided: str,
        exclude: str | None,
    ) -> None:
        first: tuple[str, str] | None = None
        query = sigv4.canonical_query(req.raw_query, exclude)
        if "+" in req.raw_query:
            queries = [query, sigv4.canonical_query(req.raw_query, exclude, plus_is_space=True)]
        else:
            queries = [query]
        for uri in sigv4.canonical_uris(req.raw_path):
            for query in queries:
                canonical = sigv4.canonical_request(req.method, uri, query, req.headers, signed, payload)
                sts = sigv4.string_to_sign(amz_date, credential_scope, canonical)
                if hmac.compare_digest(sigv4.signature(signing_key, sts), provided):
                    return
                first = first or (sts, canonical)
        assert first is not None
        raise OSSError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            {
                "AWSAccessKeyId": key.principal.access_key_id,
                "StringToSign": first[0],
                "SignatureProvided": provided,
                "CanonicalRequest": first[1],
            },
        )
