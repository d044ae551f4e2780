"""Who may do what in a project: MaxCompute's ACL model, kept small.

Principals are named as MaxCompute names them: the account owner `ALIYUN$<account id>`, a RAM user
`RAM$<account id>:<user>`. In statements a bare `<user>` means the account's RAM user of that name.

The project owner (the account owner) may do everything. Anyone else must have been added to the project
(`ADD USER`) and then holds only what was granted, plus everything on the objects they created. A privilege
granted ON PROJECT covers every object of the project; one granted on a table or a volume covers that one.
Table privileges MaxCompute spells differently are accepted as aliases: Select = Read, Update and Alter =
Write, Describe = List, Drop = Delete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ossbox.volumes.catalog import Catalog
from ossbox.volumes.errors import VolumeError, access_denied

OBJECT_TYPES = ("project", "table", "volume")
_CANONICAL = {
    p.lower(): p
    for p in (
        "CreateInstance",
        "CreateVolume",
        "CreateTable",
        "List",
        "Read",
        "Write",
        "Delete",
        "All",
        "Select",
        "Update",
        "Alter",
        "Describe",
        "Drop",
    )
}
_ALLOWED = {
    "project": {"CreateInstance", "CreateVolume", "CreateTable", "List", "Read", "Write", "Delete", "All"},
    "volume": {"List", "Read", "Write", "Delete", "All"},
    "table": {"List", "Read", "Write", "Delete", "All", "Select", "Update", "Alter", "Describe", "Drop"},
}
# What a granted privilege also gives.
_IMPLIES = {
    "Select": "Read",
    "Update": "Write",
    "Alter": "Write",
    "Describe": "List",
    "Drop": "Delete",
}
_RAM = re.compile(r"^RAM\$(?:(\d+):)?([A-Za-z0-9._@\-]{1,64})$", re.IGNORECASE)
_ALIYUN = re.compile(r"^ALIYUN\$(.+)$", re.IGNORECASE)
_BARE = re.compile(r"^[A-Za-z0-9._@\-]{1,64}$")


@dataclass(frozen=True)
class Caller:
    """An authenticated caller of the project service."""

    principal: str  # ALIYUN$<account> or RAM$<account>:<user>
    is_owner: bool
    user_name: str | None  # the RAM user's name


def owner_principal(account_id: str) -> str:
    return f"ALIYUN${account_id}"


def user_principal(account_id: str, user: str) -> str:
    return f"RAM${account_id}:{user}"


def parse_principal(text: str, account_id: str) -> tuple[str, str | None]:
    """A user named in a statement -> (principal, RAM user name or None for the owner)."""
    m = _RAM.match(text)
    if m:
        if m.group(1) and m.group(1) != account_id:
            raise VolumeError(
                "InvalidUser", f"{text}: the account {m.group(1)} is not this server's account."
            )
        return user_principal(account_id, m.group(2)), m.group(2)
    m = _ALIYUN.match(text)
    if m:
        return owner_principal(account_id), None
    if _BARE.match(text):
        return user_principal(account_id, text), text
    raise VolumeError("InvalidUser", f"{text!r} is not a user name (RAM$<account>:<user> or <user>).")


def canonical_privilege(word: str, object_type: str) -> str:
    priv = _CANONICAL.get(word.lower())
    if priv is None:
        raise VolumeError("InvalidPrivilege", f"Unknown privilege {word!r}.")
    if priv not in _ALLOWED[object_type]:
        allowed = ", ".join(sorted(_ALLOWED[object_type]))
        raise VolumeError(
            "InvalidPrivilege", f"{priv} cannot be granted on a {object_type} (only {allowed})."
        )
    return priv


def _covers(granted: str, needed: str) -> bool:
    return granted in (needed, "All") or _IMPLIES.get(granted) == needed


class Guard:
    """Permission checks of one project, read from the catalog on every call (no cache to go stale)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def require_member(self, caller: Caller, project: str) -> None:
        self.catalog.require_project(project)
        if caller.is_owner or self.catalog.is_member(project, caller.principal):
            return
        raise access_denied(f"Authorization Failed [4002], You don't exist in project {project}.")

    def allowed(
        self, caller: Caller, project: str, object_type: str, name: str, needed: str, owner: str = ""
    ) -> bool:
        if caller.is_owner or (owner and owner == caller.principal):
            return True
        for otype, oname, priv in self.catalog.grants_of(project, caller.principal):
            on_object = otype == object_type and oname == name
            on_project = otype == "project"
            if (on_object or on_project) and _covers(priv, needed):
                return True
        return False

    def require(
        self, caller: Caller, project: str, object_type: str, name: str, needed: str, owner: str = ""
    ) -> None:
        self.require_member(caller, project)
        if not self.allowed(caller, project, object_type, name, needed, owner):
            target = f"projects/{project}" + ("" if object_type == "project" else f"/{object_type}s/{name}")
            raise access_denied(
                f"Authorization Failed [4019], You have NO privilege '{needed}' on {{acs:odps:*:{target}}}."
            )

    def require_owner(self, caller: Caller, project: str, what: str) -> None:
        self.require_member(caller, project)
        if not caller.is_owner:
            raise access_denied(f"Authorization Failed [4019], only the project owner may {what}.")
