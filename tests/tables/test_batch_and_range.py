"""BatchGetRow, BatchWriteRow (per-row results), GetRange and xget_range, filters, paging."""

from __future__ import annotations

import pytest
from tablestore import (
    INF_MAX,
    INF_MIN,
    BatchGetRowRequest,
    BatchWriteRowRequest,
    CapacityUnit,
    ComparatorType,
    Condition,
    DeleteRowItem,
    Direction,
    OTSClient,
    OTSServiceError,
    PutRowItem,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    TableInBatchGetRowItem,
    TableInBatchWriteRowItem,
    UpdateRowItem,
)

from tests.server import ServerProcess
from tests.tables.conftest import TableFactory, client, new_instance

IGNORE = Condition(RowExistenceExpectation.IGNORE)
EXIST = Condition(RowExistenceExpectation.EXPECT_EXIST)
NOT_EXIST = Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)


def pk(group: str, n: int) -> list[tuple[str, object]]:
    return [("g", group), ("n", n)]


def fill(ots: OTSClient, table: str, group: str, count: int) -> None:
    for start in range(0, count, 200):
        items = [
            PutRowItem(Row(pk(group, n), [("v", n), ("odd", n % 2 == 1)]), IGNORE)
            for n in range(start, min(start + 200, count))
        ]
        request = BatchWriteRowRequest()
        request.add(TableInBatchWriteRowItem(table, items))
        assert ots.batch_write_row(request).is_all_succeed()


def test_batch_write_reports_each_row(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table([("g", "STRING"), ("n", "INTEGER")])
    ots.put_row(table, Row(pk("a", 1), [("v", 1)]))
    ots.put_row(table, Row(pk("a", 6), [("v", 6)]))
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem(
            table,
            [
                PutRowItem(Row(pk("a", 1), [("v", 10)]), NOT_EXIST),  # fails: exists
                PutRowItem(Row(pk("a", 2), [("v", 2)]), NOT_EXIST),
                UpdateRowItem(Row(pk("a", 3), {"put": [("v", 3)]}), EXIST),  # fails: missing
                UpdateRowItem(Row(pk("a", 6), {"put": [("w", 1)]}), EXIST),
                DeleteRowItem(Row(pk("a", 4)), EXIST),  # fails: missing
                PutRowItem(Row([("g", 5), ("n", 5)], [("v", 5)]), IGNORE),  # fails: primary key type
            ],
        )
    )
    request.add(TableInBatchWriteRowItem("no_such_table", [PutRowItem(Row(pk("a", 1), [("v", 1)]), IGNORE)]))
    response = ots.batch_write_row(request)
    assert not response.is_all_succeed()
    results = response.table_of_put  # PUT rows, in request order
    assert [(r.is_ok, r.error_code) for r in results[table]] == [
        (False, "OTSConditionCheckFail"),
        (True, None),
        (False, "OTSInvalidPK"),
    ]
    assert [(r.is_ok, r.error_code) for r in response.table_of_update[table]] == [
        (False, "OTSConditionCheckFail"),
        (True, None),
    ]
    assert [(r.is_ok, r.error_code) for r in response.table_of_delete[table]] == [
        (False, "OTSConditionCheckFail")
    ]
    assert [r.error_code for r in results["no_such_table"]] == ["OTSObjectNotExist"]
    _, row, _ = ots.get_row(table, pk("a", 1), max_version=1)
    assert {n: v for n, v, _ in row.attribute_columns} == {"v": 1}
    _, row, _ = ots.get_row(table, pk("a", 6), max_version=1)
    assert {n: v for n, v, _ in row.attribute_columns} == {"v": 6, "w": 1}
    assert ots.get_row(table, pk("a", 3), max_version=1)[1] is None

    too_many = BatchWriteRowRequest()
    too_many.add(
        TableInBatchWriteRowItem(table, [PutRowItem(Row(pk("b", n), [("v", n)]), IGNORE) for n in range(201)])
    )
    with pytest.raises(OTSServiceError) as info:
        ots.batch_write_row(too_many)
    assert info.value.code == "OTSParameterInvalid"
    assert ots.get_row(table, pk("b", 0), max_version=1)[1] is None
    twice = BatchWriteRowRequest()
    twice.add(
        TableInBatchWriteRowItem(table, [PutRowItem(Row(pk("c", 1), [("v", n)]), IGNORE) for n in (1, 2)])
    )
    with pytest.raises(OTSServiceError) as info:
        ots.batch_write_row(twice)
    assert info.value.code == "OTSParameterInvalid"
    assert ots.get_row(table, pk("c", 1), max_version=1)[1] is None


