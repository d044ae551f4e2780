"""The stream API (ListStream, DescribeStream, GetShardIterator, GetStreamRecord) over the change log.

The Python SDK has no calls for these, so requests are its protobuf messages signed and sent by its own
signer and connection, as another SDK (Java, Go) would send them."""

from __future__ import annotations

from typing import Any

from tablestore import OTSClient, Row
from tablestore.protobuf import table_store_pb2 as pb2

from ossbox.tables.plainbuffer import OP_DELETE_ALL_VERSIONS, decode_row
from tests.tables.conftest import TableFactory
from tests.tables.test_bad_input import raw, raw_answer


def call(ots: OTSClient, api: str, request: Any, answer_type: Any) -> Any:
    status, body = raw_answer(ots, api, request.SerializeToString())
    assert status == 200, body
    answer = answer_type()
    answer.ParseFromString(body)
    return answer


def test_stream_records_follow_the_writes(ots: OTSClient, make_table: TableFactory) -> None:
    table = make_table()
    ots.put_row(table, Row([("id", "a")], [("v", 1)]))
    ots.update_row(table, Row([("id", "a")], {"put": [("w", "x")], "delete_all": ["v"]}), None)
    ots.delete_row(table, Row([("id", "a")]), None)

    streams = call(ots, "ListStream", pb2.ListStreamRequest(table_name=table), pb2.ListStreamResponse).streams
    assert [s.table_name for s in streams] == [table]
    described = call(
        ots,
        "DescribeStream",
        pb2.DescribeStreamRequest(stream_id=streams[0].stream_id),
        pb2.DescribeStreamResponse,
    )
    assert (described.table_name, described.stream_status, described.expiration_time) == (
        table,
        pb2.STREAM_ACTIVE,
        24,
    )
    assert ots.describe_table(table) is not None
    iterator = call(
        ots,
        "GetShardIterator",
        pb2.GetShardIteratorRequest(stream_id=streams[0].stream_id, shard_id=described.shards[0].shard_id),
        pb2.GetShardIteratorResponse,
    ).shard_iterator
    records = []
    while True:
        page = call(
            ots,
            "GetStreamRecord",
            pb2.GetStreamRecordRequest(shard_iterator=iterator, limit=2),
            pb2.GetStreamRecordResponse,
        )
        records += page.stream_records
        if not page.stream_records:
            break
        iterator = page.next_shard_iterator
    assert [r.action_type for r in records] == [pb2.PUT_ROW, pb2.UPDATE_ROW, pb2.DELETE_ROW]
    rows = [decode_row(r.record) for r in records]
    assert [(c.name, c.value) for c in rows[0].cells] == [("v", 1)]
    assert [(c.name, c.op) for c in rows[1].cells] == [("w", 0), ("v", OP_DELETE_ALL_VERSIONS)]
    assert rows[2].delete_marker

    bad = pb2.GetStreamRecordRequest(shard_iterator="not-an-iterator")
    assert raw(ots, "GetStreamRecord", bad.SerializeToString()) == (400, "OTSParameterInvalid")
    missing = pb2.DescribeStreamRequest(stream_id="no_such_stream")
    assert raw(ots, "DescribeStream", missing.SerializeToString()) == (404, "OTSObjectNotExist")
