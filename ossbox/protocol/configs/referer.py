"""Hotlink protection (PutBucketReferer): a Referer whitelist and blacklist.

As on OSS it applies to anonymous requests and to presigned URLs only (a request signed in its
Authorization header is never checked). The blacklist wins over the whitelist; an empty whitelist lets any
Referer through; `*` and `?` are wildcards; with AllowTruncateQueryString (the default) the Referer's query
string is ignored when matching. A pattern without a scheme also matches the Referer without its scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

from ossbox.core.errors import access_denied, invalid_argument
from ossbox.protocol import xml as X
from ossbox.protocol.configs.xmltree import boolean, texts

ROOT = "RefererConfiguration"
MAX_REFERERS = 100
MAX_REFERER_LENGTH = 1024


@dataclass(frozen=True)
class RefererConfig:
    allow_empty: bool
    allow_truncate_query: bool
    whitelist: tuple[str, ...]
    blacklist: tuple[str, ...]


def _entries(doc: Element, path: str) -> tuple[str, ...]:
    found = tuple(r for r in texts(doc, path) if r)
    if len(found) > MAX_REFERERS:
        raise invalid_argument(f"At most {MAX_REFERERS} Referer entries are allowed.", "Referer", "")
    for entry in found:
        if len(entry) > MAX_REFERER_LENGTH:
            raise invalid_argument("A Referer entry is too long.", "Referer", entry[:64])
    return found


def parse(body: bytes) -> RefererConfig:
    doc = X.parse(body, ROOT)
    return RefererConfig(
        boolean(doc, "AllowEmptyReferer", True),
        boolean(doc, "AllowTruncateQueryString", True),
        _entries(doc, "RefererList/Referer"),
        _entries(doc, "RefererBlacklist/Referer"),
    )


def render(config: RefererConfig) -> str:
    inner = X.el("AllowEmptyReferer", str(config.allow_empty).lower())
    inner += X.el("AllowTruncateQueryString", str(config.allow_truncate_query).lower())
    inner += "<RefererList>" + "".join(X.el("Referer", r) for r in config.whitelist) + "</RefererList>"
    inner += (
        "<RefererBlacklist>" + "".join(X.el("Referer", r) for r in config.blacklist) + "</RefererBlacklist>"
    )
    return f"{X.XML_DECL}<{ROOT}>{inner}</{ROOT}>"


@lru_cache(maxsize=1024)
def load(document: str) -> RefererConfig:
    doc = SafeET.fromstring(document.encode("utf-8"))
    return RefererConfig(
        boolean(doc, "AllowEmptyReferer", True),
        boolean(doc, "AllowTruncateQueryString", True),
        tuple(texts(doc, "RefererList/Referer")),
        tuple(texts(doc, "RefererBlacklist/Referer")),
    )


@lru_cache(maxsize=4096)
def _pattern(entry: str) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in entry)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def _matches(entry: str, referer: str) -> bool:
    if _pattern(entry).fullmatch(referer):
        return True
    if "://" not in entry and "://" in referer:
        return _pattern(entry).fullmatch(referer.split("://", 1)[1]) is not None
    return False


def allows(config: RefererConfig, referer: str | None) -> bool:
    if not referer:
        return config.allow_empty
    if config.allow_truncate_query:
        referer = referer.split("?", 1)[0]
    if any(_matches(entry, referer) for entry in config.blacklist):
        return False
    return not config.whitelist or any(_matches(entry, referer) for entry in config.whitelist)


def check(config: RefererConfig, referer: str | None) -> None:
    if not allows(config, referer):
        raise access_denied("You are denied by bucket referer policy.")
