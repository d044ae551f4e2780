from __future__ import annotations

import uuid
from collections.abc import Iterator

import oss2
import pytest

from ossbox.fs import OssFileSystem
from tests.conftest import empty_and_delete, new_bucket_name
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess


def make_fs(endpoint: str, **options: object) -> OssFileSystem:
    return OssFileSystem(
        endpoint=endpoint, key=ACCESS_KEY_ID, secret=ACCESS_KEY_SECRET, skip_instance_cache=True, **options
    )


@pytest.fixture
def oss_bucket(server: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name("fs"))
    b.create_bucket()
    yield b
    empty_and_delete(b)


@pytest.fixture
def ofs(server: ServerProcess) -> OssFileSystem:
    """A filesystem with small parts, so that multipart paths run on small data."""
    return make_fs(server.endpoint, partition_size="5MB", threads=4, read_block_size=1 << 20)


@pytest.fixture
def root(oss_bucket: oss2.Bucket) -> str:
    """A fresh directory path inside a fresh bucket."""
    return f"{oss_bucket.bucket_name}/{uuid.uuid4().hex[:8]}"
