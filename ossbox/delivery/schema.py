"""Which Tablestore values a Parquet column takes, and the schema of an "auto" task.

Tablestore's types map as Boolean -> BOOL, Integer -> INT64, Double -> DOUBLE, String -> UTF8. The logical
types take (see docs/delivery.md):
    DATE               Integer days since 1970-01-01, or a String YYYY-MM-DD
    DECIMAL(p,s)       Integer, or a String decimal number that fits p digits with s after the point
    TIME_MILLIS/MICROS Integer ms/us since midnight, or a String HH:MM:SS[.fraction]
    TIMESTAMP_MILLIS/MICROS  Integer ms/us since the epoch, or a String RFC 3339 time
Anything else is dirty data: the value is dropped (the column is null in that row) and counted.
Values are converted to what pyarrow stores (ints for dates and times, Decimal for decimals).
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Callable

from ossbox.delivery.eventtime import parse_rfc3339_us
from ossbox.delivery.model import Column, DataType, Encoding

# A value that does not fit its column.
DIRTY: object = object()
Converter = Callable[[object], object]

_DAY_MS = 86_400_000
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$")
_EPOCH_DATE = datetime.date(1970, 1, 1)
# date32 and the INT64 bounds: values outside cannot be stored.
_MIN_DAYS, _MAX_DAYS = -(2**31), 2**31 - 1
_MIN_I64, _MAX_I64 = -(2**63), 2**63 - 1


def _bool(v: object) -> object:
    return v if type(v) is bool else DIRTY


def _int64(v: object) -> object:
    return v if type(v) is int else DIRTY


def _double(v: object) -> object:
    return v if type(v) is float else DIRTY


def _utf8(v: object) -> object:
    return v if type(v) is str else DIRTY


def _date(v: object) -> object:
    if type(v) is int:
        return v if _MIN_DAYS <= v <= _MAX_DAYS else DIRTY
    if type(v) is str and (m := _DATE.match(v)):
        try:
            return (datetime.date(int(m[1]), int(m[2]), int(m[3])) - _EPOCH_DATE).days
        except ValueError:
            return DIRTY
    return DIRTY


def _time_of_day(v: object, per_second: int) -> object:
    limit = 86_400 * per_second
    if type(v) is int:
        return v if 0 <= v < limit else DIRTY
    if type(v) is str and (m := _TIME.match(v)):
        hours, minutes, seconds = int(m[1]), int(m[2]), int(m[3])
        if hours > 23 or minutes > 59 or seconds > 59:
            return DIRTY
        fraction = int(((m[4] or "") + "000000000")[:9])  # nanoseconds
        return (hours * 3600 + minutes * 60 + seconds) * per_second + fraction * per_second // 10**9
    return DIRTY


def _timestamp(v: object, per_second: int) -> object:
    if type(v) is int:
        return v if _MIN_I64 <= v <= _MAX_I64 else DIRTY
    if type(v) is str:
        micros = parse_rfc3339_us(v)
        if micros is None:
            return DIRTY
        return micros if per_second == 1_000_000 else micros // 1000
    return DIRTY


def _decimal(precision: int, scale: int) -> Converter:
    quantum = decimal.Decimal(1).scaleb(-scale)
    context = decimal.Context(prec=precision + 2)

    def convert(v: object) -> object:
        if type(v) is int:
            d = decimal.Decimal(v)
        elif type(v) is str:
            try:
                d = decimal.Decimal(v.strip())
            except decimal.InvalidOperation:
                return DIRTY
        else:
            return DIRTY
        if not d.is_finite():
            return DIRTY
        try:
            q = d.quantize(quantum, context=context)
        except decimal.InvalidOperation:  # too many digits for the context
            return DIRTY
        if q != d or len(q.as_tuple().digits) > precision:
            return DIRTY  # digits would be lost
        return q

    return convert


def converter(column: Column) -> Converter:
    t = column.type
    if t is DataType.BOOL:
        return _bool
    if t is DataType.INT64:
        return _int64
    if t is DataType.DOUBLE:
        return _double
    if t is DataType.UTF8:
        return _utf8
    if t is DataType.DATE:
        return _date
    if t is DataType.DECIMAL:
        return _decimal(*column.decimal())
    if t is DataType.TIME_MILLIS:
        return lambda v: _time_of_day(v, 1000)
    if t is DataType.TIME_MICROS:
        return lambda v: _time_of_day(v, 1_000_000)
    if t is DataType.TIMESTAMP_MILLIS:
        return lambda v: _timestamp(v, 1000)
    return lambda v: _timestamp(v, 1_000_000)


# ------------------------------------------------------------------------------------------- auto schema
# Tablestore column types (table meta) and value types -> the Parquet type an auto schema gives them.
# BINARY has no Parquet type in the delivery API: such columns are not delivered.
TABLE_TYPES = {
    "INTEGER": DataType.INT64,
    "STRING": DataType.UTF8,
    "DOUBLE": DataType.DOUBLE,
    "BOOLEAN": DataType.BOOL,
}


def type_of_value(value: object) -> DataType | None:
    t = type(value)
    if t is bool:
        return DataType.BOOL
    if t is int:
        return DataType.INT64
    if t is float:
        return DataType.DOUBLE
    if t is str:
        return DataType.UTF8
    return None


def auto_column(name: str, data_type: DataType) -> Column:
    return Column(name, name, data_type, Encoding.PLAIN)
