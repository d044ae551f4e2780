"""The messages of Tablestore's delivery API (CreateDeliveryTask, ListDeliveryTask, DescribeDeliveryTask,
DeleteDeliveryTask), and their conversion to and from the task model.

The Python `tablestore` SDK has no delivery calls and ships no definitions for them; the Go and Java SDKs
do (`delivery.proto`, proto2). The same messages are built here from a descriptor written in code, field
numbers and names as in that file, so requests of those SDKs parse unchanged. ossbox adds a few fields at
numbers from 100 on (row, file and dirty-value counts, the error's name, the CREATE EXTERNAL TABLE
statement), which those SDKs skip as unknown fields.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from ossbox.delivery.model import (
    Column,
    DataType,
    Encoding,
    EventTime,
    Mode,
    Status,
    TaskConfig,
    TimeFormat,
    normalize_prefix,
)

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_SCALARS = {
    "string": _F.TYPE_STRING,
    "int64": _F.TYPE_INT64,
    "bool": _F.TYPE_BOOL,
}
_PACKAGE = "ossbox.delivery"

# (message name, [(field name, number, type, repeated)], {nested enum name: [(value name, number)]})
# A type that is not a scalar names a message or an enum ("Outer.Inner" for nested ones).
_ENUMS: dict[str, list[tuple[str, int]]] = {
    "DeliveryTaskType": [("BASE", 0), ("INC", 1), ("BASE_INC", 2)],
    "Format": [("Parquet", 0)],
    "Encoding": [
        ("PLAIN", 0),
        ("PLAIN_DICTIONARY", 1),
        ("DELTA_BINARY_PACKED", 2),
        ("DELTA_BYTE_ARRAY", 3),
        ("DELTA_LENGTH_BYTE_ARRAY", 4),
    ],
    "TimeFormatter": [("YDMFormatter", 0)],
    "ErrorType": [("UNAUTHORIZED", 1), ("INVALID_OSS_BUCKET", 2)],
}
_MESSAGES: list[tuple[str, list[tuple[str, int, str, bool]], dict[str, list[tuple[str, int]]]]] = [
    (
        "CreateDeliveryTaskRequest",
        [
            ("tableName", 1, "string", False),
            ("taskName", 2, "string", False),
            ("taskConfig", 3, "OSSTaskConfig", False),
            ("taskType", 4, "DeliveryTaskType", False),
        ],
        {},
    ),
    (
        "OSSTaskConfig",
        [
            ("ossPrefix", 1, "string", False),
            ("formatter", 2, "TimeFormatter", False),
            ("ossDirtyPrefix", 3, "string", False),
            ("ossBucket", 4, "string", False),
            ("ossEndpoint", 5, "string", False),
            ("ossStsRole", 6, "string", False),
            ("eventTimeColumn", 7, "EventColumn", False),
            ("format", 8, "Format", False),
            ("schema", 11, "ParquetSchema", True),
        ],
        {},
    ),
    ("CreateDeliveryTaskResponse", [], {}),
    ("DeleteDeliveryTaskRequest", [("tableName", 1, "string", False), ("taskName", 2, "string", False)], {}),
    ("DeleteDeliveryTaskResponse", [], {}),
    (
        "DescribeDeliveryTaskRequest",
        [("tableName", 1, "string", False), ("taskName", 2, "string", False)],
        {},
    ),
    (
        "DescribeDeliveryTaskResponse",
        [
            ("taskConfig", 1, "OSSTaskConfig", False),
            ("task_sync_stat", 2, "TaskSyncStat", False),
            ("taskType", 3, "DeliveryTaskType", False),
            # ossbox's additions
            ("create_table_statement", 100, "string", False),
            ("create_time", 101, "int64", False),
        ],
        {},
    ),
    (
        "TaskSyncStat",
        [
            ("task_sync_phase", 1, "TaskSyncStat.TaskSyncPhase", False),
            ("current_sync_timestamp", 2, "int64", False),
            ("error_code", 3, "ErrorType", False),
            ("detail", 4, "string", False),
            # ossbox's additions
            ("error_name", 100, "string", False),
            ("delivered_rows", 101, "int64", False),
            ("delivered_files", 102, "int64", False),
            ("delivered_bytes", 103, "int64", False),
            ("dirty_values", 104, "int64", False),
            ("full_done", 105, "bool", False),
            ("error_time", 106, "int64", False),
        ],
        {"TaskSyncPhase": [("INIT", 0), ("FULL", 1), ("INCR", 2)]},
    ),
    ("ListDeliveryTaskRequest", [("tableName", 1, "string", False)], {}),
    ("ListDeliveryTaskResponse", [("tasks", 1, "DeliveryTaskInfo", True)], {}),
    (
        "DeliveryTaskInfo",
        [
            ("tableName", 1, "string", False),
            ("taskName", 2, "string", False),
            ("taskType", 3, "DeliveryTaskType", False),
        ],
        {},
    ),
    (
        "EventColumn",
        [("columnName", 1, "string", False), ("timeFormat", 2, "EventColumn.eventTimeFormat", False)],
        {"eventTimeFormat": [("RFC822", 1), ("RFC850", 2), ("RFC1123", 3), ("RFC3339", 4), ("Unix", 5)]},
    ),
    (
        "ParquetSchema",
        [
            ("columnName", 1, "string", False),
            ("ossColumnName", 2, "string", False),
            ("type", 3, "ParquetSchema.DataType", False),
            ("encode", 4, "Encoding", False),
            ("typeExtend", 5, "string", False),
        ],
        {
            "DataType": [
                (name, number)
                for number, name in enumerate(
                    [
                        *(t.value for t in DataType),  # the ten that can be delivered, then the rest
                        *("LIST", "MAP", "INTERVAL", "FLOAT", "INT32", "INT96"),
                    ]
                )
            ]
        },
    ),
]
_ENUM_NAMES = set(_ENUMS) | {f"{m}.{e}" for m, _, nested in _MESSAGES for e in nested}


def _enum(name: str, values: list[tuple[str, int]]) -> descriptor_pb2.EnumDescriptorProto:
    enum = descriptor_pb2.EnumDescriptorProto(name=name)
    for value_name, number in values:
        enum.value.add(name=value_name, number=number)
    return enum


def _file() -> descriptor_pb2.FileDescriptorProto:
    f = descriptor_pb2.FileDescriptorProto(name="ossbox/delivery.proto", package=_PACKAGE, syntax="proto2")
    for name, values in _ENUMS.items():
        f.enum_type.append(_enum(name, values))
    for name, fields, nested in _MESSAGES:
        message = f.message_type.add(name=name)
        for enum_name, values in nested.items():
            message.enum_type.append(_enum(enum_name, values))
        for field_name, number, kind, repeated in fields:
            field = message.field.add(
                name=field_name, number=number, label=_REPEATED if repeated else _OPTIONAL
            )
            if kind in _SCALARS:
                field.type = _SCALARS[kind]
            else:
                field.type = _F.TYPE_ENUM if kind in _ENUM_NAMES else _F.TYPE_MESSAGE
                field.type_name = f".{_PACKAGE}.{kind}"
    return f


def _classes() -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file())
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name, _, _ in _MESSAGES
    }


class _Messages:
    """Attribute access to the message classes: `pb.CreateDeliveryTaskRequest()`."""

    def __init__(self) -> None:
        self._classes = _classes()

    def __getattr__(self, name: str) -> Any:
        try:
            return self._classes[name]
        except KeyError:
            raise AttributeError(name) from None


pb = _Messages()

# Task types and enums on the wire <-> the model.
MODE_TO_WIRE = {Mode.FULL: 0, Mode.INCREMENTAL: 1, Mode.DIFFERENTIAL: 2}
MODE_FROM_WIRE = {v: k for k, v in MODE_TO_WIRE.items()}
_TYPES = list(DataType)  # wire numbers 0..9, in the enum's order
_ENCODINGS = list(Encoding)
_TIME_FORMATS = {
    1: TimeFormat.RFC822,
    2: TimeFormat.RFC850,
    3: TimeFormat.RFC1123,
    4: TimeFormat.RFC3339,
    5: TimeFormat.UNIX,
}
_TIME_FORMATS_BACK = {v: k for k, v in _TIME_FORMATS.items()}
PHASE_TO_WIRE = {"init": 0, "full": 1, "incremental": 2}
ERROR_TYPES = {"UnAuthorized": 1, "InvalidOssBucket": 2}


class WireError(ValueError):
    """A request whose values have no meaning (an unknown enum number, a missing field)."""


def config_from_wire(msg: Any, task_type: int | None) -> TaskConfig:
    """An OSSTaskConfig (and the request's task type) as a TaskConfig, not yet validated."""
    if msg.HasField("ossDirtyPrefix") and msg.ossDirtyPrefix:
        raise WireError("ossDirtyPrefix is not supported: dirty values are counted, not written out.")
    schema = []
    for s in msg.schema:
        if not s.HasField("type"):  # missing, or a number this definition does not know
            raise WireError(f"Column {s.columnName}: a Parquet type is required.")
        if s.type >= len(_TYPES):
            raise WireError(f"Column {s.columnName}: Parquet type {s.type} is not supported for delivery.")
        if s.encode >= len(_ENCODINGS):
            raise WireError(f"Column {s.columnName}: unknown encoding {s.encode}.")
        schema.append(
            Column(
                source=s.columnName,
                name=s.ossColumnName or s.columnName,
                type=_TYPES[s.type],
                encoding=_ENCODINGS[s.encode],
                type_extend=s.typeExtend,
            )
        )
    event = None
    if msg.HasField("eventTimeColumn"):
        e = msg.eventTimeColumn
        fmt = _TIME_FORMATS.get(e.timeFormat if e.HasField("timeFormat") else 4)
        if fmt is None:
            raise WireError(f"Unknown event time format {e.timeFormat}.")
        event = EventTime(e.columnName, fmt)
    mode = Mode.DIFFERENTIAL if task_type is None else MODE_FROM_WIRE.get(task_type)
    if mode is None:
        raise WireError(f"Unknown task type {task_type}.")
    return TaskConfig(
        bucket=msg.ossBucket,
        prefix=normalize_prefix(msg.ossPrefix),
        mode=mode,
        schema=tuple(schema),
        event_time=event,
        role_arn=msg.ossStsRole,
        oss_endpoint=msg.ossEndpoint,
    )


def config_to_wire(config: TaskConfig, msg: Any) -> None:
    msg.ossPrefix = config.prefix
    msg.formatter = 0
    msg.ossBucket = config.bucket
    msg.ossEndpoint = config.oss_endpoint
    msg.ossStsRole = config.role_arn
    msg.format = 0
    if config.event_time is not None:
        msg.eventTimeColumn.columnName = config.event_time.column
        msg.eventTimeColumn.timeFormat = _TIME_FORMATS_BACK[config.event_time.format]
    for c in config.schema:
        msg.schema.add(
            columnName=c.source,
            ossColumnName=c.name,
            type=_TYPES.index(c.type),
            encode=_ENCODINGS.index(c.encoding),
            typeExtend=c.type_extend,
        )


def status_to_wire(status: Status, msg: Any) -> None:
    msg.task_sync_phase = PHASE_TO_WIRE[status.phase]
    msg.current_sync_timestamp = status.synced_ms
    if status.error_code in ERROR_TYPES:
        msg.error_code = ERROR_TYPES[status.error_code]
    if status.error_code:
        msg.error_name = status.error_code
        msg.detail = status.error_detail
        msg.error_time = status.error_ms
    msg.delivered_rows = status.rows
    msg.delivered_files = status.files
    msg.delivered_bytes = status.bytes
    msg.dirty_values = status.dirty_values
    msg.full_done = status.full_done


def status_from_wire(msg: Any) -> Status:
    phases = {v: k for k, v in PHASE_TO_WIRE.items()}
    return Status(
        phase=phases.get(msg.task_sync_phase, "init"),
        synced_ms=msg.current_sync_timestamp,
        rows=msg.delivered_rows,
        files=msg.delivered_files,
        bytes=msg.delivered_bytes,
        dirty_values=msg.dirty_values,
        full_done=msg.full_done,
        error_code=msg.error_name,
        error_detail=msg.detail,
        error_ms=msg.error_time,
    )
