"""Who a request acts as, and how an access key id leads there.

Four kinds of callers sign requests: the account owner (the root key and every key made with `ossbox key
create`), RAM users (keys made with `ossbox ram key create`), role sessions (temporary credentials from
AssumeRole, which carry a security token), and cloud services (the project service, data delivery), whose keys
can do nothing but assume the roles that trust them. Anonymous requests have no principal at all.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ossbox.core.errors import OSSError
from ossbox.meta.types import AccessKey, StsSession

STS_KEY_PREFIX = "STS."


class Kind(Enum):
    OWNER = "owner"
    USER = "user"
    SESSION = "session"
    # A cloud service (name: "odps.aliyuncs.com", ...): it may only assume roles that trust the service.
    SERVICE = "service"


@dataclass(slots=True)
class Principal:
    access_key_id: str
    owner_id: str
    kind: Kind = Kind.OWNER
    name: str = ""  # the RAM user's name, or the assumed role's
    session_name: str = ""
    session_policy: str | None = None
    caller_arn: str = ""  # for a session: who assumed the role

    @property
    def is_owner(self) -> bool:
        return self.kind is Kind.OWNER


@dataclass(frozen=True, slots=True)
class Credential:
    """What verifying a signature needs, and whom it authenticates."""

    secret: str
    principal: Principal
    token_sha256: str | None = None  # set for temporary credentials: the token must come with the request
    expires_ms: int | None = None


def invalid_key(access_key_id: str, message: str = "") -> OSSError:
    return OSSError(
        403,
        "InvalidAccessKeyId",
        message or "The OSS Access Key Id you provided does not exist in our records.",
        {"OSSAccessKeyId": access_key_id},
    )


def token_expired() -> OSSError:
    return OSSError(403, "SecurityTokenExpired", "The security token you provided has expired.")


class CredentialResolver:
    def __init__(
        self,
        lookup_key: Callable[[str], AccessKey | None],
        lookup_session: Callable[[str], StsSession | None],
        owner_id: str,
        now_ms: Callable[[], int],
    ) -> None:
        self._key = lookup_key
        self._session = lookup_session
        self._owner_id = owner_id
        self._now_ms = now_ms

    def __call__(self, access_key_id: str, token: str | None) -> Credential:
        """The credential of `access_key_id`, checked against the security token the request carried."""
        if access_key_id.startswith(STS_KEY_PREFIX):
            return self._temporary(access_key_id, token)
        key = self._key(access_key_id)
        if key is None:
            raise invalid_key(access_key_id)
        if token is not None:
            raise invalid_key(access_key_id, "A security token was sent with a long-term access key.")
        if key.service is not None:
            return Credential(
                key.secret, Principal(key.access_key_id, key.owner_id, Kind.SERVICE, key.service)
            )
        if key.user_name is None:
            return Credential(key.secret, Principal(key.access_key_id, key.owner_id))
        return Credential(key.secret, Principal(key.access_key_id, key.owner_id, Kind.USER, key.user_name))

    def _temporary(self, access_key_id: str, token: str | None) -> Credential:
        session = self._session(access_key_id)
        if session is None:
            raise invalid_key(access_key_id)
        digest = hashlib.sha256((token or "").encode("utf-8", "replace")).hexdigest()
        if token is None or not hmac.compare_digest(digest, session.token_sha256):
            raise invalid_key(access_key_id, "The security token you provided is invalid.")
        if session.expires_ms <= self._now_ms():
            raise token_expired()
        principal = Principal(
            access_key_id,
            self._owner_id,
            Kind.SESSION,
            session.role_name,
            session.session_name,
            session.session_policy,
            session.caller_arn,
        )
        return Credential(session.secret, principal, session.token_sha256, session.expires_ms)
