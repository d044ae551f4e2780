"""Storage classes and RestoreObject on a two-process server whose clock the tests move (no sleeping):
frozen objects, restore states, RestoreInfo in listings, copies, per-version restores, bad input."""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.models import BucketVersioningConfig, RestoreConfiguration, RestoreJobParameters

from tests.clocked import ClockedServer, fresh_bucket, ossbox_cli
from tests.conftest import new_bucket_name
from tests.rawhttp import signed_headers
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port
from tests.v2sdk import v2_client

DELAY_S = 600  # restores take ten (storage-clock) minutes: "ongoing" until a test moves the clock
BIG = 300_000
FROZEN = {"x-oss-storage-class": "Archive"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockedServer]:
    data_dir = tmp_path_factory.mktemp("archive") / "data"
    server = ClockedServer(data_dir, "--workers", "2", "--restore-delay-seconds", str(DELAY_S)).start()
    yield server
    server.stop()
    assert not server.errors_logged(), server.proc.log()[-5000:]


@pytest.fixture
def bucket(srv: ClockedServer) -> Iterator[oss2.Bucket]:
    with fresh_bucket(srv.endpoint, new_bucket_name("arc")) as b:
        yield b


def _frozen(b: oss2.Bucket, key: str, **kw: object) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        b.get_object(key, **kw)  # type: ignore[arg-type]
    assert exc.value.status == 403 and exc.value.code == "InvalidObjectState"


