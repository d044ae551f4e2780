"""Node's official `ali-oss` client against the real server: tests/node/smoke.mjs, once per signature version.

The Node side is installed by `.ci/run` (`cd tests/node && npm ci`); without it these tests fail, not skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest

from tests.conftest import empty_and_delete, new_bucket_name
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

NODE_DIR = Path(__file__).parent / "node"
SMOKE = NODE_DIR / "smoke.mjs"
INSTALL_HINT = "run `cd tests/node && npm ci` (Node.js >= 18 and npm needed)"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"`node` is not on PATH; install Node.js and {INSTALL_HINT}", pytrace=False)
    installed = NODE_DIR / "node_modules" / "ali-oss" / "package.json"
    if not installed.is_file():
        pytest.fail(f"ali-oss is not installed in {NODE_DIR}/node_modules: {INSTALL_HINT}", pytrace=False)
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["ali-oss"]
    version = json.loads(installed.read_text())["version"]
    if version != pinned:
        pytest.fail(
            f"ali-oss {version} is installed but package.json pins {pinned}: {INSTALL_HINT}", pytrace=False
        )
    return node


@pytest.fixture
def ali_bucket(server: ServerProcess) -> Iterator[str]:
    b = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name("node"), region=REGION
    )
    b.create_bucket()
    yield b.bucket_name
    empty_and_delete(b)


@pytest.mark.parametrize("signature", ["v1", "v4"])
def test_ali_oss_smoke(server: ServerProcess, ali_bucket: str, signature: str) -> None:
    node = _node()
    env = dict(os.environ)
    env.update(
        OSS_ENDPOINT=server.endpoint,
        OSS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        OSS_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        OSS_REGION=f"oss-{REGION}",
        OSS_BUCKET=ali_bucket,
        OSS_SIGNATURE_VERSION=signature,
    )
    env.pop("NODE_OPTIONS", None)
    try:
        proc = subprocess.run(
            [node, str(SMOKE)], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=240
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"smoke.mjs ({signature}) timed out; output so far:\n{exc.stdout}\n{exc.stderr}")
    output = f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    assert proc.returncode == 0, f"ali-oss smoke test ({signature}) exited {proc.returncode}\n{output}"
    assert "all steps passed" in proc.stdout, output
