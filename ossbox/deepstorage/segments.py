"""Pushing, pulling and killing segments in Druid's OSS layout (OssDataSegmentPusher, -Puller, -Killer)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ossbox.deepstorage import archive, segment_meta
from ossbox.deepstorage.client import OssClients, delete_keys, list_objects
from ossbox.deepstorage.config import STORAGE_PREFIX, SegmentStorageConfig
from ossbox.deepstorage.descriptor import LOAD_SPEC_TYPE, DataSegment, oss_load_spec
from ossbox.deepstorage.errors import ConfigError, OutsidePrefixError, SegmentFormatError
from ossbox.deepstorage.layout import (
    SegmentLocation,
    listing_prefix,
    new_unique_path,
    parse_segment_key,
    segment_key,
)

log = logging.getLogger("ossbox.deepstorage")


def load_spec_location(load_spec: Mapping[str, Any]) -> tuple[str, str]:
    """(bucket, key) of an `oss_zip` loadSpec."""
    if load_spec.get("type") != LOAD_SPEC_TYPE:
        raise SegmentFormatError(f"loadSpec type is {load_spec.get('type')!r}, expected {LOAD_SPEC_TYPE!r}")
    bucket, key = load_spec.get("bucket"), load_spec.get("key")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise SegmentFormatError("an oss_zip loadSpec needs non-empty 'bucket' and 'key'")
    return bucket, key


@dataclass(frozen=True)
class PullResult:
    files: tuple[Path, ...]
    size: int
    version: str


class SegmentStore:
    """Segments of one Druid deep storage (`druid.storage.oss.*`)."""

    def __init__(self, clients: OssClients, config: SegmentStorageConfig) -> None:
        self.clients = clients
        self.config = config

    # -- where things are ------------------------------------------------------------------------------
    def roots(self) -> list[tuple[str, str]]:
        """(bucket, base key) pairs ossbox manages: the segment location and, if set, the archive."""
        roots = [(self.config.bucket, self.config.prefix)]
        if self.config.archive_bucket:
            roots.append((self.config.archive_bucket, self.config.archive_base_key))
        return roots

    def locate(self, bucket: str, key: str) -> tuple[SegmentLocation, str]:
        """Parse a managed segment key; refuse keys outside the configured locations (nothing is touched)."""
        format_error: SegmentFormatError | None = None
        for root_bucket, base_key in self.roots():
            if bucket != root_bucket:
                continue
            try:
                return parse_segment_key(key, base_key), base_key
            except OutsidePrefixError:
                continue
            except SegmentFormatError as e:
                format_error = e
        if format_error is not None:
            raise format_error
        where = ", ".join(f"oss://{b}/{listing_prefix(p)}" for b, p in self.roots())
        raise OutsidePrefixError(f"oss://{bucket}/{key} is outside the segment locations ({where}); refusing")

    # -- push ------------------------------------------------------------------------------------------
    def push(
        self,
        directory: Path,
        segment: DataSegment,
        use_unique_path: bool = False,
        unique_path: str | None = None,
    ) -> DataSegment:
        """Zip `directory`, upload it as index.zip in Druid's layout, return the descriptor with its loadSpec.

        As in Druid, the descriptor's `size` is the uncompressed size of the files and `binaryVersion` comes
        from version.bin (or index.drd).
        """
        directory = Path(directory)
        key = segment_key(
            self.config.prefix, segment, unique_path or (new_unique_path() if use_unique_path else None)
        )
        with tempfile.TemporaryDirectory(prefix="ossbox-druid-push-") as tmp:
            zip_path = Path(tmp) / "index.zip"
            size = archive.zip_directory(directory, zip_path)
            out = replace(
                segment,
                size=size,
                binary_version=archive.binary_version(directory),
                load_spec=oss_load_spec(self.config.bucket, key),
            )
            headers = {}
            encoded = segment_meta.encode(out)
            if encoded is not None:
                headers[segment_meta.DESCRIPTOR_HEADER] = encoded
            handle = self.clients.bucket(self.config.bucket)
            log.info("pushing %s to oss://%s/%s", directory, self.config.bucket, key)
            self.clients.call(
                f"push oss://{self.config.bucket}/{key}",
                lambda: handle.put_object_from_file(key, str(zip_path), headers=headers),
                self.config.bucket,
                key,
            )
        return out

    # -- pull ------------------------------------------------------------------------------------------
    def version(self, bucket: str, key: str) -> str:
        """Druid's OssDataSegmentPuller.getVersion: the object's last-modified time in milliseconds."""
        head = self.clients.call(
            f"head oss://{bucket}/{key}", lambda: self.clients.bucket(bucket).head_object(key), bucket, key
        )
        return str(int(head.last_modified) * 1000)

    def pull(self, load_spec: Mapping[str, Any], out_dir: Path) -> PullResult:
        """Fetch a segment into out_dir: `.zip` is unzipped, `.gz` gunzipped, anything else refused.

        On failure every file this call created is removed again (and out_dir, if this call created it);
        files that were already in out_dir are never touched.
        """
        bucket, key = load_spec_location(load_spec)
        name = key.rsplit("/", 1)[-1]
        if not (name.endswith(".zip") or (name.endswith(".gz") and len(name) > 3)):
            raise SegmentFormatError(
                f"do not know how to load oss://{bucket}/{key}: only .zip and .gz are loadable"
            )
        version = self.version(bucket, key)  # also: a missing segment is an error before anything is written
        out_dir = Path(out_dir)
        created_dir = not out_dir.exists()
        written: list[Path] = []
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".ossbox-pull-", dir=out_dir) as tmp:
                local = Path(tmp) / "download"
                handle = self.clients.bucket(bucket)
                self.clients.call(
                    f"get oss://{bucket}/{key}",
                    lambda: handle.get_object_to_file(key, str(local)),
                    bucket,
                    key,
                )
                if name.endswith(".zip"):
                    size = archive.unzip(local, out_dir, written)
                else:
                    size = archive.gunzip(local, out_dir / name[:-3], written)
        except BaseException:
            for path in reversed(written):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            if created_dir:
                shutil.rmtree(out_dir, ignore_errors=True)
            raise
        return PullResult(tuple(p for p in written if p.is_file()), size, version)

    # -- kill ------------------------------------------------------------------------------------------
    def kill(self, load_spec: Mapping[str, Any]) -> bool:
        """Delete one segment's object (Druid's OssDataSegmentKiller.kill); False when it was already gone."""
        bucket, key = load_spec_location(load_spec)
        self.locate(bucket, key)
        handle = self.clients.bucket(bucket)
        exists = self.clients.call(
            f"check oss://{bucket}/{key}", lambda: handle.object_exists(key), bucket, key
        )
        if not exists:
            return False
        log.info("removing index file oss://%s/%s", bucket, key)
        self.clients.call(f"delete oss://{bucket}/{key}", lambda: handle.delete_object(key), bucket, key)
        return True

    def kill_all(self) -> int:
        """Delete everything under the segment prefix, 1000 keys a batch (Druid's killAll); return the count.

        Druid deletes under the bare prefix; ossbox lists `<prefix>/` so that a sibling such as
        `<prefix>-old/` survives, and refuses an empty prefix, which would mean the whole bucket.
        """
        if not self.config.prefix:
            raise ConfigError(f"{STORAGE_PREFIX} is empty: kill-all would delete the whole bucket; refusing")
        bucket = self.config.bucket
        pending: list[str] = []
        deleted = 0
        for info in list_objects(self.clients, bucket, listing_prefix(self.config.prefix)):
            pending.append(info.key)
            if len(pending) == 1000:
                deleted += delete_keys(self.clients, bucket, pending)
                pending = []
        if pending:
            deleted += delete_keys(self.clients, bucket, pending)
        log.info("deleted %d objects under oss://%s/%s", deleted, bucket, listing_prefix(self.config.prefix))
        return deleted
