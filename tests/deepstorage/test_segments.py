"""Push, pull, list and kill segments against the real server."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import oss2
import pytest

from ossbox.deepstorage import (
    DataSegment,
    Interval,
    OssClients,
    SegmentStorageConfig,
    SegmentStore,
    list_segments,
    numbered_shard_spec,
    oss_load_spec,
)
from ossbox.deepstorage.segment_meta import DESCRIPTOR_HEADER
from tests.deepstorage.conftest import raw_bucket, write_segment_dir
from tests.server import ServerProcess

WIKI = DataSegment(
    "wikipedia",
    Interval.parse("2015-09-12/2015-09-13"),
    "2019-08-26T09:19:08.397Z",
    dimensions=("channel", "page", "user"),
    metrics=("count", "added"),
)


def _tree_digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_round_trip_byte_for_byte(clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path) -> None:
    source = write_segment_dir(tmp_path / "segment", smoosh_bytes=3 << 20)
    (source / "empty.bin").write_bytes(b"")
    (source / "ünïcode name.txt").write_text("ok")
    store = SegmentStore(clients, storage)
    pushed = store.push(source, WIKI)
    assert pushed.size == sum(p.stat().st_size for p in source.iterdir())
    assert pushed.binary_version == 9
    assert pushed.load_spec is not None
    result = store.pull(pushed.load_spec, tmp_path / "pulled")
    assert _tree_digest(tmp_path / "pulled") == _tree_digest(source)
    assert result.size == pushed.size and len(result.files) == 6
    assert [p for p in (tmp_path / "pulled").iterdir() if p.name.startswith(".")] == []


def test_zip_is_what_druid_writes(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    source = write_segment_dir(tmp_path / "segment", smoosh_bytes=1000)
    pushed = SegmentStore(clients, storage).push(source, WIKI)
    assert pushed.load_spec is not None
    body = raw_bucket(server, storage.bucket).get_object(pushed.load_spec["key"]).read()
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        # Flat entries named by file, sorted, deflated: what CompressionUtils.zip produces.
        assert zf.namelist() == ["00000.smoosh", "factory.json", "meta.smoosh", "version.bin"]
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}


def test_version_is_last_modified_ms(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    store = SegmentStore(clients, storage)
    pushed = store.push(write_segment_dir(tmp_path / "s", 100), WIKI)
    assert pushed.load_spec is not None
    head = raw_bucket(server, storage.bucket).head_object(pushed.load_spec["key"])
    assert store.version(storage.bucket, pushed.load_spec["key"]) == str(head.last_modified * 1000)
    result = store.pull(pushed.load_spec, tmp_path / "out")
    assert result.version == str(head.last_modified * 1000)


def test_pull_gz(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    payload = os.urandom(200_000)
    key = "druid/segments/side/data.bin.gz"
    raw_bucket(server, storage.bucket).put_object(key, gzip.compress(payload))
    result = SegmentStore(clients, storage).pull(oss_load_spec(storage.bucket, key), tmp_path / "gz")
    assert (tmp_path / "gz" / "data.bin").read_bytes() == payload
    assert result.size == len(payload)


def test_kill_one(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    store = SegmentStore(clients, storage)
    directory = write_segment_dir(tmp_path / "s", 100)
    first = store.push(directory, WIKI)
    second = store.push(
        directory, DataSegment(WIKI.data_source, WIKI.interval, WIKI.version, numbered_shard_spec(1, 2))
    )
    assert first.load_spec is not None and second.load_spec is not None
    assert store.kill(first.load_spec) is True
    assert store.kill(first.load_spec) is False  # already gone: Druid's killer does nothing
    keys = [o.key for o in oss2.ObjectIterator(raw_bucket(server, storage.bucket))]
    assert keys == [second.load_spec["key"]]


@pytest.mark.slow
def test_kill_all_over_2500_objects(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig
) -> None:
    raw = raw_bucket(server, storage.bucket)
    keys = [
        f"druid/segments/ds/2015-01-01T00:00:00.000Z_2015-01-02T00:00:00.000Z/v/{i}/index.zip"
        for i in range(2500)
    ]
    survivors = ["druid/segments-old/keep.zip", "druid/segmentsX", "other/keep"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: raw.put_object(k, b"z"), keys + survivors))
    # The server refuses more than 1000 keys per DeleteMultipleObjects: success proves the batching.
    assert SegmentStore(clients, storage).kill_all() == 2500
    assert sorted(o.key for o in oss2.ObjectIterator(raw)) == sorted(survivors)


def test_ls_recovers_descriptors(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    store = SegmentStore(clients, storage)
    directory = write_segment_dir(tmp_path / "s", 5000)
    ours = store.push(directory, WIKI)
    # A segment as Druid itself pushes it: the same zip layout, no descriptor with the object.
    druid_key = "druid/segments/wikipedia/2015-09-13T00:00:00.000Z_2015-09-14T00:00:00.000Z/v2/3/index.zip"
    zip_path = tmp_path / "druid.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("00000.smoosh", b"s" * 70_000)
        zf.writestr("version.bin", (9).to_bytes(4, "big"))
    raw = raw_bucket(server, storage.bucket)
    raw.put_object_from_file(druid_key, str(zip_path))
    broken_key = "druid/segments/wikipedia/2015-09-14T00:00:00.000Z_2015-09-15T00:00:00.000Z/v2/0/index.zip"
    raw.put_object(broken_key, b"this is not a zip")
    raw.put_object("druid/segments/wikipedia/notes.txt", b"not a segment")

    listed = list(list_segments(clients, storage.bucket, storage.prefix))
    assert [item.segment.load_spec["key"] for item in listed if item.segment.load_spec] == [
        ours.load_spec["key"] if ours.load_spec else "",
        druid_key,
        broken_key,
    ]
    mine, druids, broken = listed
    assert mine.source == "descriptor" and mine.segment == ours and mine.problem is None
    assert druids.source == "zip" and druids.problem is None
    assert druids.segment.to_json_dict() == {
        "dataSource": "wikipedia",
        "interval": "2015-09-13T00:00:00.000Z/2015-09-14T00:00:00.000Z",
        "version": "v2",
        "loadSpec": {"type": "oss_zip", "bucket": storage.bucket, "key": druid_key},
        "dimensions": "",
        "metrics": "",
        "shardSpec": {"type": "numbered", "partitionNum": 3, "partitions": 0},
        "binaryVersion": 9,
        "size": 70_004,
        "identifier": "wikipedia_2015-09-13T00:00:00.000Z_2015-09-14T00:00:00.000Z_v2_3",
    }
    assert broken.source == "key" and broken.problem and "not a readable zip" in broken.problem
    only_keys = list(
        list_segments(clients, storage.bucket, storage.prefix, "wikipedia", describe_objects=False)
    )
    assert [i.source for i in only_keys] == ["key", "key", "key"]


def test_large_descriptor_is_compressed(
    server: ServerProcess, clients: OssClients, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    many = DataSegment(
        WIKI.data_source, WIKI.interval, WIKI.version, dimensions=tuple(f"dim_{i:04d}" for i in range(900))
    )
    pushed = SegmentStore(clients, storage).push(write_segment_dir(tmp_path / "s", 100), many)
    assert pushed.load_spec is not None
    head = raw_bucket(server, storage.bucket).head_object(pushed.load_spec["key"])
    assert head.headers[DESCRIPTOR_HEADER].startswith("z:")
    (listed,) = list_segments(clients, storage.bucket, storage.prefix)
    assert listed.source == "descriptor" and listed.segment.dimensions == many.dimensions
