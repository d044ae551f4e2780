"""Bad input gets a clear error and nothing is deleted or left behind that should not be."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import oss2
import pytest

from ossbox.deepstorage import (
    BucketNotFoundError,
    DataSegment,
    Interval,
    ObjectNotFoundError,
    OssClients,
    OssCredentials,
    OutsidePrefixError,
    RemoteError,
    SegmentFormatError,
    SegmentStorageConfig,
    SegmentStore,
    list_segments,
    oss_load_spec,
)
from tests.deepstorage.conftest import raw_bucket, write_segment_dir
from tests.server import ACCESS_KEY_ID, ServerProcess, free_port

SEGMENT = DataSegment("ds", Interval.parse("2015-01-01/2015-01-02"), "v1")
KEY = "druid/segments/ds/2015-01-01T00:00:00.000Z_2015-01-02T00:00:00.000Z/v1/0/index.zip"


def _keys(server: ServerProcess, bucket: str) -> list[str]:
    return sorted(o.key for o in oss2.ObjectIterator(raw_bucket(server, bucket)))


def test_non_zip_segment_fails_and_leaves_nothing(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    raw_bucket(server, storage.bucket).put_object(KEY, b"PK\x03\x04 but not really a zip")
    store = SegmentStore(clients, storage)
    fresh = tmp_path / "fresh"
    with pytest.raises(SegmentFormatError, match="not a zip archive"):
        store.pull(oss_load_spec(storage.bucket, KEY), fresh)
    assert not fresh.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "mine.txt").write_text("keep me")
    with pytest.raises(SegmentFormatError):
        store.pull(oss_load_spec(storage.bucket, KEY), existing)
    assert [p.name for p in existing.iterdir()] == ["mine.txt"]
    assert _keys(server, storage.bucket) == [KEY]


def test_unknown_file_type_is_refused(
    clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    with pytest.raises(SegmentFormatError, match=r"only \.zip and \.gz"):
        SegmentStore(clients, storage).pull(
            oss_load_spec(storage.bucket, "druid/segments/x/index.tar"), tmp_path / "o"
        )
    assert not (tmp_path / "o").exists()


def test_zip_entries_cannot_escape_the_output_directory(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("good.bin", b"fine")
        zf.writestr("../escaped.txt", b"gotcha")
    raw_bucket(server, storage.bucket).put_object_from_file(KEY, str(evil))
    out = tmp_path / "out"
    with pytest.raises(SegmentFormatError, match="outside"):
        SegmentStore(clients, storage).pull(oss_load_spec(storage.bucket, KEY), out)
    assert not (tmp_path / "escaped.txt").exists() and not out.exists()


@pytest.mark.parametrize("shape", ["file", "empty", "nested"])
def test_push_refuses_what_druid_cannot_load(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path, shape: str
) -> None:
    target = tmp_path / "segment"
    if shape == "file":
        target.write_text("not a directory")
    else:
        target.mkdir()
        if shape == "nested":
            (target / "version.bin").write_bytes(b"\0\0\0\x09")
            (target / "sub").mkdir()
    with pytest.raises(SegmentFormatError):
        SegmentStore(clients, storage).push(target, SEGMENT)
    assert _keys(server, storage.bucket) == []


def test_keys_outside_the_prefix_are_never_killed(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig
) -> None:
    raw = raw_bucket(server, storage.bucket)
    outside = [
        "elsewhere/ds/2015-01-01T00:00:00.000Z_2015-01-02T00:00:00.000Z/v1/0/index.zip",
        "druid/segmentsX/a",
    ]
    not_layout = "druid/segments/readme.txt"
    for key in [*outside, not_layout]:
        raw.put_object(key, b"precious")
    store = SegmentStore(clients, storage)
    for key in outside:
        with pytest.raises(OutsidePrefixError, match="outside the segment locations"):
            store.kill(oss_load_spec(storage.bucket, key))
    with pytest.raises(SegmentFormatError, match="not in Druid's layout"):
        store.kill(oss_load_spec(storage.bucket, not_layout))
    with pytest.raises(OutsidePrefixError):
        store.kill(oss_load_spec("some-other-bucket", KEY))
    assert _keys(server, storage.bucket) == sorted([*outside, not_layout])


def test_missing_objects(clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path) -> None:
    store = SegmentStore(clients, storage)
    with pytest.raises(ObjectNotFoundError, match="does not exist"):
        store.pull(oss_load_spec(storage.bucket, KEY), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert store.kill(oss_load_spec(storage.bucket, KEY)) is False


def test_bucket_that_does_not_exist(
    clients: OssClients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    store = SegmentStore(clients, SegmentStorageConfig("no-such-bucket-anywhere", "druid/segments"))
    with pytest.raises(BucketNotFoundError, match="bucket 'no-such-bucket-anywhere' does not exist"):
        store.push(write_segment_dir(tmp_path / "s", 100), SEGMENT)
    assert list(scratch.iterdir()) == []  # the temporary zip is gone
    with pytest.raises(BucketNotFoundError):
        list(list_segments(clients, "no-such-bucket-anywhere", "druid/segments"))
    with pytest.raises(BucketNotFoundError):
        store.kill_all()
    with pytest.raises(BucketNotFoundError):
        store.pull(oss_load_spec("no-such-bucket-anywhere", KEY), tmp_path / "out")


def test_kill_all_refuses_an_empty_prefix(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig
) -> None:
    raw_bucket(server, storage.bucket).put_object("anything", b"x")
    with pytest.raises(Exception, match=r"druid\.storage\.oss\.prefix is empty"):
        SegmentStore(clients, SegmentStorageConfig(storage.bucket, "")).kill_all()
    assert _keys(server, storage.bucket) == ["anything"]


def test_wrong_secret_and_dead_endpoint_are_clear_and_secret_free(
    server: ServerProcess, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    wrong = OssClients(OssCredentials(server.endpoint, ACCESS_KEY_ID, "the-wrong-secret-value"), max_tries=1)
    with pytest.raises(RemoteError) as e:
        SegmentStore(wrong, storage).push(write_segment_dir(tmp_path / "s", 100), SEGMENT)
    assert e.value.code == "SignatureDoesNotMatch" and "the-wrong-secret-value" not in str(e.value)
    dead = OssClients(OssCredentials(f"http://127.0.0.1:{free_port()}", ACCESS_KEY_ID, "x"), max_tries=1)
    with pytest.raises(RemoteError, match="cannot reach"):
        list(list_segments(dead, storage.bucket, storage.prefix))
