"""Instants and intervals as Druid prints them (Joda's ISO format in UTC), for any year.

Druid writes interval ends with `DateTime.toString()`: `2015-01-01T00:00:00.000Z`, at least four year digits,
a minus sign before negative years and more digits past 9999 (its "eternity" interval runs from
`-146136543-09-08T08:23:32.096Z` to `146140482-04-24T15:36:27.903Z`). Python's datetime stops at year 9999,
so instants are kept as integer milliseconds and converted with proleptic Gregorian day arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ossbox.deepstorage.errors import SegmentFormatError

_MS_PER_DAY = 86_400_000

_INSTANT = re.compile(
    r"(?P<year>[+-]?\d{4,9})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)


def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar (year 0 exists).
    y -= m <= 2
    era = y // 400  # floor division: Hinnant's C++ needs a correction for negatives, Python does not
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def format_instant(ms: int) -> str:
    """`2015-01-01T00:00:00.000Z` for an epoch-millisecond instant, exactly as Joda prints it in UTC."""
    days, rem = divmod(ms, _MS_PER_DAY)
    y, m, d = _civil_from_days(days)
    hh, rem = divmod(rem, 3_600_000)
    mm, rem = divmod(rem, 60_000)
    ss, frac = divmod(rem, 1000)
    year = f"-{-y:04d}" if y < 0 else f"{y:04d}"
    return f"{year}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{frac:03d}Z"


def parse_instant(text: str) -> int:
    """Epoch milliseconds of an ISO-8601 instant (`2015`, `2015-01`, `2015-01-01T10:00:00.5+08:00`, ...).

    As with Joda's parser, missing parts are the start of the period; no zone means UTC (Druid's default).
    """
    match = _INSTANT.fullmatch(text.strip())
    if match is None:
        raise SegmentFormatError(f"not an ISO-8601 instant: {text!r}")
    g = match.groupdict()
    month, day = int(g["month"] or 1), int(g["day"] or 1)
    hour, minute, second = int(g["hour"] or 0), int(g["minute"] or 0), int(g["second"] or 0)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
        raise SegmentFormatError(f"not a valid date and time: {text!r}")
    year = int(g["year"])
    if day > _days_in_month(year, month):
        raise SegmentFormatError(f"not a valid date: {text!r}")
    millis = int((g["fraction"] or "0").ljust(3, "0")[:3])
    offset_ms = _zone_offset_ms(g["zone"])
    days = _days_from_civil(year, month, day)
    return days * _MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis - offset_ms


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _zone_offset_ms(zone: str | None) -> int:
    if not zone or zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return sign * (hours * 60 + minutes) * 60_000


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open time range [start, end) in epoch milliseconds, as a Druid segment covers."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            start, end = format_instant(self.start_ms), format_instant(self.end_ms)
            raise SegmentFormatError(f"interval end {end} is not after its start {start}")

    @classmethod
    def parse(cls, text: str) -> Interval:
        """`start/end` as Druid's JSON writes it (both ends ISO-8601)."""
        start, sep, end = text.partition("/")
        if not sep or not start or not end:
            raise SegmentFormatError(f"an interval is START/END in ISO-8601, got {text!r}")
        return cls(parse_instant(start), parse_instant(end))

    @property
    def start(self) -> str:
        return format_instant(self.start_ms)

    @property
    def end(self) -> str:
        return format_instant(self.end_ms)

    def __str__(self) -> str:
        """Druid's JSON form: `2015-01-01T00:00:00.000Z/2016-01-01T00:00:00.000Z`."""
        return f"{self.start}/{self.end}"

    @property
    def storage_form(self) -> str:
        """The key component Druid's pushers write: `<start>_<end>`."""
        return f"{self.start}_{self.end}"

    @classmethod
    def parse_storage_form(cls, text: str) -> Interval:
        start, sep, end = text.partition("_")
        if not sep or "_" in end:
            raise SegmentFormatError(f"not a Druid interval directory (START_END): {text!r}")
        return cls(parse_instant(start), parse_instant(end))
