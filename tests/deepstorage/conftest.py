"""Fixtures for deep storage: an OssClients on the real test server, fresh buckets, a segment directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import oss2
import pytest

from ossbox.deepstorage import OssClients, OssCredentials, SegmentStorageConfig, TaskLogsConfig
from tests.conftest import empty_and_delete, new_bucket_name
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


@pytest.fixture
def clients(server: ServerProcess) -> OssClients:
    return OssClients(OssCredentials(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET), max_tries=2)


@pytest.fixture
def make_bucket(server: ServerProcess) -> Iterator[Callable[..., str]]:
    """Create buckets on demand (oss2 directly, as a user would); empty and delete them afterwards."""
    made: list[oss2.Bucket] = []

    def make(tag: str = "d") -> str:
        b = oss2.Bucket(
            oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name(tag), region=REGION
        )
        b.create_bucket()
        made.append(b)
        return str(b.bucket_name)

    yield make
    for b in made:
        empty_and_delete(b)


@pytest.fixture
def storage(make_bucket: Callable[..., str]) -> SegmentStorageConfig:
    return SegmentStorageConfig(
        bucket=make_bucket("seg"),
        prefix="druid/segments",
        archive_bucket=make_bucket("arc"),
        archive_base_key="archive",
    )


@pytest.fixture
def logs_config(make_bucket: Callable[..., str]) -> TaskLogsConfig:
    return TaskLogsConfig(bucket=make_bucket("log"), prefix="druid/logs")


def raw_bucket(server: ServerProcess, name: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, name, region=REGION)


def write_segment_dir(path: Path, smoosh_bytes: int = 1 << 20) -> Path:
    """A directory shaped like a Druid v9 segment (version.bin = 9, smoosh files, factory.json)."""
    path.mkdir(parents=True)
    (path / "version.bin").write_bytes((9).to_bytes(4, "big"))
    (path / "00000.smoosh").write_bytes(os.urandom(smoosh_bytes))
    (path / "meta.smoosh").write_text(
        f"v1,2147483647,1\n__time,0,0,{smoosh_bytes // 2}\nindex.drd,0,{smoosh_bytes // 2},{smoosh_bytes}\n"
    )
    (path / "factory.json").write_text('{"type":"mMapSegmentFactory"}')
    return path
