"""Lifecycle rules against the real server: configuration round trips (oss2, V2 SDK), invalid rules, and
execution on a test clock moved by the CLI (`ossbox test-clock advance`, `ossbox lifecycle run`), by the
background worker of a two-process server, and through a kill -9 in the middle of a pass."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.models import (
    AbortMultipartUpload,
    BucketLifecycle,
    BucketVersioningConfig,
    FilterNot,
    LifecycleExpiration,
    LifecycleFilter,
    LifecycleRule,
    NoncurrentVersionExpiration,
    NoncurrentVersionStorageTransition,
    StorageTransition,
    Tagging,
    TaggingRule,
)

from ossbox.meta.leases import FileLease
from tests import metadb
from tests.blobfiles import stored_blob_ids
from tests.clocked import TEST_CLOCK_ENV, ClockedServer, fresh_bucket
from tests.conftest import new_bucket_name
from tests.rawhttp import signed_headers
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, admin_env
from tests.v2sdk import v2_client

ENABLED = LifecycleRule.ENABLED


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockedServer]:
    data_dir = tmp_path_factory.mktemp("lifecycle") / "data"
    server = ClockedServer(data_dir, "--workers", "2", "--lifecycle-interval-seconds", "0").start()
    yield server
    server.stop()
    assert not server.errors_logged(), server.proc.log()[-5000:]


@pytest.fixture
def bucket(srv: ClockedServer) -> Iterator[oss2.Bucket]:
    with fresh_bucket(srv.endpoint, new_bucket_name("lc")) as b:
        yield b


def _rule(rule_id: str, prefix: str, **kw: object) -> LifecycleRule:
    return LifecycleRule(rule_id, prefix, status=kw.pop("status", ENABLED), **kw)  # type: ignore[arg-type]


def test_rules_round_trip(bucket: oss2.Bucket) -> None:
    tags = TaggingRule()
    tags.add("k", "v")
    rules = [
        _rule("exp-days", "tmp/", expiration=LifecycleExpiration(days=3)),
        _rule(
            "exp-date",
            "logs-",
            expiration=LifecycleExpiration(created_before_date=datetime.date(2020, 12, 12)),
        ),
        _rule(
            "tiers",
            "cold/",
            storage_transitions=[
                StorageTransition(days=10, storage_class=oss2.BUCKET_STORAGE_CLASS_IA),
                StorageTransition(days=20, storage_class=oss2.BUCKET_STORAGE_CLASS_ARCHIVE),
            ],
            tagging=Tagging(tags),
        ),
        _rule("uploads", "up/", abort_multipart_upload=AbortMultipartUpload(days=2)),
        _rule(
            "versions",
            "v/",
            expiration=LifecycleExpiration(expired_detete_marker=True),
            noncurrent_version_expiration=NoncurrentVersionExpiration(30),
            noncurrent_version_sotrage_transitions=[NoncurrentVersionStorageTransition(12, "IA")],
        ),
        _rule(
            "filtered",
            "f/",
            status=LifecycleRule.DISABLED,
            expiration=LifecycleExpiration(days=1),
            filter=LifecycleFilter(
                [FilterNot("f/keep/")], object_size_greater_than=10, object_size_less_than=99
            ),
        ),
    ]
    bucket.put_bucket_lifecycle(BucketLifecycle(rules))
    got = {r.id: r for r in bucket.get_bucket_lifecycle().rules}
    assert list(got) == [r.id for r in rules]
    assert got["exp-days"].expiration.days == 3 and got["exp-days"].prefix == "tmp/"
    assert got["exp-date"].expiration.created_before_date == datetime.date(2020, 12, 12)
    assert [(t.days, t.storage_class) for t in got["tiers"].storage_transitions] == [
        (10, "IA"),
        (20, "Archive"),
    ]
    assert got["tiers"].tagging.tag_set.tagging_rule == {"k": "v"}
    assert got["uploads"].abort_multipart_upload.days == 2
    assert got["versions"].expiration.expired_detete_marker is True
    assert got["versions"].noncurrent_version_expiration.noncurrent_days == 30
    assert [
        (t.noncurrent_days, t.storage_class) for t in got["versions"].noncurrent_version_sotrage_transitions
    ] == [(12, "IA")]
    f = got["filtered"]
    assert f.status == LifecycleRule.DISABLED
    assert [n.prefix for n in f.filter.filter_not] == ["f/keep/"]
    assert (f.filter.object_size_greater_than, f.filter.object_size_less_than) == (10, 99)
    bucket.delete_bucket_lifecycle()
    with pytest.raises(oss2.exceptions.NoSuchLifecycle):
        bucket.get_bucket_lifecycle()


def test_v2_sdk_round_trip(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    client = v2_client(srv.endpoint)
    rule = oss.LifecycleRule(
        id="r1",
        prefix="logs/",
        status="Enabled",
        expiration=oss.LifecycleRuleExpiration(days=30),
        transitions=[oss.LifecycleRuleTransition(days=7, storage_class="IA")],
    )
    client.put_bucket_lifecycle(
        oss.PutBucketLifecycleRequest(
            bucket=bucket.bucket_name, lifecycle_configuration=oss.LifecycleConfiguration(rules=[rule])
        )
    )
    got = client.get_bucket_lifecycle(oss.GetBucketLifecycleRequest(bucket=bucket.bucket_name))
    (r,) = got.lifecycle_configuration.rules
    assert (r.id, r.prefix, r.status, r.expiration.days) == ("r1", "logs/", "Enabled", 30)
    assert [(t.days, t.storage_class) for t in r.transitions] == [(7, "IA")]
    client.delete_bucket_lifecycle(oss.DeleteBucketLifecycleRequest(bucket=bucket.bucket_name))


def _rule_xml(inner: str, rule_id: str = "r", prefix: str = "p/", status: str = "Enabled") -> str:
    return f"<Rule><ID>{rule_id}</ID><Prefix>{prefix}</Prefix><Status>{status}</Status>{inner}</Rule>"


def _config(*rules: str) -> bytes:
    return ("<LifecycleConfiguration>" + "".join(rules) + "</LifecycleConfiguration>").encode()


_EXP = "<Expiration><Days>30</Days></Expiration>"
_BAD_RULES = [
    ("not-xml", b"lifecycle please", "MalformedXML"),
    ("wrong-root", b"<Lifecycle><Rule/></Lifecycle>", "MalformedXML"),
    ("no-rules", _config(), "MalformedXML"),
    ("unknown-element", _config(_rule_xml(_EXP + "<Colour>red</Colour>")), "MalformedXML"),
    ("status-on", _config(_rule_xml(_EXP, status="On")), "MalformedXML"),
    ("no-action", _config(_rule_xml("")), "MalformedXML"),
    ("empty-expiration", _config(_rule_xml("<Expiration></Expiration>")), "MalformedXML"),
    ("zero-days", _config(_rule_xml("<Expiration><Days>0</Days></Expiration>")), "InvalidArgument"),
    ("text-days", _config(_rule_xml("<Expiration><Days>ten</Days></Expiration>")), "InvalidArgument"),
    (
        "not-midnight",
        _config(
            _rule_xml(
                "<Expiration><CreatedBeforeDate>2024-01-01T12:00:00.000Z</CreatedBeforeDate></Expiration>"
            )
        ),
        "InvalidArgument",
    ),
    (
        "days-and-marker",
        _config(
            _rule_xml(
                "<Expiration><Days>3</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            )
        ),
        "InvalidArgument",
    ),
    (
        "unknown-class",
        _config(_rule_xml("<Transition><Days>3</Days><StorageClass>Glacier</StorageClass></Transition>")),
        "InvalidArgument",
    ),
    (
        "to-standard",
        _config(_rule_xml("<Transition><Days>3</Days><StorageClass>Standard</StorageClass></Transition>")),
        "InvalidArgument",
    ),
    (
        "archive-before-ia",
        _config(
            _rule_xml(
                "<Transition><Days>30</Days><StorageClass>IA</StorageClass></Transition>"
                "<Transition><Days>10</Days><StorageClass>Archive</StorageClass></Transition>"
            )
        ),
        "InvalidArgument",
    ),
    (
        "expire-before-transition",
        _config(
            _rule_xml(
                "<Expiration><Days>5</Days></Expiration><Transition><Days>10</Days><StorageClass>IA</StorageClass></Transition>"
            )
        ),
        "InvalidArgument",
    ),
    (
        "noncurrent-order",
        _config(
            _rule_xml(
                "<NoncurrentVersionTransition><NoncurrentDays>20</NoncurrentDays><StorageClass>IA</StorageClass>"
                "</NoncurrentVersionTransition><NoncurrentVersionTransition><NoncurrentDays>12</NoncurrentDays>"
                "<StorageClass>Archive</StorageClass></NoncurrentVersionTransition>"
            )
        ),
        "InvalidArgument",
    ),
    (
        "duplicate-ids",
        _config(_rule_xml(_EXP, "same", "a/"), _rule_xml(_EXP, "same", "b/")),
        "InvalidArgument",
    ),
    (
        "overlapping-conflict",
        _config(
            _rule_xml(
                "<Transition><Days>120</Days><StorageClass>IA</StorageClass></Transition>", "r1", "test"
            ),
            _rule_xml("<Expiration><Days>30</Days></Expiration>", "r2", "test/log"),
        ),
        "InvalidArgument",
    ),
    (
        "tags-and-uploads",
        _config(
            _rule_xml(
                "<AbortMultipartUpload><Days>3</Days></AbortMultipartUpload><Tag><Key>k</Key><Value>v</Value></Tag>"
            )
        ),
        "InvalidArgument",
    ),
    (
        "access-time",
        _config(
            _rule_xml(
                "<Transition><Days>3</Days><StorageClass>IA</StorageClass><IsAccessTime>true</IsAccessTime>"
                "<ReturnToStdWhenVisit>false</ReturnToStdWhenVisit></Transition>"
            )
        ),
        "InvalidArgument",
    ),
    ("too-many", _config(*(_rule_xml(_EXP, f"r{i}", f"p{i}/") for i in range(1001))), "InvalidArgument"),
]


@pytest.mark.parametrize(("body", "code"), [c[1:] for c in _BAD_RULES], ids=[c[0] for c in _BAD_RULES])
def test_invalid_rules_change_nothing(
    srv: ClockedServer, bucket: oss2.Bucket, body: bytes, code: str
) -> None:
    bucket.put_bucket_lifecycle(
        BucketLifecycle([_rule("kept", "k/", expiration=LifecycleExpiration(days=9))])
    )
    url, headers = signed_headers("PUT", srv.endpoint, bucket.bucket_name, "", {}, {"lifecycle": ""})
    r = requests.put(url + "?lifecycle", data=body, headers=headers, timeout=30)
    assert r.status_code == 400 and f"<Code>{code}</Code>".encode() in r.content, r.content[:500]
    assert [(x.id, x.expiration.days) for x in bucket.get_bucket_lifecycle().rules] == [("kept", 9)]


def _keys(b: oss2.Bucket) -> set[str]:
    return {o.key for o in oss2.ObjectIterator(b)}


def _storage_class(b: oss2.Bucket, key: str) -> str:
    return str(b.head_object(key).headers["x-oss-storage-class"])


def test_expiration_transitions_and_filters(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    tags = TaggingRule()
    tags.add("k", "v")
    rules = [
        _rule("tmp", "tmp/", expiration=LifecycleExpiration(days=1)),
        _rule(
            "logs",
            "logs/",
            expiration=LifecycleExpiration(days=30),
            storage_transitions=[
                StorageTransition(days=10, storage_class="IA"),
                StorageTransition(days=20, storage_class="Archive"),
            ],
        ),
        _rule(
            "keep",
            "keep/",
            expiration=LifecycleExpiration(days=1),
            filter=LifecycleFilter([FilterNot("keep/forever/")]),
        ),
        _rule(
            "big",
            "big/",
            expiration=LifecycleExpiration(days=1),
            filter=LifecycleFilter(object_size_greater_than=10),
        ),
        _rule("off", "off/", status=LifecycleRule.DISABLED, expiration=LifecycleExpiration(days=1)),
        _rule("tagged", "tagged/", expiration=LifecycleExpiration(days=1), tagging=Tagging(tags)),
        _rule(
            "future",
            "created/",
            expiration=LifecycleExpiration(created_before_date=datetime.date(2100, 1, 1)),
        ),
        _rule(
            "past", "ancient/", expiration=LifecycleExpiration(created_before_date=datetime.date(2000, 1, 1))
        ),
        _rule("dated", "dated/", expiration=LifecycleExpiration(date=datetime.date(2000, 1, 1))),
    ]
    bucket.put_bucket_lifecycle(BucketLifecycle(rules))
    keys = [
        "tmp/a",
        "logs/a",
        "keep/a",
        "keep/forever/a",
        "big/small",
        "big/large",
        "off/a",
        "tagged/a",
        "created/a",
        "ancient/a",
        "dated/a",
        "other/a",
    ]
    for key in keys:
        bucket.put_object(key, b"x" * (100 if key == "big/large" else 5))
    srv.lifecycle_pass()  # dates apply at once, days not yet
    assert _keys(bucket) == set(keys) - {"created/a", "dated/a"}
    srv.advance("1d1h")
    srv.lifecycle_pass()
    remaining = set(keys) - {"created/a", "dated/a", "tmp/a", "keep/a", "big/large"}
    assert _keys(bucket) == remaining
    assert _storage_class(bucket, "logs/a") == "Standard"
    srv.advance("10d")
    srv.lifecycle_pass()
    assert _storage_class(bucket, "logs/a") == "IA"
    srv.advance("10d")
    srv.lifecycle_pass()
    assert _storage_class(bucket, "logs/a") == "Archive"
    with pytest.raises(oss2.exceptions.ServerError) as exc:
        bucket.get_object("logs/a")
    assert exc.value.code == "InvalidObjectState"
    srv.advance("10d")
    srv.lifecycle_pass()
    assert _keys(bucket) == remaining - {"logs/a"}


def test_noncurrent_versions_and_delete_markers(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    bucket.put_bucket_versioning(BucketVersioningConfig("Enabled"))
    bucket.put_bucket_lifecycle(
        BucketLifecycle(
            [
                _rule(
                    "v",
                    "v/",
                    expiration=LifecycleExpiration(days=1),
                    noncurrent_version_expiration=NoncurrentVersionExpiration(5),
                    noncurrent_version_sotrage_transitions=[NoncurrentVersionStorageTransition(2, "IA")],
                ),
                _rule(
                    "m",
                    "m/",
                    expiration=LifecycleExpiration(expired_detete_marker=True),
                    noncurrent_version_expiration=NoncurrentVersionExpiration(1),
                ),
            ]
        )
    )
    v1 = bucket.put_object("v/a", b"one").versionid
    v2 = bucket.put_object("v/a", b"two").versionid
    bucket.put_object("m/a", b"m")
    bucket.delete_object("m/a")
    srv.advance("1d1h")
    srv.lifecycle_pass()
    # v/a's current version expired: a delete marker now hides it, both versions are kept.
    page = bucket.list_object_versions(prefix="v/")
    assert [v.versionid for v in page.versions] == [v2, v1]
    assert [m.is_latest for m in page.delete_marker] == [True]
    # m/a: its noncurrent version expired; the marker is alone now and goes in the next pass.
    page = bucket.list_object_versions(prefix="m/")
    assert page.versions == [] and len(page.delete_marker) == 1
    srv.lifecycle_pass()
    page = bucket.list_object_versions(prefix="m/")
    assert page.versions == [] and page.delete_marker == []
    srv.advance("2d")
    srv.lifecycle_pass()
    assert [v.storage_class for v in bucket.list_object_versions(prefix="v/").versions] == ["IA", "IA"]
    srv.advance("3d")
    srv.lifecycle_pass()
    page = bucket.list_object_versions(prefix="v/")
    assert page.versions == [] and len(page.delete_marker) == 1  # no ExpiredObjectDeleteMarker for v/


def test_abort_incomplete_uploads(srv: ClockedServer, bucket: oss2.Bucket) -> None:
    bucket.put_bucket_lifecycle(
        BucketLifecycle([_rule("up", "up/", abort_multipart_upload=AbortMultipartUpload(days=2))])
    )
    stale = bucket.init_multipart_upload("up/a").upload_id
    bucket.upload_part("up/a", stale, 1, b"part")
    other = bucket.init_multipart_upload("elsewhere/b").upload_id
    srv.advance("1d")
    fresh = bucket.init_multipart_upload("up/c").upload_id
    srv.advance("1d1h")
    srv.lifecycle_pass()
    assert sorted(u.upload_id for u in oss2.MultipartUploadIterator(bucket)) == sorted([other, fresh])
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("up/a", stale)


def test_background_worker_in_one_of_two_processes(tmp_path: Path) -> None:
    server = ClockedServer(tmp_path / "data", "--workers", "2", "--lifecycle-interval-seconds", "0.2").start()
    try:
        with fresh_bucket(server.endpoint, "bgpass") as b:
            b.put_bucket_lifecycle(
                BucketLifecycle([_rule("tmp", "tmp/", expiration=LifecycleExpiration(days=1))])
            )
            for round_no in range(2):
                b.put_object(f"tmp/{round_no}", b"x")
                server.advance("1d1h")
                deadline = time.monotonic() + 30
                while b.object_exists(f"tmp/{round_no}"):
                    assert time.monotonic() < deadline, "the background pass did not run"
                    time.sleep(0.05)
        passes = [line for line in server.proc.log().splitlines() if "lifecycle pass in process" in line]
        assert len(passes) >= 2
        assert len({line.split("lifecycle pass in process ")[1].split(":")[0] for line in passes}) == 1
    finally:
        server.stop()
    assert not server.errors_logged()


def _insert_empty_objects(data_dir: Path, bucket: str, count: int) -> None:
    """Many empty objects straight into the metadata store (no blobs, so nothing to reference): what
    thousands of PUTs would leave, in a fraction of the time."""
    with metadb.connect(data_dir) as db:
        metadb.executemany(
            db,
            "INSERT INTO objects (bucket, key, size, etag, crc64, mtime_ms, object_type, storage_class, acl, "
            "content_type, headers, user_meta, extents) VALUES (?, ?, 0, 'D41D8CD98F00B204E9800998ECF8427E', "
            "0, ?, 'Normal', 'Standard', 'default', 'application/octet-stream', '{}', '{}', '[]')",
            [(bucket, f"bulk/{i:06d}", int(time.time() * 1000)) for i in range(count)],
        )


def _version_kinds(b: oss2.Bucket) -> dict[str, list[bool]]:
    """key -> [is delete marker, ...] over every version."""
    kinds: dict[str, list[bool]] = {}
    key_marker = version_marker = ""
    while True:
        page = b.list_object_versions(key_marker=key_marker, versionid_marker=version_marker, max_keys=1000)
        for v in page.versions:
            kinds.setdefault(v.key, []).append(False)
        for m in page.delete_marker:
            kinds.setdefault(m.key, []).append(True)
        if not page.is_truncated:
            return kinds
        key_marker, version_marker = page.next_key_marker, page.next_versionid_marker


@pytest.mark.slow
def test_kill_9_during_a_pass_leaves_every_key_whole(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ClockedServer(data_dir, "--workers", "1", "--lifecycle-interval-seconds", "0").start()
    count = 20_000
    try:
        b = oss2.Bucket(
            oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "crashlc", region=REGION
        )
        b.create_bucket()
        big = os.urandom(300_000)
        for i in range(5):
            b.put_object(f"data/{i}", big)
        server.stop()
        _insert_empty_objects(data_dir, "crashlc", count)
        server.start()
        b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
        b.put_bucket_lifecycle(BucketLifecycle([_rule("all", "", expiration=LifecycleExpiration(days=1))]))
        server.advance("1d1h")
        child = subprocess.Popen(
            [sys.executable, "-m", "ossbox", "lifecycle", "run", "--data-dir", str(data_dir)],
            env=admin_env(data_dir, **TEST_CLOCK_ENV),
            stdout=subprocess.DEVNULL,
        )
        # Kill it as soon as its first batch is committed (reading the store as any reader may).
        with metadb.connect(data_dir, timeout=30) as db:
            deadline = time.monotonic() + 60
            while db.execute("SELECT COUNT(*) FROM object_versions").fetchone()[0] == 0:
                assert child.poll() is None and time.monotonic() < deadline, "the pass made no progress"
                time.sleep(0.005)
        child.kill()
        child.wait()
        server.proc.kill()  # the server too: whatever either had in flight is lost or done
        server.start()
        kinds = _version_kinds(b)
        current = _keys(b)
        assert len(kinds) == count + 5
        for key, k in kinds.items():
            # Untouched (the current version) or expired (the null version kept behind a delete marker).
            assert sorted(k) in ([False], [False, True]), (key, k)
            assert (key in current) == (k == [False]), key
        expired = count + 5 - len(current)
        assert child.returncode == -signal.SIGKILL, "the pass ended before it could be killed"
        assert 0 < expired < count + 5, f"the kill did not land inside the pass ({expired} expired)"
        for i in range(5):
            assert b.get_object(f"data/{i}", params={"versionId": "null"}).read() == big
        with metadb.connect(data_dir) as db:
            referenced = {r[0] for r in db.execute("SELECT blob_id FROM blobs") if not r[0].startswith("i-")}
        assert stored_blob_ids(data_dir) == referenced
        server.lifecycle_pass()  # a later pass finishes the work
        assert _keys(b) == set()
    finally:
        server.stop()


def test_only_one_holder_of_the_lifecycle_role(tmp_path: Path) -> None:
    """On one machine the role is an flock: refused to everyone else while held, free again when the holder
    dies (tests/cluster/test_faults.py covers PostgreSQL's advisory lock)."""
    path = tmp_path / "lifecycle.lock"
    first, second = FileLease(path), FileLease(path)
    assert first.acquire() and first.acquire()  # kept by its holder
    assert not second.acquire()
    first.release()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from ossbox.meta.leases import FileLease; "
            "print(FileLease(Path(sys.argv[1])).acquire(), flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        assert not second.acquire()
    finally:
        child.kill()
        child.wait()
    assert second.acquire()  # the kernel released the dead holder's lock
    second.release()
