from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("ossbox")
    proc = ServerProcess(root / "data", free_port()).start()
    yield proc
    proc.stop()
    errors = [line for line in proc.log().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not errors, "server logged errors:\n" + proc.log()[-5000:]


@pytest.fixture(params=["v1", "v2", "v4"])
def auth(request: pytest.FixtureRequest) -> oss2.Auth | oss2.AuthV2 | oss2.AuthV4:
    if request.param == "v1":
        return oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    if request.param == "v2":
        return oss2.AuthV2(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    return oss2.AuthV4(ACCESS_KEY_ID, ACCESS_KEY_SECRET)


def new_bucket_name(tag: str = "t") -> str:
    return f"{tag}-{uuid.uuid4().hex[:16]}"


def empty_and_delete(bucket: oss2.Bucket) -> None:
    for u in oss2.MultipartUploadIterator(bucket):
        bucket.abort_multipart_upload(u.key, u.upload_id)
    keys = [o.key for o in oss2.ObjectIterator(bucket)]
    for i in range(0, len(keys), 1000):
        bucket.batch_delete_objects(keys[i : i + 1000])
    bucket.delete_bucket()


@pytest.fixture
def bucket(server: ServerProcess, auth: oss2.Auth) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(auth, server.endpoint, new_bucket_name(), region=REGION)
    b.create_bucket()
    yield b
    empty_and_delete(b)


@pytest.fixture
def v1_bucket(server: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name(), region=REGION
    )
    b.create_bucket()
    yield b
    empty_and_delete(b)


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def features_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with two worker processes (bucket configurations must reach both at once) and access
    logs delivered every 0.3 s."""
    root = tmp_path_factory.mktemp("ossbox-features")
    args = ("--workers", "2", "--access-log-flush-interval", "0.3")
    proc = ServerProcess(root / "data", free_port(), extra_args=args).start()
    yield proc
    proc.stop()
    errors = [line for line in proc.log().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not errors, "server logged errors:\n" + proc.log()[-5000:]
