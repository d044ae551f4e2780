"""Golden keys, loadSpecs and descriptors in Druid's layout, offline and on the real server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import oss2
import pytest

from ossbox.deepstorage import (
    DataSegment,
    Interval,
    OssClients,
    SegmentFormatError,
    SegmentStorageConfig,
    SegmentStore,
    format_instant,
    numbered_shard_spec,
    parse_instant,
    parse_segment_key,
    segment_key,
)
from tests.deepstorage.conftest import raw_bucket, write_segment_dir
from tests.server import ServerProcess

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

# (prefix, dataSource, interval as given, version, shard spec, expected key), written out by hand from
# Druid's rules: <prefix>/<dataSource>/<start>_<end>/<version>/<partitionNum>/index.zip, UTC, milliseconds.
GOLDEN = [
    (
        "druid/segments",
        "wikipedia",
        "2015-09-12/2015-09-13",
        "2019-08-26T09:19:08.397Z",
        numbered_shard_spec(0, 1),
        "druid/segments/wikipedia/2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z/2019-08-26T09:19:08.397Z/0/index.zip",
    ),
    (
        "key",
        "foo",
        "2015/2016",  # OssDataSegmentPusherTest's interval: Joda reads "2015" as the start of the year
        "0",
        {"type": "none"},
        "key/foo/2015-01-01T00:00:00.000Z_2016-01-01T00:00:00.000Z/0/0/index.zip",
    ),
    (
        "",
        "events",
        "2024-03-10T01:00:00.000Z/2024-03-10T02:00:00.000Z",
        "2024-03-10T01:00:00.123Z",
        numbered_shard_spec(7, 12),
        "events/2024-03-10T01:00:00.000Z_2024-03-10T02:00:00.000Z/2024-03-10T01:00:00.123Z/7/index.zip",
    ),
    (
        "deep/store",
        "clicks",
        "2016-02-29T08:00:00+08:00/2016-03-01T08:00:00+08:00",
        "v2_compacted",
        {"type": "linear", "partitionNum": 42},
        "deep/store/clicks/2016-02-29T00:00:00.000Z_2016-03-01T00:00:00.000Z/v2_compacted/42/index.zip",
    ),
    (
        "druid/segments",
        "lookups",
        "-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z",  # Druid's Intervals.ETERNITY
        "1970-01-01T00:00:00.000Z",
        {"type": "numbered_overwrite", "partitionId": 32768, "startRootPartitionId": 0},
        "druid/segments/lookups/-146136543-09-08T08:23:32.096Z_146140482-04-24T15:36:27.903Z"
        "/1970-01-01T00:00:00.000Z/32768/index.zip",
    ),
]


def _segment(ds: str, interval: str, version: str, shard: dict[str, object]) -> DataSegment:
    return DataSegment(ds, Interval.parse(interval), version, shard_spec=shard)


@pytest.mark.parametrize(("prefix", "ds", "interval", "version", "shard", "expected"), GOLDEN)
def test_golden_keys_and_back(
    prefix: str, ds: str, interval: str, version: str, shard: dict[str, object], expected: str
) -> None:
    segment = _segment(ds, interval, version, shard)
    assert segment_key(prefix, segment) == expected
    location = parse_segment_key(expected, prefix)
    assert (location.data_source, location.interval, location.version) == (ds, segment.interval, version)
    assert location.partition_num == segment.partition_num and location.unique_path is None


def test_unique_path_key() -> None:
    segment = _segment("wikipedia", "2015-09-12/2015-09-13", "v1", numbered_shard_spec(3, 4))
    key = segment_key("p", segment, "8d3f1c2e-4b5a-4c6d-9e8f-0a1b2c3d4e5f")
    assert key == (
        "p/wikipedia/2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z/v1/3/"
        "8d3f1c2e-4b5a-4c6d-9e8f-0a1b2c3d4e5f/index.zip"
    )
    assert parse_segment_key(key, "p").unique_path == "8d3f1c2e-4b5a-4c6d-9e8f-0a1b2c3d4e5f"


def test_instants_print_like_joda() -> None:
    assert format_instant(0) == "1970-01-01T00:00:00.000Z"
    assert format_instant(-1) == "1969-12-31T23:59:59.999Z"
    assert format_instant(-(2**63) // 2) == "-146136543-09-08T08:23:32.096Z"  # JodaUtils.MIN_INSTANT
    assert format_instant((2**63 - 1) // 2) == "146140482-04-24T15:36:27.903Z"  # JodaUtils.MAX_INSTANT
    assert format_instant(parse_instant("0000-01-01")) == "0000-01-01T00:00:00.000Z"
    assert format_instant(parse_instant("-0001-12-31T23:59:59.5Z")) == "-0001-12-31T23:59:59.500Z"
    for bad in ("2015-02-30", "2015-13-01", "yesterday", "2015-01-01T25:00"):
        with pytest.raises(SegmentFormatError):
            parse_instant(bad)
    with pytest.raises(SegmentFormatError, match="not after its start"):
        Interval.parse("2015-01-02/2015-01-01")


def test_descriptor_json_is_druids() -> None:
    segment = DataSegment(
        "wikipedia",
        Interval.parse("2015-09-12/2015-09-13"),
        "2019-08-26T09:19:08.397Z",
        shard_spec=numbered_shard_spec(1, 2),
        dimensions=("channel", "page"),
        metrics=("count", "added"),
        load_spec={"type": "oss_zip", "bucket": "b", "key": "k"},
        binary_version=9,
        size=4821529,
    )
    assert segment.to_json() == (
        '{"dataSource":"wikipedia","interval":"2015-09-12T00:00:00.000Z/2015-09-13T00:00:00.000Z",'
        '"version":"2019-08-26T09:19:08.397Z","loadSpec":{"type":"oss_zip","bucket":"b","key":"k"},'
        '"dimensions":"channel,page","metrics":"count,added",'
        '"shardSpec":{"type":"numbered","partitionNum":1,"partitions":2},"binaryVersion":9,"size":4821529,'
        '"identifier":"wikipedia_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_2019-08-26T09:19:08.397Z_1"}'
    )
    assert DataSegment.from_json(segment.to_json()) == segment
    # Partition 0 is left out of the identifier, as in Druid's SegmentId.
    assert DataSegment.from_json(
        segment.to_json().replace('"partitionNum":1', '"partitionNum":0')
    ).id.endswith(".397Z")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataSource", "a/b"),
        ("dataSource", ""),
        ("dataSource", ".hidden"),
        ("version", "v/1"),
        ("interval", "2015"),
    ],
)
def test_descriptor_rejects_names_that_break_keys(field: str, value: str) -> None:
    base = {"dataSource": "ds", "interval": "2015-01-01/2015-01-02", "version": "v1"}
    with pytest.raises(SegmentFormatError):
        DataSegment.from_json(json.dumps({**base, field: value}))


def test_pushed_objects_sit_at_the_golden_keys(
    server: ServerProcess, clients: OssClients, make_bucket: Callable[..., str], tmp_path: Path
) -> None:
    directory = write_segment_dir(tmp_path / "seg", smoosh_bytes=4096)
    for prefix, ds, interval, version, shard, expected in GOLDEN:
        bucket = make_bucket("golden")
        store = SegmentStore(clients, SegmentStorageConfig(bucket, prefix))
        pushed = store.push(directory, _segment(ds, interval, version, shard))
        assert pushed.load_spec == {"type": "oss_zip", "bucket": bucket, "key": expected}
        assert [o.key for o in oss2.ObjectIterator(raw_bucket(server, bucket))] == [expected]
        unique = store.push(directory, _segment(ds, interval, version, shard), use_unique_path=True)
        assert unique.load_spec is not None
        head, _, tail = str(unique.load_spec["key"]).rpartition("/")
        directory_part, _, uuid = head.rpartition("/")
        assert tail == "index.zip" and UUID.fullmatch(uuid) and f"{directory_part}/index.zip" == expected
