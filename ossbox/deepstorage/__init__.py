"""Druid deep storage on OSS: segments and task logs in exactly the layout Druid's aliyun-oss extension uses.

A client of any OSS endpoint through oss2; see docs/deep-storage.md. Typical use::

    props = DruidProperties.load([Path("runtime.properties")])
    clients = OssClients(OssCredentials.from_properties(props))
    segments = SegmentStore(clients, SegmentStorageConfig.from_properties(props))
    segment = DataSegment("wiki", Interval.parse("2015-01-01/2015-01-02"), "v1")
    pushed = segments.push(Path("segment-dir"), segment)  # pushed.load_spec says where it went
"""

from ossbox.deepstorage.client import OssClients
from ossbox.deepstorage.config import DruidProperties, OssCredentials, SegmentStorageConfig, TaskLogsConfig
from ossbox.deepstorage.descriptor import DataSegment, numbered_shard_spec, oss_load_spec
from ossbox.deepstorage.errors import (
    BucketNotFoundError,
    ConfigError,
    DeepStorageError,
    InputSourceError,
    LogChangedError,
    MoveRefusedError,
    ObjectChangedError,
    ObjectNotFoundError,
    OutsidePrefixError,
    RemoteError,
    SegmentFormatError,
)
from ossbox.deepstorage.inputsource import CloudObjectLocation, OssEntity, OssInputSource
from ossbox.deepstorage.layout import parse_segment_key, segment_key, storage_dir
from ossbox.deepstorage.listing import ListedSegment, list_segments
from ossbox.deepstorage.mover import MoveOutcome, SegmentMover
from ossbox.deepstorage.segments import PullResult, SegmentStore, load_spec_location
from ossbox.deepstorage.tasklogs import TaskLogs
from ossbox.deepstorage.times import Interval, format_instant, parse_instant

__all__ = [
    "BucketNotFoundError",
    "CloudObjectLocation",
    "ConfigError",
    "DataSegment",
    "DeepStorageError",
    "DruidProperties",
    "InputSourceError",
    "Interval",
    "ListedSegment",
    "LogChangedError",
    "MoveOutcome",
    "MoveRefusedError",
    "ObjectChangedError",
    "ObjectNotFoundError",
    "OssClients",
    "OssCredentials",
    "OssEntity",
    "OssInputSource",
    "OutsidePrefixError",
    "PullResult",
    "RemoteError",
    "SegmentFormatError",
    "SegmentMover",
    "SegmentStorageConfig",
    "SegmentStore",
    "TaskLogs",
    "TaskLogsConfig",
    "format_instant",
    "list_segments",
    "load_spec_location",
    "numbered_shard_spec",
    "oss_load_spec",
    "parse_instant",
    "parse_segment_key",
    "segment_key",
    "storage_dir",
]
