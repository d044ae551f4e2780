"""Any node answers any request: what one node writes, another reads at once, with every official client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import alibabacloud_oss_v2 as oss_v2
import oss2
import pytest
from oss2.models import BucketVersioningConfig

from tests import seaweed
from tests.cluster.conftest import Cluster, new_name
from tests.s3.conftest import s3_client
from tests.seaweed import SeaweedFS
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION
from tests.v2sdk import v2_client
from tests.volumes.conftest import TRUST_ODPS

pytestmark = pytest.mark.slow


def _eventually(check: Callable[[], bool], within_s: float = 2.0) -> bool:
    """Cached bucket state (ACLs, configurations) reaches other nodes by NOTIFY: within milliseconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_objects_written_on_one_node_are_read_on_the_others(
    make_cluster: Callable[..., Cluster], blob_store: SeaweedFS | None
) -> None:
    c = make_cluster(3, weed=blob_store)
    name = new_name("nodes")
    a, b, third = c.bucket(0, name), c.bucket(1, name), c.bucket(2, name)
    a.create_bucket()
    assert b.get_bucket_info().name == name

    a.put_object("plain", b"hello from a")
    assert b.get_object("plain").read() == b"hello from a"
    assert third.head_object("plain").content_length == 12

    # Multipart: parts through different nodes, completed through a third.
    upload = a.init_multipart_upload("mp").upload_id
    part1, part2 = b"x" * (100 * 1024), b"y" * 1000
    r1 = a.upload_part("mp", upload, 1, part1)
    r2 = b.upload_part("mp", upload, 2, part2)
    assert [p.part_number for p in third.list_parts("mp", upload).parts] == [1, 2]
    third.complete_multipart_upload(
        "mp", upload, [oss2.models.PartInfo(1, r1.etag), oss2.models.PartInfo(2, r2.etag)]
    )
    assert a.get_object("mp").read() == part1 + part2

    # Append alternating between nodes: each node sees the position the other left.
    pos = a.append_object("log", 0, b"one,").next_position
    pos = b.append_object("log", pos, b"two,").next_position
    third.append_object("log", pos, b"three")
    assert a.get_object("log").read() == b"one,two,three"

    # Copy and tags.
    b.copy_object(name, "plain", "copied")
    rule = oss2.models.TaggingRule()
    rule.add("k", "v")
    a.put_object_tagging("copied", oss2.models.Tagging(rule))
    assert third.get_object("copied").read() == b"hello from a"
    assert third.get_object_tagging("copied").tag_set.tagging_rule == {"k": "v"}

    # Object ACL: stored per object, read from the database on every request.
    a.put_object_acl("plain", oss2.OBJECT_ACL_PUBLIC_READ)
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), c.nodes[1].endpoint, name, region=REGION)
    assert anonymous.get_object("plain").read() == b"hello from a"

    # Bucket ACL and configuration: cached by every node, dropped on NOTIFY.
    a.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    other = oss2.Bucket(oss2.AnonymousAuth(), c.nodes[2].endpoint, name, region=REGION)
    assert _eventually(lambda: _readable(other, "copied"))
    a.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert _eventually(lambda: not _readable(other, "copied"))

    # Versioned deletes: a marker made on one node hides the key on the others; removing it brings it back.
    a.put_bucket_versioning(BucketVersioningConfig("Enabled"))
    assert _eventually(lambda: b.get_bucket_versioning().status == "Enabled")
    first = b.put_object("v", b"first").versionid
    marker = third.delete_object("v").versionid
    with pytest.raises(oss2.exceptions.NoSuchKey):
        a.get_object("v")
    assert a.get_object("v", params={"versionId": first}).read() == b"first"
    b.delete_object("v", params={"versionId": marker})
    assert third.get_object("v").read() == b"first"
    assert not c.errors_logged()


def _readable(bucket: oss2.Bucket, key: str) -> bool:
    try:
        bucket.get_object(key).read()
        return True
    except oss2.exceptions.AccessDenied:
        return False


def test_the_v2_sdk_and_boto3_across_nodes(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster(2)
    name = new_name("sdks")
    v2 = v2_client(c.nodes[0].endpoint)
    v2.put_bucket(oss_v2.PutBucketRequest(bucket=name))
    v2.put_object(oss_v2.PutObjectRequest(bucket=name, key="v2", body=b"from the v2 sdk"))
    s3 = s3_client(c.nodes[1].endpoint)
    assert s3.get_object(Bucket=name, Key="v2")["Body"].read() == b"from the v2 sdk"
    s3.put_object(Bucket=name, Key="boto", Body=b"from boto3")
    got = v2.get_object(oss_v2.GetObjectRequest(bucket=name, key="boto"))
    assert got.body.read() == b"from boto3"
    s3.delete_object(Bucket=name, Key="v2")
    with pytest.raises(oss_v2.exceptions.OperationError):
        v2.get_object(oss_v2.GetObjectRequest(bucket=name, key="v2"))
    assert not c.errors_logged()


def test_projects_are_shared_by_nodes_that_share_nothing_on_disk(
    make_cluster: Callable[..., Cluster],
) -> None:
    """The project service's catalog is in PostgreSQL beside the metadata: nodes with data directories of
    their own (blobs in SeaweedFS) serve the same projects."""
    c = make_cluster(2, weed=seaweed.instance())
    name = "shared_" + new_name("p").replace("-", "_")

    def project(node: int, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "ODPS_ENDPOINT": c.nodes[node].endpoint,
            "ODPS_ACCESS_ID": ACCESS_KEY_ID,
            "ODPS_ACCESS_KEY": ACCESS_KEY_SECRET,
        }
        return subprocess.run(
            [sys.executable, "-m", "ossbox", "project", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    def admin(*args: str) -> str:
        env = {**os.environ, "OSSBOX_META_URL": c.url, "OSSBOX_DATA_DIR": str(c.nodes[0].data_dir)}
        done = subprocess.run(
            [sys.executable, "-m", "ossbox", *args], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    account = admin("ram", "account")
    trust = c.data_dir / "trust.json"
    trust.write_text(json.dumps(TRUST_ODPS))
    admin("ram", "role", "create", "aliyunodpsdefaultrole", "--trust-policy", str(trust))
    admin("ram", "policy", "attach", "AliyunOSSFullAccess", "--role", "aliyunodpsdefaultrole")
    warehouse = "warehouse-" + name.replace("_", "-")
    c.bucket(0, warehouse).create_bucket()
    role = f"acs:ram::{account}:role/aliyunodpsdefaultrole"
    made = project(
        0, "create", name, "--warehouse", f"oss://{c.nodes[0].endpoint[7:]}/{warehouse}/p", "--role-arn", role
    )
    assert made.returncode == 0, made.stderr
    assert name in project(1, "list").stdout
    again = project(
        1, "create", name, "--warehouse", f"oss://{c.nodes[1].endpoint[7:]}/{warehouse}/q", "--role-arn", role
    )
    assert again.returncode != 0 and "already exists" in again.stderr
    assert not list(c.data_dir.glob("*/projects.sqlite3"))
    assert not c.errors_logged()
