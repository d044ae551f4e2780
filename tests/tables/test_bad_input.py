"""Bad input gets the SDK's error code and changes nothing: malformed protobuf and PlainBuffer, signatures,
oversize rows and cells, primary key mismatches."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from tablestore import INF_MAX, INF_MIN, CapacityUnit, Direction, OTSClient, OTSServiceError, Row
from tablestore.auth import RequestContext
from tablestore.protobuf import table_store_pb2 as pb2

from tests.server import ACCESS_KEY_ID, ServerProcess
from tests.tables.changes import change_log
from tests.tables.conftest import TableFactory, client

PK = [("id", "k"), ("n", 1)]


def snapshot(ots: OTSClient, server: ServerProcess, instance: str, table: str) -> tuple[list, int]:  # type: ignore[type-arg]
    rows = [
        (r.primary_key, r.attribute_columns)
        for r in ots.xget_range(
            table,
            Direction.FORWARD,
            [("id", INF_MIN), ("n", INF_MIN)],
            [("id", INF_MAX), ("n", INF_MAX)],
            CapacityUnit(0, 0),
            max_version=10,
        )
    ]
    with change_log(server) as log:
        return rows, log.latest(instance, table)


@pytest.fixture
def table(ots: OTSClient, make_table: TableFactory, server: ServerProcess, instance: str) -> Iterator[str]:
    name = make_table([("id", "STRING"), ("n", "INTEGER")])
    ots.put_row(name, Row(PK, [("v", "original")]))
    before = snapshot(ots, server, instance, name)
    yield name
    assert snapshot(ots, server, instance, name) == before, "a refused request changed the table"


def raw_answer(
    ots: OTSClient,
    api: str,
    body: bytes,
    tamper: Callable[[dict[str, str]], None] | None = None,
    send_body: bytes | None = None,
) -> tuple[int, bytes]:
    """Signs like the SDK, then sends (optionally altered) through the SDK's own connection."""
    query = "/" + api
    headers = ots.protocol._make_request_headers(
        body, query, ots._signer, RequestContext(ots.credentials_provider.get_credentials())
    )
    if tamper:
        tamper(headers)
    status, _, _, answer = ots.connection.send_receive(
        query, headers, body if send_body is None else send_body
    )
    return status, answer


def raw(
    ots: OTSClient,
    api: str,
    body: bytes,
    tamper: Callable[[dict[str, str]], None] | None = None,
    send_body: bytes | None = None,
) -> tuple[int, str]:
    status, answer = raw_answer(ots, api, body, tamper, send_body)
    error = pb2.Error()
    error.ParseFromString(answer)
    return status, error.code


def sdk_error(call, *args, **kwargs) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(OTSServiceError) as info:
        call(*args, **kwargs)
    return info.value.get_http_status(), info.value.code


def test_malformed_protobuf_and_plainbuffer(ots: OTSClient, table: str) -> None:
    assert raw(ots, "PutRow", b"\xff\xff\xff\xff") == (400, "OTSParameterInvalid")
    assert raw(ots, "PutRow", pb2.PutRowRequest(table_name=table).SerializePartialToString()) == (
        400,
        "OTSParameterInvalid",
    )
    good = ots.protocol.encoder.encode_request("PutRow", table, Row(PK, [("v", "changed")]), None, None, None)
    row = bytearray(good.row)
    row[-1] ^= 0xFF  # the row checksum
    damaged = pb2.PutRowRequest()
    damaged.CopyFrom(good)
    damaged.row = bytes(row)
    assert raw(ots, "PutRow", damaged.SerializeToString()) == (400, "OTSParameterInvalid")
    assert raw(ots, "NoSuchApi", b"") == (400, "OTSUnsupportOperation")


