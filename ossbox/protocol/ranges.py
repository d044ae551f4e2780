"""OSS's Range rules for GetObject."""

from __future__ import annotations

from ossbox.core.errors import OSSError


def _invalid() -> OSSError:
    return OSSError(416, "InvalidRange", "The requested range cannot be satisfied.")


def parse_range(header: str | None, size: int, standard: bool) -> tuple[int, int] | None:
    """(first, last) inclusive, or None for the whole object.

    By default OSS ignores a range it cannot satisfy and returns the whole object (200). With
    `x-oss-range-behavior: standard` an end past the object is clamped and an unsatisfiable start is
    416 InvalidRange.
    """
    if not header:
        return None
    spec = header.strip()
    if not spec.startswith("bytes="):
        return None
    spec = spec[6:].strip()
    if "," in spec:
        return None
    first_s, dash, last_s = spec.partition("-")
    first_s, last_s = first_s.strip(), last_s.strip()
    if not dash or (first_s and not first_s.isdigit()) or (last_s and not last_s.isdigit()):
        return None
    if not first_s:
        if not last_s:
            return None
        n = int(last_s)
        if n == 0 or size == 0:
            if standard:
                raise _invalid()
            return None
        if n > size:
            if standard:
                return (0, size - 1)
            return None
        return (size - n, size - 1)
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if first > last and last_s:
        if standard:
            raise _invalid()
        return None
    if first >= size:
        if standard:
            raise _invalid()
        return None
    if last >= size:
        if standard:
            return (first, size - 1)
        return None
    return (first, last)
