"""Small helpers shared by the configuration parsers: element text, booleans, integers, re-serialising."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.protocol import xml as X


def texts(parent: Element, name: str) -> list[str]:
    return [(e.text or "").strip() for e in parent.findall(name)]


def text(parent: Element, name: str) -> str | None:
    found = parent.find(name)
    return None if found is None else (found.text or "").strip()


def boolean(parent: Element, name: str, default: bool) -> bool:
    value = text(parent, name)
    if value is None or value == "":
        return default
    if value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    raise malformed_xml(f"{name} must be true or false.")


def integer(parent: Element, name: str, lo: int, hi: int, default: int | None = None) -> int | None:
    value = text(parent, name)
    if value is None or value == "":
        return default
    if not value.lstrip("-").isdigit() or not lo <= int(value) <= hi:
        raise invalid_argument(f"{name} is invalid.", name, value)
    return int(value)


def serialise(elem: Element) -> str:
    """The element and its children as compact XML; "True"/"False" written as OSS does (lower case)."""
    children = list(elem)
    if not children:
        value = (elem.text or "").strip()
        if value in ("True", "False", "TRUE", "FALSE"):
            value = value.lower()
        return f"<{elem.tag}>{X.esc(value)}</{elem.tag}>"
    return f"<{elem.tag}>" + "".join(serialise(c) for c in children) + f"</{elem.tag}>"


def require_root(doc: Element, root: str) -> None:
    if doc.tag != root:
        raise malformed_xml(f"The root element must be {root}.")


def too_many(code: str, message: str) -> OSSError:
    return OSSError(400, code, message)
