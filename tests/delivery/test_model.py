"""The rules users check, as pure functions: task names, prefixes, object names (every example of the
reference), event-time formats, type mapping, the CREATE EXTERNAL TABLE text, the default thresholds."""

from __future__ import annotations

import datetime
import decimal

import pytest

from ossbox.delivery.ddl import create_table_statement
from ossbox.delivery.eventtime import parse_event_time
from ossbox.delivery.model import (
    Column,
    DataType,
    DeliveryConfigError,
    Encoding,
    Mode,
    Task,
    TaskConfig,
    TimeFormat,
    check_config,
    check_task_name,
)
from ossbox.delivery.naming import expand_prefix, object_key
from ossbox.delivery.schema import DIRTY, converter
from ossbox.delivery.worker import Settings

AT_1603 = int(datetime.datetime(2020, 8, 31, 16, 3, 27, tzinfo=datetime.UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("prefix", "key"),
    [
        ("myPrefix", "myPrefix/testtask_0_myPrefix__1"),
        (
            "myPrefix/$yyyy/$MM/$dd/$HH/$mm",
            "myPrefix/2020/08/31/16/03/testtask_0_myPrefix_2020_08_31_16_03__1",
        ),
        (
            "myPrefix/year=$yyyy/month=$MM/day=$dd",
            "myPrefix/year=2020/month=08/day=31/testtask_0_myPrefix_year=2020_month=08_day=31__1",
        ),
        ("ds=$yyyy$MM$dd", "ds=20200831/testtask_0_ds=20200831__1"),
    ],
)
def test_object_names_of_the_reference(prefix: str, key: str) -> None:
    assert object_key("testtask", 0, expand_prefix(prefix, AT_1603), 1) == key


def test_concurrent_and_sequence_ids_in_names() -> None:
    assert object_key("t-1", 2, "a/b", 17) == "a/b/t-1_2_a_b__17"


@pytest.mark.parametrize("name", ["abc", "a-b", "0task", "task-name-16-chr", "a1b2c3"])
def test_valid_task_names(name: str) -> None:
    check_task_name(name)


@pytest.mark.parametrize(
    "name", ["ab", "task-name-17-char", "Abc", "-abc", "abc-", "a_b", "a.b", "ab c", "", "tâche"]
)
def test_invalid_task_names(name: str) -> None:
    with pytest.raises(DeliveryConfigError, match="3 to 16 characters"):
        check_task_name(name)


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("", "must not be empty"),
        ("/abs", "must not start"),
        ("a//b", "must not start"),
        ("a\\b", "must not start"),
        ("a/../b", "not directories"),
        ("a/$YYYY", "time variables are"),
        ("a/$ss", "time variables are"),
        ("x" * 513, "longer than"),
    ],
)
def test_invalid_prefixes(prefix: str, message: str) -> None:
    with pytest.raises(DeliveryConfigError, match=message):
        check_config(TaskConfig(bucket="lake", prefix=prefix))


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (Column("a", "a", DataType.BOOL, Encoding.DELTA_BINARY_PACKED), "does not apply"),
        (Column("a", "a", DataType.UTF8, Encoding.DELTA_BINARY_PACKED), "does not apply"),
        (Column("a", "a", DataType.INT64, Encoding.DELTA_LENGTH_BYTE_ARRAY), "does not apply"),
        (Column("a", "a", DataType.DECIMAL, type_extend="40,2"), "precision <= 38"),
        (Column("a", "a", DataType.DECIMAL, type_extend="5,6"), "scale <= precision"),
        (Column("a", "a", DataType.DECIMAL, type_extend="five"), "precision,scale"),
        (Column("a", "a", DataType.INT64, type_extend="5,2"), "only to DECIMAL"),
        (Column("1a", "a", DataType.INT64), "not starting with a digit"),
        (Column("a", "b c", DataType.INT64), "not starting with a digit"),
    ],
)
def test_invalid_columns(column: Column, message: str) -> None:
    with pytest.raises(DeliveryConfigError, match=message):
        check_config(TaskConfig(bucket="lake", prefix="p", schema=(column,)))


