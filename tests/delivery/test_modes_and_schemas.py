"""Rows written with the tablestore SDK, delivered by the server, read back with pyarrow: every mode, manual
and auto schemas, dirty values, deletes ignored."""

from __future__ import annotations

import datetime
import decimal
import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
from tablestore import Row

from ossbox.delivery.model import Column, DataType, Encoding, EventTime, Mode, TaskConfig, TimeFormat
from tests.delivery.conftest import Env, delivered_rows, make_env, objects, read_file
from tests.server import ServerProcess


def put(env: Env, first: int, count: int, **extra: object) -> None:
    for i in range(first, first + count):
        env.ots.put_row(
            env.table, Row([("id", f"r{i:04d}")], [("n", i), ("v", f"value {i}"), *extra.items()])
        )


def ids(rows: list[dict[str, object]]) -> list[object]:
    return sorted(r["id"] for r in rows)


def test_differential_delivers_the_rows_then_the_changes(env: Env) -> None:
    put(env, 0, 20)
    env.delivery.create(env.table, "diff", TaskConfig(bucket=env.bucket.bucket_name, prefix="rows"))
    d = env.wait_rows("diff", 20)
    assert d.status.phase == "incremental" and d.status.full_done
    assert objects(env.bucket) == ["rows/diff_0_rows__1"]
    put(env, 20, 5)
    env.ots.update_row(env.table, Row([("id", "r0001")], {"put": [("v", "changed")]}), None)
    env.ots.update_row(env.table, Row([("id", "r0002")], {"delete_all": ["v"]}), None)  # a delete: nothing
    env.ots.delete_row(env.table, Row([("id", "r0003")]), None)  # not delivered, not undone
    d = env.wait_rows("diff", 26)
    rows = delivered_rows(env.bucket)
    assert len(rows) == 26
    assert ids(rows).count("r0001") == 2 and ids(rows).count("r0003") == 1
    assert {"id": "r0001", "n": None, "v": "changed"} in rows  # an update delivers the columns it put
    assert {"id": "r0024", "n": 24, "v": "value 24"} in rows
    assert d.status.files == 2 and d.status.dirty_values == 0
    assert d.status.synced_ms > 0 and d.status.error_code == ""


def test_differential_delivers_each_write_once_however_the_scan_and_writes_interleave(env: Env) -> None:
    put(env, 0, 100)
    env.delivery.create(env.table, "once", TaskConfig(bucket=env.bucket.bucket_name, prefix="o"))
    # Written while the scan may be running: the scan sees the table as it was at the task's creation and
    # the change log the rest, so each write arrives once.
    env.ots.update_row(env.table, Row([("id", "r0000")], {"put": [("v", "updated")]}), None)
    put(env, 100, 50)
    env.wait_rows("once", 151)
    time.sleep(1.5)
    rows = delivered_rows(env.bucket)
    counts = {i: ids(rows).count(i) for i in set(ids(rows))}
    assert counts.pop("r0000") == 2 and set(counts.values()) == {1} and len(counts) == 149
    assert {
        "id": "r0000",
        "n": 0,
        "v": None,
    } in rows  # as of the creation, less the version overwritten since
    assert {"id": "r0000", "n": None, "v": "updated"} in rows


def test_full_delivers_the_table_once(env: Env) -> None:
    put(env, 0, 12)
    env.ots.delete_row(env.table, Row([("id", "r0005")]), None)
    env.delivery.create(
        env.table, "full", TaskConfig(bucket=env.bucket.bucket_name, prefix="snap", mode=Mode.FULL)
    )
    d = env.wait("full", lambda d: d.status.full_done)
    assert (d.status.phase, d.status.rows) == ("full", 11)
    put(env, 100, 3)
    time.sleep(2.5)  # a few roll intervals of this server (1 s): nothing more comes
    rows = delivered_rows(env.bucket)
    assert ids(rows) == [f"r{i:04d}" for i in range(12) if i != 5]
    assert env.describe("full").status.rows == 11


def test_incremental_delivers_changes_from_the_creation_on(env: Env) -> None:
    put(env, 0, 10)
    env.delivery.create(
        env.table, "inc", TaskConfig(bucket=env.bucket.bucket_name, prefix="inc", mode=Mode.INCREMENTAL)
    )
    put(env, 10, 4)
    d = env.wait_rows("inc", 4)
    assert d.status.phase == "incremental" and not d.status.full_done
    assert ids(delivered_rows(env.bucket)) == ["r0010", "r0011", "r0012", "r0013"]


