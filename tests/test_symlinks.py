"""Symlinks against the real server with oss2 and the V2 SDK: PutSymlink options, GetSymlink, GET/HEAD
through a link (the target's data, the link's metadata), the errors OSS documents, listings, versions,
copies and ACLs."""

from __future__ import annotations

from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from tests.clocked import fresh_bucket
from tests.conftest import new_bucket_name
from tests.server import ServerProcess
from tests.v2sdk import v2_client

MD5_HELLO = "5D41402ABC4B2A76B9719D911017C592"


@pytest.fixture
def b(server: ServerProcess) -> Iterator[oss2.Bucket]:
    with fresh_bucket(server.endpoint, new_bucket_name("sym")) as bucket:
        yield bucket


def test_put_get_and_follow(b: oss2.Bucket) -> None:
    b.put_object("target", b"hello", headers={"Content-Type": "text/plain", "x-oss-meta-t": "target"})
    b.put_symlink(
        "target",
        "link",
        headers={"x-oss-meta-l": "link", "Content-Type": "text/x-link", "x-oss-storage-class": "IA"},
    )
    assert b.get_symlink("link").target_key == "target"
    head = b.head_object("link")
    assert head.content_length == 5 and head.etag == MD5_HELLO
    assert head.headers["x-oss-object-type"] == "Symlink"
    assert head.headers["x-oss-meta-l"] == "link" and "x-oss-meta-t" not in head.headers
    assert head.headers["Content-Type"] == "text/x-link" and head.headers["x-oss-storage-class"] == "IA"
    got = b.get_object("link")  # oss2 checks the CRC-64: the target's
    assert got.read() == b"hello"
    assert b.get_object("link", byte_range=(1, 3)).read() == b"ell"
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        b.get_object("link", headers={"If-Match": '"0000"'})
    assert b.get_object("link", headers={"If-Match": MD5_HELLO}).read() == b"hello"
    # The link follows the target's current content.
    b.put_object("target", b"second version")
    assert b.get_object("link").read() == b"second version"


def test_listings_show_symlinks(b: oss2.Bucket) -> None:
    b.put_object("dir/target", b"x" * 1000)
    b.put_symlink("dir/target", "dir/link")
    listed = {o.key: o for o in b.list_objects(prefix="dir/").object_list}
    assert listed["dir/link"].type == "Symlink" and listed["dir/link"].size == len("dir/target")
    assert listed["dir/target"].type == "Normal"


def test_errors(server: ServerProcess, b: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey):
        b.get_symlink("nothing")
    b.put_object("plain", b"p")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_symlink("plain")
    assert err.value.status == 400 and err.value.code == "NotSymlink"
    b.put_symlink("missing", "dangling")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("dangling")
    assert (err.value.status, err.value.code, err.value.ec) == (404, "SymlinkTargetNotExist", "0026-00000012")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.head_object("dangling")
    assert err.value.status == 404 and err.value.code == "SymlinkTargetNotExist"
    b.put_symlink("plain", "link1")
    b.put_symlink("link1", "link2")  # allowed: checks happen when the link is read
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("link2")
    assert err.value.status == 400 and err.value.code == "InvalidTargetType"
    b.put_symlink("loop", "loop")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("loop")
    assert err.value.code == "InvalidTargetType"
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.put_symlink("plain", "link1", headers={"x-oss-forbid-overwrite": "true"})
    assert (err.value.status, err.value.code) == (409, "FileAlreadyExists")
    with pytest.raises(oss2.exceptions.ObjectNotAppendable):
        b.append_object("link1", 0, b"more")
    no_bucket = oss2.Bucket(b.auth, server.endpoint, new_bucket_name("none"))
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        no_bucket.get_symlink("x")
    with pytest.raises(oss2.exceptions.InvalidObjectName):
        b.put_symlink("/bad", "link3")


def test_special_characters_in_the_target(b: oss2.Bucket) -> None:
    target = "中文 dir/a+b%20c?&=#\x0c.txt"
    b.put_object(target, b"special")
    b.put_symlink(target, "s/link")
    assert b.get_symlink("s/link").target_key == target
    assert b.get_object("s/link").read() == b"special"


