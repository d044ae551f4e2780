"""CORS rules (PutBucketCors): validation, the stored document, and matching a request against the rules.

OSS tries the rules in order and uses the first one whose AllowedOrigin matches the Origin, whose
AllowedMethod holds the method (the actual one, or Access-Control-Request-Method of a preflight) and whose
AllowedHeader entries cover every header a preflight announces. Origins and headers may hold one `*`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import defusedxml.ElementTree as SafeET

from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.protocol import xml as X
from ossbox.protocol.configs.xmltree import boolean, text, texts

MAX_RULES = 10
METHODS = ("GET", "PUT", "DELETE", "POST", "HEAD")
ROOT = "CORSConfiguration"


@dataclass(frozen=True)
class CorsRule:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    max_age: int | None


@dataclass(frozen=True)
class CorsConfig:
    rules: tuple[CorsRule, ...]
    response_vary: bool


def parse(body: bytes) -> CorsConfig:
    """A PutBucketCors body, validated (raises OSSError with OSS's code)."""
    doc = X.parse(body, ROOT)
    nodes = doc.findall("CORSRule")
    if not nodes:
        raise malformed_xml("A CORS configuration needs at least one CORSRule.")
    if len(nodes) > MAX_RULES:
        raise OSSError(
            400, "CORSRuleBeyondLimit", f"The CORS configuration may hold at most {MAX_RULES} rules."
        )
    rules = []
    for node in nodes:
        origins = tuple(texts(node, "AllowedOrigin"))
        methods = tuple(texts(node, "AllowedMethod"))
        if not origins or not all(origins):
            raise invalid_argument("Each CORSRule needs at least one AllowedOrigin.", "AllowedOrigin", "")
        if not methods:
            raise invalid_argument("Each CORSRule needs at least one AllowedMethod.", "AllowedMethod", "")
        for origin in origins:
            if origin.count("*") > 1:
                raise invalid_argument("AllowedOrigin may hold at most one '*'.", "AllowedOrigin", origin)
        for method in methods:
            if method not in METHODS:
                raise invalid_argument(f"Unsupported method is {method}.", "AllowedMethod", method)
        headers = tuple(texts(node, "AllowedHeader"))
        for header in headers:
            if header.count("*") > 1:
                raise invalid_argument("AllowedHeader may hold at most one '*'.", "AllowedHeader", header)
        expose = tuple(texts(node, "ExposeHeader"))
        for header in expose:
            if "*" in header:
                raise invalid_argument("ExposeHeader may not hold '*'.", "ExposeHeader", header)
        ages = texts(node, "MaxAgeSeconds")
        if len(ages) > 1:
            raise invalid_argument("A CORSRule may hold one MaxAgeSeconds.", "MaxAgeSeconds", ages[1])
        max_age = None
        if ages:
            if not ages[0].isdigit():
                raise invalid_argument("MaxAgeSeconds is invalid.", "MaxAgeSeconds", ages[0])
            max_age = int(ages[0])
        rules.append(CorsRule(origins, methods, headers, expose, max_age))
    return CorsConfig(tuple(rules), boolean(doc, "ResponseVary", False))


def render(config: CorsConfig) -> str:
    """The stored document, which is also GetBucketCors's answer."""
    vary = X.el("ResponseVary", str(config.response_vary).lower())
    return f"{X.XML_DECL}<{ROOT}>{rules_xml(config)}{vary}</{ROOT}>"


def rules_xml(config: CorsConfig) -> str:
    """The <CORSRule> elements (S3's GetBucketCors answers these alone)."""
    out = []
    for rule in config.rules:
        inner = "".join(X.el("AllowedOrigin", o) for o in rule.origins)
        inner += "".join(X.el("AllowedMethod", m) for m in rule.methods)
        inner += "".join(X.el("AllowedHeader", h) for h in rule.headers)
        inner += "".join(X.el("ExposeHeader", h) for h in rule.expose)
        if rule.max_age is not None:
            inner += X.el("MaxAgeSeconds", rule.max_age)
        out.append(f"<CORSRule>{inner}</CORSRule>")
    return "".join(out)


@lru_cache(maxsize=1024)
def load(document: str) -> CorsConfig:
    """A stored document (validated when it was stored), parsed once per process."""
    doc = SafeET.fromstring(document.encode("utf-8"))
    rules = []
    for node in doc.findall("CORSRule"):
        age = text(node, "MaxAgeSeconds")
        rules.append(
            CorsRule(
                tuple(texts(node, "AllowedOrigin")),
                tuple(texts(node, "AllowedMethod")),
                tuple(texts(node, "AllowedHeader")),
                tuple(texts(node, "ExposeHeader")),
                int(age) if age else None,
            )
        )
    return CorsConfig(tuple(rules), boolean(doc, "ResponseVary", False))


def _wildcard(pattern: str, value: str) -> bool:
    """Case-insensitive match with at most one '*'."""
    pattern, value = pattern.lower(), value.lower()
    star = pattern.find("*")
    if star < 0:
        return pattern == value
    head, tail = pattern[:star], pattern[star + 1 :]
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def match(config: CorsConfig, origin: str, method: str, request_headers: list[str]) -> CorsRule | None:
    for rule in config.rules:
        if method not in rule.methods:
            continue
        if not any(_wildcard(o, origin) for o in rule.origins):
            continue
        if all(any(_wildcard(h, wanted) for h in rule.headers) for wanted in request_headers):
            return rule
    return None


def split_header_list(value: str) -> list[str]:
    return [h.strip().lower() for h in value.split(",") if h.strip()]


def response_headers(
    config: CorsConfig, rule: CorsRule, origin: str, request_headers: list[str] | None
) -> list[tuple[str, str]]:
    """The Access-Control-* headers for a matched request; `request_headers` only for a preflight."""
    headers = [
        ("Access-Control-Allow-Origin", "*" if "*" in rule.origins else origin),
        ("Access-Control-Allow-Methods", ", ".join(rule.methods)),
    ]
    if request_headers:
        headers.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    if rule.expose:
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule.expose)))
    if rule.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(rule.max_age)))
    if config.response_vary:
        headers.append(("Vary", "Origin"))
    return headers
