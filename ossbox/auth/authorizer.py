"""May this principal do this action on this resource? One place for every operation.

The order is OSS's: the bucket owner's own keys may do everything on the owner's buckets. For everyone else
(RAM users, role sessions, anonymous callers) an explicit Deny in any applicable policy (the caller's RAM
policies, the role session's policy, the bucket policy) refuses the request; an Allow lets it through;
otherwise the ACLs decide (public-read buckets and objects may be read by anyone, public-read-write buckets
written by anyone). A role session's rights are the intersection of its role's policies and the policy
passed to AssumeRole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from ossbox.auth import policy as P
from ossbox.auth.principals import Kind, Principal
from ossbox.core.errors import OSSError, access_denied
from ossbox.meta.types import Bucket, RamUser
from ossbox.protocol import actions
from ossbox.protocol.request import Access

log = logging.getLogger("ossbox.auth")

_PUBLIC_READ = ("public-read", "public-read-write")

# Policies every account has (RAM's system policies), attachable by name.
SYSTEM_POLICIES: dict[str, str] = {
    "AdministratorAccess": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    "AliyunOSSFullAccess": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}',
    "AliyunOSSReadOnlyAccess": (
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:Get*","oss:List*"],"Resource":"*"}]}'
    ),
    "AliyunSTSAssumeRoleAccess": (
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
    ),
}


class Grant(Enum):
    """Why a request may go on."""

    OWNER = "owner"
    POLICY = "policy"
    # No policy decided and the bucket ACL did not refuse: for object reads the object's own ACL (or the
    # bucket's, when the object has none) has the last word, in the handler that loads the object.
    ACL = "acl"


@lru_cache(maxsize=1024)
def parse_stored(document: str, bucket_policy: bool = False, trust: bool = False) -> P.Policy:
    """A stored document (validated when it was stored), parsed once."""
    return P.parse_policy(document, bucket_policy=bucket_policy, trust=trust, known_actions=actions.KNOWN)


def parse_new(document: str | bytes, bucket_policy: bool = False, trust: bool = False) -> P.Policy:
    """Validate a document someone wants to store; raises OSSError saying what is wrong."""
    return P.parse_policy(document, bucket_policy=bucket_policy, trust=trust, known_actions=actions.KNOWN)


@dataclass(frozen=True)
class Identities:
    """The lookups the authorizer needs (the metadata store's identity catalog provides them)."""

    user: Callable[[str], RamUser | None]
    user_policies: Callable[[str], Sequence[tuple[str, str | None]]]
    role_policies: Callable[[str], Sequence[tuple[str, str | None]]]
    bucket_policy: Callable[[str], str | None]


class Authorizer:
    def __init__(self, identities: Identities, account_id: str, region: str) -> None:
        self._ids = identities
        self.account_id = account_id
        self.region = region

    # -- names -----------------------------------------------------------------------------------------
    def resource(self, bucket: str | None, key: str | None) -> str:
        prefix = f"acs:oss:{self.region}:{self.account_id}:"
        if bucket is None:
            return prefix + "*"
        return prefix + (bucket if key is None else f"{bucket}/{key}")

    def principal_ids(self, principal: Principal | None) -> tuple[str, ...]:
        """What a bucket policy's Principal may name to mean this caller."""
        if principal is None:
            return ()
        account = self.account_id
        if principal.kind is Kind.OWNER:
            return (account, f"acs:ram::{account}:root", P.ACCOUNT_IDENTITIES)
        if principal.kind is Kind.USER:
            user = self._ids.user(principal.name)
            uid = user.user_id if user else ""
            return (uid, f"acs:ram::{account}:user/{principal.name}", P.ACCOUNT_IDENTITIES)
        if principal.kind is Kind.SERVICE:
            return (principal.name,)
        role = principal.name
        return (
            f"arn:sts::{account}:assumed-role/{role}/{principal.session_name}",
            f"acs:ram::{account}:role/{role}",
            P.ACCOUNT_IDENTITIES,
        )

    # -- the decision ----------------------------------------------------------------------------------
    def check(
        self,
        principal: Principal | None,
        access: Access,
        action: str,
        bucket: Bucket | None,
        key: str | None,
        values: Mapping[str, str],
    ) -> Grant:
        """The grant, or AccessDenied."""
        if principal is not None and principal.is_owner:
            if bucket is None or bucket.owner_id == principal.owner_id:
                return Grant.OWNER
            raise access_denied("You have no right to access this bucket.")
        ctx = P.RequestContext(action, self.resource(bucket.name if bucket else None, key), (), values)
        decision = self._identity_decision(principal, ctx)
        if bucket is not None:
            bucket_doc = self._ids.bucket_policy(bucket.name)
            if bucket_doc is not None:
                bucket_ctx = P.RequestContext(ctx.action, ctx.resource, self.principal_ids(principal), values)
                decision = _combine(decision, P.evaluate([parse_stored(bucket_doc, True)], bucket_ctx))
        if decision is P.Decision.DENY:
            raise _denied(action, "explicit deny")
        if decision is P.Decision.ALLOW:
            return Grant.POLICY
        return _by_acl(principal, access, action, bucket)

    def identity_allows(
        self, principal: Principal, action: str, resource: str, values: Mapping[str, str]
    ) -> bool:
        """Whether the caller's own policies allow `action` on `resource` (no bucket policy, no ACL)."""
        if principal.is_owner:
            return True
        if principal.kind is Kind.SERVICE:
            return action.lower() == "sts:assumerole"  # the role's trust policy decides the rest
        ctx = P.RequestContext(action, resource, (), values)
        return self._identity_decision(principal, ctx) is P.Decision.ALLOW

    def _identity_decision(self, principal: Principal | None, ctx: P.RequestContext) -> P.Decision:
        if principal is None or principal.kind is Kind.SERVICE:
            return P.Decision.NONE  # a service acts only through the roles it assumes
        if principal.kind is Kind.USER:
            return P.evaluate(self._policies(self._ids.user_policies(principal.name)), ctx)
        decision = P.evaluate(self._policies(self._ids.role_policies(principal.name)), ctx)
        if principal.session_policy is None or decision is P.Decision.DENY:
            return decision
        session = P.evaluate([parse_stored(principal.session_policy)], ctx)
        if session is P.Decision.DENY:
            return P.Decision.DENY
        # Both the role and the session policy must allow.
        return decision if session is P.Decision.ALLOW else P.Decision.NONE

    def _policies(self, attached: Sequence[tuple[str, str | None]]) -> list[P.Policy]:
        out = []
        for name, document in attached:
            doc = document if document is not None else SYSTEM_POLICIES.get(name)
            if doc is None:
                log.warning("policy %s is attached but does not exist; ignored", name)
                continue
            try:
                out.append(parse_stored(doc))
            except OSSError as exc:
                log.warning("stored policy %s no longer parses (%s); ignored", name, exc.message)
        return out


def _combine(a: P.Decision, b: P.Decision) -> P.Decision:
    if P.Decision.DENY in (a, b):
        return P.Decision.DENY
    if P.Decision.ALLOW in (a, b):
        return P.Decision.ALLOW
    return P.Decision.NONE


def _denied(action: str, why: str) -> OSSError:
    return access_denied(f"You are forbidden to {action} ({why}).")


def _acl_denied(principal: Principal | None, action: str, anonymous_message: str) -> OSSError:
    if principal is None:
        return access_denied(anonymous_message)
    return _denied(action, "no policy allows it and the bucket ACL does not either")


def _by_acl(principal: Principal | None, access: Access, action: str, bucket: Bucket | None) -> Grant:
    if access in (Access.SERVICE, Access.CREATE_BUCKET, Access.BUCKET_OWNER) or bucket is None:
        if principal is None:
            raise access_denied("Anonymous access is forbidden for this operation.")
        raise _denied(action, "no policy allows it")
    if access is Access.BUCKET_READ:
        if bucket.acl not in _PUBLIC_READ:
            raise _acl_denied(
                principal, action, "You have no right to access this bucket because of bucket acl."
            )
        return Grant.ACL
    if access in (Access.OBJECT_WRITE, Access.EACH_OBJECT):
        if bucket.acl != "public-read-write":
            raise _acl_denied(
                principal, action, "You have no right to access this object because of bucket acl."
            )
        return Grant.ACL
    return Grant.ACL  # object reads: the object's ACL decides (see Grant.ACL)


def request_values(
    client_ip: str, headers: Mapping[str, str], query: Mapping[str, str], secure: bool = False
) -> dict[str, str]:
    """The condition keys policies may test, for this request (names lower-cased). `secure`: it came over
    ossbox's own HTTPS listener (TLS ended in front of ossbox is not seen)."""
    values = {
        "acs:sourceip": client_ip,
        "acs:securetransport": "true" if secure else "false",
        "acs:currenttime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if "user-agent" in headers:
        values["acs:useragent"] = headers["user-agent"]
    if "referer" in headers:
        values["acs:referer"] = headers["referer"]
    for name in ("prefix", "delimiter", "max-keys"):
        if name in query:
            values["oss:" + name.replace("-", "")] = query[name]
    return values