def test_batch_get(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table([("g", "STRING"), ("n", "INTEGER")])
    fill(ots, table, "a", 5)
    request = BatchGetRowRequest()
    request.add(
        TableInBatchGetRowItem(
            table, [pk("a", 1), pk("a", 4), pk("a", 99), [("g", "a")]], columns_to_get=["v"], max_version=1
        )
    )
    response = ots.batch_get_row(request)
    rows = response.get_result_by_table(table)
    assert [r.is_ok for r in rows] == [True, True, True, False]
    assert rows[0].row.attribute_columns[0][:2] == ("v", 1)
    assert rows[1].row.primary_key == pk("a", 4)
    assert rows[2].row is None
    assert rows[3].error_code == "OTSInvalidPK"


def test_get_range_directions_limits_columns_and_filters(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table([("g", "STRING"), ("n", "INTEGER")])
    fill(ots, table, "a", 30)
    fill(ots, table, "b", 5)
    whole = ([("g", INF_MIN), ("n", INF_MIN)], [("g", INF_MAX), ("n", INF_MAX)])
    _, next_pk, rows, _ = ots.get_range(table, Direction.FORWARD, *whole, limit=7)
    assert [r.primary_key for r in rows] == [pk("a", n) for n in range(7)]
    assert next_pk == pk("a", 7)
    _, next_pk, rows, _ = ots.get_range(
        table, Direction.FORWARD, [("g", "a"), ("n", 28)], [("g", "b"), ("n", 2)]
    )
    assert [r.primary_key for r in rows] == [pk("a", 28), pk("a", 29), pk("b", 0), pk("b", 1)]
    assert next_pk is None
    _, _, rows, _ = ots.get_range(
        table,
        Direction.BACKWARD,
        [("g", "b"), ("n", INF_MAX)],
        [("g", "a"), ("n", 27)],
        columns_to_get=["odd"],
    )
    assert [r.primary_key for r in rows] == [pk("b", n) for n in (4, 3, 2, 1, 0)] + [pk("a", 29), pk("a", 28)]
    assert all([c[0] for c in r.attribute_columns] == ["odd"] for r in rows)
    odd = SingleColumnCondition("odd", True, ComparatorType.EQUAL)
    found = list(
        ots.xget_range(
            table,
            Direction.FORWARD,
            [("g", "a"), ("n", INF_MIN)],
            [("g", "a"), ("n", INF_MAX)],
            CapacityUnit(0, 0),
            column_filter=odd,
        )
    )
    assert [r.primary_key[1][1] for r in found] == list(range(1, 30, 2))
    backward = list(
        ots.xget_range(table, Direction.BACKWARD, whole[1], whole[0], CapacityUnit(0, 0), count=12)
    )
    assert [r.primary_key for r in backward] == [pk("b", n) for n in (4, 3, 2, 1, 0)] + [
        pk("a", n) for n in range(29, 22, -1)
    ]
    with pytest.raises(OTSServiceError) as info:
        ots.get_range(table, Direction.FORWARD, whole[1], whole[0])  # start after end
    assert info.value.code == "OTSParameterInvalid"
    with pytest.raises(OTSServiceError) as info:
        ots.get_range(table, Direction.FORWARD, [("g", 1), ("n", 1)], whole[1])  # wrong key type
    assert info.value.code == "OTSInvalidPK"


@pytest.mark.slow
def test_get_range_pages_over_100000_rows(server: ServerProcess) -> None:
    ots = client(server, new_instance())
    from tablestore import CapacityUnit as CU
    from tablestore import ReservedThroughput, TableMeta, TableOptions

    table = "big"
    ots.create_table(
        TableMeta(table, [("g", "STRING"), ("n", "INTEGER")]), TableOptions(), ReservedThroughput(CU(0, 0))
    )
    fill(ots, table, "p", 100_000)
    consumed = CU(0, 0)
    seen = 0
    for row in ots.xget_range(
        table, Direction.FORWARD, [("g", INF_MIN), ("n", INF_MIN)], [("g", INF_MAX), ("n", INF_MAX)], consumed
    ):
        assert row.primary_key[1][1] == seen
        assert row.attribute_columns[1][:2] == ("v", seen)  # columns come sorted by name: odd, v
        seen += 1
    assert seen == 100_000
    _, next_pk, rows, _ = ots.get_range(
        table, Direction.BACKWARD, [("g", INF_MAX), ("n", INF_MAX)], [("g", INF_MIN), ("n", INF_MIN)]
    )
    assert len(rows) == 5000 and rows[0].primary_key == pk("p", 99_999)
    assert next_pk == pk("p", 94_999)
    ots.delete_table(table)
