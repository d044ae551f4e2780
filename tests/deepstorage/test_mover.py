"""Move, archive and restore with Druid's rules, against the real server."""

from __future__ import annotations

import os
from pathlib import Path

import oss2
import pytest

from ossbox.deepstorage import (
    ConfigError,
    DataSegment,
    Interval,
    MoveRefusedError,
    ObjectNotFoundError,
    OssClients,
    SegmentMover,
    SegmentStorageConfig,
    SegmentStore,
    list_segments,
    numbered_shard_spec,
)
from tests.deepstorage.conftest import raw_bucket, write_segment_dir
from tests.server import ServerProcess

SEGMENT = DataSegment(
    "test",
    Interval.parse("2013-01-01/2013-01-02"),
    "1",
    shard_spec=numbered_shard_spec(0, 1),
    dimensions=("dim1", "dim2"),
    metrics=("metric1", "metric2"),
)


def _keys(server: ServerProcess, bucket: str) -> list[str]:
    return [o.key for o in oss2.ObjectIterator(raw_bucket(server, bucket))]


@pytest.fixture
def pushed(clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path) -> DataSegment:
    return SegmentStore(clients, storage).push(write_segment_dir(tmp_path / "s", 50_000), SEGMENT)


def test_archive_then_restore_gives_back_the_load_spec(
    server: ServerProcess,
    clients: OssClients,
    storage: SegmentStorageConfig,
    pushed: DataSegment,
    tmp_path: Path,
) -> None:
    mover = SegmentMover(clients, storage)
    archived = mover.archive(pushed)
    assert archived.action == "moved" and archived.source_deleted
    expected_archive_key = "archive/test/2013-01-01T00:00:00.000Z_2013-01-02T00:00:00.000Z/1/0/index.zip"
    assert archived.segment.load_spec == {
        "type": "oss_zip",
        "bucket": storage.archive_bucket,
        "key": expected_archive_key,
    }
    assert _keys(server, storage.bucket) == [] and _keys(server, storage.archive_bucket) == [
        expected_archive_key
    ]
    # The descriptor travels with the object: the archive lists it whole.
    (listed,) = list_segments(clients, storage.archive_bucket, storage.archive_base_key)
    assert listed.source == "descriptor" and listed.segment == archived.segment

    restored = mover.restore(archived.segment)
    assert restored.action == "moved"
    assert restored.segment.load_spec == pushed.load_spec
    assert restored.segment == pushed
    assert _keys(server, storage.archive_bucket) == []
    SegmentStore(clients, storage).pull(restored.segment.load_spec or {}, tmp_path / "back")
    assert (tmp_path / "back" / "00000.smoosh").read_bytes() == (tmp_path / "s" / "00000.smoosh").read_bytes()


def test_move_onto_itself_is_a_no_op(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, pushed: DataSegment
) -> None:
    before = _keys(server, storage.bucket)
    outcome = SegmentMover(clients, storage).restore(pushed)
    assert outcome.action == "already-in-place" and outcome.segment.load_spec == pushed.load_spec
    assert _keys(server, storage.bucket) == before


def test_source_gone_target_present_is_skipped(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, pushed: DataSegment
) -> None:
    mover = SegmentMover(clients, storage)
    archived = mover.archive(pushed)
    again = mover.archive(pushed)  # the old loadSpec again: its object is gone, the archive copy exists
    assert again.action == "already-moved" and again.segment.load_spec == archived.segment.load_spec
    assert len(_keys(server, storage.archive_bucket)) == 1


def test_neither_present_is_an_error(clients: OssClients, storage: SegmentStorageConfig) -> None:
    ghost = SEGMENT.with_load_spec(
        {"type": "oss_zip", "bucket": storage.bucket, "key": "druid/segments/nope/index.zip"}
    )
    with pytest.raises(ObjectNotFoundError, match="not present in either source or target"):
        SegmentMover(clients, storage).archive(ghost)


@pytest.mark.parametrize("storage_class", ["IA", "Archive"])
def test_ia_class_source_is_refused_and_kept(
    server: ServerProcess,
    clients: OssClients,
    storage: SegmentStorageConfig,
    pushed: DataSegment,
    storage_class: str,
) -> None:
    assert pushed.load_spec is not None
    key = pushed.load_spec["key"]
    raw = raw_bucket(server, storage.bucket)
    raw.copy_object(storage.bucket, key, key, headers={"x-oss-storage-class": storage_class})
    assert raw.head_object(key).headers["x-oss-storage-class"] == storage_class
    with pytest.raises(MoveRefusedError, match=f"storage class {storage_class}"):
        SegmentMover(clients, storage).archive(pushed)
    assert _keys(server, storage.bucket) == [key] and _keys(server, storage.archive_bucket) == []


def test_unique_path_is_dropped_on_move_as_in_druid(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    unique = SegmentStore(clients, storage).push(
        write_segment_dir(tmp_path / "u", 100), SEGMENT, use_unique_path=True
    )
    archived = SegmentMover(clients, storage).archive(unique)
    restored = SegmentMover(clients, storage).restore(archived.segment)
    assert restored.segment.load_spec is not None
    assert (
        restored.segment.load_spec["key"]
        == "druid/segments/test/2013-01-01T00:00:00.000Z_2013-01-02T00:00:00.000Z/1/0/index.zip"
    )
    assert unique.load_spec is not None and unique.load_spec["key"] != restored.segment.load_spec["key"]


def test_large_objects_move_part_by_part(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    directory = tmp_path / "big"
    directory.mkdir()
    (directory / "00000.smoosh").write_bytes(os.urandom(700_000))
    pushed = SegmentStore(clients, storage).push(directory, SEGMENT)
    mover = SegmentMover(clients, storage, single_copy_limit=100_000, copy_part_size=256 * 1024)
    archived = mover.archive(pushed)
    assert archived.segment.load_spec is not None
    head = raw_bucket(server, storage.archive_bucket).head_object(archived.segment.load_spec["key"])
    assert head.headers["x-oss-object-type"] == "Multipart" and head.etag.endswith("-3")
    (listed,) = list_segments(clients, storage.archive_bucket, storage.archive_base_key)
    assert listed.source == "descriptor" and listed.segment.dimensions == SEGMENT.dimensions
    SegmentStore(clients, storage).pull(archived.segment.load_spec, tmp_path / "out")
    assert (tmp_path / "out" / "00000.smoosh").read_bytes() == (directory / "00000.smoosh").read_bytes()


def test_archive_needs_the_archive_bucket(
    clients: OssClients, storage: SegmentStorageConfig, pushed: DataSegment
) -> None:
    no_archive = SegmentStorageConfig(storage.bucket, storage.prefix)
    with pytest.raises(ConfigError, match=r"druid\.storage\.oss\.archiveBucket"):
        SegmentMover(clients, no_archive).archive(pushed)
