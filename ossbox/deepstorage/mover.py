"""Moving, archiving and restoring segments with Druid's rules (OssDataSegmentMover, -Archiver).

The target key is `<targetBaseKey>/<default storage dir>/index.zip`, where the default storage dir never has
a unique path (Druid moves a unique-path segment to the plain path). A move onto itself does nothing; a
source that is gone while the target is present is taken as already moved; neither present is an error.
Otherwise: refuse an IA-class source, copy, confirm the copy with a separate request, then delete the source
(a failed delete is reported, not raised: the segment is already safe at the target).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, Literal

from ossbox.deepstorage.client import OssClients, retry
from ossbox.deepstorage.config import SegmentStorageConfig
from ossbox.deepstorage.descriptor import DataSegment
from ossbox.deepstorage.errors import MoveRefusedError, ObjectNotFoundError, SegmentFormatError
from ossbox.deepstorage.layout import segment_key
from ossbox.deepstorage.segments import load_spec_location

log = logging.getLogger("ossbox.deepstorage")

# Druid refuses IA ("glacier" in its message); Archive classes cannot even be copied before a restore.
REFUSED_STORAGE_CLASSES = frozenset({"IA", "Archive", "ColdArchive", "DeepColdArchive"})
# Real OSS copies at most 1 GB in one CopyObject; larger objects go part by part (UploadPartCopy).
SINGLE_COPY_LIMIT = 1 << 30
COPY_PART_SIZE = 256 << 20

Action = Literal["moved", "already-in-place", "already-moved"]


@dataclass(frozen=True)
class MoveOutcome:
    segment: DataSegment
    action: Action
    source_deleted: bool = True


class SegmentMover:
    def __init__(
        self,
        clients: OssClients,
        config: SegmentStorageConfig,
        *,
        single_copy_limit: int = SINGLE_COPY_LIMIT,
        copy_part_size: int = COPY_PART_SIZE,
    ) -> None:
        self.clients = clients
        self.config = config
        self.single_copy_limit = single_copy_limit
        self.copy_part_size = copy_part_size

    def archive(self, segment: DataSegment) -> MoveOutcome:
        """Move to (`archiveBucket`, `archiveBaseKey`)."""
        bucket, base_key = self.config.require_archive()
        return self.move(segment, bucket, base_key)

    def restore(self, segment: DataSegment) -> MoveOutcome:
        """Move back to (`bucket`, `prefix`)."""
        return self.move(segment, self.config.bucket, self.config.prefix)

    def move(self, segment: DataSegment, target_bucket: str, target_base_key: str) -> MoveOutcome:
        if segment.load_spec is None:
            raise SegmentFormatError(f"segment {segment.id} has no loadSpec: nothing says where it is")
        if not target_bucket:
            raise SegmentFormatError("target OSS bucket is not specified")
        src_bucket, src_key = load_spec_location(segment.load_spec)
        dst_key = segment_key(target_base_key, segment)
        load_spec: dict[str, Any] = {k: v for k, v in segment.load_spec.items() if k not in ("bucket", "key")}
        moved = segment.with_load_spec({**load_spec, "bucket": target_bucket, "key": dst_key})
        if (src_bucket, src_key) == (target_bucket, dst_key):
            log.info("no need to move oss://%s/%s onto itself", src_bucket, src_key)
            return MoveOutcome(moved, "already-in-place")
        action, deleted = self._self_checking_move(src_bucket, src_key, target_bucket, dst_key)
        return MoveOutcome(moved, action, deleted)

    def _exists(self, bucket: str, key: str) -> bool:
        handle = self.clients.bucket(bucket)
        return bool(
            self.clients.call(f"check oss://{bucket}/{key}", lambda: handle.object_exists(key), bucket, key)
        )

    def _self_checking_move(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str
    ) -> tuple[Action, bool]:
        what = f"[oss://{src_bucket}/{src_key}] to [oss://{dst_bucket}/{dst_key}]"
        src = self.clients.bucket(src_bucket)
        try:
            head = self.clients.call(
                f"head oss://{src_bucket}/{src_key}", lambda: src.head_object(src_key), src_bucket, src_key
            )
        except ObjectNotFoundError:
            if self._exists(dst_bucket, dst_key):
                log.info(
                    "not moving oss://%s/%s: already present at oss://%s/%s",
                    src_bucket,
                    src_key,
                    dst_bucket,
                    dst_key,
                )
                return "already-moved", True
            raise ObjectNotFoundError(
                f"unable to move {what}: not present in either source or target location"
            ) from None
        storage_class = head.headers.get("x-oss-storage-class", "Standard")
        if storage_class in REFUSED_STORAGE_CLASSES:
            raise MoveRefusedError(
                f"cannot move oss://{src_bucket}/{src_key} of storage class {storage_class}, skipping"
            )
        log.info("moving %s", what)
        if int(head.content_length or 0) > self.single_copy_limit:
            self._copy_in_parts(
                src_bucket, src_key, dst_bucket, dst_key, int(head.content_length), head.headers
            )
        else:
            dst = self.clients.bucket(dst_bucket)
            self.clients.call(
                f"copy {what}", lambda: dst.copy_object(src_bucket, src_key, dst_key), dst_bucket, dst_key
            )
        if not self._exists(dst_bucket, dst_key):
            raise MoveRefusedError(f"after a successful copy the target is absent, source kept: {what}")
        try:
            retry(lambda: src.delete_object(src_key), 3, f"delete oss://{src_bucket}/{src_key}")
        except Exception as e:
            log.error(
                "failed to delete oss://%s/%s after copying it, giving up: %s",
                src_bucket,
                src_key,
                type(e).__name__,
            )
            return "moved", False
        return "moved", True

    def _copy_in_parts(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, size: int, src_headers: Any
    ) -> None:
        import oss2.models

        dst = self.clients.bucket(dst_bucket)
        headers = {k: v for k, v in src_headers.items() if k.lower().startswith("x-oss-meta-")}
        if src_headers.get("Content-Type"):
            headers["Content-Type"] = src_headers["Content-Type"]
        init = self.clients.call(
            f"start copy to oss://{dst_bucket}/{dst_key}",
            lambda: dst.init_multipart_upload(dst_key, headers=headers),
            dst_bucket,
            dst_key,
        )
        upload_id = init.upload_id
        try:
            parts = []
            for number, start in enumerate(range(0, size, self.copy_part_size), start=1):
                last = min(start + self.copy_part_size, size) - 1
                result = self.clients.call(
                    f"copy part {number} to oss://{dst_bucket}/{dst_key}",
                    functools.partial(
                        dst.upload_part_copy, src_bucket, src_key, (start, last), dst_key, upload_id, number
                    ),
                    dst_bucket,
                    dst_key,
                )
                parts.append(oss2.models.PartInfo(number, result.etag))
            self.clients.call(
                f"complete copy to oss://{dst_bucket}/{dst_key}",
                lambda: dst.complete_multipart_upload(dst_key, upload_id, parts),
                dst_bucket,
                dst_key,
            )
        except BaseException:
            try:
                dst.abort_multipart_upload(dst_key, upload_id)
            except Exception:
                log.warning(
                    "could not abort the multipart copy %s of oss://%s/%s", upload_id, dst_bucket, dst_key
                )
            raise
