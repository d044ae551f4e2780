"""The orphan sweep on both shared blob stores: at start and while serving, by one node of the cluster,
sparing blobs younger than the grace period (which another node may be about to commit)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from tests import seaweed
from tests.cluster.conftest import Cluster, new_name
from tests.seaweed import SeaweedFS

pytestmark = pytest.mark.slow
MiB = 1 << 20
STRAY = "00000000ffffffffffffffffffff"  # the shape of a blob id, referenced by nothing


def _plant_stray(c: Cluster, weed: SeaweedFS | None) -> Callable[[], bool]:
    """A blob no metadata refers to, as a node killed between writing and committing leaves; returns a
    check of whether it is still there."""
    if weed is not None:
        key = f"{c.blob_prefix}/blobs/{STRAY}"
        weed.client().put_object(Bucket=seaweed.BUCKET, Key=key, Body=b"left by a node that died")
        return lambda: key in weed.keys(f"{c.blob_prefix}/blobs/")
    path = c.data_dir / "blobs" / STRAY[:8] / STRAY
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"left by a node that died")
    return path.exists


def _referenced_blobs(c: Cluster, weed: SeaweedFS | None) -> set[str]:
    if weed is not None:
        return set(weed.keys(f"{c.blob_prefix}/blobs/"))
    return {p.name for p in (c.data_dir / "blobs").glob("*/*")}


def test_the_start_up_sweep_removes_old_orphans_only(
    make_cluster: Callable[..., Cluster], blob_store: SeaweedFS | None
) -> None:
    c = make_cluster(1, "--blob-sweep-interval-seconds", "0", weed=blob_store)
    a = c.bucket(0, new_name("sweep"))
    a.create_bucket()
    a.put_object("kept", b"k" * MiB)
    kept = _referenced_blobs(c, blob_store)
    stray_exists = _plant_stray(c, blob_store)
    node = c.nodes[0]
    node.stop()
    node.start()  # the cluster's grace period (600 s): a fresh blob may be another node's write in flight
    assert stray_exists()
    node.stop()
    node.extra_args = (*node.extra_args, "--blob-sweep-grace-seconds", "0")
    node.start()
    assert not stray_exists()
    assert _referenced_blobs(c, blob_store) == kept
    assert a.get_object("kept").read() == b"k" * MiB


def test_one_node_sweeps_while_serving(
    make_cluster: Callable[..., Cluster], blob_store: SeaweedFS | None
) -> None:
    c = make_cluster(
        2, "--blob-sweep-interval-seconds", "0.5", "--blob-sweep-grace-seconds", "4", weed=blob_store
    )
    name = new_name("sweeping")
    a, b = c.bucket(0, name), c.bucket(1, name)
    a.create_bucket()
    a.put_object("kept", os.urandom(MiB))
    planted = time.monotonic()
    stray_exists = _plant_stray(c, blob_store)
    time.sleep(2)
    assert stray_exists(), "a blob younger than the grace period is spared"
    while stray_exists():
        assert time.monotonic() - planted < 20, "the stray blob was not swept"
        # Objects keep being written and read meanwhile; none of theirs is taken.
        b.put_object(f"busy-{time.monotonic_ns()}", os.urandom(100_000))
        time.sleep(0.2)
    for obj in list(a.list_objects().object_list):
        assert len(b.get_object(obj.key).read()) == obj.size
    sweepers = [n for n in c.nodes if "blob sweep removed" in n.log()]
    assert len(sweepers) == 1, "one node holds the sweep"
    assert not c.errors_logged()
