"""Druid's key layout for segments in OSS, both ways.

Druid's DataSegmentPusher.getDefaultStorageDir joins `dataSource`, `<start>_<end>`, `version`, `partitionNum`
and, for a unique path, a random UUID, with `/`; OssUtils.constructSegmentPath puts the base key in front
(left out when empty) and `/index.zip` after. The base key is used exactly as configured, as Druid does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from ossbox.deepstorage.descriptor import DataSegment, check_name
from ossbox.deepstorage.errors import OutsidePrefixError, SegmentFormatError
from ossbox.deepstorage.times import Interval

INDEX_ZIP = "index.zip"
_PARTITION = re.compile(r"0|[1-9][0-9]*")


def new_unique_path() -> str:
    """What Druid's DataSegmentPusher.generateUniquePath returns: a random UUID's string form."""
    return str(uuid.uuid4())


def storage_dir(segment: DataSegment, unique_path: str | None = None) -> str:
    parts = [
        segment.data_source,
        segment.interval.storage_form,
        segment.version,
        str(segment.partition_num),
    ]
    if unique_path:
        parts.append(unique_path)
    return "/".join(parts)


def segment_key(base_key: str, segment: DataSegment, unique_path: str | None = None) -> str:
    directory = storage_dir(segment, unique_path)
    return f"{base_key}/{directory}/{INDEX_ZIP}" if base_key else f"{directory}/{INDEX_ZIP}"


def listing_prefix(base_key: str) -> str:
    """The prefix that holds everything under a base key (with its `/`, so `a/b` never matches `a/bc/`)."""
    return f"{base_key}/" if base_key else ""


@dataclass(frozen=True)
class SegmentLocation:
    """What a segment key says about its segment."""

    key: str
    data_source: str
    interval: Interval
    version: str
    partition_num: int
    unique_path: str | None
    file_name: str


def parse_segment_key(key: str, base_key: str) -> SegmentLocation:
    """Split a key written in Druid's layout under `base_key`; refuse keys outside it or not in the layout."""
    prefix = listing_prefix(base_key)
    if not key.startswith(prefix):
        raise OutsidePrefixError(f"key {key!r} is outside the segment prefix {base_key!r}")
    parts = key[len(prefix) :].split("/")
    if len(parts) not in (5, 6):
        raise SegmentFormatError(
            f"key {key!r} is not in Druid's layout <dataSource>/<start>_<end>/<version>/<partitionNum>"
            f"[/<uuid>]/index.zip under {base_key!r}"
        )
    data_source, interval, version, partition = parts[:4]
    unique_path = parts[4] if len(parts) == 6 else None
    if not _PARTITION.fullmatch(partition):
        raise SegmentFormatError(f"key {key!r}: partition directory {partition!r} is not a number")
    if unique_path is not None and not unique_path:
        raise SegmentFormatError(f"key {key!r} has an empty unique-path directory")
    if not parts[-1]:
        raise SegmentFormatError(f"key {key!r} names a directory, not a segment file")
    return SegmentLocation(
        key=key,
        data_source=check_name("dataSource", data_source),
        interval=Interval.parse_storage_form(interval),
        version=check_name("version", version),
        partition_num=int(partition),
        unique_path=unique_path,
        file_name=parts[-1],
    )
