"""A project on the real server: the MaxCompute default role, a warehouse bucket, two RAM users.

`owner`, `alice` and `bob` run `ossbox sql` as those users. alice gets the grants the document's quick
start lists; bob is added to the project and holds only what a test grants him.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import oss2
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, meta_url_for

TRUST_ODPS = {
    "Version": "1",
    "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["odps.aliyuncs.com"]}}
    ],
}


def ossbox(
    server: ServerProcess,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    base = {"OSSBOX_DATA_DIR": str(server.data_dir), "PATH": "/usr/bin:/bin"}
    url = meta_url_for(server.data_dir)  # the admin commands reach the server's PostgreSQL, if it has one
    if url:
        base["OSSBOX_META_URL"] = url
    result = subprocess.run(
        [sys.executable, "-m", "ossbox", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=600,
        input=stdin,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"ossbox {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def keys_of(output: str) -> tuple[str, str]:
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return values["AccessKeyId"], values["AccessKeySecret"]


@dataclass
class User:
    """Someone who runs `ossbox sql` with their own access key."""

    server: ServerProcess
    name: str
    key_id: str
    secret: str
    project: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "ODPS_ENDPOINT": self.server.endpoint,
            "ODPS_PROJECT": self.project,
            "ODPS_ACCESS_ID": self.key_id,
            "ODPS_ACCESS_KEY": self.secret,
        }

    def sql(
        self, script: str, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "ossbox", "sql", "-e", script],
            capture_output=True,
            text=True,
            env={**self.env, "PATH": "/usr/bin:/bin", "HOME": str(cwd or self.server.data_dir.parent)},
            timeout=600,
            cwd=cwd,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: {script!r} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def sql_file(self, path: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "ossbox", "sql", "-f", str(path)],
            capture_output=True,
            text=True,
            env={**self.env, "PATH": "/usr/bin:/bin"},
            timeout=600,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: {path} failed:\n{result.stdout}\n{result.stderr}")
        return result


@dataclass
class Project:
    server: ServerProcess
    name: str
    account_id: str
    role_arn: str
    bucket: oss2.Bucket  # the data bucket volumes point into (owner's view, for checks)
    owner: User
    alice: User
    bob: User
    make_user: Callable[[str], User]

    @property
    def oss_endpoint(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def volume_url(self, directory: str) -> str:
        return f"oss://{self.oss_endpoint}/{self.bucket.bucket_name}/{directory}"


@pytest.fixture(scope="session")
def project(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Project:
    tmp = tmp_path_factory.mktemp("volumes")
    account = ossbox(server, "ram", "account").stdout.strip()
    trust = tmp / "trust.json"
    trust.write_text(json.dumps(TRUST_ODPS))
    ossbox(server, "ram", "role", "create", "aliyunodpsdefaultrole", "--trust-policy", str(trust))
    ossbox(server, "ram", "policy", "attach", "AliyunOSSFullAccess", "--role", "aliyunodpsdefaultrole")
    role_arn = f"acs:ram::{account}:role/aliyunodpsdefaultrole"
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    suffix = uuid.uuid4().hex[:8]
    warehouse = oss2.Bucket(auth, server.endpoint, f"warehouse-{suffix}", region=REGION)
    warehouse.create_bucket()
    data = oss2.Bucket(auth, server.endpoint, f"mc-data-{suffix}", region=REGION)
    data.create_bucket()
    name = f"mc_project_{suffix}"
    ossbox(
        server,
        "project",
        "create",
        name,
        "--warehouse",
        f"oss://127.0.0.1:{server.port}/{warehouse.bucket_name}/{name}",
        "--role-arn",
        role_arn,
        env={
            "ODPS_ENDPOINT": server.endpoint,
            "ODPS_ACCESS_ID": ACCESS_KEY_ID,
            "ODPS_ACCESS_KEY": ACCESS_KEY_SECRET,
        },
    )
    owner = User(server, "owner", ACCESS_KEY_ID, ACCESS_KEY_SECRET, name)

    def make_user(user: str) -> User:
        ossbox(server, "ram", "user", "create", user)
        key_id, secret = keys_of(ossbox(server, "ram", "key", "create", user).stdout)
        owner.sql(f"ADD USER RAM${account}:{user};")
        return User(server, user, key_id, secret, name)

    alice = make_user(f"alice{suffix}")
    bob = make_user(f"bob{suffix}")
    for privilege in ("CreateInstance", "CreateVolume", "CreateTable", "List", "Read", "Write"):
        owner.sql(f"GRANT {privilege} ON PROJECT {name} TO USER {alice.name};")
    return Project(server, name, account, role_arn, data, owner, alice, bob, make_user)
