"""Moving a single node to a cluster: `ossbox meta copy` from its SQLite file to PostgreSQL, then nodes on
the same data directory serve everything it had, checked by listing and checksums."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import oss2
import pytest
from oss2.models import BucketVersioningConfig
from tablestore import (
    INF_MAX,
    INF_MIN,
    CapacityUnit,
    Direction,
    OTSClient,
    ReservedThroughput,
    Row,
    TableMeta,
    TableOptions,
)

from ossbox.cli.tables import open_tables_db
from ossbox.tables.changelog import ChangeLog
from tests import pg
from tests.cluster.conftest import node_args
from tests.iam import new_user
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

pytestmark = pytest.mark.slow
INSTANCE = "moving"


def _owner(endpoint: str, name: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), endpoint, name, region=REGION)


def _inventory(bucket: oss2.Bucket) -> dict[tuple[str, str], str]:
    """(key, version id) -> md5 of the content, over every version."""
    out: dict[tuple[str, str], str] = {}
    page = bucket.list_object_versions(max_keys=1000)
    assert not page.is_truncated
    for v in page.versions:
        data = bucket.get_object(v.key, params={"versionId": v.versionid}).read()
        out[(v.key, v.versionid)] = hashlib.md5(data).hexdigest()
    assert [m.key for m in page.delete_marker] == ["k/3"]
    return out


def _ots(node: ServerProcess) -> OTSClient:
    return OTSClient(node.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, INSTANCE)


def _all_rows(ots: OTSClient, table: str) -> list[Row]:
    return list(
        ots.xget_range(
            table, Direction.FORWARD, [("id", INF_MIN)], [("id", INF_MAX)], CapacityUnit(0, 0), max_version=1
        )
    )


def test_meta_copy_from_sqlite_to_postgresql(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("OSSBOX_META_URL", "OSSBOX_TEST_META")}
    # The single node is on SQLite whatever engine the rest of the tests use.
    single = ServerProcess(
        data_dir, free_port(), extra_args=("--meta-url", f"sqlite:///{data_dir}/meta.sqlite3")
    )
    single.start()
    try:
        name = f"move-{uuid.uuid4().hex[:10]}"
        b = _owner(single.endpoint, name)
        b.create_bucket()
        b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
        for i in range(30):
            b.put_object(f"k/{i % 10}", os.urandom(100 if i % 2 else 200_000))
        b.delete_object("k/3")  # a delete marker
        pending = b.init_multipart_upload("pending").upload_id
        b.upload_part("pending", pending, 1, b"p" * 1000)
        user, user_auth = new_user(single, "AliyunOSSReadOnlyAccess")
        before = _inventory(b)
        single_ots = _ots(single)
        single_ots.create_table(
            TableMeta("moved", [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
        )
        for i in range(5):
            single_ots.put_row("moved", Row([("id", f"r{i}")], [("v", i)]))
    finally:
        single.stop()

    url = pg.cluster().create_database("move" + uuid.uuid4().hex[:8])
    done = subprocess.run(
        [sys.executable, "-m", "ossbox", "meta", "copy", "--from", f"sqlite:///{data_dir}/meta.sqlite3",
         "--to", url, "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "every table compared equal" in done.stdout
    assert pg.PASSWORD not in done.stdout + done.stderr

    nodes = [ServerProcess(data_dir, free_port(), extra_args=node_args(url)).start() for _ in range(2)]
    try:
        a, c = _owner(nodes[0].endpoint, name), _owner(nodes[1].endpoint, name)
        assert _inventory(c) == before
        assert [u.upload_id for u in oss2.MultipartUploadIterator(a)] == [pending]
        # Version numbers go on from where the single node left them: a new version is the newest.
        newest = a.put_object("k/0", b"after the move").versionid
        assert c.list_object_versions(prefix="k/0").versions[0].versionid == newest
        # The RAM user's key moved too.
        reader = oss2.Bucket(user_auth, nodes[1].endpoint, name, region=REGION)
        assert reader.get_object("k/0").read() == b"after the move"
        assert user
        # The table service's tables and change log moved; ids and checkpoints go on after the copied ones.
        ots = _ots(nodes[0])
        assert [r.primary_key[0][1] for r in _all_rows(ots, "moved")] == [f"r{i}" for i in range(5)]
        ots.create_table(
            TableMeta("second", [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
        )
        ots.put_row("moved", Row([("id", "r5")], [("v", 5)]))
        db = open_tables_db(tmp_path / "reader", url)
        try:
            with ChangeLog(db) as log:
                records = log.read(INSTANCE, "moved", 0).records
        finally:
            db.close()
        assert [r.primary_key[0][1] for r in records] == [f"r{i}" for i in range(6)]
        assert [r.checkpoint for r in records] == sorted({r.checkpoint for r in records})
        # Copying into a store that is not empty is refused.
        again = subprocess.run(
            [sys.executable, "-m", "ossbox", "meta", "copy", "--from", f"sqlite:///{data_dir}/meta.sqlite3",
             "--to", url, "--data-dir", str(data_dir)],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert again.returncode != 0 and "the target is not empty" in again.stderr
    finally:
        for n in nodes:
            n.stop()
