"""Druid's segment descriptor: the DataSegment JSON that Druid keeps in its metadata store.

Field names, order and shapes follow Druid's `DataSegment` as Jackson writes it: creator properties
first (`dataSource`, `interval`, `version`, `loadSpec`, `dimensions`, `metrics`, `projections` when set,
`shardSpec`, `lastCompactionState` when set, `binaryVersion`, `size`), then the read-only `identifier`.
The interval is `start/end` in UTC with milliseconds, dimensions and metrics are comma-joined strings, and
`size` is the uncompressed size of the segment's files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ossbox.deepstorage.errors import SegmentFormatError
from ossbox.deepstorage.times import Interval

LOAD_SPEC_TYPE = "oss_zip"


def numbered_shard_spec(partition_num: int = 0, partitions: int = 1) -> dict[str, Any]:
    """Druid's NumberedShardSpec, the shard spec of most batch and streaming segments."""
    return {"type": "numbered", "partitionNum": partition_num, "partitions": partitions}


def oss_load_spec(bucket: str, key: str) -> dict[str, Any]:
    """The loadSpec Druid's OssDataSegmentPusher records: `{"type":"oss_zip","bucket":..,"key":..}`."""
    return {"type": LOAD_SPEC_TYPE, "bucket": bucket, "key": key}


def check_name(kind: str, value: str) -> str:
    """Druid's id rules that matter in keys: non-empty, no '/', no leading '.', no control characters."""
    if not value:
        raise SegmentFormatError(f"{kind} must not be empty")
    if "/" in value:
        raise SegmentFormatError(f"{kind} {value!r} must not contain '/'")
    if value.startswith("."):
        raise SegmentFormatError(f"{kind} {value!r} must not start with '.'")
    if any(ord(c) < 0x20 or c in "\x7f\u2028\u2029" for c in value):
        raise SegmentFormatError(f"{kind} {value!r} must not contain control characters")
    return value


def _comma_list(value: Any, name: str) -> tuple[str, ...]:
    # Druid's CommaListJoinDeserializer reads "a,b"; lists are accepted too. Empty names are dropped.
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(s for s in value.split(",") if s)
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return tuple(s for s in value if s)
    raise SegmentFormatError(f"{name} must be a comma-separated string or a list of strings")


@dataclass(frozen=True)
class DataSegment:
    data_source: str
    interval: Interval
    version: str
    shard_spec: Mapping[str, Any] = field(default_factory=numbered_shard_spec)
    dimensions: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    load_spec: Mapping[str, Any] | None = None
    binary_version: int | None = None
    size: int = 0
    projections: tuple[str, ...] | None = None
    last_compaction_state: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        check_name("dataSource", self.data_source)
        check_name("version", self.version)
        if self.size < 0:
            raise SegmentFormatError("size must not be negative")
        if self.partition_num < 0:
            raise SegmentFormatError("partition number must not be negative")

    @property
    def partition_num(self) -> int:
        """Druid's ShardSpec.getPartitionNum (`partitionId` for numbered_overwrite, 0 for none)."""
        value = self.shard_spec.get("partitionNum", self.shard_spec.get("partitionId", 0))
        if not isinstance(value, int) or isinstance(value, bool):
            raise SegmentFormatError(f"shardSpec partition number must be an integer, got {value!r}")
        return value

    @property
    def id(self) -> str:
        """Druid's SegmentId string: `<dataSource>_<start>_<end>_<version>[_<partitionNum> when not 0]`."""
        base = f"{self.data_source}_{self.interval.start}_{self.interval.end}_{self.version}"
        return base if self.partition_num == 0 else f"{base}_{self.partition_num}"

    def with_load_spec(self, load_spec: Mapping[str, Any]) -> DataSegment:
        return replace(self, load_spec=dict(load_spec))

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dataSource": self.data_source,
            "interval": str(self.interval),
            "version": self.version,
            "loadSpec": dict(self.load_spec) if self.load_spec is not None else None,
            "dimensions": ",".join(self.dimensions),
            "metrics": ",".join(self.metrics),
        }
        if self.projections is not None:
            out["projections"] = ",".join(self.projections)
        out["shardSpec"] = dict(self.shard_spec)
        if self.last_compaction_state is not None:
            out["lastCompactionState"] = dict(self.last_compaction_state)
        out["binaryVersion"] = self.binary_version
        out["size"] = self.size
        out["identifier"] = self.id
        return out

    def to_json(self) -> str:
        """Compact JSON, as Druid stores the payload."""
        return json.dumps(self.to_json_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> DataSegment:
        try:
            data_source, interval, version = d["dataSource"], d["interval"], d["version"]
        except KeyError as e:
            raise SegmentFormatError(f"segment descriptor lacks {e.args[0]!r}") from None
        if not isinstance(data_source, str) or not isinstance(version, str) or not isinstance(interval, str):
            raise SegmentFormatError("dataSource, interval and version must be strings")
        shard_spec = d.get("shardSpec") or numbered_shard_spec()
        load_spec = d.get("loadSpec")
        binary_version = d.get("binaryVersion")
        size = d.get("size", 0)
        if not isinstance(shard_spec, dict) or (load_spec is not None and not isinstance(load_spec, dict)):
            raise SegmentFormatError("shardSpec and loadSpec must be JSON objects")
        if binary_version is not None and not isinstance(binary_version, int):
            raise SegmentFormatError("binaryVersion must be an integer")
        if not isinstance(size, int):
            raise SegmentFormatError("size must be an integer")
        projections = d.get("projections")
        state = d.get("lastCompactionState")
        return cls(
            data_source=data_source,
            interval=Interval.parse(interval),
            version=version,
            shard_spec=shard_spec,
            dimensions=_comma_list(d.get("dimensions"), "dimensions"),
            metrics=_comma_list(d.get("metrics"), "metrics"),
            load_spec=load_spec,
            binary_version=binary_version,
            size=size,
            projections=None if projections is None else _comma_list(projections, "projections"),
            last_compaction_state=state if isinstance(state, dict) else None,
        )

    @classmethod
    def from_json(cls, text: str) -> DataSegment:
        try:
            d = json.loads(text)
        except ValueError as e:
            raise SegmentFormatError(f"segment descriptor is not JSON: {e}") from None
        if not isinstance(d, dict):
            raise SegmentFormatError("segment descriptor must be a JSON object")
        return cls.from_json_dict(d)
