"""Static website hosting (PutBucketWebsite): index and error documents, and the routing rules' document.

What the request path uses is the index document (Suffix, SupportSubDir, Type) and the error document
(Key, HttpStatus). Routing rules are validated, stored and answered by GetBucketWebsite in OSS's form, but not
applied: mirroring needs an origin server and redirects are left to the client (docs/bucket-features.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

from ossbox.core.errors import invalid_argument, malformed_xml
from ossbox.protocol import xml as X
from ossbox.protocol.configs.xmltree import boolean, integer, serialise, text

ROOT = "WebsiteConfiguration"
MAX_ROUTING_RULES = 20
REDIRECT_TYPES = ("Mirror", "External", "AliCDN", "Internal")
REDIRECT_CODES = (301, 302, 307)


@dataclass(frozen=True)
class WebsiteConfig:
    index: str | None  # the index document's Suffix
    support_subdir: bool
    subdir_type: int  # 0: redirect to "dir/", 1: 404, 2: serve dir/<index> (SupportSubDir only)
    error_key: str | None
    error_status: int


def _index_and_error(doc: Element) -> WebsiteConfig:
    index_node = doc.find("IndexDocument")
    error_node = doc.find("ErrorDocument")
    index = text(index_node, "Suffix") if index_node is not None else None
    error_key = text(error_node, "Key") if error_node is not None else None
    subdir = boolean(index_node, "SupportSubDir", False) if index_node is not None else False
    subdir_type = integer(index_node, "Type", 0, 2, 0) if index_node is not None else 0
    status = integer(error_node, "HttpStatus", 0, 999, 404) if error_node is not None else 404
    return WebsiteConfig(index or None, subdir, subdir_type or 0, error_key or None, status or 404)


def parse(body: bytes) -> tuple[WebsiteConfig, str]:
    """A PutBucketWebsite body, validated: the configuration and the document to store."""
    doc = X.parse(body, ROOT)
    index_node = doc.find("IndexDocument")
    error_node = doc.find("ErrorDocument")
    rules_node = doc.find("RoutingRules")
    if index_node is None and error_node is None and rules_node is None:
        raise malformed_xml("A website configuration needs IndexDocument, ErrorDocument or RoutingRules.")
    if index_node is not None:
        suffix = text(index_node, "Suffix")
        if suffix is not None and (suffix == "" or "/" in suffix):
            raise invalid_argument("The index document suffix is invalid.", "Suffix", suffix)
        integer(index_node, "Type", 0, 2)
    if error_node is not None:
        status = text(error_node, "HttpStatus")
        if status and status not in ("200", "404"):
            raise invalid_argument("HttpStatus is Invalid", "HttpStatus", status)
    config = _index_and_error(doc)
    if rules_node is not None:
        _check_rules(rules_node)
    return config, _render(doc)


def _check_rules(rules_node: Element) -> None:
    rules = rules_node.findall("RoutingRule")
    if len(rules) > MAX_ROUTING_RULES:
        raise invalid_argument(f"At most {MAX_ROUTING_RULES} routing rules are allowed.", "RoutingRule", "")
    numbers: set[int] = set()
    for rule in rules:
        number = integer(rule, "RuleNumber", 1, 1 << 31)
        if number is None or number in numbers:
            raise invalid_argument("RuleNumber must be a unique positive integer.", "RuleNumber", "")
        numbers.add(number)
        condition = rule.find("Condition")
        redirect = rule.find("Redirect")
        if condition is None or redirect is None:
            raise malformed_xml("A RoutingRule needs a Condition and a Redirect.")
        integer(condition, "HttpErrorCodeReturnedEquals", 100, 599)
        kind = text(redirect, "RedirectType") or "External"
        if kind not in REDIRECT_TYPES:
            raise invalid_argument("The redirect type is invalid.", "RedirectType", kind)
        code = integer(redirect, "HttpRedirectCode", 0, 999)
        if code is not None and code not in REDIRECT_CODES:
            raise invalid_argument("HttpRedirectCode is invalid.", "HttpRedirectCode", str(code))
        if kind == "Mirror" and not (text(redirect, "MirrorURL") or "").startswith(("http://", "https://")):
            raise invalid_argument("A Mirror redirect needs an http(s) MirrorURL.", "MirrorURL", "")
        if text(redirect, "ReplaceKeyWith") and text(redirect, "ReplaceKeyPrefixWith"):
            raise invalid_argument(
                "ReplaceKeyWith and ReplaceKeyPrefixWith exclude each other.", "ReplaceKeyWith", ""
            )


def _render(doc: Element) -> str:
    """The stored document (also GetBucketWebsite's answer): what was sent, normalised as OSS answers it."""
    for redirect in doc.iter("Redirect"):
        if text(redirect, "RedirectType") == "Mirror":
            # For mirroring OSS answers PassQueryString with the value of MirrorPassQueryString.
            mirror = redirect.find("MirrorPassQueryString")
            current = redirect.find("PassQueryString")
            if mirror is not None:
                if current is None:
                    current = Element("PassQueryString")
                    redirect.insert(1, current)
                current.text = mirror.text
    inner = "".join(serialise(child) for child in doc)
    return f"{X.XML_DECL}<{ROOT}>{inner}</{ROOT}>"


@lru_cache(maxsize=1024)
def load(document: str) -> WebsiteConfig:
    return _index_and_error(SafeET.fromstring(document.encode("utf-8")))
