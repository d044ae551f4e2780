"""XML in and out. Responses are built as strings (fast, exact, no namespaces); request bodies are parsed
with defusedxml so that entity tricks are refused."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ossbox.core.errors import malformed_xml

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def esc(value: object) -> str:
    return str(value).translate(_ESCAPES)


def el(name: str, value: object) -> str:
    return f"<{name}>{esc(value)}</{name}>"


def els(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f"<{n}>{esc(v)}</{n}>" for n, v in pairs)


def document(root: str, inner: str) -> bytes:
    return f"{XML_DECL}<{root}>{inner}</{root}>".encode()


def url_encode(value: str) -> str:
    """encoding-type=url: percent-encode everything but unreserved characters (space as %20)."""
    return quote(value, safe="/-_.~")


def parse(body: bytes, root: str) -> Element:
    """Parse a request body whose root element must be `root`."""
    if not body.strip():
        raise malformed_xml()
    try:
        tree: Element = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise malformed_xml() from exc
    if tree.tag != root:
        raise malformed_xml(f"The root element must be {root}.")
    return tree


def child_text(elem: Element, name: str) -> str | None:
    found = elem.find(name)
    if found is None:
        return None
    return found.text or ""