def test_manual_schema_keeps_its_order_names_types_and_encodings(env: Env) -> None:
    schema = (
        Column("v", "label", DataType.UTF8, Encoding.PLAIN_DICTIONARY),
        Column("n", "count", DataType.INT64, Encoding.DELTA_BINARY_PACKED),
        Column("id", "id", DataType.UTF8, Encoding.DELTA_LENGTH_BYTE_ARRAY),
        Column("price", "price", DataType.DECIMAL, type_extend="8,2"),
        Column("ok", "ok", DataType.BOOL),
        Column("x", "x", DataType.DOUBLE),
        Column("day", "day", DataType.DATE),
        Column("clock", "clock", DataType.TIME_MILLIS),
        Column("at", "at", DataType.TIMESTAMP_MILLIS, Encoding.DELTA_BINARY_PACKED),
        Column("at", "at_us", DataType.TIMESTAMP_MICROS),
    )
    env.delivery.create(
        env.table, "manual", TaskConfig(bucket=env.bucket.bucket_name, prefix="m", schema=schema)
    )
    good = [
        ("v", "a"),
        ("n", 1),
        ("price", "12.30"),
        ("ok", True),
        ("x", 0.5),
        ("day", "2020-08-31"),
        ("clock", "16:03:05.250"),
        ("at", "2020-08-31T16:03:05.123Z"),
        ("ignored", "not in the schema"),
    ]
    env.ots.put_row(env.table, Row([("id", "good")], good))
    wrong = [("v", 5), ("n", "one"), ("price", "1.234"), ("ok", 1), ("x", 2), ("day", "yesterday")]
    env.ots.put_row(env.table, Row([("id", "wrong")], wrong))
    env.ots.put_row(
        env.table, Row([("id", "ints")], [("day", 18505), ("clock", 1000), ("at", 1598889785123)])
    )
    env.ots.put_row(env.table, Row([("id", "empty")], [("ignored", 1)]))
    d = env.wait_rows("manual", 4)
    assert d.status.dirty_values == 6  # the six wrong values of the "wrong" row
    (key,) = objects(env.bucket)
    table = read_file(env.bucket, key)
    assert table.schema.names == ["label", "count", "id", "price", "ok", "x", "day", "clock", "at", "at_us"]
    assert table.schema.field("price").type == pa.decimal128(8, 2)
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("clock").type == pa.time32("ms")
    assert table.schema.field("at").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("at_us").type == pa.timestamp("us", tz="UTC")
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows["good"] == {
        "label": "a",
        "count": 1,
        "id": "good",
        "price": decimal.Decimal("12.30"),
        "ok": True,
        "x": 0.5,
        "day": datetime.date(2020, 8, 31),
        "clock": datetime.time(16, 3, 5, 250000),
        "at": datetime.datetime(2020, 8, 31, 16, 3, 5, 123000, tzinfo=datetime.UTC),
        "at_us": datetime.datetime(2020, 8, 31, 16, 3, 5, 123000, tzinfo=datetime.UTC),
    }
    assert {k for k, v in rows["wrong"].items() if v is not None} == {"id"}  # wrong values are dropped
    assert rows["ints"]["day"] == datetime.date(2020, 8, 31)
    assert rows["ints"]["clock"] == datetime.time(0, 0, 1)
    assert rows["empty"] == {**dict.fromkeys(table.schema.names), "id": "empty"}
    metadata = pq.ParquetFile(io.BytesIO(env.bucket.get_object(key).read())).metadata.row_group(0)
    encodings = {metadata.column(i).path_in_schema: metadata.column(i).encodings for i in range(10)}
    assert "RLE_DICTIONARY" in encodings["label"]
    assert "DELTA_BINARY_PACKED" in encodings["count"] and "DELTA_BINARY_PACKED" in encodings["at"]
    assert "DELTA_LENGTH_BYTE_ARRAY" in encodings["id"]
    assert "PLAIN" in encodings["x"] and "RLE_DICTIONARY" not in encodings["x"]


def test_auto_schema_infers_columns_and_counts_mismatches(dserver: ServerProcess) -> None:
    env = make_env(dserver, pk=[("user", "STRING"), ("seq", "INTEGER")], defined=[("score", "DOUBLE")])
    env.ots.put_row(
        env.table, Row([("user", "u1"), ("seq", 1)], [("a", 1), ("blob", bytearray(b"\x00\x01"))])
    )
    env.delivery.create(env.table, "auto", TaskConfig(bucket=env.bucket.bucket_name, prefix="auto"))
    env.wait_rows("auto", 1)
    env.ots.put_row(
        env.table, Row([("user", "u2"), ("seq", 2)], [("a", "text"), ("b", True), ("score", 2.5)])
    )
    d = env.wait_rows("auto", 2)
    assert d.status.dirty_values == 2  # the binary value (no Parquet type) and "text" in the INT64 column
    first, second = objects(env.bucket)
    assert read_file(env.bucket, first).schema.names == ["user", "seq", "score", "a"]
    table = read_file(env.bucket, second)
    assert table.schema.names == ["user", "seq", "score", "a", "b"]
    assert table.schema.field("seq").type == pa.int64() and table.schema.field("b").type == pa.bool_()
    assert table.to_pylist() == [{"user": "u2", "seq": 2, "score": 2.5, "a": None, "b": True}]
    assert "`b` BOOLEAN" in d.create_table_statement and "`seq` BIGINT" in d.create_table_statement


def test_event_time_column_places_rows(env: Env) -> None:
    config = TaskConfig(
        bucket=env.bucket.bucket_name,
        prefix="ev/dt=$yyyy-$MM-$dd/hour=$HH",
        event_time=EventTime("happened", TimeFormat.RFC3339),
    )
    env.delivery.create(env.table, "events", config)
    env.ots.put_row(env.table, Row([("id", "a")], [("happened", "2020-08-31T16:03:05+00:00")]))
    env.ots.put_row(env.table, Row([("id", "b")], [("happened", "2021-01-02T03:04:05+08:00")]))
    env.ots.put_row(env.table, Row([("id", "c")], [("happened", "not a time")]))
    d = env.wait_rows("events", 3)
    assert d.status.dirty_values == 1  # "c" goes by its write time instead
    today = datetime.datetime.now(datetime.UTC)
    keys = objects(env.bucket)
    assert "ev/dt=2020-08-31/hour=16/events_0_ev_dt=2020-08-31_hour=16__1" in keys
    assert any(k.startswith("ev/dt=2021-01-01/hour=19/events_0_") for k in keys)
    assert any(k.startswith(f"ev/dt={today:%Y-%m-%d}/hour=") for k in keys)
    assert len(keys) == 3
