"""`ossbox ram ...`: RAM users and their keys, groups, roles, policies, attachments.

They work on the data directory directly (the server may be running: its processes see each change at
once). Policies are files or `-` for standard input, in RAM's JSON language.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ossbox.cli.options import data_dir_option
from ossbox.cli.runtime import ROOT_OWNER_ID, ensure_account_id, open_meta
from ossbox.core.errors import OSSError
from ossbox.service.identities import TARGET_TYPES, IdentityAdmin

F = TypeVar("F", bound=Callable[..., Any])


def _admin(data_dir: Path) -> IdentityAdmin:
    meta = open_meta(data_dir)
    return IdentityAdmin(meta, ROOT_OWNER_ID, ensure_account_id(meta))


def _clear_errors(func: F) -> F:
    """OSS-style errors (bad names, missing entities, malformed policies) become one clear line, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OSSError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc

    return wrapper  # type: ignore[return-value]


def _read_document(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise click.BadParameter(f"no such file: {source}")
    return path.read_text(encoding="utf-8")


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def _target(user: str | None, group: str | None, role: str | None) -> tuple[str, str]:
    given = [(t, n) for t, n in zip(TARGET_TYPES, (user, group, role), strict=True) if n]
    if len(given) != 1:
        raise click.UsageError("name exactly one of --user, --group, --role")
    return given[0]


@click.group()
def ram() -> None:
    """Identities and permissions: RAM users, groups, roles and policies.

    \b
    ossbox ram user create alice              # prints the user's id (bucket policies name it)
    ossbox ram key create alice               # an access key for alice
    ossbox ram policy create read-logs policy.json
    ossbox ram policy attach read-logs --user alice
    ossbox ram role create etl                # prints its ARN for AssumeRole
    ossbox ram policy attach AliyunOSSFullAccess --role etl
    """


@ram.command("account")
@data_dir_option
def account(data_dir: Path) -> None:
    """Print the account id (the number in every ARN)."""
    click.echo(_admin(data_dir).account_id)


# ---------------------------------------------------------------------------------------------- users
@ram.group()
def user() -> None:
    """RAM users."""


@user.command("create")
@data_dir_option
@click.argument("name")
@click.option("--comment", default="")
@_clear_errors
def user_create(data_dir: Path, name: str, comment: str) -> None:
    """Create a user (no rights until a policy is attached)."""
    u = _admin(data_dir).create_user(name, comment)
    click.echo(f"UserName={u.name}\nUserId={u.user_id}")


@user.command("list")
@data_dir_option
def user_list(data_dir: Path) -> None:
    admin = _admin(data_dir)
    for u in admin.meta.identities.list_users():
        groups = [
            g.name
            for g in admin.meta.identities.list_groups()
            if u.name in admin.meta.identities.group_members(g.name)
        ]
        policies = admin.meta.identities.attachments("user", u.name)
        click.echo(
            f"{u.name}\t{u.user_id}\t{_when(u.created_ms)}\tgroups={','.join(groups)}\tpolicies={','.join(policies)}"
        )


@user.command("delete")
@data_dir_option
@click.argument("name")
@_clear_errors
def user_delete(data_dir: Path, name: str) -> None:
    """Delete a user with its keys, group memberships and attachments."""
    _admin(data_dir).delete_user(name)
    click.echo(f"deleted user {name}")


# ----------------------------------------------------------------------------------------------- keys
@ram.group()
def key() -> None:
    """Access keys of RAM users."""


@key.command("create")
@data_dir_option
@click.argument("user_name")
@click.option("--description", default="")
@_clear_errors
def key_create(data_dir: Path, user_name: str, description: str) -> None:
    """Create an access key for a user and print it (the secret is shown only now)."""
    k = _admin(data_dir).create_user_key(user_name, description)
    click.echo(f"AccessKeyId={k.access_key_id}\nAccessKeySecret={k.secret}")


@key.command("service")
@data_dir_option
@click.argument("service")
@_clear_errors
def key_service(data_dir: Path, service: str) -> None:
    """Print the key of a cloud service (made on first use), e.g. odps.aliyuncs.com.

    A service's key can do nothing but assume roles whose trust policy names the service
    ({"Principal": {"Service": ["odps.aliyuncs.com"]}}).
    """
    k = _admin(data_dir).service_key(service)
    click.echo(f"AccessKeyId={k.access_key_id}\nAccessKeySecret={k.secret}")


@key.command("list")
@data_dir_option
@click.argument("user_name")
def key_list(data_dir: Path, user_name: str) -> None:
    """List a user's key ids (never secrets)."""
    for k in _admin(data_dir).meta.identities.user_keys(user_name):
        click.echo(f"{k.access_key_id}\t{_when(k.created_ms)}\t{k.description}")


# --------------------------------------------------------------------------------------------- groups
@ram.group()
def group() -> None:
    """RAM groups: policies attached to a group apply to its members."""


@group.command("create")
@data_dir_option
@click.argument("name")
@click.option("--comment", default="")
@_clear_errors
def group_create(data_dir: Path, name: str, comment: str) -> None:
    _admin(data_dir).create_group(name, comment)
    click.echo(f"created group {name}")


@group.command("add-user")
@data_dir_option
@click.argument("group_name")
@click.argument("user_name")
@_clear_errors
def group_add_user(data_dir: Path, group_name: str, user_name: str) -> None:
    _admin(data_dir).add_to_group(group_name, user_name)
    click.echo(f"added {user_name} to {group_name}")


@group.command("remove-user")
@data_dir_option
@click.argument("group_name")
@click.argument("user_name")
@_clear_errors
def group_remove_user(data_dir: Path, group_name: str, user_name: str) -> None:
    _admin(data_dir).remove_from_group(group_name, user_name)
    click.echo(f"removed {user_name} from {group_name}")


@group.command("list")
@data_dir_option
def group_list(data_dir: Path) -> None:
    ids = _admin(data_dir).meta.identities
    for g in ids.list_groups():
        members = ",".join(ids.group_members(g.name))
        policies = ",".join(ids.attachments("group", g.name))
        click.echo(f"{g.name}\t{_when(g.created_ms)}\tmembers={members}\tpolicies={policies}")


@group.command("delete")
@data_dir_option
@click.argument("name")
@_clear_errors
def group_delete(data_dir: Path, name: str) -> None:
    _admin(data_dir).delete_group(name)
    click.echo(f"deleted group {name}")


# ---------------------------------------------------------------------------------------------- roles
@ram.group()
def role() -> None:
    """RAM roles, assumed through STS AssumeRole for temporary credentials."""


@role.command("create")
@data_dir_option
@click.argument("name")
@click.option(
    "--trust-policy",
    "trust_source",
    help="File (or - for stdin) with the trust policy; default: every identity of this account.",
)
@click.option("--max-session-duration", default=3600, show_default=True, help="Seconds (3600..43200).")
@click.option("--comment", default="")
@_clear_errors
def role_create(
    data_dir: Path, name: str, trust_source: str | None, max_session_duration: int, comment: str
) -> None:
    """Create a role and print its ARN."""
    admin = _admin(data_dir)
    document = _read_document(trust_source) if trust_source else None
    r = admin.create_role(name, document, max_session_duration, comment)
    click.echo(f"RoleName={r.name}\nArn={admin.role_arn(r.name)}")


@role.command("update-trust")
@data_dir_option
@click.argument("name")
@click.argument("source")
@_clear_errors
def role_update_trust(data_dir: Path, name: str, source: str) -> None:
    """Replace a role's trust policy (SOURCE: a file or -)."""
    _admin(data_dir).update_trust_policy(name, _read_document(source))
    click.echo(f"updated the trust policy of {name}")


@role.command("list")
@data_dir_option
def role_list(data_dir: Path) -> None:
    admin = _admin(data_dir)
    for r in admin.meta.identities.list_roles():
        policies = ",".join(admin.meta.identities.attachments("role", r.name))
        click.echo(f"{r.name}\t{admin.role_arn(r.name)}\tmax={r.max_session_s}s\tpolicies={policies}")


@role.command("delete")
@data_dir_option
@click.argument("name")
@_clear_errors
def role_delete(data_dir: Path, name: str) -> None:
    _admin(data_dir).delete_role(name)
    click.echo(f"deleted role {name}")


# ------------------------------------------------------------------------------------------- policies
@ram.group()
def policy() -> None:
    """Custom policies (and the system ones: AdministratorAccess, AliyunOSSFullAccess,
    AliyunOSSReadOnlyAccess, AliyunSTSAssumeRoleAccess)."""


@policy.command("create")
@data_dir_option
@click.argument("name")
@click.argument("source")
@click.option("--comment", default="")
@click.option("--replace", is_flag=True, help="Replace an existing policy of that name.")
@_clear_errors
def policy_create(data_dir: Path, name: str, source: str, comment: str, replace: bool) -> None:
    """Create a policy from a JSON document (SOURCE: a file or -); it is validated first."""
    _admin(data_dir).create_policy(name, _read_document(source), comment, replace)
    click.echo(f"created policy {name}")


@policy.command("list")
@data_dir_option
def policy_list(data_dir: Path) -> None:
    from ossbox.auth.authorizer import SYSTEM_POLICIES

    for name in SYSTEM_POLICIES:
        click.echo(f"{name}\tsystem")
    for p in _admin(data_dir).meta.identities.list_policies():
        click.echo(f"{p.name}\tcustom\t{_when(p.created_ms)}\t{p.comment}")


@policy.command("show")
@data_dir_option
@click.argument("name")
@_clear_errors
def policy_show(data_dir: Path, name: str) -> None:
    from ossbox.auth.authorizer import SYSTEM_POLICIES

    p = _admin(data_dir).meta.identities.policy(name)
    document = p.document if p else SYSTEM_POLICIES.get(name)
    if document is None:
        raise click.ClickException(f"no such policy: {name}")
    click.echo(json.dumps(json.loads(document), indent=2))


@policy.command("delete")
@data_dir_option
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete even if attached (detaching it everywhere).")
@_clear_errors
def policy_delete(data_dir: Path, name: str, force: bool) -> None:
    _admin(data_dir).delete_policy(name, force)
    click.echo(f"deleted policy {name}")


def _target_options(func: F) -> F:
    for opt in (
        click.option("--role", help="Attach to this role."),
        click.option("--group", help="Attach to this group."),
        click.option("--user", help="Attach to this user."),
    ):
        func = opt(func)
    return func


@policy.command("attach")
@data_dir_option
@click.argument("name")
@_target_options
@_clear_errors
def policy_attach(data_dir: Path, name: str, user: str | None, group: str | None, role: str | None) -> None:
    """Attach a policy to a user, a group or a role."""
    target_type, target_name = _target(user, group, role)
    _admin(data_dir).attach(name, target_type, target_name)
    click.echo(f"attached {name} to {target_type} {target_name}")


@policy.command("detach")
@data_dir_option
@click.argument("name")
@_target_options
@_clear_errors
def policy_detach(data_dir: Path, name: str, user: str | None, group: str | None, role: str | None) -> None:
    target_type, target_name = _target(user, group, role)
    _admin(data_dir).detach(name, target_type, target_name)
    click.echo(f"detached {name} from {target_type} {target_name}")
