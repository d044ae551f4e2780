"""Managing identities: RAM users and their keys, groups, roles, custom policies and attachments.

Administrative use cases, run directly against the metadata store (each in its own transaction) by the
`ossbox ram` commands; every server process sees a change at once (see meta/shared_state.py).
"""

from __future__ import annotations

import re
import secrets
import string
import time

from ossbox.auth.authorizer import SYSTEM_POLICIES, parse_new
from ossbox.auth.sts import MAX_DURATION_S, MIN_DURATION_S, default_trust_policy
from ossbox.core.errors import OSSError
from ossbox.meta.sql_store import SqlMeta, SqlTxn
from ossbox.meta.types import AccessKey, RamGroup, RamPolicy, RamRole, RamUser

TARGET_TYPES = ("user", "group", "role")
_USER_NAME = re.compile(r"^[A-Za-z0-9._@\-]{1,64}$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9.\-]{1,64}$")
_POLICY_NAME = re.compile(r"^[A-Za-z0-9\-]{1,128}$")
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,127}$")
_ALNUM = string.ascii_letters + string.digits


def _error(code: str, message: str, status: int = 400) -> OSSError:
    return OSSError(status, code, message)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_name(pattern: re.Pattern[str], kind: str, name: str) -> None:
    if not pattern.match(name):
        raise _error(f"InvalidParameter.{kind}Name", f"{name!r} is not a valid {kind.lower()} name.")


def new_key_pair() -> tuple[str, str]:
    key_id = "LTAI" + "".join(secrets.choice(_ALNUM) for _ in range(20))
    secret = "".join(secrets.choice(_ALNUM) for _ in range(30))
    return key_id, secret


