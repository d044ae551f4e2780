"""CreateTable, ListTable, DescribeTable, UpdateTable, DeleteTable through the official SDK."""

from __future__ import annotations

import uuid

import oss2
import pytest
from tablestore import (
    PK_AUTO_INCR,
    CapacityUnit,
    OTSClient,
    OTSServiceError,
    ReservedThroughput,
    ReturnType,
    Row,
    TableMeta,
    TableOptions,
)

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess
from tests.tables.conftest import TableFactory, client, new_instance


def _name() -> str:
    return "t_" + uuid.uuid4().hex[:10]


def _error(call, *args, **kwargs) -> OTSServiceError:  # type: ignore[no-untyped-def]
    with pytest.raises(OTSServiceError) as info:
        call(*args, **kwargs)
    return info.value


def test_create_describe_update_list_delete(ots: OTSClient) -> None:
    name = _name()
    meta = TableMeta(
        name,
        [("p", "STRING"), ("i", "INTEGER"), ("b", "BINARY"), ("seq", "INTEGER", PK_AUTO_INCR)],
        [("d1", "DOUBLE"), ("d2", "BOOLEAN")],
    )
    ots.create_table(meta, TableOptions(86400 * 3, 5, 3600), ReservedThroughput(CapacityUnit(10, 20)))
    assert name in ots.list_table()
    described = ots.describe_table(name)
    assert described.table_meta.table_name == name
    assert described.table_meta.schema_of_primary_key == [
        ("p", "STRING"),
        ("i", "INTEGER"),
        ("b", "BINARY"),
        ("seq", "INTEGER", PK_AUTO_INCR),
    ]
    assert described.table_meta.defined_columns == [("d1", "DOUBLE"), ("d2", "BOOLEAN")]
    options = described.table_options
    assert (options.time_to_live, options.max_version, options.max_time_deviation) == (86400 * 3, 5, 3600)
    cu = described.reserved_throughput_details.capacity_unit
    assert (cu.read, cu.write) == (10, 20)

    updated = ots.update_table(name, TableOptions(-1, 2, 7200), ReservedThroughput(CapacityUnit(1, 2)))
    assert (updated.table_options.time_to_live, updated.table_options.max_version) == (-1, 2)
    described = ots.describe_table(name)
    assert described.table_options.max_time_deviation == 7200
    assert described.reserved_throughput_details.capacity_unit.read == 1

    _, row = ots.put_row(
        name,
        Row([("p", "x"), ("i", 1), ("b", bytearray(b"k")), ("seq", PK_AUTO_INCR)], [("c", 1)]),
        return_type=ReturnType.RT_PK,
    )
    assert row.primary_key[3][0] == "seq" and isinstance(row.primary_key[3][1], int)

    ots.delete_table(name)
    assert name not in ots.list_table()
    assert _error(ots.describe_table, name).code == "OTSObjectNotExist"


def test_table_errors(ots: OTSClient, make_table: TableFactory) -> None:
    name = make_table()
    again = TableMeta(name, [("id", "STRING")])
    rt = ReservedThroughput(CapacityUnit(0, 0))
    err = _error(ots.create_table, again, TableOptions(), rt)
    assert (err.get_http_status(), err.code) == (409, "OTSObjectAlreadyExist")
    for missing in (ots.describe_table, ots.delete_table):
        err = _error(missing, "no_such_table")
        assert (err.get_http_status(), err.code) == (404, "OTSObjectNotExist")
    bad_metas = [
        TableMeta(_name(), [(f"k{i}", "STRING") for i in range(5)]),  # more than 4 primary key columns
        TableMeta(_name(), [("k", "INTEGER", PK_AUTO_INCR)]),  # partition key cannot auto-increment
        TableMeta(_name(), [("k", "STRING"), ("a", "STRING", PK_AUTO_INCR)]),  # only INTEGER
        TableMeta("9starts_with_digit", [("k", "STRING")]),
        TableMeta(_name(), [("k", "STRING"), ("k", "INTEGER")]),
    ]
    for meta in bad_metas:
        err = _error(ots.create_table, meta, TableOptions(), rt)
        assert (err.get_http_status(), err.code) == (400, "OTSParameterInvalid"), meta.table_name
        assert meta.table_name not in ots.list_table()
    for options in (TableOptions(100, 1, 86400), TableOptions(-1, 0, 86400)):  # TTL under a day; no versions
        err = _error(ots.create_table, TableMeta(_name(), [("k", "STRING")]), options, rt)
        assert err.code == "OTSParameterInvalid"
    err = _error(ots.update_table, name, TableOptions(5, None, None))
    assert err.code == "OTSParameterInvalid"
    assert ots.describe_table(name).table_options.time_to_live == -1


def test_instances_are_separate(server: ServerProcess, make_table: TableFactory) -> None:
    name = make_table()
    other = client(server, new_instance())
    assert name not in other.list_table()
    assert _error(other.describe_table, name).code == "OTSObjectNotExist"
    err = _error(client(server, "x").list_table)  # not a valid instance name
    assert (err.get_http_status(), err.code) == (403, "OTSAuthFailed")


def test_oss_and_tables_share_the_port(server: ServerProcess, ots: OTSClient) -> None:
    bucket = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        server.endpoint,
        "tbl-" + uuid.uuid4().hex[:8],
        region=REGION,
    )
    bucket.create_bucket()
    bucket.put_object("k", b"v")
    assert bucket.get_object("k").read() == b"v"
    ots.list_table()
    bucket.delete_object("k")
    bucket.delete_bucket()
