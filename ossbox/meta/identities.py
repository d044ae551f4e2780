"""Identities in the metadata store: RAM users, groups, roles, custom policies, their attachments, temporary
credentials (STS sessions) and bucket policies.

Reads are cached like buckets and keys (until any process changes one; see shared_state.py), except STS
sessions: they are created on every AssumeRole and never change, so only the ones found are cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ossbox.meta.connection import Connection, Cursor
from ossbox.meta.types import AccessKey, RamGroup, RamPolicy, RamRole, RamUser, StsSession

_SESSION_CACHE_MAX = 4096
ACCESS_KEY_SELECT = (
    "SELECT access_key_id, secret, owner_id, is_root, created_ms, description, user_name, service "
    "FROM access_keys "
)
_ROLE_COLS = "name, role_id, trust_policy, max_session_s, created_ms, comment"
_SESSION_COLS = (
    "access_key_id, secret, token_sha256, role_name, session_name, session_policy, caller_arn, "
    "created_ms, expires_ms"
)
# (policy name, its document if it is a custom policy; None for a system policy, resolved by auth)
AttachedPolicy = tuple[str, str | None]


def access_key_from_row(r: Sequence[Any]) -> AccessKey:
    return AccessKey(r[0], r[1], r[2], bool(r[3]), *r[4:])


class _Txn(Protocol):
    c: Connection
    changed_config: bool


class IdentityCatalog:
    """Cached reads, on the metadata store's read connection (event-loop thread)."""

    def __init__(
        self, conn: Connection, check_caches: Callable[[], None], caches: list[dict[Any, Any]]
    ) -> None:
        self._c = conn
        self._check = check_caches
        self._users: dict[str, RamUser | None] = {}
        self._roles: dict[str, RamRole | None] = {}
        self._user_policies: dict[str, list[AttachedPolicy]] = {}
        self._role_policies: dict[str, list[AttachedPolicy]] = {}
        self._bucket_policies: dict[str, str | None] = {}
        caches += [self._users, self._roles, self._user_policies, self._role_policies, self._bucket_policies]
        self._sessions: dict[str, StsSession] = {}

    def _cached(self, cache: dict[str, Any], key: str, load: Callable[[str], Any]) -> Any:
        self._check()
        try:
            return cache[key.lower()]
        except KeyError:
            value = cache[key.lower()] = load(key)
            return value

    # -- users, roles, policies ----------------------------------------------------------------------
    def user(self, name: str) -> RamUser | None:
        return self._cached(self._users, name, self._load_user)  # type: ignore[no-any-return]

    def _load_user(self, name: str) -> RamUser | None:
        row = self._c.execute(
            "SELECT name, user_id, created_ms, comment FROM ram_users WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else RamUser(*row)

    def role(self, name: str) -> RamRole | None:
        return self._cached(self._roles, name, self._load_role)  # type: ignore[no-any-return]

    def _load_role(self, name: str) -> RamRole | None:
        row = self._c.execute(
            f"SELECT {_ROLE_COLS} FROM ram_roles WHERE name = ?",
            (name,),
        ).fetchone()
        return None if row is None else RamRole(*row)

    def user_policies(self, user_name: str) -> list[AttachedPolicy]:
        """Policies attached to the user and to every group the user is in."""
        return self._cached(self._user_policies, user_name, self._load_user_policies)  # type: ignore[no-any-return]

    def _load_user_policies(self, user_name: str) -> list[AttachedPolicy]:
        rows = self._c.execute(
            "SELECT a.policy_name, p.document FROM ram_attachments a "
            "LEFT JOIN ram_policies p ON p.name = a.policy_name "
            "WHERE (a.target_type = 'user' AND a.target_name = ?) "
            "OR (a.target_type = 'group' AND a.target_name IN "
            "    (SELECT group_name FROM ram_group_members WHERE user_name = ?)) "
            "ORDER BY a.policy_name",
            (user_name, user_name),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def role_policies(self, role_name: str) -> list[AttachedPolicy]:
        return self._cached(self._role_policies, role_name, self._load_role_policies)  # type: ignore[no-any-return]

    def _load_role_policies(self, role_name: str) -> list[AttachedPolicy]:
        rows = self._c.execute(
            "SELECT a.policy_name, p.document FROM ram_attachments a "
            "LEFT JOIN ram_policies p ON p.name = a.policy_name "
            "WHERE a.target_type = 'role' AND a.target_name = ? ORDER BY a.policy_name",
            (role_name,),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def bucket_policy(self, bucket: str) -> str | None:
        self._check()
        try:
            return self._bucket_policies[bucket]
        except KeyError:
            row = self._c.execute(
                "SELECT document FROM bucket_policies WHERE bucket = ?", (bucket,)
            ).fetchone()
            doc = self._bucket_policies[bucket] = None if row is None else str(row[0])
            return doc

    # -- temporary credentials -----------------------------------------------------------------------
    def sts_session(self, access_key_id: str) -> StsSession | None:
        found = self._sessions.get(access_key_id)
        if found is not None:
            return found
        row = self._c.execute(
            f"SELECT {_SESSION_COLS} FROM sts_sessions WHERE access_key_id = ?",
            (access_key_id,),
        ).fetchone()
        if row is None:
            return None
        if len(self._sessions) >= _SESSION_CACHE_MAX:
            self._sessions.clear()
        session = self._sessions[access_key_id] = StsSession(*row)
        return session

    # -- administration (uncached) -------------------------------------------------------------------
    def list_users(self) -> list[RamUser]:
        rows = self._c.execute("SELECT name, user_id, created_ms, comment FROM ram_users ORDER BY name")
        return [RamUser(*r) for r in rows]

    def list_groups(self) -> list[RamGroup]:
        return [
            RamGroup(*r)
            for r in self._c.execute("SELECT name, created_ms, comment FROM ram_groups ORDER BY name")
        ]

    def group_members(self, group: str) -> list[str]:
        rows = self._c.execute(
            "SELECT user_name FROM ram_group_members WHERE group_name = ? ORDER BY user_name", (group,)
        )
        return [r[0] for r in rows]

    def list_roles(self) -> list[RamRole]:
        rows = self._c.execute(f"SELECT {_ROLE_COLS} FROM ram_roles ORDER BY name")
        return [RamRole(*r) for r in rows]

    def list_policies(self) -> list[RamPolicy]:
        rows = self._c.execute("SELECT name, document, created_ms, comment FROM ram_policies ORDER BY name")
        return [RamPolicy(*r) for r in rows]

    def policy(self, name: str) -> RamPolicy | None:
        row = self._c.execute(
            "SELECT name, document, created_ms, comment FROM ram_policies WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else RamPolicy(*row)

    def attachments(self, target_type: str, target_name: str) -> list[str]:
        rows = self._c.execute(
            "SELECT policy_name FROM ram_attachments WHERE target_type = ? AND target_name = ? "
            "ORDER BY policy_name",
            (target_type, target_name),
        )
        return [r[0] for r in rows]

    def user_keys(self, user_name: str) -> list[AccessKey]:
        rows = self._c.execute(ACCESS_KEY_SELECT + "WHERE user_name = ? ORDER BY created_ms", (user_name,))
        return [access_key_from_row(r) for r in rows]


class IdentityWriter:
    """Changes, inside a metadata transaction."""

    def __init__(self, txn: _Txn) -> None:
        self._txn = txn

    def _exec(self, sql: str, args: tuple[object, ...] = ()) -> Cursor:
        self._txn.changed_config = True
        return self._txn.c.execute(sql, args)

    def _exists(self, table: str, name: str) -> bool:
        return self._txn.c.execute(f"SELECT 1 FROM {table} WHERE name = ?", (name,)).fetchone() is not None

    def user_exists(self, name: str) -> bool:
        return self._exists("ram_users", name)

    def group_exists(self, name: str) -> bool:
        return self._exists("ram_groups", name)

    def role_exists(self, name: str) -> bool:
        return self._exists("ram_roles", name)

    def policy_exists(self, name: str) -> bool:
        return self._exists("ram_policies", name)

    def service_key(self, service: str) -> AccessKey | None:
        row = self._txn.c.execute(
            ACCESS_KEY_SELECT + "WHERE service = ? ORDER BY created_ms LIMIT 1", (service,)
        ).fetchone()
        return None if row is None else access_key_from_row(row)

    def insert_user(self, user: RamUser) -> None:
        self._exec(
            "INSERT INTO ram_users VALUES (?, ?, ?, ?)",
            (user.name, user.user_id, user.created_ms, user.comment),
        )

    def delete_user(self, name: str) -> None:
        """The user, its keys, group memberships and attachments."""
        self._exec("DELETE FROM ram_users WHERE name = ?", (name,))
        self._exec("DELETE FROM access_keys WHERE user_name = ?", (name,))
        self._exec("DELETE FROM ram_group_members WHERE user_name = ?", (name,))
        self._exec("DELETE FROM ram_attachments WHERE target_type = 'user' AND target_name = ?", (name,))

    def insert_group(self, group: RamGroup) -> None:
        self._exec("INSERT INTO ram_groups VALUES (?, ?, ?)", (group.name, group.created_ms, group.comment))

    def delete_group(self, name: str) -> None:
        self._exec("DELETE FROM ram_groups WHERE name = ?", (name,))
        self._exec("DELETE FROM ram_group_members WHERE group_name = ?", (name,))
        self._exec("DELETE FROM ram_attachments WHERE target_type = 'group' AND target_name = ?", (name,))

    def add_member(self, group: str, user: str) -> None:
        self._exec("INSERT INTO ram_group_members VALUES (?, ?) ON CONFLICT DO NOTHING", (group, user))

    def remove_member(self, group: str, user: str) -> bool:
        return (
            self._exec(
                "DELETE FROM ram_group_members WHERE group_name = ? AND user_name = ?", (group, user)
            ).rowcount
            > 0
        )

    def insert_role(self, role: RamRole) -> None:
        self._exec(
            "INSERT INTO ram_roles VALUES (?, ?, ?, ?, ?, ?)",
            (role.name, role.role_id, role.trust_policy, role.max_session_s, role.created_ms, role.comment),
        )

    def set_trust_policy(self, name: str, document: str) -> None:
        self._exec("UPDATE ram_roles SET trust_policy = ? WHERE name = ?", (document, name))

    def delete_role(self, name: str) -> None:
        self._exec("DELETE FROM ram_roles WHERE name = ?", (name,))
        self._exec("DELETE FROM ram_attachments WHERE target_type = 'role' AND target_name = ?", (name,))

    def put_policy(self, policy: RamPolicy) -> None:
        self._exec(
            "INSERT INTO ram_policies VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "document = excluded.document, created_ms = excluded.created_ms, comment = excluded.comment",
            (policy.name, policy.document, policy.created_ms, policy.comment),
        )

    def delete_policy(self, name: str) -> None:
        self._exec("DELETE FROM ram_policies WHERE name = ?", (name,))
        self._exec("DELETE FROM ram_attachments WHERE policy_name = ?", (name,))

    def policy_in_use(self, name: str) -> bool:
        row = self._txn.c.execute(
            "SELECT 1 FROM ram_attachments WHERE policy_name = ? LIMIT 1", (name,)
        ).fetchone()
        return row is not None

    def attach(self, policy_name: str, target_type: str, target_name: str) -> None:
        self._exec(
            "INSERT INTO ram_attachments VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (policy_name, target_type, target_name),
        )

    def detach(self, policy_name: str, target_type: str, target_name: str) -> bool:
        return (
            self._exec(
                "DELETE FROM ram_attachments WHERE policy_name = ? AND target_type = ? AND target_name = ?",
                (policy_name, target_type, target_name),
            ).rowcount
            > 0
        )

    def insert_session(self, s: StsSession) -> None:
        # Not a cached change: no generation bump (see IdentityCatalog.sts_session).
        self._txn.c.execute(
            "INSERT INTO sts_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.access_key_id,
                s.secret,
                s.token_sha256,
                s.role_name,
                s.session_name,
                s.session_policy,
                s.caller_arn,
                s.created_ms,
                s.expires_ms,
            ),
        )

    def delete_sessions_expired_before(self, ms: int) -> int:
        return self._txn.c.execute("DELETE FROM sts_sessions WHERE expires_ms < ?", (ms,)).rowcount

    def put_bucket_policy(self, bucket: str, document: str) -> None:
        self._exec(
            "INSERT INTO bucket_policies VALUES (?, ?) "
            "ON CONFLICT (bucket) DO UPDATE SET document = excluded.document",
            (bucket, document),
        )

    def delete_bucket_policy(self, bucket: str) -> bool:
        return self._exec("DELETE FROM bucket_policies WHERE bucket = ?", (bucket,)).rowcount > 0