def test_copy_copies_the_link(b: oss2.Bucket) -> None:
    b.put_object("t", b"hello")
    b.put_symlink("t", "l", headers={"x-oss-meta-m": "1"})
    b.copy_object(b.bucket_name, "l", "l2")
    assert b.get_symlink("l2").target_key == "t"
    assert b.head_object("l2").headers["x-oss-meta-m"] == "1"
    b.put_object("t", b"changed")
    assert b.get_object("l2").read() == b"changed"  # a copied link, not a copy of the data


def test_acls_of_link_and_target(server: ServerProcess, b: oss2.Bucket) -> None:
    b.put_object("private-target", b"secret")
    b.put_object("public-target", b"open", headers={"x-oss-object-acl": "public-read"})
    b.put_symlink("private-target", "to-private", headers={"x-oss-object-acl": "public-read"})
    b.put_symlink("public-target", "to-public", headers={"x-oss-object-acl": "public-read"})
    base = f"{server.endpoint}/{b.bucket_name}"
    assert requests.get(f"{base}/to-public", timeout=10).content == b"open"
    denied = requests.get(f"{base}/to-private", timeout=10)
    assert denied.status_code == 403 and b"AccessDenied" in denied.content
    assert requests.get(f"{base}/private-target", timeout=10).status_code == 403


def test_versions_of_a_symlink(server: ServerProcess) -> None:
    with fresh_bucket(server.endpoint, new_bucket_name("symv"), "Enabled") as b:
        b.put_object("a", b"A")
        b.put_object("b", b"B")
        v1 = b.put_symlink("a", "link").versionid
        v2 = b.put_symlink("b", "link").versionid
        assert v1 and v2 and v1 != v2
        assert b.get_symlink("link", params={"versionId": v1}).target_key == "a"
        assert b.get_symlink("link").target_key == "b"
        assert b.get_object("link", params={"versionId": v1}).read() == b"A"
        marker = b.delete_object("link")
        assert marker.delete_marker
        with pytest.raises(oss2.exceptions.NoSuchKey) as err:
            b.get_symlink("link")
        assert err.value.headers.get("x-oss-delete-marker") == "true"
        versions = b.list_object_versions(prefix="link").versions
        assert {v.versionid for v in versions} == {v1, v2}
        b.delete_object("link", params={"versionId": marker.versionid})
        assert b.get_object("link").read() == b"B"


def test_v2_sdk(server: ServerProcess, b: oss2.Bucket) -> None:
    client = v2_client(server.endpoint)
    name = b.bucket_name
    client.put_object(oss.PutObjectRequest(bucket=name, key="dir/t.txt", body=b"v2 data"))
    client.put_symlink(
        oss.PutSymlinkRequest(bucket=name, key="v2link", symlink_target="dir/t.txt", metadata={"k": "v"})
    )
    got = client.get_symlink(oss.GetSymlinkRequest(bucket=name, key="v2link"))
    assert got.target == "dir/t.txt" and got.metadata == {"k": "v"}
    body = client.get_object(oss.GetObjectRequest(bucket=name, key="v2link"))
    assert body.body.read() == b"v2 data" and body.object_type == "Symlink"


def test_archived_target(b: oss2.Bucket) -> None:
    b.put_object("cold", b"frozen", headers={"x-oss-storage-class": "Archive"})
    b.put_symlink("cold", "to-cold")
    assert b.head_object("to-cold").content_length == 6  # HEAD works on a frozen object, so through a link
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("to-cold")
    assert err.value.code == "InvalidObjectState"


def test_encrypted_target(b: oss2.Bucket) -> None:
    b.put_object("enc", b"x" * 100_000, headers={"x-oss-server-side-encryption": "AES256"})
    b.put_symlink("enc", "to-enc")
    got = b.get_object("to-enc", byte_range=(99_990, 99_999))
    assert got.read() == b"x" * 10 and got.headers["x-oss-server-side-encryption"] == "AES256"
