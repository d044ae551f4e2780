"""The two timestamp formats OSS uses on the wire."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(epoch_s: float) -> str:
    """RFC 1123, as in Last-Modified and Date: 'Sat, 05 Dec 2015 11:10:29 GMT'."""
    t = time.gmtime(epoch_s)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def iso8601(epoch_ms: int) -> str:
    """XML timestamps: exactly 'YYYY-MM-DDTHH:MM:SS.000Z' (oss2's parser wants the literal .000)."""
    t = time.gmtime(epoch_ms // 1000)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.000Z"
    )


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


class DateCache:
    """The Date header changes once a second; formatting it per request is wasted work."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def now(self) -> str:
        s = int(time.time())
        if s != self._second:
            self._second = s
            self._value = http_date(s)
        return self._value
