"""Java `.properties` files (Druid's runtime.properties), read the way java.util.Properties.load reads them.

Comments start with `#` or `!`; a key ends at the first unescaped `=`, `:` or whitespace; a line ending in an
odd number of backslashes continues on the next; `\\t \\n \\r \\f \\uXXXX` are escapes and any other escaped
character stands for itself. Later keys win, as they do in Java.
"""

from __future__ import annotations

from ossbox.deepstorage.errors import ConfigError

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_WHITESPACE = " \t\f"


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending: str | None = None
    for natural in text.splitlines():
        line = natural.lstrip(_WHITESPACE) if pending is not None else natural
        if pending is None:
            stripped = line.lstrip(_WHITESPACE)
            if not stripped or stripped[0] in "#!":
                continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending = (pending or "") + line[:-1]
            continue
        lines.append((pending or "") + line)
        pending = None
    if pending is not None:
        lines.append(pending)
    return lines


def _unescape(raw: str, where: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\" or i + 1 == len(raw):
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt == "u":
            digits = raw[i + 2 : i + 6]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ConfigError(f"malformed \\uXXXX escape in {where}")
            out.append(chr(int(digits, 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _split_key(line: str) -> tuple[str, str]:
    line = line.lstrip(_WHITESPACE)
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "=:" or ch in _WHITESPACE:
            break
        i += 1
    key, rest = line[:i], line[i:]
    rest = rest.lstrip(_WHITESPACE)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_WHITESPACE)
    return key, rest


def parse_properties(text: str, source: str = "properties") -> dict[str, str]:
    """Parse the text of a `.properties` file into a dict (later duplicates win)."""
    result: dict[str, str] = {}
    for number, line in enumerate(_logical_lines(text), start=1):
        raw_key, raw_value = _split_key(line)
        key = _unescape(raw_key, f"{source} (entry {number})")
        result[key] = _unescape(raw_value, f"{source} (value of {key})")
    return result
