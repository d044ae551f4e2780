"""Custom domains bound to a bucket (PutCname, ListCname, DeleteCname, CreateCnameToken, GetCnameToken).

A request whose Host is a bound domain is served as that bucket, virtual-hosted style. OSS asks for a TXT
record holding a token before it binds a domain; ossbox cannot look up DNS, so it hands out and remembers
tokens (for clients that create them first) but binds without checking them.

Stored per bucket as JSON: {"domains": {domain: {"modified_ms": ...}}, "tokens": {domain: {...}}}.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ossbox.core.errors import invalid_argument, malformed_xml
from ossbox.protocol import xml as X
from ossbox.protocol.configs.xmltree import text

ROOT = "BucketCnameConfiguration"
MAX_DOMAINS = 100
TOKEN_LIFETIME_MS = 72 * 3600 * 1000
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def parse_domain(body: bytes) -> str:
    doc = X.parse(body, ROOT)
    node = doc.find("Cname")
    if node is None:
        raise malformed_xml("BucketCnameConfiguration needs a Cname.")
    domain = (text(node, "Domain") or "").lower().rstrip(".")
    check_domain(domain)
    return domain


def check_domain(domain: str) -> None:
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise invalid_argument("The domain name is invalid.", "Domain", domain)
    if labels[-1].isdigit():
        raise invalid_argument("An IP address cannot be bound as a domain.", "Domain", domain)


def load(document: str | None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(document) if document else {}
    data.setdefault("domains", {})
    data.setdefault("tokens", {})
    return data


def dump(data: dict[str, Any]) -> str | None:
    """None when nothing is left to store."""
    if not data["domains"] and not data["tokens"]:
        return None
    return json.dumps(data, separators=(",", ":"), sort_keys=True)
