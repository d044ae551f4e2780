"""Abort multipart uploads that were started long ago and never finished (Alluxio's cleaner: 3 days).

A writer that dies (kill -9, lost machine) cannot abort its own upload; its parts keep costing storage
until someone aborts them. Run this periodically, or `ossbox cleanup oss://bucket`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import oss2

from ossbox.fs.errors import translate

DEFAULT_CLEAN_AGE = 3 * 86400.0


@dataclass(frozen=True)
class StaleUpload:
    key: str
    upload_id: str
    initiated: float


def abort_stale_uploads(
    bucket: oss2.Bucket,
    older_than: float = DEFAULT_CLEAN_AGE,
    prefix: str = "",
    now: float | None = None,
    dry_run: bool = False,
) -> list[StaleUpload]:
    """Abort every upload under `prefix` initiated more than `older_than` seconds ago; returns them."""
    now = time.time() if now is None else now
    stale: list[StaleUpload] = []
    try:
        for u in oss2.MultipartUploadIterator(bucket, prefix=prefix):
            if now - float(u.initiation_date) < older_than:
                continue
            stale.append(StaleUpload(u.key, u.upload_id, float(u.initiation_date)))
            if not dry_run:
                try:
                    bucket.abort_multipart_upload(u.key, u.upload_id)
                except oss2.exceptions.NoSuchUpload:
                    pass  # finished or aborted meanwhile
    except oss2.exceptions.OssError as e:
        raise translate(e, bucket.bucket_name) from e
    return stale
