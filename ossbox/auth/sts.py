"""AssumeRole: temporary credentials for a RAM role, as Alibaba Cloud's STS issues them.

The caller needs `sts:AssumeRole` on the role's ARN in its own policies (the account owner always has it),
and the role's trust policy must name the caller (`acs:ram::<account>:root` trusts every identity of the
account). The credentials act with the role's policies, narrowed by the optional session policy, until they
expire. Tokens are random; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ossbox.auth import policy as P
from ossbox.auth.authorizer import Authorizer, parse_new, parse_stored
from ossbox.auth.principals import STS_KEY_PREFIX, Kind, Principal
from ossbox.core.errors import OSSError
from ossbox.meta.types import RamRole, StsSession

MIN_DURATION_S = 900
MAX_DURATION_S = 43200
DEFAULT_DURATION_S = 3600
MAX_SESSION_POLICY_CHARS = 2048
_ROLE_ARN = re.compile(r"^acs:ram::(\d+):role/([A-Za-z0-9.\-]{1,64})$")
_SESSION_NAME = re.compile(r"^[A-Za-z0-9.@\-_]{2,64}$")
_ALNUM = string.ascii_letters + string.digits


def sts_error(status: int, code: str, message: str) -> OSSError:
    return OSSError(status, code, message)


@dataclass(frozen=True)
class AssumeRoleRequest:
    role_arn: str
    session_name: str
    duration_s: int | None = None
    policy: str | None = None


@dataclass(frozen=True)
class Issued:
    session: StsSession
    token: str
    arn: str  # acs:ram::<account>:role/<role>/<session>
    assumed_role_id: str  # <role id>:<session>


def caller_arn(principal: Principal, account_id: str) -> str:
    if principal.kind is Kind.OWNER:
        return f"acs:ram::{account_id}:root"
    if principal.kind is Kind.SERVICE:
        return f"acs:ram::{account_id}:service/{principal.name}"
    if principal.kind is Kind.USER:
        return f"acs:ram::{account_id}:user/{principal.name}"
    return f"acs:ram::{account_id}:assumed-role/{principal.name}/{principal.session_name}"


class Sts:
    def __init__(
        self,
        authorizer: Authorizer,
        role: Callable[[str], RamRole | None],
        store: Callable[[StsSession], Awaitable[None]],
        now_ms: Callable[[], int],
    ) -> None:
        self._authz = authorizer
        self._role = role
        self._store = store
        self._now_ms = now_ms

    @property
    def account_id(self) -> str:
        return self._authz.account_id

    async def assume_role(self, caller: Principal, req: AssumeRoleRequest, values: dict[str, str]) -> Issued:
        role = self._check_role(req.role_arn)
        if not _SESSION_NAME.match(req.session_name):
            raise sts_error(
                400,
                "InvalidParameter.RoleSessionName",
                "The parameter RoleSessionName must be 2 to 64 letters, digits or . @ - _ characters.",
            )
        duration = (
            req.duration_s if req.duration_s is not None else min(DEFAULT_DURATION_S, role.max_session_s)
        )
        if not MIN_DURATION_S <= duration <= min(role.max_session_s, MAX_DURATION_S):
            raise sts_error(
                400,
                "InvalidParameter.DurationSeconds",
                f"The parameter DurationSeconds must be between {MIN_DURATION_S} and {role.max_session_s} "
                "(the role's maximum session duration).",
            )
        if req.policy is not None:
            if len(req.policy) > MAX_SESSION_POLICY_CHARS:
                raise sts_error(400, "InvalidParameter.PolicySize", "The session policy is too long.")
            try:
                parse_new(req.policy)
            except OSSError as exc:
                raise sts_error(400, "InvalidParameter.PolicyGrammar", exc.message) from exc
        arn = f"acs:ram::{self.account_id}:role/{role.name.lower()}"
        if not self._authz.identity_allows(caller, "sts:AssumeRole", arn, values):
            raise _no_permission()
        if not self._trusted(role, caller, values):
            raise _no_permission("The role's trust policy does not allow this caller to assume it.")
        now = self._now_ms()
        token = "CAIS" + secrets.token_urlsafe(96)
        session = StsSession(
            access_key_id=STS_KEY_PREFIX + "".join(secrets.choice(_ALNUM) for _ in range(28)),
            secret="".join(secrets.choice(_ALNUM) for _ in range(44)),
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            role_name=role.name,
            session_name=req.session_name,
            session_policy=req.policy,
            caller_arn=caller_arn(caller, self.account_id),
            created_ms=now,
            expires_ms=now + duration * 1000,
        )
        await self._store(session)
        return Issued(session, token, f"{arn}/{req.session_name}", f"{role.role_id}:{req.session_name}")

    def _check_role(self, role_arn: str) -> RamRole:
        if not role_arn:
            raise sts_error(400, "MissingRoleArn", "RoleArn is mandatory for this action.")
        m = _ROLE_ARN.match(role_arn)
        if m is None:
            raise sts_error(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
        role = self._role(m.group(2)) if m.group(1) == self.account_id else None
        if role is None:
            raise sts_error(404, "EntityNotExist.Role", f"The specified Role not exists: {role_arn}.")
        return role

    def _trusted(self, role: RamRole, caller: Principal, values: dict[str, str]) -> bool:
        try:
            trust = parse_stored(role.trust_policy, trust=True)
        except OSSError:
            return False
        account = self.account_id
        if caller.kind is Kind.SERVICE:
            ids: tuple[str, ...] = (caller.name,)  # trust policies name services as {"Service": [name]}
        else:
            ids = (f"acs:ram::{account}:root", caller_arn(caller, account), account)
        ctx = P.RequestContext("sts:AssumeRole", "*", ids, values)
        return P.evaluate([trust], ctx) is P.Decision.ALLOW


def _no_permission(detail: str = "") -> OSSError:
    message = "You are not authorized to do this action. You should be authorized by RAM."
    return sts_error(403, "NoPermission", f"{message} {detail}".strip())


def default_trust_policy(account_id: str) -> str:
    """Trust every identity of the account (the identity still needs sts:AssumeRole in its policies)."""
    return (
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
        f'"Principal":{{"RAM":["acs:ram::{account_id}:root"]}}}}]}}'
    )
