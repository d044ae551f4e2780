"""Several worker processes on one data directory: every change is seen at once by every worker, and a
worker that dies is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest
import requests

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, admin_env, free_port

WORKERS = 2


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("workers")
    proc = ServerProcess(root / "data", free_port(), extra_args=("--workers", str(WORKERS))).start()
    yield proc
    proc.stop()
    assert "Traceback" not in proc.log()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _fresh(server: ServerProcess, name: str, auth: oss2.Auth | None = None) -> oss2.Bucket:
    """A bucket handle on a new connection pool: its requests may reach any worker."""
    return oss2.Bucket(
        auth or oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        server.endpoint,
        name,
        region=REGION,
        session=oss2.Session(),
    )


def _served_by_every_worker(server: ServerProcess) -> None:
    """Checks run below open many connections; make sure the kernel spread some to each worker."""
    assert server.proc is not None
    assert len(_children(server.proc.pid)) == WORKERS


def test_bucket_changes_are_seen_by_every_worker_at_once(pool: ServerProcess) -> None:
    _served_by_every_worker(pool)
    for i in range(30):
        name = f"wk-{os.getpid()}-{i}"
        with pytest.raises(oss2.exceptions.NoSuchBucket):  # caches the absence in some worker
            _fresh(pool, name).get_bucket_info()
        _fresh(pool, name).create_bucket()
        _fresh(pool, name).put_object("k", b"v")
        assert _fresh(pool, name).get_object("k").read() == b"v"
        _fresh(pool, name).delete_object("k")
        _fresh(pool, name).delete_bucket()
        with pytest.raises(oss2.exceptions.NoSuchBucket):
            _fresh(pool, name).put_object("k", b"v")


def test_acl_changes_are_seen_by_every_worker_at_once(pool: ServerProcess) -> None:
    name = f"wk-acl-{os.getpid()}"
    _fresh(pool, name).create_bucket()
    _fresh(pool, name).put_object("k", b"public")
    url = f"{pool.endpoint}/{name}/k"
    for _ in range(10):
        _fresh(pool, name).put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
        assert [requests.get(url, timeout=10).status_code for _ in range(6)] == [200] * 6
        _fresh(pool, name).put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
        assert [requests.get(url, timeout=10).status_code for _ in range(6)] == [403] * 6


def test_keys_managed_from_the_command_line_apply_at_once(pool: ServerProcess) -> None:
    name = f"wk-key-{os.getpid()}"
    _fresh(pool, name).create_bucket()
    out = subprocess.run(
        [sys.executable, "-m", "ossbox", "key", "create", "--data-dir", str(pool.data_dir)],
        env=admin_env(pool.data_dir),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = dict(line.split("=", 1) for line in out.split())
    auth = oss2.Auth(fields["AccessKeyId"], fields["AccessKeySecret"])
    for _ in range(6):
        _fresh(pool, name, auth).put_object("k", b"v")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ossbox",
            "key",
            "delete",
            "--data-dir",
            str(pool.data_dir),
            fields["AccessKeyId"],
        ],
        env=admin_env(pool.data_dir),
        capture_output=True,
        check=True,
    )
    for _ in range(6):
        with pytest.raises(oss2.exceptions.ServerError) as err:
            _fresh(pool, name, auth).put_object("k", b"v")
        assert err.value.code == "InvalidAccessKeyId"


def test_a_dead_worker_is_replaced(pool: ServerProcess) -> None:
    assert pool.proc is not None
    victim = _children(pool.proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        workers = _children(pool.proc.pid)
        if len(workers) == WORKERS and victim not in workers:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the supervisor did not start a new worker")
    time.sleep(0.5)  # the new worker binds its socket
    name = f"wk-dead-{os.getpid()}"
    _fresh(pool, name).create_bucket()
    for i in range(20):
        _fresh(pool, name).put_object(f"k{i}", b"v")
    assert len(list(oss2.ObjectIterator(_fresh(pool, name)))) == 20


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.0])
def test_a_stop_during_startup_ends_every_process(tmp_path: Path, delay: float) -> None:
    """SIGTERM while workers are still starting: the supervisor and its workers all exit promptly."""
    env = dict(
        os.environ, OSSBOX_ROOT_ACCESS_KEY_ID=ACCESS_KEY_ID, OSSBOX_ROOT_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET
    )
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ossbox",
            "server",
            "--workers",
            "2",
            "--address",
            address,
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    time.sleep(delay)
    proc.terminate()
    assert proc.wait(timeout=15) is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail("worker processes outlived the supervisor")
