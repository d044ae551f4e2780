"""A delivery task as configured: source table, destination, mode, schema; and the rules it must obey.

Standard library only: the server's API validates tasks with it, and so does the CLI before sending.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ossbox.core.names import is_valid_bucket_name


class DeliveryConfigError(ValueError):
    """A task definition that breaks a rule; the message says which."""


class Mode(enum.StrEnum):
    FULL = "full"  # Tablestore's BASE: scan the table once
    INCREMENTAL = "incremental"  # INC: changes from the task's creation on
    DIFFERENTIAL = "differential"  # BASE_INC: the scan, then the changes since the task's creation


class DataType(enum.StrEnum):
    """Parquet types a column may be delivered as (the API's ParquetSchema.DataType names)."""

    BOOL = "BOOL"
    INT64 = "INT64"
    UTF8 = "UTF8"
    DOUBLE = "DOUBLE"
    DATE = "DATE"
    DECIMAL = "DECIMAL"
    TIME_MILLIS = "TIME_MILLIS"
    TIME_MICROS = "TIME_MICROS"
    TIMESTAMP_MILLIS = "TIMESTAMP_MILLIS"
    TIMESTAMP_MICROS = "TIMESTAMP_MICROS"


class Encoding(enum.StrEnum):
    PLAIN = "PLAIN"
    PLAIN_DICTIONARY = "PLAIN_DICTIONARY"
    DELTA_BINARY_PACKED = "DELTA_BINARY_PACKED"
    DELTA_BYTE_ARRAY = "DELTA_BYTE_ARRAY"
    DELTA_LENGTH_BYTE_ARRAY = "DELTA_LENGTH_BYTE_ARRAY"


class TimeFormat(enum.StrEnum):
    """Formats of an event-time column (Go's layouts of the same names; Unix is seconds since the epoch)."""

    RFC822 = "RFC822"
    RFC850 = "RFC850"
    RFC1123 = "RFC1123"
    RFC3339 = "RFC3339"
    UNIX = "Unix"


# Types stored as integers in Parquet (DELTA_BINARY_PACKED applies), and as byte arrays.
_INTEGER_TYPES = frozenset(
    {
        DataType.INT64,
        DataType.DATE,
        DataType.TIME_MILLIS,
        DataType.TIME_MICROS,
        DataType.TIMESTAMP_MILLIS,
        DataType.TIMESTAMP_MICROS,
    }
)
_ENCODINGS_FOR: dict[Encoding, frozenset[DataType] | None] = {
    Encoding.PLAIN: None,  # every type
    Encoding.PLAIN_DICTIONARY: frozenset(DataType) - {DataType.BOOL},
    Encoding.DELTA_BINARY_PACKED: _INTEGER_TYPES,
    Encoding.DELTA_BYTE_ARRAY: frozenset({DataType.UTF8, DataType.DECIMAL}),
    Encoding.DELTA_LENGTH_BYTE_ARRAY: frozenset({DataType.UTF8}),
}

DEFAULT_DECIMAL = (38, 18)
DEFAULT_ROLE_NAME = "AliyunServiceRoleForOTSDataDelivery"
MAX_SCHEMA_COLUMNS = 1024
MAX_PREFIX_CHARS = 512

_TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,14}[a-z0-9]$")
# Tablestore's column names; Parquet column names kept to what Hive-style engines accept unquoted.
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_ROLE_ARN = re.compile(r"^acs:ram::\d+:role/[A-Za-z0-9.\-]{1,64}$")
_ENDPOINT = re.compile(r"^(https?://)?[A-Za-z0-9.\-]+(:\d{1,5})?/?$")
TIME_VARIABLE = re.compile(r"\$(yyyy|MM|dd|HH|mm)")


@dataclass(frozen=True)
class Column:
    """One delivered column: where it comes from, its name and type in Parquet, how it is encoded."""

    source: str
    name: str
    type: DataType
    encoding: Encoding = Encoding.PLAIN
    type_extend: str = ""  # DECIMAL: "precision,scale" (default 38,18); empty otherwise

    def decimal(self) -> tuple[int, int]:
        if not self.type_extend:
            return DEFAULT_DECIMAL
        precision, scale = (int(part) for part in self.type_extend.split(","))
        return precision, scale


@dataclass(frozen=True)
class EventTime:
    column: str
    format: TimeFormat


