"""Validation of bucket names and object keys, as OSS defines them."""

from __future__ import annotations

import re

from ossbox.core.errors import OSSError

MAX_KEY_BYTES = 1023
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def validate_bucket_name(name: str) -> None:
    if not _BUCKET_RE.match(name):
        raise OSSError(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
            {"BucketName": name},
        )


def is_valid_bucket_name(name: str) -> bool:
    return bool(_BUCKET_RE.match(name))


def validate_object_key(key: str) -> None:
    """Keys are stored verbatim and never touch the filesystem; this only enforces OSS's rules."""
    if not key:
        raise OSSError(400, "InvalidObjectName", "The specified object is not valid.", {"ObjectName": key})
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise OSSError(
            400,
            "InvalidObjectName",
            f"The length of object name is longer than {MAX_KEY_BYTES} bytes.",
            {"ObjectName": key[:64]},
        )
    if key[0] in "/\\":
        raise OSSError(
            400,
            "InvalidObjectName",
            "The object name must not start with '/' or '\\'.",
            {"ObjectName": key},
        )
    # NUL cannot be represented in XML 1.0 listings, and lone surrogates are not UTF-8.
    if "\x00" in key or any("\ud800" <= ch <= "\udfff" for ch in key):
        raise OSSError(
            400, "InvalidObjectName", "The object name is not valid UTF-8 text.", {"ObjectName": repr(key)}
        )
