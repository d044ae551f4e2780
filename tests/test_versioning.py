"""Bucket versioning against the real server with oss2 and the V2 SDK: versions, the null version, delete
markers, version ids on every operation that takes one, ListObjectVersions paging, and bad input."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.models import BatchDeleteObjectVersion, BatchDeleteObjectVersionList, BucketVersioningConfig

from tests import metadb
from tests.blobfiles import stored_blob_ids
from tests.clocked import delete_everything, fresh_bucket, owner_bucket
from tests.conftest import new_bucket_name
from tests.rawhttp import signed_headers
from tests.server import ServerProcess, free_port
from tests.v2sdk import v2_client

BIG = 300_000  # above the inline limit: stored as a blob file


@pytest.fixture
def vbucket(server: ServerProcess) -> Iterator[oss2.Bucket]:
    with fresh_bucket(server.endpoint, new_bucket_name("ver"), "Enabled") as b:
        yield b


def test_status_round_trip_and_bucket_info(server: ServerProcess) -> None:
    with fresh_bucket(server.endpoint, new_bucket_name("ver")) as b:
        assert b.get_bucket_versioning().status is None
        assert not b.get_bucket_info().versioning_status
        r = b.put_object("plain", b"x")
        assert r.versionid is None  # no header in a bucket that never had versioning
        b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
        assert b.get_bucket_versioning().status == "Enabled"
        assert b.get_bucket_info().versioning_status == "Enabled"
        b.put_bucket_versioning(BucketVersioningConfig("Suspended"))
        assert b.get_bucket_versioning().status == "Suspended"


@pytest.mark.parametrize(
    "body",
    [
        b"<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
        b"<VersioningConfiguration></VersioningConfiguration>",
        b"<VersioningConfiguration><Status>Enabled</Status>",
        b"<Versioning><Status>Enabled</Status></Versioning>",
        b"",
    ],
    ids=["disabled", "no-status", "unclosed", "wrong-root", "empty"],
)
def test_bad_versioning_xml_changes_nothing(server: ServerProcess, vbucket: oss2.Bucket, body: bytes) -> None:
    url, headers = signed_headers("PUT", server.endpoint, vbucket.bucket_name, "", {}, {"versioning": ""})
    r = requests.put(url + "?versioning", data=body, headers=headers, timeout=10)
    assert r.status_code == 400 and b"<Code>MalformedXML</Code>" in r.content
    assert vbucket.get_bucket_versioning().status == "Enabled"


def test_versions_are_kept_and_readable(vbucket: oss2.Bucket) -> None:
    ids = [vbucket.put_object("k", f"v{i}".encode()).versionid for i in range(3)]
    assert len(set(ids)) == 3 and all(ids)
    assert vbucket.get_object("k").read() == b"v2"
    for i, vid in enumerate(ids):
        got = vbucket.get_object("k", params={"versionId": vid})
        assert got.read() == f"v{i}".encode()
        assert got.versionid == vid
        assert vbucket.head_object("k", params={"versionId": vid}).versionid == vid
        assert vbucket.get_object_meta("k", params={"versionId": vid}).versionid == vid
    listed = vbucket.list_object_versions()
    assert [v.versionid for v in listed.versions] == ids[::-1]
    assert [v.is_latest for v in listed.versions] == [True, False, False]
    # ListObjects shows only the current version.
    assert [(o.key, o.size) for o in vbucket.list_objects().object_list] == [("k", 2)]


def test_bad_version_ids(vbucket: oss2.Bucket) -> None:
    vbucket.put_object("k", b"v")
    for bad in ("", "IllegalVersion", "234", "CAEQJhiBgIDVmYrr1RYiIGE5ZmUxMjViZDIwYjQwY2I5ODA1YWIxNmIy"):
        with pytest.raises(oss2.exceptions.InvalidArgument):
            vbucket.get_object("k", params={"versionId": bad})
        with pytest.raises(oss2.exceptions.InvalidArgument):
            vbucket.delete_object("k", params={"versionId": bad})
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        vbucket.get_object("k", params={"versionId": "00000000FFFFFFFF"})
    assert exc.value.status == 404 and exc.value.code == "NoSuchVersion"
    assert vbucket.get_object("k").read() == b"v"  # nothing was deleted


def test_delete_markers(vbucket: oss2.Bucket) -> None:
    v1 = vbucket.put_object("k", b"one").versionid
    deleted = vbucket.delete_object("k")
    assert deleted.delete_marker and deleted.versionid and deleted.versionid != v1
    with pytest.raises(oss2.exceptions.NoSuchKey) as exc:
        vbucket.get_object("k")
    assert exc.value.headers["x-oss-delete-marker"] == "true"
    assert exc.value.headers["x-oss-version-id"] == deleted.versionid
    assert not vbucket.object_exists("k")
    assert vbucket.list_objects().object_list == []
    page = vbucket.list_object_versions()
    assert [(m.versionid, m.is_latest) for m in page.delete_marker] == [(deleted.versionid, True)]
    assert [(v.versionid, v.is_latest) for v in page.versions] == [(v1, False)]
    # Reading the marker itself by id: 405 with the marker headers, as OSS answers.
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        vbucket.head_object("k", params={"versionId": deleted.versionid})
    assert exc.value.status == 405 and exc.value.headers["x-oss-delete-marker"] == "true"
    # A second delete stacks another marker.
    again = vbucket.delete_object("k")
    assert again.delete_marker and again.versionid != deleted.versionid
    # Removing the markers brings the object back.
    r = vbucket.delete_object("k", params={"versionId": again.versionid})
    assert r.delete_marker and r.versionid == again.versionid
    vbucket.delete_object("k", params={"versionId": deleted.versionid})
    assert vbucket.get_object("k").read() == b"one"
    assert vbucket.head_object("k").versionid == v1


def test_deleting_the_current_version_promotes_the_previous(vbucket: oss2.Bucket) -> None:
    v1 = vbucket.put_object("k", b"one").versionid
    v2 = vbucket.put_object("k", b"two").versionid
    r = vbucket.delete_object("k", params={"versionId": v2})
    assert r.status == 204 and r.versionid == v2 and not r.delete_marker
    assert vbucket.get_object("k").read() == b"one"
    assert [(v.versionid, v.is_latest) for v in vbucket.list_object_versions().versions] == [(v1, True)]
    # Deleting a version that is not there is a success, as deleting a missing key is.
    assert vbucket.delete_object("k", params={"versionId": v2}).status == 204
    vbucket.delete_object("k", params={"versionId": v1})
    assert not vbucket.object_exists("k")
    assert vbucket.list_object_versions().versions == []


def test_null_version_before_and_while_suspended(server: ServerProcess) -> None:
    with fresh_bucket(server.endpoint, new_bucket_name("ver")) as b:
        b.put_object("k", b"before")
        b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
        assert b.head_object("k").versionid == "null"
        v1 = b.put_object("k", b"v1").versionid
        assert b.get_object("k", params={"versionId": "null"}).read() == b"before"
        b.put_bucket_versioning(BucketVersioningConfig("Suspended"))
        r = b.put_object("k", b"s1")
        assert r.versionid == "null"
        # The old null version was replaced, v1 kept.
        page = b.list_object_versions()
        assert [(v.versionid, v.is_latest) for v in page.versions] == [("null", True), (v1, False)]
        assert b.get_object("k", params={"versionId": "null"}).read() == b"s1"
        b.put_object("k", b"s2")  # overwrites the null version in place
        assert len(b.list_object_versions().versions) == 2
        d = b.delete_object("k")  # a null delete marker replaces the null version
        assert d.delete_marker and d.versionid == "null"
        page = b.list_object_versions()
        assert [v.versionid for v in page.versions] == [v1]
        assert [(m.versionid, m.is_latest) for m in page.delete_marker] == [("null", True)]
        b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
        v3 = b.put_object("k", b"v3").versionid
        assert v3 not in ("null", v1)
        assert [v.versionid for v in b.list_object_versions().versions] == [v3, v1]


def test_forbid_overwrite_is_ignored_with_versioning(vbucket: oss2.Bucket) -> None:
    vbucket.put_object("k", b"one")
    vbucket.put_object("k", b"two", headers={"x-oss-forbid-overwrite": "true"})
    assert len(vbucket.list_object_versions().versions) == 2


def test_batch_delete_with_versions(vbucket: oss2.Bucket) -> None:
    a1 = vbucket.put_object("a", b"1").versionid
    a2 = vbucket.put_object("a", b"2").versionid
    vbucket.put_object("b", b"1")
    result = vbucket.batch_delete_objects(["a", "b"])
    assert sorted(result.deleted_keys) == ["a", "b"]
    assert all(d.delete_marker and d.delete_marker_versionid for d in result.delete_versions)
    # An invalid id fails the whole request and deletes nothing.
    bad = BatchDeleteObjectVersionList(
        [BatchDeleteObjectVersion("a", a1), BatchDeleteObjectVersion("a", "234")]
    )
    with pytest.raises(oss2.exceptions.InvalidArgument):
        vbucket.delete_object_versions(bad)
    assert len(vbucket.list_object_versions().versions) == 3
    both = BatchDeleteObjectVersionList(
        [BatchDeleteObjectVersion("a", a1), BatchDeleteObjectVersion("a", a2)]
    )
    result = vbucket.delete_object_versions(both)
    assert sorted(d.versionid for d in result.delete_versions) == sorted([a1, a2])
    assert not any(d.delete_marker for d in result.delete_versions)
    assert [v.key for v in vbucket.list_object_versions().versions] == ["b"]


def test_copy_and_part_copy_from_versions(vbucket: oss2.Bucket) -> None:
    old = os.urandom(BIG)
    new = os.urandom(BIG)
    v1 = vbucket.put_object("src", old).versionid
    vbucket.put_object("src", new)
    copied = vbucket.copy_object(vbucket.bucket_name, "src", "dst", params={"versionId": v1})
    assert copied.versionid and copied.headers["x-oss-copy-source-version-id"] == v1
    assert vbucket.get_object("dst").read() == old
    upload_id = vbucket.init_multipart_upload("mp").upload_id
    part = vbucket.upload_part_copy(
        vbucket.bucket_name, "src", (0, BIG - 1), "mp", upload_id, 1, params={"versionId": v1}
    )
    done = vbucket.complete_multipart_upload("mp", upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert done.versionid
    assert vbucket.get_object("mp").read() == old
    marker = vbucket.delete_object("src").versionid
    with pytest.raises(oss2.exceptions.NoSuchKey):
        vbucket.copy_object(vbucket.bucket_name, "src", "dst2")
    with pytest.raises(oss2.exceptions.InvalidArgument):
        vbucket.copy_object(vbucket.bucket_name, "src", "dst2", params={"versionId": marker})
    with pytest.raises(oss2.exceptions.InvalidArgument):
        vbucket.copy_object(vbucket.bucket_name, "src", "dst2", params={"versionId": "nope"})
    assert not vbucket.object_exists("dst2")


def test_object_acl_per_version(vbucket: oss2.Bucket) -> None:
    v1 = vbucket.put_object("k", b"1").versionid
    v2 = vbucket.put_object("k", b"2").versionid
    vbucket.put_object_acl("k", oss2.OBJECT_ACL_PUBLIC_READ, params={"versionId": v1})
    assert vbucket.get_object_acl("k", params={"versionId": v1}).acl == oss2.OBJECT_ACL_PUBLIC_READ
    assert vbucket.get_object_acl("k", params={"versionId": v2}).acl == oss2.OBJECT_ACL_DEFAULT
    assert vbucket.get_object_acl("k").acl == oss2.OBJECT_ACL_DEFAULT
    with pytest.raises(oss2.exceptions.InvalidArgument):
        vbucket.put_object_acl("k", oss2.OBJECT_ACL_PRIVATE, params={"versionId": "IllegalVersion"})


def test_appends_extend_the_current_version(vbucket: oss2.Bucket) -> None:
    vbucket.append_object("log", 0, b"a")
    vbucket.append_object("log", 1, b"b")
    versions = vbucket.list_object_versions().versions
    assert len(versions) == 1 and versions[0].size == 2
    vbucket.put_object("log", b"replaced")
    assert [v.size for v in vbucket.list_object_versions().versions] == [8, 2]


def test_list_versions_paging_delimiter_and_encoding(vbucket: oss2.Bucket) -> None:
    vbucket.put_object("dir/sub1/x", b"x")
    vbucket.put_object("dir/sub2/x", b"x")
    for i in range(7):
        vbucket.put_object("dir/obj", str(i).encode())
    vbucket.delete_object("dir/obj")
    vbucket.put_object("dir/zz z", b"z")
    seen: list[tuple[str, str, bool]] = []
    prefixes: list[str] = []
    key_marker = version_marker = ""
    for _ in range(20):
        page = vbucket.list_object_versions(
            prefix="dir/", delimiter="/", key_marker=key_marker, versionid_marker=version_marker, max_keys=3
        )
        entries = [(v.key, v.versionid, False) for v in page.versions]
        entries += [(m.key, m.versionid, True) for m in page.delete_marker]
        assert len(entries) + len(page.common_prefix) <= 3
        seen += entries
        prefixes += page.common_prefix
        if not page.is_truncated:
            break
        key_marker, version_marker = page.next_key_marker, page.next_versionid_marker
    else:
        pytest.fail("paging did not end")
    assert prefixes == ["dir/sub1/", "dir/sub2/"]
    assert sorted(k for k, _, m in seen if not m) == ["dir/obj"] * 7 + ["dir/zz z"]
    assert [k for k, _, m in seen if m] == ["dir/obj"]
    assert len({(k, v) for k, v, _ in seen}) == len(seen), "an entry came twice"
    # encoding-type=url: oss2 decodes the keys it gets.
    page = vbucket.list_object_versions(prefix="dir/zz")
    assert [v.key for v in page.versions] == ["dir/zz z"]


@pytest.mark.parametrize(
    "params",
    [
        {"prefix": "a" * 1025},
        {"key_marker": "a" * 1025},
        {"delimiter": "a" * 1025},
        {"max_keys": 1001},
        {"key_marker": "k", "versionid_marker": "not-a-version"},
    ],
    ids=["prefix", "key-marker", "delimiter", "max-keys", "bad-marker"],
)
def test_list_versions_bad_parameters(vbucket: oss2.Bucket, params: dict[str, object]) -> None:
    with pytest.raises(oss2.exceptions.InvalidArgument):
        vbucket.list_object_versions(**params)  # type: ignore[arg-type]


def test_bucket_with_versions_cannot_be_deleted(server: ServerProcess) -> None:
    b = owner_bucket(server.endpoint, new_bucket_name("ver"))
    b.create_bucket()
    b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
    b.put_object("k", b"v")
    b.delete_object("k")  # only a delete marker and a noncurrent version remain
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        b.delete_bucket()
    delete_everything(b)


def _blob_files(data_dir: Path) -> set[str]:
    return stored_blob_ids(data_dir)


def _blob_files_settle(data_dir: Path, count: int) -> set[str]:
    """The blob files once `count` remain: the committer deletes unreferenced files right after it
    answers, so a client can see the answer a moment before the file is gone."""
    deadline = time.monotonic() + 10
    while len(files := _blob_files(data_dir)) != count and time.monotonic() < deadline:
        time.sleep(0.01)
    return files


def test_noncurrent_data_survives_restart_and_is_freed_when_deleted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    srv = ServerProcess(data_dir, port).start()
    try:
        b = owner_bucket(srv.endpoint, "refs")
        b.create_bucket()
        b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
        contents = [os.urandom(BIG) for _ in range(3)]
        ids = [b.put_object("k", c).versionid for c in contents]
        b.copy_object("refs", "k", "copy", params={"versionId": ids[0]})  # shares the first blob
        assert len(_blob_files(data_dir)) == 3
        srv.stop()
        srv = ServerProcess(data_dir, port).start()  # the startup sweep must keep noncurrent blobs
        for vid, c in zip(ids, contents, strict=True):
            assert b.get_object("k", params={"versionId": vid}).read() == c
        for vid in ids:
            b.delete_object("k", params={"versionId": vid})
        assert len(_blob_files_settle(data_dir, 1)) == 1  # the copy still holds the first one
        assert b.get_object("copy").read() == contents[0]
        b.delete_object("copy", params={"versionId": b.head_object("copy").versionid})
        assert _blob_files_settle(data_dir, 0) == set()
        with metadb.connect(data_dir) as db:
            assert db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 0
        b.delete_bucket()
    finally:
        srv.stop()


def test_v2_sdk(server: ServerProcess) -> None:
    client = v2_client(server.endpoint)
    name = new_bucket_name("v2ver")
    client.put_bucket(oss.PutBucketRequest(bucket=name))
    try:
        client.put_bucket_versioning(
            oss.PutBucketVersioningRequest(
                bucket=name, versioning_configuration=oss.VersioningConfiguration(status="Enabled")
            )
        )
        got = client.get_bucket_versioning(oss.GetBucketVersioningRequest(bucket=name))
        assert got.version_status == "Enabled"
        v1 = client.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"one")).version_id
        v2 = client.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"two")).version_id
        old = client.get_object(oss.GetObjectRequest(bucket=name, key="k", version_id=v1))
        assert old.body.read() == b"one" and old.version_id == v1
        listed = client.list_object_versions(oss.ListObjectVersionsRequest(bucket=name))
        assert [v.version_id for v in listed.version] == [v2, v1]
        assert [v.is_latest for v in listed.version] == [True, False]
        marker = client.delete_object(oss.DeleteObjectRequest(bucket=name, key="k"))
        assert marker.delete_marker and marker.version_id
        listed = client.list_object_versions(oss.ListObjectVersionsRequest(bucket=name))
        assert [m.version_id for m in listed.delete_marker] == [marker.version_id]
        for vid in (v1, v2, marker.version_id):
            client.delete_object(oss.DeleteObjectRequest(bucket=name, key="k", version_id=vid))
        listed = client.list_object_versions(oss.ListObjectVersionsRequest(bucket=name))
        assert not listed.version and not listed.delete_marker
    finally:
        client.delete_bucket(oss.DeleteBucketRequest(bucket=name))
