"""Bucket retention policies (WORM) through oss2 on a server with a test clock: the policy's life
(InProgress, Locked, extended, lapsed), and protected objects refused to every path that would destroy
them (overwrite, copy, complete, append, delete, batch delete, lifecycle) until their period ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import oss2
import pytest
from oss2.models import BucketLifecycle, LifecycleExpiration, LifecycleRule

from tests.clocked import ClockedServer, owner_bucket


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockedServer]:
    server = ClockedServer(
        tmp_path_factory.mktemp("worm") / "data", "--lifecycle-interval-seconds", "0"
    ).start()
    yield server
    server.stop()
    assert not server.errors_logged()


def _immutable(call: object) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as err:
        call()  # type: ignore[operator]
    assert (err.value.status, err.value.code) == (409, "FileImmutable")


def test_protected_objects_refuse_every_destructive_path(clocked: ClockedServer) -> None:
    b = owner_bucket(clocked.endpoint, "worm-paths")
    b.create_bucket()
    b.put_object("doc", b"v1")
    b.append_object("log", 0, b"first")
    worm_id = b.init_bucket_worm(2).worm_id
    got = b.get_bucket_worm()
    assert (got.worm_id, got.state, got.retention_period_days) == (worm_id, "InProgress", 2)

    _immutable(lambda: b.put_object("doc", b"v2"))
    _immutable(lambda: b.delete_object("doc"))
    _immutable(lambda: b.copy_object(b.bucket_name, "log", "doc"))
    _immutable(lambda: b.append_object("log", 5, b"more"))
    upload = b.init_multipart_upload("doc").upload_id
    etag = b.upload_part("doc", upload, 1, b"part").etag
    _immutable(lambda: b.complete_multipart_upload("doc", upload, [oss2.models.PartInfo(1, etag)]))
    b.abort_multipart_upload("doc", upload)
    batch = b.batch_delete_objects(["doc", "log", "never-existed"])
    assert batch.deleted_keys == ["never-existed"]
    assert b.get_object("doc").read() == b"v1" and b.get_object("log").read() == b"first"
    b.put_object("new", b"uploads go on")  # new objects are allowed (and protected from now on)
    _immutable(lambda: b.delete_object("new"))

    b.complete_bucket_worm(worm_id)
    assert b.get_bucket_worm().state == "Locked"
    with pytest.raises(oss2.exceptions.ServerError) as locked:
        b.abort_bucket_worm()
    assert (locked.value.status, locked.value.code) == (409, "WORMConfigurationLocked")
    with pytest.raises(oss2.exceptions.ServerError) as shorter:
        b.extend_bucket_worm(worm_id, 1)
    assert shorter.value.code == "InvalidArgument"
    b.extend_bucket_worm(worm_id, 3)
    assert b.get_bucket_worm().retention_period_days == 3

    clocked.advance("2d")
    _immutable(lambda: b.delete_object("doc"))  # three days now, not two
    clocked.advance("1d1h")
    for key in ("doc", "log", "new"):
        b.delete_object(key)
    assert not list(oss2.ObjectIterator(b))
    b.delete_bucket()


def test_an_unlocked_policy_can_be_aborted_or_lapses(clocked: ClockedServer) -> None:
    b = owner_bucket(clocked.endpoint, "worm-lapse")
    b.create_bucket()
    b.put_object("k", b"v")
    b.init_bucket_worm(30)
    with pytest.raises(oss2.exceptions.ServerError) as twice:
        b.init_bucket_worm(30)
    assert twice.value.code == "WORMConfigurationAlreadyExist"
    b.abort_bucket_worm()
    b.delete_object("k")  # no policy: nothing protected
    b.put_object("k", b"v")
    worm_id = b.init_bucket_worm(30).worm_id
    clocked.advance("25h")  # not completed within 24 hours: gone, as on OSS
    with pytest.raises(oss2.exceptions.ServerError) as lapsed:
        b.get_bucket_worm()
    assert (lapsed.value.status, lapsed.value.code) == (404, "NoSuchWORMConfiguration")
    with pytest.raises(oss2.exceptions.ServerError) as late:
        b.complete_bucket_worm(worm_id)
    assert late.value.code == "NoSuchWORMConfiguration"
    b.delete_object("k")
    b.delete_bucket()


def test_lifecycle_waits_for_the_retention_period(clocked: ClockedServer) -> None:
    b = owner_bucket(clocked.endpoint, "worm-lifecycle")
    b.create_bucket()
    b.put_object("old", b"v")
    b.complete_bucket_worm(b.init_bucket_worm(3).worm_id)
    b.put_bucket_lifecycle(
        BucketLifecycle([LifecycleRule("expire", "", expiration=LifecycleExpiration(days=1))])
    )
    clocked.advance("2d")
    clocked.lifecycle_pass()
    assert b.object_exists("old")  # expired by the rule, still protected by the policy
    clocked.advance("2d")
    clocked.lifecycle_pass()
    assert not b.object_exists("old")
    b.delete_bucket_lifecycle()


def test_bad_retention_periods(clocked: ClockedServer, tmp_path: Path) -> None:
    b = owner_bucket(clocked.endpoint, "worm-bad")
    b.create_bucket()
    for days in (0, 25551):
        with pytest.raises(oss2.exceptions.ServerError) as err:
            b.init_bucket_worm(days)
        assert (err.value.status, err.value.code) == (400, "InvalidArgument")
    with pytest.raises(oss2.exceptions.ServerError) as none:
        b.abort_bucket_worm()
    assert none.value.code == "NoSuchWORMConfiguration"
    b.delete_bucket()
