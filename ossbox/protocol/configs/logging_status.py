"""Access logging (PutBucketLogging): the target bucket and prefix; names and lines of the log objects.

Log objects are named `<TargetPrefix><SourceBucket>YYYY-mm-DD-HH-MM-SS-<unique>` and hold one line per
request in OSS's built-in log format (the fields of docs/bucket-features.md, space-separated, text fields
quoted, `-` for what is unknown).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import defusedxml.ElementTree as SafeET

from ossbox.core.errors import invalid_argument
from ossbox.protocol import xml as X
from ossbox.protocol.configs.xmltree import text

ROOT = "BucketLoggingStatus"
MAX_PREFIX = 512


@dataclass(frozen=True)
class LoggingStatus:
    target_bucket: str
    target_prefix: str


def parse(body: bytes) -> LoggingStatus | None:
    """None: logging switched off (a BucketLoggingStatus without LoggingEnabled)."""
    doc = X.parse(body, ROOT)
    enabled = doc.find("LoggingEnabled")
    if enabled is None:
        return None
    target = text(enabled, "TargetBucket") or ""
    prefix = X.child_text(enabled, "TargetPrefix") or ""
    if not target:
        raise invalid_argument("TargetBucket is missing.", "TargetBucket", "")
    if len(prefix.encode("utf-8")) > MAX_PREFIX or prefix.startswith(("/", "\\")):
        raise invalid_argument("TargetPrefix is invalid.", "TargetPrefix", prefix)
    return LoggingStatus(target, prefix)


def render(status: LoggingStatus | None) -> str:
    if status is None:
        return f"{X.XML_DECL}<{ROOT}></{ROOT}>"
    inner = X.el("TargetBucket", status.target_bucket) + X.el("TargetPrefix", status.target_prefix)
    return f"{X.XML_DECL}<{ROOT}><LoggingEnabled>{inner}</LoggingEnabled></{ROOT}>"


@lru_cache(maxsize=1024)
def load(document: str) -> LoggingStatus:
    doc = SafeET.fromstring(document.encode("utf-8"))
    return LoggingStatus(
        doc.findtext("LoggingEnabled/TargetBucket") or "", doc.findtext("LoggingEnabled/TargetPrefix") or ""
    )


def object_name(prefix: str, source_bucket: str, epoch_s: float, unique: str) -> str:
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(epoch_s))
    return f"{prefix}{source_bucket}{stamp}-{unique}"


def _quoted(value: str) -> str:
    return '"' + (value or "-").replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class LogEntry:
    """One request, as the access log records it."""

    remote_ip: str
    epoch_s: float
    request_line: str  # "GET /bucket/key?acl HTTP/1.1"
    status: int
    sent_bytes: int
    request_ms: int
    referer: str
    user_agent: str
    host: str
    request_id: str
    requester: str  # the caller's account or RAM user id, "-" when anonymous
    operation: str
    bucket: str
    key: str
    object_size: int | None
    error_code: str
    request_length: int | None
    owner: str  # the bucket owner's id
    storage_class: str
    access_key_id: str
    bucket_arn: str


def format_line(e: LogEntry) -> str:
    when = time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(e.epoch_s))
    fields = [
        e.remote_ip or "-",
        "-",
        "-",
        when,
        _quoted(e.request_line),
        str(e.status),
        str(e.sent_bytes),
        str(e.request_ms),
        _quoted(e.referer),
        _quoted(e.user_agent),
        _quoted(e.host),
        _quoted(e.request_id),
        _quoted("true"),
        _quoted(e.requester),
        _quoted(e.operation),
        _quoted(e.bucket),
        _quoted(e.key),
        "-" if e.object_size is None else str(e.object_size),
        str(e.request_ms),
        _quoted(e.error_code),
        "-" if e.request_length is None else str(e.request_length),
        _quoted(e.owner),
        "-",
        _quoted("-"),
        _quoted(e.storage_class),
        _quoted("-"),
        _quoted("-"),
        _quoted(e.access_key_id),
        _quoted(e.bucket_arn),
    ]
    return " ".join(fields)
