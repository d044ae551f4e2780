"""XML in and out. Responses are built as strings (fast, exact, no namespaces); request bodies are parsed
with defusedxml so that entity tricks are refused."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ossbox.core.errors import malformed_xml

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry at all, not even as character references: C0 controls but tab, newline and
# carriage return, and the noncharacters U+FFFE and U+FFFF. A response must stay a document every client can
# parse, so in element text they become U+FFFD, the replacement character (as Go's encoding/xml, and so
# MinIO, does). The exact key is always available with encoding-type=url, which percent-encodes it (botocore
# asks for that on every listing; oss2 too).
_UNREPRESENTABLE = [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [0xFFFE, 0xFFFF]
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        # A raw CR would reach the client as LF (XML's line-end normalisation); a reference survives it.
        "\r": "&#13;",
        **{chr(c): "\ufffd" for c in _UNREPRESENTABLE},
    }
)


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


# Control characters XML 1.0 forbids. OSS accepts them raw inside request bodies (oss2 writes keys such as
# "a\x0cb" unescaped into DeleteMultipleObjects), so they are swapped for private-use stand-ins before
# parsing and swapped back in the parsed text. Bytes 0x00-0x1F never occur inside multi-byte UTF-8.
_FORBIDDEN_CONTROLS = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_STAND_IN_BASE = 0xF0000  # Supplementary Private Use Area-A
# boto3 and oss2 write U+FFFE and U+FFFF raw into request bodies too (as UTF-8): stand-ins as well.
_NONCHARACTERS = {b"\xef\xbf\xbe": 0xFFFE, b"\xef\xbf\xbf": 0xFFFF}
_TO_STAND_IN = {bytes([c]): chr(_STAND_IN_BASE + c).encode() for c in _FORBIDDEN_CONTROLS} | {
    raw: chr(_STAND_IN_BASE + 0x20 + i).encode() for i, raw in enumerate(_NONCHARACTERS)
}
_FROM_STAND_IN = str.maketrans(
    {_STAND_IN_BASE + c: chr(c) for c in _FORBIDDEN_CONTROLS}
    | {_STAND_IN_BASE + 0x20 + i: chr(c) for i, c in enumerate(_NONCHARACTERS.values())}
)


def _shield_controls(body: bytes) -> tuple[bytes, bool]:
    if not any(c in body for c in _FORBIDDEN_CONTROLS) and not any(n in body for n in _NONCHARACTERS):
        return body, False
    if any(s in body for s in _TO_STAND_IN.values()):
        return body, False  # the stand-ins themselves occur: parse as is (and likely refuse)
    for raw, stand_in in _TO_STAND_IN.items():
        body = body.replace(raw, stand_in)
    return body, True


def _restore_controls(tree: Element) -> None:
    for node in tree.iter():
        if node.text:
            node.text = node.text.translate(_FROM_STAND_IN)
        if node.tail:
            node.tail = node.tail.translate(_FROM_STAND_IN)


_LONE_CR = re.compile(rb"\r(?!\n)")


def parse(body: bytes, root: str) -> Element:
    """Parse a request body whose root element must be `root`."""
    if not body.strip():
        raise malformed_xml()
    body, shielded = _shield_controls(body)
    if b"\r" in body:
        # XML turns a raw CR into LF; a key with a lone CR (written raw by oss2 and boto3) keeps it as a
        # character reference. CRLF is left alone: it is how some clients break lines between elements.
        body = _LONE_CR.sub(b"&#13;", body)
    try:
        tree: Element = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise malformed_xml() from exc
    if tree.tag != root:
        raise malformed_xml(f"The root element must be {root}.")
    if shielded:
        _restore_controls(tree)
    return tree


def child_text(elem: Element, name: str) -> str | None:
    found = elem.find(name)
    if found is None:
        return None
    return found.text or ""
