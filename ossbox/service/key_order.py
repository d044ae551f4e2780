"""Key order helpers shared by the listings."""

from __future__ import annotations


def prefix_successor(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix`."""
    last = prefix[-1]
    if ord(last) >= 0x10FFFF:
        return prefix_successor(prefix[:-1]) if len(prefix) > 1 else prefix + "\U0010ffff"
    nxt = chr(ord(last) + 1)
    if "\ud800" <= nxt <= "\udfff":
        nxt = "\ue000"
    return prefix[:-1] + nxt