def test_other_config_rules() -> None:
    for bad, message in [
        (TaskConfig(bucket="Bad_Bucket", prefix="p"), "bucket name"),
        (TaskConfig(bucket="lake", prefix="p", role_arn="role/x"), "role ARN"),
        (TaskConfig(bucket="lake", prefix="p", oss_endpoint="http://a b"), "OSS endpoint"),
        (
            TaskConfig(
                bucket="lake",
                prefix="p",
                schema=(Column("a", "x", DataType.INT64), Column("b", "X", DataType.INT64)),
            ),
            "appears twice",
        ),
    ]:
        with pytest.raises(DeliveryConfigError, match=message):
            check_config(bad)
    check_config(TaskConfig(bucket="lake", prefix="p", role_arn="acs:ram::1234:role/writer"))


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("31 Aug 20 16:03 UTC", TimeFormat.RFC822, "2020-08-31T16:03:00"),
        ("31 Aug 20 16:03 +0800", TimeFormat.RFC822, "2020-08-31T08:03:00"),
        ("Monday, 31-Aug-20 16:03:05 GMT", TimeFormat.RFC850, "2020-08-31T16:03:05"),
        ("Mon, 31 Aug 2020 16:03:05 GMT", TimeFormat.RFC1123, "2020-08-31T16:03:05"),
        ("Mon, 31 Aug 2020 16:03:05 -0100", TimeFormat.RFC1123, "2020-08-31T17:03:05"),
        ("2020-08-31T16:03:05Z", TimeFormat.RFC3339, "2020-08-31T16:03:05"),
        ("2020-08-31T18:03:05.250+02:00", TimeFormat.RFC3339, "2020-08-31T16:03:05.250000"),
        (1598889785, TimeFormat.UNIX, "2020-08-31T16:03:05"),
        ("1598889785", TimeFormat.UNIX, "2020-08-31T16:03:05"),
    ],
)
def test_event_time_formats(value: object, fmt: TimeFormat, expected: str) -> None:
    ms = parse_event_time(value, fmt)
    assert ms is not None
    when = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).replace(tzinfo=None)
    assert when.isoformat() == expected


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("2020-08-31 16:03:05", TimeFormat.RFC3339),
        ("2020-02-30T00:00:00Z", TimeFormat.RFC3339),
        ("31 Foo 20 16:03 UTC", TimeFormat.RFC822),
        (1598889785, TimeFormat.RFC3339),
        (True, TimeFormat.UNIX),
        (1.5, TimeFormat.UNIX),
        (None, TimeFormat.UNIX),
        ("Mon, 31 Aug 2020 16:03:05 GMT", TimeFormat.RFC822),
    ],
)
def test_values_that_are_not_event_times(value: object, fmt: TimeFormat) -> None:
    assert parse_event_time(value, fmt) is None


def _convert(data_type: DataType, value: object, extend: str = "") -> object:
    return converter(Column("c", "c", data_type, type_extend=extend))(value)


def test_type_mapping_and_dirty_values() -> None:
    assert _convert(DataType.BOOL, True) is True
    assert _convert(DataType.INT64, 7) == 7
    assert _convert(DataType.DOUBLE, 1.5) == 1.5
    assert _convert(DataType.UTF8, "x") == "x"
    for data_type, wrong in [
        (DataType.BOOL, 1),
        (DataType.INT64, True),
        (DataType.INT64, 1.0),
        (DataType.INT64, "7"),
        (DataType.DOUBLE, 1),
        (DataType.UTF8, b"bytes"),
        (DataType.UTF8, 5),
    ]:
        assert _convert(data_type, wrong) is DIRTY, (data_type, wrong)