def test_wrong_signatures_and_credentials(
    ots: OTSClient, table: str, server: ServerProcess, instance: str
) -> None:
    body = ots.protocol.encoder.encode_request(
        "PutRow", table, Row(PK, [("v", "changed")]), None, None, None
    ).SerializeToString()

    def wrong_signature(h: dict[str, str]) -> None:
        for name in ("x-ots-signature", "x-ots-signaturev4"):
            if name in h:
                h[name] = "AAAA" + h[name][4:]

    def old_date(h: dict[str, str]) -> None:
        h["x-ots-date"] = "2001-01-01T00:00:00.000Z"

    def missing_date(h: dict[str, str]) -> None:
        del h["x-ots-date"]

    assert raw(ots, "PutRow", body, wrong_signature) == (403, "OTSAuthFailed")
    assert raw(ots, "PutRow", body, old_date) == (403, "OTSAuthFailed")
    assert raw(ots, "PutRow", body, missing_date) == (400, "OTSParameterInvalid")
    tampered = body.replace(b"changed", b"CHANGED")
    assert raw(ots, "PutRow", body, send_body=tampered) == (403, "OTSAuthFailed")  # MD5 no longer matches
    for bad in (
        OTSClient(server.endpoint, ACCESS_KEY_ID, "not-the-secret", instance),
        OTSClient(server.endpoint, "LTAInosuchkey", "whatever", instance),
        OTSClient(server.endpoint, ACCESS_KEY_ID, "x", instance, region="cn-hangzhou"),
        client(server, instance, sts_token="a-token-ossbox-never-issued"),
    ):
        assert sdk_error(bad.put_row, table, Row(PK, [("v", "changed")])) == (403, "OTSAuthFailed")
    answer = requests.get(
        server.endpoint + "/ListTable", headers={"x-ots-apiversion": "2015-12-31"}, timeout=10
    )
    assert answer.status_code == 405
    error = pb2.Error()
    error.ParseFromString(answer.content)
    assert error.code == "OTSMethodNotAllowed"


def test_primary_key_mismatches(ots: OTSClient, table: str) -> None:
    for pk in (
        [("id", 1), ("n", 1)],  # INTEGER for a STRING column
        [("id", "k"), ("n", "1")],  # STRING for an INTEGER column
        [("id", "k"), ("n", bytearray(b"1"))],  # BINARY for an INTEGER column
        [("id", "k")],  # a column missing
        [("id", "k"), ("n", 1), ("extra", 1)],
        [("n", 1), ("id", "k")],  # wrong order
        [("id", "k"), ("m", 1)],  # wrong name
    ):
        assert sdk_error(ots.put_row, table, Row(pk, [("v", "changed")])) == (400, "OTSInvalidPK"), pk
        assert (
            sdk_error(ots.update_row, table, Row(pk, {"put": [("v", "changed")]}), None)[1] == "OTSInvalidPK"
        )
        assert sdk_error(ots.delete_row, table, Row(pk), None)[1] == "OTSInvalidPK"
        assert sdk_error(ots.get_row, table, pk, max_version=1)[1] == "OTSInvalidPK"


def test_oversize_rows_and_cells(ots: OTSClient, table: str) -> None:
    big_cell = "x" * (2 * 1024 * 1024 + 1)
    assert sdk_error(ots.put_row, table, Row(PK, [("v", big_cell)])) == (400, "OTSParameterInvalid")
    big_pk = [("id", "k" * 1025), ("n", 1)]
    assert sdk_error(ots.put_row, table, Row(big_pk, [("v", "x")])) == (400, "OTSParameterInvalid")
    wide = [(f"c{i}", i) for i in range(1025)]
    assert sdk_error(ots.put_row, table, Row(PK, wide)) == (400, "OTSOutOfColumnCountLimit")
    huge = [(f"c{i}", "y" * (2 * 1024 * 1024 - 16)) for i in range(3)]  # each cell allowed, the row is not
    assert sdk_error(ots.put_row, table, Row(PK, huge)) == (413, "OTSRequestBodyTooLarge")
    assert sdk_error(ots.put_row, table, Row(PK, [("bad name", 1)])) == (400, "OTSParameterInvalid")
    assert sdk_error(ots.put_row, table, Row(PK, [("id", 1)])) == (400, "OTSParameterInvalid")  # a PK name
