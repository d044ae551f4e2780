"""A full disk gives a clean error and leaves no partial object; the server keeps serving."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.fail("this test mounts a 24 MiB tmpfs and must run as root (CI does)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_is_a_clean_error(small_disk: Path) -> None:
    server = ServerProcess(small_disk / "data", free_port()).start()
    try:
        bucket = oss2.Bucket(
            oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "full", region=REGION
        )
        bucket.create_bucket()
        bucket.put_object("small", b"kept")
        with pytest.raises(oss2.exceptions.ServerError) as err:
            bucket.put_object("huge", b"\0" * (40 << 20))
        assert (err.value.status, err.value.code) == (507, "InsufficientStorage")
        assert not bucket.object_exists("huge")
        assert list((small_disk / "data" / "tmp").iterdir()) == []
        assert bucket.get_object("small").read() == b"kept"
        bucket.put_object("after", b"still works")
        assert bucket.get_object("after").read() == b"still works"
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def test_disk_full_with_small_inline_objects(small_disk: Path) -> None:
    """Small bodies are stored in the metadata database: filling the disk with them fails just as cleanly."""
    server = ServerProcess(small_disk / "data", free_port()).start()
    try:
        bucket = oss2.Bucket(
            oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "full", region=REGION
        )
        bucket.create_bucket()
        acked = []
        with pytest.raises(oss2.exceptions.ServerError) as err:
            for i in range(2000):  # 2000 x 60 KiB is five times the disk
                bucket.put_object(f"s{i:04d}", bytes([i % 251]) * (60 << 10))
                acked.append(i)
        assert (err.value.status, err.value.code) == (507, "InsufficientStorage")
        assert len(acked) > 50
        failed = f"s{len(acked):04d}"
        assert not bucket.object_exists(failed)
        for i in [*acked[:: max(1, len(acked) // 20)], acked[-1]]:
            assert bucket.get_object(f"s{i:04d}").read() == bytes([i % 251]) * (60 << 10)
        for i in acked[: len(acked) // 2]:
            bucket.delete_object(f"s{i:04d}")
        bucket.put_object("after", b"x" * (60 << 10))
        assert bucket.get_object("after").read() == b"x" * (60 << 10)
    finally:
        server.stop()
    assert "Traceback" not in server.log()
