"""From a table row to a delivered row: the schema's columns with converted values, dirty values dropped
and counted, and the time partition (expanded prefix) the row goes to.

An auto schema starts with the table's primary key and predefined columns and appends every other column
the first time it is seen, typed by that first value; its columns are part of the task's committed
progress, so every file of a task agrees on each column's type.
"""

from __future__ import annotations

from dataclasses import dataclass

from ossbox.delivery.eventtime import parse_event_time
from ossbox.delivery.model import Column, DataType, Task
from ossbox.delivery.naming import expand_prefix, has_time_variables
from ossbox.delivery.schema import DIRTY, TABLE_TYPES, Converter, auto_column, converter, type_of_value
from ossbox.delivery.source import SourceRow
from ossbox.tables.snapshot import TableSchema


@dataclass(slots=True)
class ShapedRow:
    key: bytes
    partition: str  # the expanded prefix
    values: dict[str, object]  # destination column -> value for pyarrow
    size: int  # bytes it adds to a file, roughly (before encoding and compression)


def initial_auto_columns(table: TableSchema) -> list[list[str]]:
    columns: list[list[str]] = []
    for name, kind in [*table.primary_key, *table.defined]:
        data_type = TABLE_TYPES.get(kind)
        if data_type is not None:
            columns.append([name, data_type.value])
    return columns


def _size(value: object) -> int:
    return len(value) + 4 if isinstance(value, str) else 8


class RowShaper:
    def __init__(self, task: Task, auto_columns: list[list[str]]) -> None:
        self._config = task.config
        self._prefix = task.config.prefix
        self._partitioned = has_time_variables(self._prefix)
        self._event = task.config.event_time
        if task.config.auto_schema:
            self.columns = [auto_column(n, DataType(t)) for n, t in auto_columns]
        else:
            self.columns = list(task.config.schema)
        self._converters: list[tuple[Column, Converter]] = [(c, converter(c)) for c in self.columns]
        self._by_name = {c.source: i for i, c in enumerate(self.columns)}

    @property
    def auto_columns(self) -> list[list[str]]:
        return [[c.name, c.type.value] for c in self.columns] if self._config.auto_schema else []

    def _discover(self, name: str, value: object) -> bool:
        """Add a column to an auto schema; False if the value has no Parquet type (BINARY)."""
        data_type = type_of_value(value)
        if data_type is None:
            return False
        column = auto_column(name, data_type)
        self._by_name[name] = len(self.columns)
        self.columns.append(column)
        self._converters.append((column, converter(column)))
        return True

    def shape(self, row: SourceRow) -> tuple[ShapedRow | None, int]:
        """The delivered row (None: nothing of it is delivered) and the number of dirty values."""
        dirty = 0
        source: dict[str, object] = dict(row.columns)
        source.update(row.primary_key)
        values: dict[str, object] = {}
        size = 16
        if self._config.auto_schema:
            for name, value in source.items():
                if name not in self._by_name and not self._discover(name, value):
                    dirty += 1
                    continue
        for column, convert in self._converters:
            value = source.get(column.source)
            if value is None:
                continue
            converted = convert(value)
            if converted is DIRTY:
                dirty += 1
                continue
            values[column.name] = converted
            size += _size(value)
        when = row.write_ms
        if self._event is not None:
            event_ms = parse_event_time(source.get(self._event.column), self._event.format)
            if event_ms is None:
                dirty += 1  # no usable event time: the row is placed by its write time
            else:
                when = event_ms
        if not values:
            return None, dirty
        partition = expand_prefix(self._prefix, when) if self._partitioned else self._prefix
        return ShapedRow(row.key, partition, values, size), dirty
