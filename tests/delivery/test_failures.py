"""A task that cannot write says why (InvalidOssBucket, UnAuthorized) and catches up once the cause is gone:
the bucket missing, deleted and created again; roles that cannot be assumed or may not write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tablestore import Row

from ossbox.delivery.model import Mode, TaskConfig
from tests.conftest import empty_and_delete
from tests.delivery.conftest import Env, delivered_rows, new_name
from tests.server import ServerProcess, admin_env

SERVICE = "otsdatadelivery.ots.aliyuncs.com"


def ram(server: ServerProcess, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ossbox", "ram", *args, "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=admin_env(server.data_dir),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_role(server: ServerProcess, tmp_path: Path, name: str, trusted: dict[str, object]) -> str:
    trust = tmp_path / f"{name}.json"
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": trusted}
    trust.write_text(json.dumps({"Version": "1", "Statement": [statement]}))
    out = ram(server, "role", "create", name, "--trust-policy", str(trust))
    return out.split("Arn=")[1].strip()


def put(env: Env, *ids: str) -> None:
    for i in ids:
        env.ots.put_row(env.table, Row([("id", i)], [("v", i)]))


def delivered_ids(env: Env) -> list[object]:
    return sorted(r["id"] for r in delivered_rows(env.bucket))


def test_missing_bucket_then_created_deleted_and_created_again(env: Env) -> None:
    empty_and_delete(env.bucket)
    put(env, "a", "b")
    env.delivery.create(env.table, "lake", TaskConfig(bucket=env.bucket.bucket_name, prefix="p"))
    d = env.wait("lake", lambda d: d.status.error_code == "InvalidOssBucket")
    assert env.bucket.bucket_name in d.status.error_detail and d.status.rows == 0
    env.bucket.create_bucket()
    d = env.wait_rows("lake", 2)
    assert d.status.error_code == ""
    assert delivered_ids(env) == ["a", "b"]

    empty_and_delete(env.bucket)  # everything delivered so far goes with it
    put(env, "c", "d")
    d = env.wait("lake", lambda d: d.status.error_code == "InvalidOssBucket")
    put(env, "e")
    env.bucket.create_bucket()
    d = env.wait_rows("lake", 5)
    assert d.status.error_code == ""
    assert delivered_ids(env) == ["c", "d", "e"]  # caught up: what was written while it was missing


def test_a_role_that_may_not_write_then_may(env: Env, tmp_path: Path) -> None:
    server = env.server
    role = new_name("reader")
    arn = make_role(server, tmp_path, role, {"Service": [SERVICE]})
    ram(server, "policy", "attach", "AliyunOSSReadOnlyAccess", "--role", role)
    config = TaskConfig(bucket=env.bucket.bucket_name, prefix="p", mode=Mode.INCREMENTAL, role_arn=arn)
    env.delivery.create(env.table, "reader", config)
    put(env, "x", "y")
    d = env.wait("reader", lambda d: d.status.error_code == "UnAuthorized")
    assert "AccessDenied" in d.status.error_detail and arn in d.status.error_detail
    assert d.status.rows == 0 and delivered_ids(env) == []
    ram(server, "policy", "attach", "AliyunOSSFullAccess", "--role", role)
    d = env.wait_rows("reader", 2)
    assert d.status.error_code == ""
    assert delivered_ids(env) == ["x", "y"]


def test_roles_that_cannot_be_assumed(env: Env, tmp_path: Path) -> None:
    server = env.server
    account = ram(server, "account").strip()
    # Trusted by the account, not by the delivery service: the service may not assume it.
    untrusting = new_name("mine")
    untrusting_arn = make_role(server, tmp_path, untrusting, {"RAM": [f"acs:ram::{account}:root"]})
    ram(server, "policy", "attach", "AliyunOSSFullAccess", "--role", untrusting)
    missing_arn = f"acs:ram::{account}:role/{new_name('nobody')}"
    for name, arn in (("untrusting", untrusting_arn), ("missing", missing_arn)):
        config = TaskConfig(bucket=env.bucket.bucket_name, prefix=name, mode=Mode.INCREMENTAL, role_arn=arn)
        env.delivery.create(env.table, name, config)
    put(env, "z")
    untrusted = env.wait("untrusting", lambda d: d.status.error_code == "UnAuthorized")
    assert "NoPermission" in untrusted.status.error_detail
    missing = env.wait("missing", lambda d: d.status.error_code == "UnAuthorized")
    assert "EntityNotExist.Role" in missing.status.error_detail
    assert delivered_ids(env) == []
