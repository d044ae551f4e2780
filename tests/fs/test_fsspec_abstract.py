"""fsspec's shared test suite for filesystem implementations, run against oss:// on a real ossbox server."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

import fsspec.tests.abstract as abstract
import oss2
import pytest

from ossbox.fs import OssFileSystem
from tests.fs.conftest import make_fs
from tests.server import ServerProcess


class OssFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(self, server: ServerProcess) -> OssFileSystem:
        return make_fs(server.endpoint)

    @pytest.fixture
    def fs_join(self):  # type: ignore[no-untyped-def]
        return posixpath.join

    @pytest.fixture
    def fs_path(self, oss_bucket: oss2.Bucket) -> Iterator[str]:
        yield f"{oss_bucket.bucket_name}/abstract"


class TestOssCopy(abstract.AbstractCopyTests, OssFixtures):  # type: ignore[misc]
    pass


class TestOssGet(abstract.AbstractGetTests, OssFixtures):  # type: ignore[misc]
    pass


class TestOssPut(abstract.AbstractPutTests, OssFixtures):  # type: ignore[misc]
    pass


class TestOssOpen(abstract.AbstractOpenTests, OssFixtures):  # type: ignore[misc]
    pass


class TestOssPipe(abstract.AbstractPipeTests, OssFixtures):  # type: ignore[misc]
    pass
