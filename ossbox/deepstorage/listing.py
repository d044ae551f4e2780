"""What a bucket holds: segment descriptors recovered from Druid-layout keys.

For each `.../index.zip` under a base key: when ossbox pushed it, the descriptor stored with the object
(`x-oss-meta-druid-segment`) gives every field; otherwise (Druid pushed it) the key gives dataSource,
interval, version and partition number, and the zip itself gives `size` (the uncompressed total from its
central directory) and `binaryVersion` (its version.bin), read with a few small ranged GETs. Dimensions and
metrics of a Druid-pushed segment are inside its smoosh files and are left empty.
The loadSpec is always the object's real location.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Literal

from ossbox.deepstorage import segment_meta
from ossbox.deepstorage.client import ObjectInfo, OssClients, list_objects
from ossbox.deepstorage.descriptor import DataSegment, numbered_shard_spec, oss_load_spec
from ossbox.deepstorage.errors import DeepStorageError, SegmentFormatError
from ossbox.deepstorage.layout import INDEX_ZIP, SegmentLocation, listing_prefix, parse_segment_key
from ossbox.deepstorage.pinned import open_pinned

log = logging.getLogger("ossbox.deepstorage")

Source = Literal["descriptor", "zip", "key"]


@dataclass(frozen=True)
class ListedSegment:
    segment: DataSegment
    source: Source  # where the fields beyond the key came from
    object_size: int  # bytes of index.zip in OSS
    last_modified_ms: int
    storage_class: str
    problem: str | None = None  # why the object could not be read, when it could not


def descriptor_from_key(location: SegmentLocation, bucket: str) -> DataSegment:
    """The descriptor as far as the key tells it (no size, dimensions or metrics)."""
    return DataSegment(
        data_source=location.data_source,
        interval=location.interval,
        version=location.version,
        # The key records only the partition number; the core partition count is unknown (0).
        shard_spec=numbered_shard_spec(location.partition_num, 0),
        load_spec=oss_load_spec(bucket, location.key),
    )


def _zip_facts(clients: OssClients, bucket: str, key: str, etag: str, size: int) -> tuple[int, int | None]:
    """(uncompressed total, binaryVersion) from the zip's central directory and version.bin (ranged GETs)."""
    with open_pinned(clients, bucket, key, etag, 0, size, chunk_size=64 << 10) as f, zipfile.ZipFile(f) as zf:
        total = sum(i.file_size for i in zf.infolist())
        names = zf.namelist()
        if "version.bin" in names:
            data = zf.read("version.bin")
            return total, int.from_bytes(data, "big", signed=True) if len(data) == 4 else None
        if "index.drd" in names:
            with zf.open("index.drd") as drd:
                first = drd.read(1)
            return total, first[0] if first else None
        return total, None


def describe(
    clients: OssClients, bucket: str, key: str, base_key: str, listed: ObjectInfo | None = None
) -> ListedSegment:
    """The descriptor of one segment object (see the module docstring for where each field comes from).

    Raises ObjectNotFoundError when the object is absent; an unreadable zip is reported in `problem`.
    """
    location = parse_segment_key(key, base_key)
    from_key = descriptor_from_key(location, bucket)
    handle = clients.bucket(bucket)
    head = clients.call(f"head oss://{bucket}/{key}", lambda: handle.head_object(key), bucket, key)
    size = int(head.content_length or 0)
    modified_ms = int(head.last_modified) * 1000
    storage_class = head.headers.get("x-oss-storage-class") or (listed.storage_class if listed else "")
    stored = head.headers.get(segment_meta.DESCRIPTOR_HEADER)
    if stored:
        try:
            segment = segment_meta.decode(stored).with_load_spec(oss_load_spec(bucket, key))
            return ListedSegment(segment, "descriptor", size, modified_ms, storage_class)
        except SegmentFormatError as e:
            log.warning("ignoring the stored descriptor of oss://%s/%s: %s", bucket, key, e)
    try:
        total, version = _zip_facts(clients, bucket, key, head.etag, size)
    except (DeepStorageError, zipfile.BadZipFile, NotImplementedError, ValueError, EOFError) as e:
        problem = f"oss://{bucket}/{key} is not a readable zip archive: {e}"
        return ListedSegment(from_key, "key", size, modified_ms, storage_class, problem)
    segment = replace(from_key, size=total, binary_version=version)
    return ListedSegment(segment, "zip", size, modified_ms, storage_class)


def list_segments(
    clients: OssClients,
    bucket: str,
    base_key: str,
    data_source: str | None = None,
    *,
    describe_objects: bool = True,
    workers: int = 8,
) -> Iterator[ListedSegment]:
    """Every segment under base_key (optionally one dataSource), in key order.

    Keys that are not `.../index.zip` in Druid's layout are skipped. With describe_objects=False only the key
    and the listing are used (no request per segment).
    """
    prefix = listing_prefix(base_key) + (f"{data_source}/" if data_source else "")

    def candidates() -> Iterator[ObjectInfo]:
        for info in list_objects(clients, bucket, prefix):
            if not info.key.endswith("/" + INDEX_ZIP):
                continue
            try:
                parse_segment_key(info.key, base_key)
            except DeepStorageError:
                continue
            yield info

    def from_listing(info: ObjectInfo, problem: str | None = None) -> ListedSegment:
        segment = descriptor_from_key(parse_segment_key(info.key, base_key), bucket)
        return ListedSegment(segment, "key", info.size, info.last_modified_ms, info.storage_class, problem)

    def one(info: ObjectInfo) -> ListedSegment:
        try:
            return describe(clients, bucket, info.key, base_key, info)
        except DeepStorageError as e:  # e.g. deleted between the listing and the HEAD
            return from_listing(info, str(e))

    if not describe_objects:
        yield from map(from_listing, candidates())
        return
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # pool.map keeps key order; batches keep memory flat on a bucket with millions of segments.
        batch: list[ObjectInfo] = []
        for info in candidates():
            batch.append(info)
            if len(batch) == 256:
                yield from pool.map(one, batch)
                batch = []
        if batch:
            yield from pool.map(one, batch)
