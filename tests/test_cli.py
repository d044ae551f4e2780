"""The command line as a new user meets it: first start prints the key, later starts do not; keys."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import oss2

from tests.server import free_port


def _ossbox(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ossbox", *args], capture_output=True, text=True, env=env, timeout=60
    )


def _start_and_read_banner(data_dir: Path, port: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSSBOX_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ossbox",
            "server",
            "--address",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "AccessKeyId" in line and ("AccessKeySecret" in line or "owner's" in line):
            break
    proc.terminate()
    proc.wait(timeout=15)
    return "".join(lines)


def test_help_is_a_tour() -> None:
    out = _ossbox("--help").stdout
    assert "server" in out and "key" in out
    server_help = _ossbox("server", "--help").stdout
    for flag in ("--address", "--data-dir", "--region", "--base-domain", "OSSBOX_ADDRESS"):
        assert flag in server_help


def test_first_start_creates_and_prints_key_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    first = _start_and_read_banner(data_dir, free_port())
    m = re.search(r"AccessKeyId=(\S+) AccessKeySecret=(\S+)", first)
    assert m, first
    secret = m.group(2)
    second = _start_and_read_banner(data_dir, free_port())
    assert m.group(1) in second and secret not in second


def test_key_create_list_delete(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "d")
    created = _ossbox("key", "create", "--data-dir", data_dir, "--description", "ci").stdout
    key_id = re.search(r"AccessKeyId=(\S+)", created).group(1)  # type: ignore[union-attr]
    secret = re.search(r"AccessKeySecret=(\S+)", created).group(1)  # type: ignore[union-attr]
    listed = _ossbox("key", "list", "--data-dir", data_dir).stdout
    assert key_id in listed and secret not in listed
    # The new key works against a server on that data directory.
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSSBOX_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ossbox", "server", "--address", f"127.0.0.1:{port}", "--data-dir", data_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        bucket = oss2.Bucket(oss2.Auth(key_id, secret), f"http://127.0.0.1:{port}", "cli-bucket")
        deadline = time.monotonic() + 20
        while True:
            try:
                bucket.create_bucket()
                break
            except oss2.exceptions.RequestError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        bucket.delete_bucket()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert "deleted" in _ossbox("key", "delete", "--data-dir", data_dir, key_id).stdout
    assert key_id not in _ossbox("key", "list", "--data-dir", data_dir).stdout
    assert _ossbox("key", "delete", "--data-dir", data_dir, key_id).returncode != 0


def test_bad_address_is_a_clear_error() -> None:
    r = _ossbox("server", "--address", "nonsense")
    assert r.returncode != 0 and "HOST:PORT" in r.stderr
