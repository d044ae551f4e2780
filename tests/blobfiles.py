"""The blob files of a test server's data, wherever the tests keep them: under the data directory, or in a
prefix of the tests' SeaweedFS when they run with OSSBOX_TEST_BLOBS=s3 (tests/server.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def on_s3_blobs() -> bool:
    """OSSBOX_TEST_BLOBS=s3: every server the tests start keeps its blobs on a SeaweedFS cluster."""
    return os.environ.get("OSSBOX_TEST_BLOBS", "") == "s3"


def s3_prefix(data_dir: Path) -> str:
    return "t" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]


def stored_blob_ids(data_dir: Path) -> set[str]:
    if on_s3_blobs():
        from tests import seaweed

        start = len(s3_prefix(data_dir)) + len("/blobs/")
        return {key[start:] for key in seaweed.instance().keys(s3_prefix(data_dir) + "/blobs/")}
    return {p.name for p in (data_dir / "blobs").glob("*/*")}


def read_blob(data_dir: Path, blob_id: str) -> bytes:
    """The stored bytes of a (non-inline) blob, as they are at rest."""
    if on_s3_blobs():
        from tests import seaweed

        weed = seaweed.instance()
        key = f"{s3_prefix(data_dir)}/blobs/{blob_id}"
        return bytes(weed.client().get_object(Bucket=seaweed.BUCKET, Key=key)["Body"].read())
    return (data_dir / "blobs" / blob_id[:8] / blob_id).read_bytes()