class IdentityAdmin:
    def __init__(self, meta: SqlMeta, owner_id: str, account_id: str) -> None:
        self.meta = meta
        self.owner_id = owner_id
        self.account_id = account_id

    # -- users and their keys --------------------------------------------------------------------------
    def create_user(self, name: str, comment: str = "") -> RamUser:
        _check_name(_USER_NAME, "User", name)
        user = RamUser(name, str(secrets.randbelow(9 * 10**15) + 10**15), _now_ms(), comment)

        def op(txn: SqlTxn) -> RamUser:
            if txn.identities.user_exists(name):
                raise _error("EntityAlreadyExists.User", f"The user {name} already exists.", 409)
            txn.identities.insert_user(user)
            return user

        return self.meta.write(op)

    def delete_user(self, name: str) -> None:
        def op(txn: SqlTxn) -> None:
            self._require(txn, "user", name)
            txn.identities.delete_user(name)

        self.meta.write(op)

    def create_user_key(self, user_name: str, description: str = "") -> AccessKey:
        key_id, secret = new_key_pair()
        key = AccessKey(key_id, secret, self.owner_id, False, _now_ms(), description, user_name)

        def op(txn: SqlTxn) -> AccessKey:
            self._require(txn, "user", user_name)
            txn.insert_access_key(key)
            return key

        return self.meta.write(op)

    def service_key(self, service: str) -> AccessKey:
        """The key a cloud service (e.g. "odps.aliyuncs.com") signs its AssumeRole calls with; made once."""
        if not _SERVICE_NAME.match(service):
            raise _error("InvalidParameter.ServiceName", f"{service!r} is not a service name.")

        def op(txn: SqlTxn) -> AccessKey:
            found = txn.identities.service_key(service)
            if found is not None:
                return found
            key_id, secret = new_key_pair()
            key = AccessKey(
                key_id, secret, self.owner_id, False, _now_ms(), f"service {service}", None, service
            )
            txn.insert_access_key(key)
            return key

        return self.meta.write(op)

    # -- groups ----------------------------------------------------------------------------------------
    def create_group(self, name: str, comment: str = "") -> RamGroup:
        _check_name(_USER_NAME, "Group", name)
        group = RamGroup(name, _now_ms(), comment)

        def op(txn: SqlTxn) -> RamGroup:
            if txn.identities.group_exists(name):
                raise _error("EntityAlreadyExists.Group", f"The group {name} already exists.", 409)
            txn.identities.insert_group(group)
            return group

        return self.meta.write(op)

    def delete_group(self, name: str) -> None:
        def op(txn: SqlTxn) -> None:
            self._require(txn, "group", name)
            txn.identities.delete_group(name)

        self.meta.write(op)

    def add_to_group(self, group: str, user: str) -> None:
        def op(txn: SqlTxn) -> None:
            self._require(txn, "group", group)
            self._require(txn, "user", user)
            txn.identities.add_member(group, user)

        self.meta.write(op)

    def remove_from_group(self, group: str, user: str) -> None:
        def op(txn: SqlTxn) -> None:
            if not txn.identities.remove_member(group, user):
                raise _error("EntityNotExist.User.Group", f"{user} is not in the group {group}.", 404)

        self.meta.write(op)

    # -- roles -----------------------------------------------------------------------------------------
    def role_arn(self, name: str) -> str:
        return f"acs:ram::{self.account_id}:role/{name.lower()}"

    def create_role(
        self, name: str, trust_policy: str | None = None, max_session_s: int = 3600, comment: str = ""
    ) -> RamRole:
        _check_name(_ROLE_NAME, "Role", name)
        if not MIN_DURATION_S * 4 <= max_session_s <= MAX_DURATION_S:  # RAM: 3600..43200
            raise _error(
                "InvalidParameter.MaxSessionDuration", "The maximum session duration must be 3600..43200."
            )
        document = trust_policy or default_trust_policy(self.account_id)
        parse_new(document, trust=True)
        role = RamRole(
            name, str(secrets.randbelow(9 * 10**17) + 10**17), document, max_session_s, _now_ms(), comment
        )

        def op(txn: SqlTxn) -> RamRole:
            if txn.identities.role_exists(name):
                raise _error("EntityAlreadyExists.Role", f"The role {name} already exists.", 409)
            txn.identities.insert_role(role)
            return role

        return self.meta.write(op)

    def update_trust_policy(self, name: str, document: str) -> None:
        parse_new(document, trust=True)

        def op(txn: SqlTxn) -> None:
            self._require(txn, "role", name)
            txn.identities.set_trust_policy(name, document)

        self.meta.write(op)

    def delete_role(self, name: str) -> None:
        def op(txn: SqlTxn) -> None:
            self._require(txn, "role", name)
            txn.identities.delete_role(name)

        self.meta.write(op)

    # -- policies --------------------------------------------------------------------------------------
    def create_policy(self, name: str, document: str, comment: str = "", replace: bool = False) -> RamPolicy:
        _check_name(_POLICY_NAME, "Policy", name)
        if name in SYSTEM_POLICIES:
            raise _error("EntityAlreadyExists.Policy", f"{name} is a system policy.", 409)
        parse_new(document)
        policy = RamPolicy(name, document, _now_ms(), comment)

        def op(txn: SqlTxn) -> RamPolicy:
            if txn.identities.policy_exists(name) and not replace:
                raise _error("EntityAlreadyExists.Policy", f"The policy {name} already exists.", 409)
            txn.identities.put_policy(policy)
            return policy

        return self.meta.write(op)

    def delete_policy(self, name: str, force: bool = False) -> None:
        def op(txn: SqlTxn) -> None:
            if not txn.identities.policy_exists(name):
                raise _error("EntityNotExist.Policy", f"The policy {name} does not exist.", 404)
            if txn.identities.policy_in_use(name) and not force:
                raise _error("DeleteConflict.Policy.User", f"The policy {name} is still attached.", 409)
            txn.identities.delete_policy(name)

        self.meta.write(op)

    def attach(self, policy_name: str, target_type: str, target_name: str) -> None:
        def op(txn: SqlTxn) -> None:
            if policy_name not in SYSTEM_POLICIES and not txn.identities.policy_exists(policy_name):
                raise _error("EntityNotExist.Policy", f"The policy {policy_name} does not exist.", 404)
            self._require(txn, target_type, target_name)
            txn.identities.attach(policy_name, target_type, target_name)

        self.meta.write(op)

    def detach(self, policy_name: str, target_type: str, target_name: str) -> None:
        def op(txn: SqlTxn) -> None:
            if not txn.identities.detach(policy_name, target_type, target_name):
                raise _error(
                    "EntityNotExist.PolicyAttachment",
                    f"The policy {policy_name} is not attached to the {target_type} {target_name}.",
                    404,
                )

        self.meta.write(op)

    @staticmethod
    def _require(txn: SqlTxn, target_type: str, name: str) -> None:
        ids = txn.identities
        exists = {"user": ids.user_exists, "group": ids.group_exists, "role": ids.role_exists}[target_type]
        if not exists(name):
            raise _error(
                f"EntityNotExist.{target_type.title()}", f"The {target_type} {name} does not exist.", 404
            )