def test_logical_types() -> None:
    assert _convert(DataType.DATE, "2020-08-31") == 18505
    assert _convert(DataType.DATE, 18505) == 18505
    assert _convert(DataType.DATE, "2020-13-01") is DIRTY
    assert _convert(DataType.DECIMAL, "12.5", "6,2") == decimal.Decimal("12.50")
    assert _convert(DataType.DECIMAL, 12, "6,2") == decimal.Decimal("12.00")
    assert _convert(DataType.DECIMAL, "12.345", "6,2") is DIRTY  # a digit would be lost
    assert _convert(DataType.DECIMAL, "12345.5", "6,2") is DIRTY  # too many digits
    assert _convert(DataType.DECIMAL, "NaN", "6,2") is DIRTY
    assert _convert(DataType.DECIMAL, 1.5, "6,2") is DIRTY
    assert _convert(DataType.TIME_MILLIS, "16:03:05.250") == 57_785_250
    assert _convert(DataType.TIME_MICROS, "16:03:05.000001") == 57_785_000_001
    assert _convert(DataType.TIME_MILLIS, 86_400_000) is DIRTY
    assert _convert(DataType.TIME_MILLIS, "24:00:00") is DIRTY
    assert _convert(DataType.TIMESTAMP_MILLIS, "2020-08-31T16:03:05.123Z") == 1598889785123
    assert _convert(DataType.TIMESTAMP_MICROS, "2020-08-31T16:03:05.123456Z") == 1598889785123456
    assert _convert(DataType.TIMESTAMP_MILLIS, 42) == 42
    assert _convert(DataType.TIMESTAMP_MILLIS, "yesterday") is DIRTY


def _task(prefix: str) -> Task:
    return Task("id", "inst", "orders", "orders-oss", TaskConfig(bucket="lake", prefix=prefix), 0)


COLUMNS = [
    Column("id", "id", DataType.UTF8),
    Column("amount", "amount", DataType.DECIMAL, type_extend="12,2"),
    Column("at", "at", DataType.TIMESTAMP_MILLIS),
]


def test_create_table_statement_with_hive_partitions() -> None:
    assert create_table_statement(_task("orders/year=$yyyy/month=$MM/day=$dd"), COLUMNS) == (
        "CREATE EXTERNAL TABLE IF NOT EXISTS `orders_oss` (\n"
        "  `id` STRING,\n"
        "  `amount` DECIMAL(12,2),\n"
        "  `at` TIMESTAMP\n"
        ")\n"
        "PARTITIONED BY (`year` STRING, `month` STRING, `day` STRING)\n"
        "STORED AS PARQUET\n"
        "LOCATION 'oss://lake/orders/';\n"
        "MSCK REPAIR TABLE `orders_oss`;"
    )
    ds = create_table_statement(_task("ds=$yyyy$MM$dd"), COLUMNS)
    assert "PARTITIONED BY (`ds` STRING)" in ds
    assert "LOCATION 'oss://lake/';" in ds


def test_create_table_statement_without_partitions() -> None:
    plain = create_table_statement(_task("orders"), COLUMNS)
    assert "PARTITIONED BY" not in plain and "MSCK" not in plain
    assert "LOCATION 'oss://lake/orders/';" in plain
    nested = create_table_statement(_task("orders/$yyyy/$MM/$dd/$HH/$mm"), COLUMNS)
    assert nested.startswith("-- The prefix's directories $yyyy/$MM/$dd/$HH/$mm are not name=value")
    assert "PARTITIONED BY" not in nested
    assert "LOCATION 'oss://lake/orders/';" in nested


def test_defaults() -> None:
    assert TaskConfig(bucket="lake", prefix="p").mode is Mode.DIFFERENTIAL
    assert Column("a", "a", DataType.INT64).encoding is Encoding.PLAIN
    assert Settings().roll_bytes == 4 * 1024 * 1024
    assert Settings().roll_s == 120