def test_restore_states_follow_the_clock(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    small, big = b"tiny", os.urandom(BIG)
    bucket.put_object("small", small, headers=FROZEN)
    bucket.put_object("big", big, headers=FROZEN)
    for key in ("small", "big"):
        _frozen(bucket, key)
        _frozen(bucket, key, byte_range=(0, 1))
        head = bucket.head_object(key)  # metadata stays readable
        assert head.headers["x-oss-storage-class"] == "Archive" and "x-oss-restore" not in head.headers
        assert bucket.restore_object(key).status == 202
        assert bucket.head_object(key).headers["x-oss-restore"] == 'ongoing-request="true"'
        _frozen(bucket, key)
        with pytest.raises(oss2.exceptions.ServerError) as exc:
            bucket.restore_object(key)
        assert exc.value.status == 409 and exc.value.code == "RestoreAlreadyInProgress"

    srv.advance(f"{DELAY_S + 1}s")
    assert bucket.get_object("small").read() == small
    assert bucket.get_object("big").read() == big
    assert bucket.get_object("big", byte_range=(10, 19)).read() == big[10:20]
    restore = bucket.head_object("big").headers["x-oss-restore"]
    assert restore.startswith('ongoing-request="false", expiry-date="')
    expiry = parsedate_to_datetime(restore.split('expiry-date="')[1].rstrip('"'))
    # Asking again while restored answers 200 and keeps the copy the asked days from now.
    assert bucket.restore_object("big", input=RestoreConfiguration(days=3)).status == 200
    later = bucket.head_object("big").headers["x-oss-restore"]
    assert parsedate_to_datetime(later.split('expiry-date="')[1].rstrip('"')) > expiry

    srv.advance("1d1h")  # "small" (1 day) has gone cold again, "big" (3 days from the re-request) has not
    _frozen(bucket, "small")
    assert "x-oss-restore" not in bucket.head_object("small").headers
    assert bucket.get_object("big").read() == big
    srv.advance("2d")
    _frozen(bucket, "big")
    assert bucket.restore_object("big").status == 202  # a new restore starts


def test_cold_archive_tiers(bucket: oss2.Bucket) -> None:
    for i, tier in enumerate(("Expedited", "Standard", "Bulk")):
        key = f"cold{i}"
        bucket.put_object(key, b"c", headers={"x-oss-storage-class": "ColdArchive"})
        job = RestoreConfiguration(days=5, job_parameters=RestoreJobParameters(tier))
        result = bucket.restore_object(key, input=job)
        assert result.status == 202 and result.headers["x-oss-object-restore-priority"] == tier
    bucket.put_object("cold-default", b"c", headers={"x-oss-storage-class": "ColdArchive"})
    assert bucket.restore_object("cold-default").headers["x-oss-object-restore-priority"] == "Standard"
    bucket.put_object("deep", b"d", headers={"x-oss-storage-class": "DeepColdArchive"})
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.restore_object("deep", input=RestoreConfiguration(2, RestoreJobParameters("Bulk")))
    assert (
        bucket.restore_object("deep", input=RestoreConfiguration(2, RestoreJobParameters("Expedited"))).status
        == 202
    )


def _raw_restore(srv: ClockedServer, b: oss2.Bucket, key: str, body: bytes) -> requests.Response:
    url, headers = signed_headers("POST", srv.endpoint, b.bucket_name, key, {}, {"restore": ""})
    return requests.post(url + "?restore", data=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("storage_class", "body", "status", "code"),
    [
        ("Standard", b"", 400, "OperationNotSupported"),
        ("IA", b"", 400, "OperationNotSupported"),
        (
            "Archive",
            b"<RestoreRequest><Days>2</Days><JobParameters><Tier>Bulk</Tier></JobParameters>"
            b"</RestoreRequest>",
            400,
            "MalformedXML",
        ),
        ("Archive", b"<RestoreRequest><Days>8</Days></RestoreRequest>", 400, "InvalidArgument"),
        ("Archive", b"<RestoreRequest><Days>0</Days></RestoreRequest>", 400, "InvalidArgument"),
        ("Archive", b"<RestoreRequest><Days>two</Days></RestoreRequest>", 400, "MalformedXML"),
        ("Archive", b"<RestoreRequest><Days>2</Days>", 400, "MalformedXML"),
        ("Archive", b"<Restore><Days>2</Days></Restore>", 400, "MalformedXML"),
        ("ColdArchive", b"<RestoreRequest><Days>366</Days></RestoreRequest>", 400, "InvalidArgument"),
        (
            "ColdArchive",
            b"<RestoreRequest><Days>1</Days><JobParameters><Tier>Fast</Tier></JobParameters>"
            b"</RestoreRequest>",
            400,
            "InvalidArgument",
        ),
    ],
)
def test_bad_restore_requests_change_nothing(
    srv: ClockedServer, bucket: oss2.Bucket, storage_class: str, body: bytes, status: int, code: str
) -> None:
    bucket.put_object("k", b"v", headers={"x-oss-storage-class": storage_class})
    r = _raw_restore(srv, bucket, "k", body)
    assert r.status_code == status and f"<Code>{code}</Code>".encode() in r.content, r.content
    assert "x-oss-restore" not in bucket.head_object("k").headers
    if storage_class not in ("Standard", "IA"):
        assert bucket.restore_object("k").status == 202  # the first valid request still starts one


def test_restore_of_a_missing_key(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.restore_object("nothing")


def test_restore_info_in_listings(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    bucket.put_object("a", b"a", headers=FROZEN)
    bucket.put_object("b", b"b", headers=FROZEN)
    bucket.put_object("c", b"c")
    bucket.restore_object("a")
    for listing in (bucket.list_objects().object_list, bucket.list_objects_v2().object_list):
        info = {o.key: o.restore_info for o in listing}
        assert info == {"a": 'ongoing-request="true"', "b": None, "c": None}
    versions = {v.key: v.restore_info for v in bucket.list_object_versions().versions}
    assert versions == {"a": 'ongoing-request="true"', "b": None, "c": None}
    srv.advance(f"{DELAY_S + 1}s")
    info = {o.key: o.restore_info for o in bucket.list_objects_v2().object_list}
    assert info["a"] is not None and info["a"].startswith('ongoing-request="false", expiry-date=')


def test_copies_of_frozen_objects(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    data = os.urandom(BIG)
    bucket.put_object("src", data, headers=FROZEN)
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.copy_object(bucket.bucket_name, "src", "dst")
    assert exc.value.code == "InvalidObjectState"
    upload_id = bucket.init_multipart_upload("mp").upload_id
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.upload_part_copy(bucket.bucket_name, "src", (0, 999), "mp", upload_id, 1)
    assert exc.value.code == "InvalidObjectState"
    with pytest.raises(oss2.exceptions.ServerError) as exc:  # changing the class is a copy too
        bucket.update_object_meta("src", {"x-oss-storage-class": "Standard"})
    assert exc.value.code == "InvalidObjectState"
    assert not bucket.object_exists("dst")
    bucket.restore_object("src")
    srv.advance(f"{DELAY_S + 1}s")
    bucket.copy_object(bucket.bucket_name, "src", "dst")
    _frozen(bucket, "dst")  # the copy is a new Archive object: frozen until restored itself
    bucket.copy_object(bucket.bucket_name, "src", "thawed", headers={"x-oss-storage-class": "Standard"})
    assert bucket.get_object("thawed").read() == data
    bucket.abort_multipart_upload("mp", upload_id)


def test_unknown_storage_classes_are_refused(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object("k", b"v", headers={"x-oss-storage-class": "Glacier"})
    assert not bucket.object_exists("k")
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.init_multipart_upload("k", headers={"x-oss-storage-class": "Cold"})
    bad = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), srv.endpoint, new_bucket_name("bad"), region=REGION
    )
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bad.create_bucket(oss2.BUCKET_ACL_PRIVATE, oss2.models.BucketCreateConfig("Frozen"))
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bad.get_bucket_info()


def test_archive_bucket_default_and_versioned_restore(srv: ClockedServer) -> None:
    name = new_bucket_name("arcb")
    b = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), srv.endpoint, name, region=REGION)
    b.create_bucket(
        oss2.BUCKET_ACL_PRIVATE, oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_ARCHIVE)
    )
    b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
    try:
        v1 = b.put_object("k", b"one").versionid
        v2 = b.put_object("k", b"two").versionid
        assert b.head_object("k").headers["x-oss-storage-class"] == "Archive"  # the bucket's class
        result = b.restore_object("k", params={"versionId": v1})
        assert result.status == 202 and result.versionid == v1
        srv.advance(f"{DELAY_S + 1}s")
        assert b.get_object("k", params={"versionId": v1}).read() == b"one"
        _frozen(b, "k")  # the current version was not restored
        _frozen(b, "k", params={"versionId": v2})
    finally:
        for vid in (v1, v2):
            b.delete_object("k", params={"versionId": vid})
        b.delete_bucket()


