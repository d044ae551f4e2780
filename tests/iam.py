"""Helpers for tests with RAM identities: run `ossbox ram ...` against a server's data directory."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import oss2

from tests.server import REGION, ServerProcess, admin_env


def ram(server: ServerProcess, *args: str, stdin: str | None = None) -> str:
    """Run `ossbox ram ARGS` on the server's data directory; returns stdout (raises on failure)."""
    proc = subprocess.run(
        [sys.executable, "-m", "ossbox", "ram", *args, "--data-dir", str(server.data_dir)],
        input=stdin,
        env=admin_env(server.data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ossbox ram {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def fields(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.split() if "=" in line)


def new_user(server: ServerProcess, *policies: dict[str, object] | str) -> tuple[str, oss2.Auth]:
    """A RAM user with a fresh key and the given policies (documents, or names of system policies)."""
    name = f"u{uuid.uuid4().hex[:10]}"
    ram(server, "user", "create", name)
    for i, p in enumerate(policies):
        if isinstance(p, str):
            ram(server, "policy", "attach", p, "--user", name)
            continue
        policy_name = f"{name}-p{i}"
        ram(server, "policy", "create", policy_name, "-", stdin=json.dumps(p))
        ram(server, "policy", "attach", policy_name, "--user", name)
    key = fields(ram(server, "key", "create", name))
    return name, oss2.Auth(key["AccessKeyId"], key["AccessKeySecret"])


def key_of(auth: oss2.Auth) -> tuple[str, str]:
    """(AccessKeyId, AccessKeySecret) of an oss2.Auth."""
    creds = auth.credentials_provider.get_credentials()
    return creds.get_access_key_id(), creds.get_access_key_secret()


def policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "1", "Statement": list(statements)}


def allow(action: object, resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: object, resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def bucket_as(server: ServerProcess, auth: oss2.AuthBase, name: str) -> oss2.Bucket:
    return oss2.Bucket(auth, server.endpoint, name, region=REGION)


def account_id(server: ServerProcess) -> str:
    return ram(server, "account").strip()


def write_json(path: Path, document: dict[str, object]) -> Path:
    path.write_text(json.dumps(document))
    return path
