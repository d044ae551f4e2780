"""Several ossbox nodes as separate processes on separate loopback ports, sharing one PostgreSQL database
and one data directory (the shared-directory blob store), as in docs/scale-out.md."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import oss2
import pytest

from tests import pg
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

if not pg.available():  # pragma: no cover - .ci/run installs it
    pytest.skip("PostgreSQL is not installed (apt-get install postgresql)", allow_module_level=True)


@dataclass
class Cluster:
    url: str
    data_dir: Path
    nodes: list[ServerProcess] = field(default_factory=list)

    def bucket(self, node: int, name: str) -> oss2.Bucket:
        auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        return oss2.Bucket(auth, self.nodes[node].endpoint, name, region=REGION)

    def errors_logged(self) -> list[str]:
        return [
            line
            for node in self.nodes
            for line in node.log().splitlines()
            if " ERROR " in line or "Traceback" in line
        ]


def node_args(url: str, *extra: str) -> tuple[str, ...]:
    # Nodes share the data directory: the start-up sweep spares what the others are writing.
    return ("--meta-url", url, "--blob-sweep-grace-seconds", "600", "--workers", "1", *extra)


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(count: int = 3, *extra: str) -> Cluster:
        url = pg.cluster().create_database("c" + uuid.uuid4().hex[:12])
        data_dir = tmp_path / f"shared-{len(made)}"
        cluster = Cluster(url, data_dir)
        for _ in range(count):
            node = ServerProcess(data_dir, free_port(), extra_args=node_args(url, *extra))
            cluster.nodes.append(node.start())
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        for node in cluster.nodes:
            node.stop()


def new_name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"
