"""The segment descriptor ossbox keeps on each index.zip it pushes, as user metadata.

Druid's own pusher writes no descriptor to OSS (the DataSegment JSON goes to its metadata store), so the
bucket alone cannot say which dimensions and metrics a segment has. ossbox stores the descriptor without
its loadSpec (which is just where the object is) in `x-oss-meta-druid-segment`. Druid ignores user
metadata, keeps it when it moves the object (CopyObject copies metadata) and removes it with the object.
"""

from __future__ import annotations

import base64
import json
import logging
import zlib
from typing import Any

from ossbox.deepstorage.descriptor import DataSegment
from ossbox.deepstorage.errors import SegmentFormatError

DESCRIPTOR_HEADER = "x-oss-meta-druid-segment"
# OSS allows 8 KB of user metadata in all; leave room for the header name and other metadata.
_MAX_VALUE = 7 * 1024
_COMPRESSED = "z:"

log = logging.getLogger("ossbox.deepstorage")


def encode(segment: DataSegment) -> str | None:
    """ASCII JSON when it fits, else zlib+base64 marked `z:`; None (and a warning) if that is too big too."""
    body: dict[str, Any] = segment.to_json_dict()
    body.pop("loadSpec", None)
    body.pop("identifier", None)
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
    if len(text) <= _MAX_VALUE:
        return text
    packed = _COMPRESSED + base64.b64encode(zlib.compress(text.encode(), 9)).decode()
    if len(packed) <= _MAX_VALUE:
        return packed
    log.warning(
        "descriptor of %s is too large for object metadata; ls will recover it from the key", segment.id
    )
    return None


def decode(value: str) -> DataSegment:
    try:
        text = (
            zlib.decompress(base64.b64decode(value[len(_COMPRESSED) :])).decode()
            if value.startswith(_COMPRESSED)
            else value
        )
    except (ValueError, zlib.error) as e:
        raise SegmentFormatError(f"unreadable {DESCRIPTOR_HEADER}: {e}") from None
    return DataSegment.from_json(text)
