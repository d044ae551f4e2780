"""Large objects come down in parallel ranges (LOAD, table reads): the file must equal the object."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ossbox.volumes.sql.session import download_object
from tests.volumes.conftest import Project


def test_ranged_download_of_a_large_object(project: Project, tmp_path: Path) -> None:
    data = os.urandom(70 << 20) + b"tail"  # three ranges, the last one short
    project.bucket.put_object("big/object.bin", data)
    target = tmp_path / "object.bin"
    download_object(project.bucket, "big/object.bin", len(data), target)
    assert target.stat().st_size == len(data)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
