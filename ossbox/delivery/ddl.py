"""The console's "statement to create table": a Hive-style external table over a task's files.

The prefix's `name=$var` segments (year=$yyyy, ds=$yyyy$MM$dd, ...) become partition columns and the part
before the first time variable the LOCATION, so Hive, Spark, EMR or DLA find every partition after
`MSCK REPAIR TABLE`. Time directories that are not `name=value` ($yyyy/$MM/...) cannot be partition
columns; the statement then says so and points the table at the part before them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ossbox.delivery.model import TIME_VARIABLE, Column, DataType, Task

_HIVE_TYPES = {
    DataType.BOOL: "BOOLEAN",
    DataType.INT64: "BIGINT",
    DataType.UTF8: "STRING",
    DataType.DOUBLE: "DOUBLE",
    DataType.DATE: "DATE",
    DataType.TIME_MILLIS: "INT",  # Hive has no TIME type: milliseconds since midnight
    DataType.TIME_MICROS: "BIGINT",  # microseconds since midnight
    DataType.TIMESTAMP_MILLIS: "TIMESTAMP",
    DataType.TIMESTAMP_MICROS: "TIMESTAMP",
}


def hive_type(column: Column) -> str:
    if column.type is DataType.DECIMAL:
        precision, scale = column.decimal()
        return f"DECIMAL({precision},{scale})"
    return _HIVE_TYPES[column.type]


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def table_name(task: Task) -> str:
    return task.name.replace("-", "_")


def create_table_statement(task: Task, columns: Sequence[Column]) -> str:
    config = task.config
    segments = config.prefix.split("/")
    first_variable = next((i for i, s in enumerate(segments) if TIME_VARIABLE.search(s)), len(segments))
    base = "/".join(segments[:first_variable])
    partitions: list[str] = []
    unnamed: list[str] = []
    for segment in segments[first_variable:]:
        name, sep, _ = segment.partition("=")
        if sep and name and "$" not in name:
            partitions.append(name)
        else:
            unnamed.append(segment)
    name = _quote(table_name(task))
    lines = []
    if unnamed:
        lines.append(
            f"-- The prefix's directories {'/'.join(unnamed)} are not name=value, so they cannot be partition"
        )
        lines.append(
            "-- columns: the table reads every file below LOCATION (enable recursive directory reads), or"
        )
        lines.append("-- give the task a prefix such as year=$yyyy/month=$MM/day=$dd.")
    lines.append(f"CREATE EXTERNAL TABLE IF NOT EXISTS {name} (")
    body = [f"  {_quote(c.name)} {hive_type(c)}" for c in columns]
    lines.append(",\n".join(body))
    lines.append(")")
    if partitions and not unnamed:
        lines.append("PARTITIONED BY (" + ", ".join(f"{_quote(p)} STRING" for p in partitions) + ")")
    lines.append("STORED AS PARQUET")
    location = f"oss://{config.bucket}/{base}/" if base else f"oss://{config.bucket}/"
    lines.append(f"LOCATION '{location}';")
    if partitions and not unnamed:
        lines.append(f"MSCK REPAIR TABLE {name};")
    return "\n".join(lines)
