"""Parquet files of delivered rows, written with pyarrow: one row group, columns in the schema's order, each
with its configured encoding (PLAIN unless chosen otherwise), Snappy compression."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ossbox.delivery.model import Column, DataType, Encoding


def arrow_type(column: Column) -> pa.DataType:
    t = column.type
    if t is DataType.DECIMAL:
        precision, scale = column.decimal()
        return pa.decimal128(precision, scale)
    return _ARROW_TYPES[t]


_ARROW_TYPES: dict[DataType, pa.DataType] = {
    DataType.BOOL: pa.bool_(),
    DataType.INT64: pa.int64(),
    DataType.UTF8: pa.string(),
    DataType.DOUBLE: pa.float64(),
    DataType.DATE: pa.date32(),
    DataType.TIME_MILLIS: pa.time32("ms"),
    DataType.TIME_MICROS: pa.time64("us"),
    DataType.TIMESTAMP_MILLIS: pa.timestamp("ms", tz="UTC"),
    DataType.TIMESTAMP_MICROS: pa.timestamp("us", tz="UTC"),
}


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in columns])


def encode(columns: Sequence[Column], rows: Sequence[Sequence[object]]) -> bytes:
    """`rows` hold, per column in order, a value already converted for its type, or None."""
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    arrays = [pa.array(values, type=arrow_type(c)) for c, values in zip(columns, by_column, strict=True)]
    table = pa.Table.from_arrays(arrays, schema=arrow_schema(columns))
    dictionary = [c.name for c in columns if c.encoding is Encoding.PLAIN_DICTIONARY]
    encodings = {c.name: c.encoding.value for c in columns if c.encoding is not Encoding.PLAIN_DICTIONARY}
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        use_dictionary=dictionary or False,
        column_encoding=encodings or None,
        compression="snappy",
        row_group_size=max(1, len(rows)),
    )
    return sink.getvalue()
