"""Blob ids, and which blobs the metadata store keeps inline: bodies up to INLINE_MAX_BYTES.

A file per small object costs a create, an fdatasync, a rename and a directory entry; on this kind of
disk that caps small PUTs near the disk's fsync rate. Stored as a row written in the object's own
transaction, the group commit's single WAL fsync makes many small bodies durable at once.
"""

from __future__ import annotations

import secrets

INLINE_MAX_BYTES = 64 << 10
_PREFIX = "i-"  # file blob ids are hex only, so the two kinds never collide


def new_inline_blob_id() -> str:
    return _PREFIX + secrets.token_hex(12)


def is_inline_blob(blob_id: str) -> bool:
    return blob_id.startswith(_PREFIX)