@dataclass(frozen=True)
class TaskConfig:
    bucket: str
    prefix: str
    mode: Mode = Mode.DIFFERENTIAL
    # Manual schema, in delivery order; empty: inferred from the table (primary key, then columns as seen).
    schema: tuple[Column, ...] = ()
    event_time: EventTime | None = None
    role_arn: str = ""  # empty: the account's AliyunServiceRoleForOTSDataDelivery
    oss_endpoint: str = ""  # empty: this server

    @property
    def auto_schema(self) -> bool:
        return not self.schema

    def to_json(self) -> str:
        d: dict[str, Any] = {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "mode": self.mode.value,
            "schema": [
                [c.source, c.name, c.type.value, c.encoding.value, c.type_extend] for c in self.schema
            ],
            "event_time": [self.event_time.column, self.event_time.format.value] if self.event_time else None,
            "role_arn": self.role_arn,
            "oss_endpoint": self.oss_endpoint,
        }
        return json.dumps(d, separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> TaskConfig:
        d = json.loads(text)
        event = d.get("event_time")
        return TaskConfig(
            bucket=d["bucket"],
            prefix=d["prefix"],
            mode=Mode(d["mode"]),
            schema=tuple(
                Column(s, n, DataType(t), Encoding(e), x) for s, n, t, e, x in d.get("schema") or ()
            ),
            event_time=EventTime(event[0], TimeFormat(event[1])) if event else None,
            role_arn=d.get("role_arn", ""),
            oss_endpoint=d.get("oss_endpoint", ""),
        )

    def with_role(self, role_arn: str) -> TaskConfig:
        return replace(self, role_arn=role_arn)


@dataclass(frozen=True)
class Task:
    task_id: str  # random: a task created again under an old name starts afresh
    instance: str
    table: str
    name: str
    config: TaskConfig
    created_ms: int  # on the table service's clock: incremental delivery starts at this time


@dataclass
class Status:
    """What DescribeDeliveryTask reports."""

    phase: str = "init"  # init | full | incremental
    synced_ms: int = 0  # rows written before this time are delivered (0: not yet known)
    rows: int = 0
    files: int = 0
    bytes: int = 0
    dirty_values: int = 0
    full_done: bool = False
    error_code: str = ""  # UnAuthorized | InvalidOssBucket | another short code; empty: no error
    error_detail: str = ""
    error_ms: int = 0
    auto_columns: list[tuple[str, str]] = field(default_factory=list)  # (name, DataType) inferred so far


def check_task_name(name: str) -> None:
    if not _TASK_NAME.match(name):
        raise DeliveryConfigError(
            f"Invalid task name {name!r}: 3 to 16 characters of lower-case letters, digits and hyphens, "
            "starting and ending with a letter or digit."
        )


def normalize_prefix(prefix: str) -> str:
    """A prefix as stored: without the trailing slash (the object names add their own)."""
    return prefix.rstrip("/")


def check_prefix(prefix: str) -> None:
    if not prefix:
        raise DeliveryConfigError("The destination prefix must not be empty.")
    if len(prefix) > MAX_PREFIX_CHARS:
        raise DeliveryConfigError(f"The destination prefix is longer than {MAX_PREFIX_CHARS} characters.")
    if prefix[0] in "/\\" or "//" in prefix or "\\" in prefix or "\x00" in prefix:
        raise DeliveryConfigError(
            f"Invalid destination prefix {prefix!r}: it must not start with '/', nor hold '//' or '\\'."
        )
    if any(part in (".", "..") for part in prefix.split("/")):
        raise DeliveryConfigError(f"Invalid destination prefix {prefix!r}: '.' and '..' are not directories.")
    rest = TIME_VARIABLE.sub("", prefix)
    if "$" in rest:
        raise DeliveryConfigError(
            f"Invalid destination prefix {prefix!r}: the time variables are $yyyy, $MM, $dd, $HH and $mm."
        )


def check_column(column: Column) -> None:
    for what, name in (("source column", column.source), ("destination column", column.name)):
        if not _COLUMN_NAME.match(name):
            raise DeliveryConfigError(
                f"Invalid {what} name {name!r}: letters, digits and '_', not starting with a digit."
            )
    allowed = _ENCODINGS_FOR[column.encoding]
    if allowed is not None and column.type not in allowed:
        raise DeliveryConfigError(
            f"Column {column.name}: encoding {column.encoding.value} does not apply to {column.type.value}."
        )
    if column.type is DataType.DECIMAL:
        if column.type_extend:
            parts = column.type_extend.split(",")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise DeliveryConfigError(
                    f"Column {column.name}: DECIMAL takes typeExtend 'precision,scale', "
                    f"not {column.type_extend!r}."
                )
            precision, scale = (int(p) for p in parts)
            if not (1 <= precision <= 38 and 0 <= scale <= precision):
                raise DeliveryConfigError(
                    f"Column {column.name}: DECIMAL needs 1 <= precision <= 38 and 0 <= scale <= precision."
                )
    elif column.type_extend:
        raise DeliveryConfigError(f"Column {column.name}: typeExtend applies only to DECIMAL.")


def check_config(config: TaskConfig) -> None:
    if not is_valid_bucket_name(config.bucket):
        raise DeliveryConfigError(f"Invalid destination bucket name {config.bucket!r}.")
    check_prefix(config.prefix)
    if len(config.schema) > MAX_SCHEMA_COLUMNS:
        raise DeliveryConfigError(f"A schema holds at most {MAX_SCHEMA_COLUMNS} columns.")
    seen: set[str] = set()
    for column in config.schema:
        check_column(column)
        if column.name.lower() in seen:
            raise DeliveryConfigError(f"Destination column {column.name} appears twice in the schema.")
        seen.add(column.name.lower())
    if config.event_time is not None and not _COLUMN_NAME.match(config.event_time.column):
        raise DeliveryConfigError(f"Invalid event-time column name {config.event_time.column!r}.")
    if config.role_arn and not _ROLE_ARN.match(config.role_arn):
        raise DeliveryConfigError(
            f"Invalid role ARN {config.role_arn!r}: expected acs:ram::<account id>:role/<role name>."
        )
    if config.oss_endpoint and not _ENDPOINT.match(config.oss_endpoint):
        raise DeliveryConfigError(f"Invalid OSS endpoint {config.oss_endpoint!r}.")
