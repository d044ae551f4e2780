"""Tag sets (`<Tagging><TagSet><Tag><Key/><Value/></Tag>...`): parsing with limits, and the stored form.

Bucket tags (PutBucketTagging): at most 20, keys 1-64 characters, values up to 128, keys unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import defusedxml.ElementTree as SafeET

from ossbox.core.errors import invalid_argument, malformed_xml
from ossbox.protocol import xml as X

ROOT = "Tagging"


@dataclass(frozen=True)
class TagLimits:
    max_tags: int
    max_key: int
    max_value: int


BUCKET_TAGS = TagLimits(20, 64, 128)
_RESERVED_PREFIXES = ("aliyun", "acs:", "http://", "https://")

Tags = tuple[tuple[str, str], ...]


def read_pairs(body: bytes) -> list[tuple[str, str]]:
    """The (key, value) pairs of a `<Tagging><TagSet>` document, in order, unchecked (a missing Value is
    ''). Bucket and object tags share the document; their limits differ."""
    doc = X.parse(body, ROOT)
    tag_set = doc.find("TagSet")
    if tag_set is None:
        raise malformed_xml("Tagging needs a TagSet.")
    tags: list[tuple[str, str]] = []
    for node in tag_set.findall("Tag"):
        key = X.child_text(node, "Key")
        value = X.child_text(node, "Value") or ""
        if key is None:
            raise malformed_xml("Every Tag needs a Key.")
        tags.append((key, value))
    return tags


def parse(body: bytes, limits: TagLimits) -> Tags:
    tags = read_pairs(body)
    check(tags, limits)
    return tuple(tags)


def check(tags: list[tuple[str, str]], limits: TagLimits) -> None:
    if len(tags) > limits.max_tags:
        raise invalid_argument(f"At most {limits.max_tags} tags are allowed.", "Tagging", str(len(tags)))
    seen: set[str] = set()
    for key, value in tags:
        if not 1 <= len(key) <= limits.max_key or key.lower().startswith(_RESERVED_PREFIXES):
            raise invalid_argument("The tag key is invalid.", "TagKey", key)
        if len(value) > limits.max_value:
            raise invalid_argument("The tag value is too long.", "TagValue", value)
        if key in seen:
            raise invalid_argument("Tag keys must be unique.", "TagKey", key)
        seen.add(key)


def tag_set(tags: Iterable[tuple[str, str]]) -> str:
    """The `<TagSet>` element (GetBucketTagging's and GetObjectTagging's, in both dialects)."""
    inner = "".join(f"<Tag>{X.el('Key', k)}{X.el('Value', v)}</Tag>" for k, v in tags)
    return f"<TagSet>{inner}</TagSet>"


def render(tags: Tags) -> str:
    return f"{X.XML_DECL}<{ROOT}>{tag_set(tags)}</{ROOT}>"


@lru_cache(maxsize=1024)
def load(document: str) -> Tags:
    doc = SafeET.fromstring(document.encode("utf-8"))
    return tuple(
        (X.child_text(t, "Key") or "", X.child_text(t, "Value") or "") for t in doc.findall("TagSet/Tag")
    )
