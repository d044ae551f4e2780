"""Who signed a PostObject form: V1 (`OSSAccessKeyId`, `Signature`) or V4 (`x-oss-signature-version`,
`x-oss-credential`, `x-oss-date`, `x-oss-signature`) over the base64 `policy` field.

A form without any of these fields is anonymous (allowed only where the bucket ACL is public-read-write).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from ossbox.auth.authenticator import MAX_SKEW_S, Authenticator
from ossbox.auth.principals import Principal
from ossbox.core.errors import OSSError, access_denied, invalid_argument
from ossbox.protocol import post_policy
from ossbox.protocol.signing import V4_ALGORITHM

_V1_FIELDS = ("ossaccesskeyid", "signature")
_V4_FIELDS = ("x-oss-signature-version", "x-oss-credential", "x-oss-date", "x-oss-signature")


def is_signed(fields: Mapping[str, str]) -> bool:
    return any(f in fields for f in (*_V1_FIELDS, *_V4_FIELDS, "policy"))


def _mismatch(access_key_id: str, policy: str, provided: str) -> OSSError:
    return OSSError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        {"OSSAccessKeyId": access_key_id, "SignatureProvided": provided, "StringToSign": policy},
    )


def verify(auth: Authenticator, fields: Mapping[str, str]) -> Principal:
    """The signer of a signed form (`fields` by lower-case name). Raises on a missing or wrong signature."""
    policy = fields.get("policy")
    if not policy:
        raise access_denied("A signed POST upload needs the policy field.")
    token = fields.get("x-oss-security-token")
    if "x-oss-signature" in fields or "x-oss-signature-version" in fields:
        return _verify_v4(auth, fields, policy, token)
    access_key_id = fields.get("ossaccesskeyid", "")
    provided = fields.get("signature", "")
    if not access_key_id:
        raise access_denied("A signed POST upload needs the OSSAccessKeyId field.")
    if not provided:
        raise access_denied("A signed POST upload needs the Signature field.")
    key = auth.resolve(access_key_id, token)
    if not hmac.compare_digest(post_policy.v1_signature(key.secret, policy), provided):
        raise _mismatch(access_key_id, policy, provided)
    return key.principal


def _verify_v4(auth: Authenticator, fields: Mapping[str, str], policy: str, token: str | None) -> Principal:
    for name in _V4_FIELDS:
        if not fields.get(name):
            raise access_denied(f"A V4-signed POST upload needs the {name} field.")
    if fields["x-oss-signature-version"] != V4_ALGORITHM:
        raise invalid_argument(
            "x-oss-signature-version is invalid.",
            "x-oss-signature-version",
            fields["x-oss-signature-version"],
        )
    access_key_id, date, region = auth.v4_scope(fields["x-oss-credential"])
    stamp = fields["x-oss-date"]
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError as exc:
        raise access_denied("x-oss-date is not in yyyymmddTHHMMSSZ form.") from exc
    if stamp[:8] != date:
        raise invalid_argument("Invalid signing date in x-oss-credential.", "x-oss-credential", date)
    if when - time.time() > MAX_SKEW_S:
        raise OSSError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
    key = auth.resolve(access_key_id, token)
    provided = fields["x-oss-signature"]
    expected = post_policy.v4_signature(auth.v4_signing_key(key.secret, date, region), policy)
    if not hmac.compare_digest(expected, provided):
        raise _mismatch(access_key_id, policy, provided)
    return key.principal
