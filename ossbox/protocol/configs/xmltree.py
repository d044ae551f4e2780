"""Small helpers shared by the configuration parsers: element text, booleans, integers, re-serialising."""

from __future__ import annotations

import calendar
import re
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


def positive(value: str, name: str) -> int:
    """A count of days and the like: a whole number from 1."""
    if not value.isdigit() or int(value) < 1:
        raise invalid_argument(f"{name} must be a positive integer.", name, value)
    return int(value)


_MIDNIGHT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T00:00:00(?:\.000)?Z$")


def midnight_ms(value: str, name: str) -> int:
    """A UTC midnight in ISO 8601 form (2024-01-01T00:00:00.000Z), as epoch milliseconds."""
    m = _MIDNIGHT.match(value)
    if not m:
        raise invalid_argument(
            f"{name} must be a UTC midnight in ISO 8601 form, such as 2024-01-01T00:00:00.000Z.", name, value
        )
    try:
        return calendar.timegm((int(m[1]), int(m[2]), int(m[3]), 0, 0, 0)) * 1000
    except (ValueError, OverflowError) as exc:
        raise invalid_argument(f"{name} is not a valid date.", name, value) from exc


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
