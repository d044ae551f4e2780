"""A real server on a test clock (OSSBOX_TEST_CLOCK=1), moved with the `ossbox` CLI as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import oss2

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, admin_env, free_port

TEST_CLOCK_ENV = {"OSSBOX_TEST_CLOCK": "1"}


def ossbox_cli(*args: str) -> str:
    """Run `ossbox ARGS...` in a child process (with the test clock on); returns its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "ossbox", *args],
        capture_output=True,
        text=True,
        env=admin_env(Path(args[args.index("--data-dir") + 1]), **TEST_CLOCK_ENV)
        if "--data-dir" in args
        else {**os.environ, **TEST_CLOCK_ENV},
        timeout=60,
    )
    assert proc.returncode == 0, f"ossbox {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


class ClockedServer:
    def __init__(self, data_dir: Path, *extra_args: str) -> None:
        self.data_dir = data_dir
        self.proc = ServerProcess(
            data_dir, free_port(), extra_env=dict(TEST_CLOCK_ENV), extra_args=extra_args
        )

    @property
    def endpoint(self) -> str:
        return self.proc.endpoint

    def start(self) -> ClockedServer:
        self.proc.start()
        return self

    def stop(self) -> None:
        self.proc.stop()

    def advance(self, duration: str) -> None:
        ossbox_cli("test-clock", "advance", "--data-dir", str(self.data_dir), duration)

    def lifecycle_pass(self) -> str:
        return ossbox_cli("lifecycle", "run", "--data-dir", str(self.data_dir))

    def errors_logged(self) -> list[str]:
        return [line for line in self.proc.log().splitlines() if " ERROR " in line or "Traceback" in line]


def delete_everything(bucket: oss2.Bucket) -> None:
    """Every version, delete marker and upload, then the bucket."""
    for u in oss2.MultipartUploadIterator(bucket):
        bucket.abort_multipart_upload(u.key, u.upload_id)
    while True:
        page = bucket.list_object_versions(max_keys=1000)
        entries = [(v.key, v.versionid) for v in page.versions]
        entries += [(m.key, m.versionid) for m in page.delete_marker]
        if not entries:
            break
        for key, version_id in entries:
            bucket.delete_object(key, params={"versionId": version_id})
    bucket.delete_bucket()


def owner_bucket(endpoint: str, name: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), endpoint, name, region=REGION)


@contextmanager
def fresh_bucket(endpoint: str, name: str, versioning: str | None = None) -> Iterator[oss2.Bucket]:
    """A new bucket (versioning Enabled or Suspended when asked), emptied of every version afterwards."""
    b = owner_bucket(endpoint, name)
    b.create_bucket()
    if versioning:
        b.put_bucket_versioning(oss2.models.BucketVersioningConfig(versioning))
    try:
        yield b
    finally:
        delete_everything(b)
