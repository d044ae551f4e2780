"""Object tags, shared by both dialects: the stored form and the OSS dialect's rules.

Stored with each object (and upload) as the header form, URL-encoded: `"k1=v1&k2=v2"` ('' for none), so
that x-oss-tagging / x-amz-tagging can be copied as is and GetObjectTagging keeps the order tags were given.

OSS's rules (PutObjectTagging, x-oss-tagging): at most 10 tags, keys 1-128 characters and values up to 256,
keys unique, and both made of letters (any script), digits, spaces and `+ - = . _ : /`. In the header, a
pair is `key` or `key=value`, URL-encoded. S3's rules differ a little (ossbox/http/s3/common.py).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote

from ossbox.core.errors import OSSError, invalid_argument
from ossbox.protocol.configs import tagging

MAX_TAGS = 10
MAX_KEY = 128
MAX_VALUE = 256
_SPECIAL = frozenset(" +-=._:/")

Pairs = list[tuple[str, str]]


def encode(pairs: Pairs) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def decode(stored: str) -> Pairs:
    return parse_qsl(stored, keep_blank_values=True) if stored else []


def count(stored: str) -> int:
    return stored.count("&") + 1 if stored else 0


def _allowed(text: str) -> bool:
    return all(ch.isalnum() or ch in _SPECIAL for ch in text)


def _invalid_tag(message: str) -> OSSError:
    return OSSError(400, "InvalidTag", message)


def check_oss(pairs: Pairs) -> str:
    """OSS's limits on a tag set; returns its stored form."""
    if len(pairs) > MAX_TAGS:
        raise OSSError(400, "BadRequest", f"Object tags cannot be greater than {MAX_TAGS}.")
    seen: set[str] = set()
    for key, value in pairs:
        if not 1 <= len(key) <= MAX_KEY or not _allowed(key):
            raise _invalid_tag("The TagKey you have provided is invalid.")
        if len(value) > MAX_VALUE or not _allowed(value):
            raise _invalid_tag("The TagValue you have provided is invalid.")
        if key in seen:
            raise _invalid_tag("Cannot provide multiple Tags with the same key.")
        seen.add(key)
    return encode(pairs)


def from_oss_header(text: str) -> str:
    """x-oss-tagging (`k1=v1&k2`, URL-encoded) checked; its stored form."""
    pairs: Pairs = []
    for item in text.split("&") if text else []:
        key, sep, value = item.partition("=")
        if "=" in value:
            raise invalid_argument(
                "The x-oss-tagging header is not in key or key=value form.", "x-oss-tagging", text
            )
        pairs.append((unquote(key), unquote(value) if sep else ""))
    return check_oss(pairs)


def from_xml(body: bytes) -> str:
    """PutObjectTagging's `<Tagging><TagSet><Tag><Key/><Value/></Tag>...` checked; its stored form."""
    return check_oss(tagging.read_pairs(body))


def tag_set_xml(stored: str) -> str:
    """The `<TagSet>` of GetObjectTagging (the same element in both dialects)."""
    return tagging.tag_set(decode(stored))