def test_v2_sdk_restore(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    client = v2_client(srv.endpoint)
    name = bucket.bucket_name
    client.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"v", storage_class="ColdArchive"))
    done = client.restore_object(
        oss.RestoreObjectRequest(
            bucket=name,
            key="k",
            restore_request=oss.RestoreRequest(days=2, job_parameters=oss.JobParameters(tier="Expedited")),
        )
    )
    assert done.status_code == 202 and done.restore_priority == "Expedited"
    head = client.head_object(oss.HeadObjectRequest(bucket=name, key="k"))
    assert head.restore == 'ongoing-request="true"' and head.storage_class == "ColdArchive"
    with pytest.raises(oss.exceptions.OperationError) as exc:
        client.get_object(oss.GetObjectRequest(bucket=name, key="k"))
    assert "InvalidObjectState" in str(exc.value)
    srv.advance(f"{DELAY_S + 1}s")
    assert client.get_object(oss.GetObjectRequest(bucket=name, key="k")).body.read() == b"v"


def test_test_clock_is_only_for_test_servers(tmp_path: Path) -> None:
    """A server started without OSSBOX_TEST_CLOCK ignores the offset the CLI sets."""
    plain = ServerProcess(
        tmp_path / "data", free_port(), extra_args=("--restore-delay-seconds", "600")
    ).start()
    try:
        with fresh_bucket(plain.endpoint, "plain") as b:
            b.put_object("k", b"v", headers=FROZEN)
            b.restore_object("k")
            ossbox_cli("test-clock", "advance", "--data-dir", str(tmp_path / "data"), "1d")
            assert b.head_object("k").headers["x-oss-restore"] == 'ongoing-request="true"'
    finally:
        plain.stop()
