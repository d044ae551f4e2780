"""Event-time values: the column that, when configured, places a row in its time partition.

The formats carry Go's layout names (the service that defined them is written in Go):
    RFC822   02 Jan 06 15:04 MST          (also with a numeric zone, -0700)
    RFC850   Monday, 02-Jan-06 15:04:05 MST
    RFC1123  Mon, 02 Jan 2006 15:04:05 MST (also with a numeric zone)
    RFC3339  2006-01-02T15:04:05Z07:00    (fractional seconds allowed)
    Unix     seconds since the epoch, as an integer (or a string of digits)
As Go's time.Parse does in UTC, a zone abbreviation other than a numeric offset counts as offset zero.
"""

from __future__ import annotations

import datetime
import re

from ossbox.delivery.model import TimeFormat

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONE = r"(?P<zone>[A-Za-z]{1,5}|[+-]\d{4})"
_CLOCK = r"(?P<H>\d{2}):(?P<M>\d{2})"
_DAY_MONTH = r"(?P<d>\d{2})(?P<sep>[ -])(?P<mon>[A-Za-z]{3})(?P=sep)"
_PATTERNS = {
    TimeFormat.RFC822: re.compile(
        rf"^(?P<d>\d{{2}}) (?P<mon>[A-Za-z]{{3}}) (?P<y>\d{{2}}) {_CLOCK} {_ZONE}$"
    ),
    TimeFormat.RFC850: re.compile(
        rf"^[A-Za-z]+, {_DAY_MONTH}(?P<y>\d{{2}}) {_CLOCK}:(?P<S>\d{{2}}) {_ZONE}$"
    ),
    TimeFormat.RFC1123: re.compile(
        rf"^[A-Za-z]{{3}}, {_DAY_MONTH}(?P<y>\d{{4}}) {_CLOCK}:(?P<S>\d{{2}}) {_ZONE}$"
    ),
}
_RFC3339 = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[Tt](?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?P<f>\.\d{1,9})?"
    r"(?P<zone>[Zz]|[+-]\d{2}:\d{2})$"
)


def _offset(zone: str) -> datetime.timedelta:
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return -delta if zone[0] == "-" else delta
    return datetime.timedelta(0)  # UTC, GMT, Z or an abbreviation Go would not know in UTC


def _year(text: str) -> int:
    if len(text) == 4:
        return int(text)
    two = int(text)
    return 1900 + two if two >= 69 else 2000 + two  # Go's rule for two-digit years


def parse_event_time(value: object, fmt: TimeFormat) -> int | None:
    """Milliseconds since the epoch, or None when the value is not a time in that format."""
    if fmt is TimeFormat.UNIX:
        if isinstance(value, int) and not isinstance(value, bool):
            return value * 1000
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
            return int(value.strip()) * 1000
        return None
    if not isinstance(value, str):
        return None
    if fmt is TimeFormat.RFC3339:
        micros = parse_rfc3339_us(value)
        return None if micros is None else micros // 1000
    m = _PATTERNS[fmt].match(value.strip())
    month = _MONTHS.get(m["mon"].lower()) if m else None
    if m is None or month is None:
        return None
    seconds = int(m["S"]) if m.groupdict().get("S") else 0
    try:
        when = datetime.datetime(_year(m["y"]), month, int(m["d"]), int(m["H"]), int(m["M"]), seconds)
    except ValueError:  # day 31 of a short month, hour 25, ...
        return None
    moment = when.replace(tzinfo=datetime.UTC) - _offset(m["zone"])
    return (moment - _EPOCH) // datetime.timedelta(milliseconds=1)


def parse_rfc3339_us(value: str) -> int | None:
    """Microseconds since the epoch of an RFC 3339 time, or None."""
    m = _RFC3339.match(value.strip())
    if m is None:
        return None
    fraction = m.group("f")
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        when = datetime.datetime(
            int(m["y"]), int(m["mo"]), int(m["d"]), int(m["H"]), int(m["M"]), int(m["S"]), micros
        )
    except ValueError:
        return None
    moment = when.replace(tzinfo=datetime.UTC) - _offset(m["zone"])
    return (moment - _EPOCH) // datetime.timedelta(microseconds=1)
