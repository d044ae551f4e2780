"""PutRow, GetRow, UpdateRow, DeleteRow: conditions, return types, versions, attribute types."""

from __future__ import annotations

import time

import pytest
from tablestore import (
    ColumnConditionType,
    ComparatorType,
    CompositeColumnCondition,
    Condition,
    LogicalOperator,
    OTSClient,
    OTSServiceError,
    ReturnType,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    TableOptions,
)

from tests.tables.conftest import TableFactory

IGNORE = RowExistenceExpectation.IGNORE
EXIST = RowExistenceExpectation.EXPECT_EXIST
NOT_EXIST = RowExistenceExpectation.EXPECT_NOT_EXIST


def now_ms() -> int:
    return int(time.time() * 1000)


def fails(code: str, status: int, call, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OTSServiceError) as info:
        call(*args, **kwargs)
    assert (info.value.code, info.value.get_http_status()) == (code, status), info.value.message


def attrs(ots: OTSClient, table: str, pk: list, **kwargs) -> dict | None:  # type: ignore[type-arg]
    _, row, _ = ots.get_row(table, pk, **{"max_version": 1, **kwargs})
    if row is None:
        return None
    return {name: value for name, value, _ts in row.attribute_columns}


def test_attribute_types_round_trip(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table([("s", "STRING"), ("i", "INTEGER"), ("b", "BINARY")])
    pk = [("s", "ключ"), ("i", -42), ("b", bytearray(b"\x00\xff"))]
    columns = [
        ("str", "héllo"),
        ("int", -(1 << 63)),
        ("dbl", 2.25),
        ("yes", True),
        ("no", False),
        ("bin", bytearray(b"\x00\x01\x02")),
    ]
    consumed, _ = ots.put_row(table, Row(pk, columns))
    assert consumed.write >= 1
    _, row, _ = ots.get_row(table, pk, max_version=1)
    assert row.primary_key == pk
    assert {n: v for n, v, _ in row.attribute_columns} == dict(columns)
    assert [n for n, _, _ in row.attribute_columns] == sorted(n for n, _ in columns)
    assert all(abs(ts - now_ms()) < 60_000 for _, _, ts in row.attribute_columns)
    assert attrs(ots, table, pk, columns_to_get=["int", "missing"]) == {"int": -(1 << 63)}
    assert attrs(ots, table, [("s", "other"), ("i", 0), ("b", bytearray(b""))]) is None


def test_row_existence_conditions(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table()
    pk = [("id", "a")]
    fails("OTSConditionCheckFail", 403, ots.put_row, table, Row(pk, [("v", 1)]), Condition(EXIST))
    fails("OTSConditionCheckFail", 403, ots.update_row, table, Row(pk, {"put": [("v", 1)]}), Condition(EXIST))
    fails("OTSConditionCheckFail", 403, ots.delete_row, table, Row(pk), Condition(EXIST))
    assert attrs(ots, table, pk) is None
    ots.put_row(table, Row(pk, [("v", 1)]), Condition(NOT_EXIST))
    fails("OTSConditionCheckFail", 403, ots.put_row, table, Row(pk, [("v", 2)]), Condition(NOT_EXIST))
    assert attrs(ots, table, pk) == {"v": 1}
    ots.put_row(table, Row(pk, [("v", 3)]), Condition(EXIST))
    ots.update_row(table, Row(pk, {"put": [("w", 4)]}), Condition(EXIST))
    assert attrs(ots, table, pk) == {"v": 3, "w": 4}
    ots.delete_row(table, Row(pk), Condition(EXIST))
    assert attrs(ots, table, pk) is None
    ots.delete_row(table, Row(pk), Condition(IGNORE))  # deleting nothing is fine


def test_column_conditions(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table()
    pk = [("id", "a")]
    ots.put_row(table, Row(pk, [("age", 30), ("name", "ann")]))
    older = SingleColumnCondition("age", 29, ComparatorType.GREATER_THAN)
    younger = SingleColumnCondition("age", 30, ComparatorType.LESS_THAN)
    ots.update_row(table, Row(pk, {"put": [("ok", 1)]}), Condition(EXIST, older))
    fails(
        "OTSConditionCheckFail",
        403,
        ots.update_row,
        table,
        Row(pk, {"put": [("bad", 1)]}),
        Condition(EXIST, younger),
    )
    both = CompositeColumnCondition(LogicalOperator.AND)
    both.add_sub_condition(older)
    both.add_sub_condition(SingleColumnCondition("name", "ann", ComparatorType.EQUAL))
    ots.put_row(table, Row(pk, [("age", 31), ("name", "ann")]), Condition(IGNORE, both))
    either = CompositeColumnCondition(LogicalOperator.OR)
    either.add_sub_condition(younger)
    either.add_sub_condition(SingleColumnCondition("name", "bob", ComparatorType.EQUAL))
    fails("OTSConditionCheckFail", 403, ots.delete_row, table, Row(pk), Condition(IGNORE, either))
    negated = CompositeColumnCondition(LogicalOperator.NOT)
    negated.add_sub_condition(younger)
    # A missing column passes unless pass_if_missing=False.
    missing_ok = SingleColumnCondition("nope", 1, ComparatorType.EQUAL, pass_if_missing=True)
    missing_bad = SingleColumnCondition("nope", 1, ComparatorType.EQUAL, pass_if_missing=False)
    ots.update_row(table, Row(pk, {"put": [("m", 1)]}), Condition(EXIST, missing_ok))
    fails(
        "OTSConditionCheckFail",
        403,
        ots.update_row,
        table,
        Row(pk, {"put": [("m", 2)]}),
        Condition(EXIST, missing_bad),
    )
    # A value of another type never matches.
    fails(
        "OTSConditionCheckFail",
        403,
        ots.update_row,
        table,
        Row(pk, {"put": [("m", 3)]}),
        Condition(EXIST, SingleColumnCondition("age", "31", ComparatorType.EQUAL)),
    )
    ots.delete_row(table, Row(pk), Condition(EXIST, negated))
    assert attrs(ots, table, pk) is None
    assert ColumnConditionType.SINGLE_COLUMN_CONDITION  # the SDK's types are the ones exercised


def test_update_operations_and_versions(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table(max_version=3)
    pk = [("id", "v")]
    t0 = now_ms() - 10_000
    ots.put_row(table, Row(pk, [("c", "one", t0), ("c", "two", t0 + 1), ("d", 1, t0)]))
    _, row, _ = ots.get_row(table, pk, max_version=5)
    assert [(n, v, ts) for n, v, ts in row.attribute_columns] == [
        ("c", "two", t0 + 1),
        ("c", "one", t0),
        ("d", 1, t0),
    ]
    ots.update_row(table, Row(pk, {"put": [("c", "three", t0 + 2), ("c", "four", t0 + 3)]}), None)
    _, row, _ = ots.get_row(table, pk, max_version=10)
    assert [v for n, v, _ in row.attribute_columns if n == "c"] == ["four", "three", "two"]  # max 3 kept
    _, row, _ = ots.get_row(table, pk, time_range=(t0, t0 + 2))  # "one" (t0) was pushed out by newer ones
    assert [(n, v) for n, v, _ in row.attribute_columns] == [("c", "two"), ("d", 1)]
    _, row, _ = ots.get_row(table, pk, time_range=t0 + 3)  # a specific version
    assert [(n, v) for n, v, _ in row.attribute_columns] == [("c", "four")]
    ots.update_row(table, Row(pk, {"delete": [("c", None, t0 + 3)]}), None)
    assert attrs(ots, table, pk)["c"] == "three"  # type: ignore[index]
    ots.update_row(table, Row(pk, {"delete_all": ["c"], "increment": [("d", 5)]}), None)
    assert attrs(ots, table, pk) == {"d": 6}
    ots.update_row(table, Row(pk, {"increment": [("n", -2)]}), None)
    assert attrs(ots, table, pk) == {"d": 6, "n": -2}
    ots.update_table(table, TableOptions(max_version=1))
    _, row, _ = ots.get_row(table, pk, max_version=10)
    assert [n for n, _, _ in row.attribute_columns] == ["d", "n"]  # the table's max versions applies on read


def test_return_types(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table([("id", "STRING"), ("n", "INTEGER")])
    pk = [("id", "r"), ("n", 1)]
    _, row = ots.put_row(table, Row(pk, [("v", 1)]), return_type=ReturnType.RT_PK)
    assert row.primary_key == pk
    _, row = ots.put_row(table, Row(pk, [("v", 1)]))
    assert row is None
    _, row = ots.update_row(table, Row(pk, {"put": [("v", 2)]}), None, return_type=ReturnType.RT_PK)
    assert row.primary_key == pk
    _, row = ots.delete_row(table, Row(pk), None, return_type=ReturnType.RT_PK)
    assert row.primary_key == pk


def test_timestamps_outside_the_time_deviation_are_refused(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table(deviation=60)
    pk = [("id", "x")]
    fails("OTSParameterInvalid", 400, ots.put_row, table, Row(pk, [("c", 1, now_ms() - 3_600_000)]))
    fails(
        "OTSParameterInvalid",
        400,
        ots.update_row,
        table,
        Row(pk, {"put": [("c", 1, now_ms() + 3_600_000)]}),
        None,
    )
    assert attrs(ots, table, pk) is None
    ots.put_row(table, Row(pk, [("c", 1, now_ms() - 30_000)]))
    assert attrs(ots, table, pk) == {"c": 1}


def test_increment_of_a_string_is_refused(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table()
    pk = [("id", "x")]
    ots.put_row(table, Row(pk, [("s", "text")]))
    fails("OTSParameterInvalid", 400, ots.update_row, table, Row(pk, {"increment": [("s", 1)]}), None)
    assert attrs(ots, table, pk) == {"s": "text"}


def test_read_filters_and_regex_conditions(ots: OTSClient, make_table: TableFactory) -> None:
    from tablestore import CastType, RegexRule, SingleColumnRegexCondition

    table = make_table()
    pk = [("id", "f")]
    ots.put_row(table, Row(pk, [("tag", "order-42-eu"), ("n", 7)]))
    seven = SingleColumnCondition("n", 7, ComparatorType.EQUAL)
    eight = SingleColumnCondition("n", 8, ComparatorType.EQUAL)
    assert attrs(ots, table, pk, column_filter=seven) == {"tag": "order-42-eu", "n": 7}
    assert attrs(ots, table, pk, column_filter=eight) is None
    number = RegexRule(r"order-(\d+)-", CastType.VT_INTEGER)
    big = SingleColumnRegexCondition("tag", ComparatorType.GREATER_THAN, 40, number)
    small = SingleColumnRegexCondition("tag", ComparatorType.GREATER_THAN, 50, number)
    ots.update_row(table, Row(pk, {"put": [("seen", True)]}), Condition(EXIST, big))
    fails(
        "OTSConditionCheckFail",
        403,
        ots.update_row,
        table,
        Row(pk, {"put": [("seen", False)]}),
        Condition(EXIST, small),
    )
    assert attrs(ots, table, pk)["seen"] is True  # type: ignore[index]


def test_return_after_modify(ots: OTSClient, make_table: TableFactory) -> None:
    """RT_AFTER_MODIFY (the Python SDK cannot ask for it: sent as the protobuf the other SDKs send)."""
    from tablestore.protobuf import table_store_pb2 as pb2

    from tests.tables.test_bad_input import raw_answer

    table = make_table()
    pk = [("id", "counter")]
    ots.put_row(table, Row(pk, [("n", 10)]))
    request = ots.protocol.encoder.encode_request(
        "UpdateRow", table, Row(pk, {"increment": [("n", 5)]}), Condition(EXIST), None, None
    )
    request.return_content.return_type = pb2.RT_AFTER_MODIFY
    request.return_content.return_column_names.append("n")
    status, body = raw_answer(ots, "UpdateRow", request.SerializeToString())
    assert status == 200
    answer = pb2.UpdateRowResponse()
    answer.ParseFromString(body)
    from ossbox.tables.plainbuffer import decode_row

    row = decode_row(answer.row)
    assert row.pk == pk and [(c.name, c.value) for c in row.cells] == [("n", 15)]
