"""When files are written and how they are named: the size threshold, the time limit, ConcurrentIDs that
grow while a backlog is caught up, SequenceIDs from 1, and the reference's object names at 16:03 on
2020-08-31 (the table service's clock shifted there with OSSBOX_CLOCK_OFFSET_S)."""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tablestore import Row

from ossbox.delivery.model import Mode, TaskConfig
from tests.delivery.conftest import delivered_rows, make_env, objects, start_server
from tests.server import ServerProcess


@pytest.fixture(scope="module")
def small_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Files of ~2 KB of row data, up to 3 writers, and no time limit to speak of."""
    env = {
        "OSSBOX_DELIVERY_ROLL_BYTES": "2000",
        "OSSBOX_DELIVERY_MAX_WRITERS": "3",
        "OSSBOX_DELIVERY_ROLL_S": "3600",
    }
    proc = start_server(tmp_path_factory.mktemp("small") / "data", env)
    yield proc
    proc.stop()


def test_a_backlog_is_written_by_parallel_writers_and_steady_rows_by_one(small_files: ServerProcess) -> None:
    env = make_env(small_files)
    for i in range(300):  # ~14 KB of row data: batches of three 2 KB files while catching up
        env.ots.put_row(env.table, Row([("id", f"r{i:04d}")], [("text", "x" * 30)]))
    env.delivery.create(env.table, "backlog", TaskConfig(bucket=env.bucket.bucket_name, prefix="b"))
    d = env.wait("backlog", lambda d: d.status.full_done)
    keys = objects(env.bucket)
    names = [re.fullmatch(r"b/backlog_(\d)_b__(\d+)", k) for k in keys]
    assert all(names), keys
    by_writer: dict[int, list[int]] = {}
    for m in names:
        assert m is not None
        by_writer.setdefault(int(m[1]), []).append(int(m[2]))
    assert sorted(by_writer) == [0, 1, 2]
    for sequences in by_writer.values():
        assert sorted(sequences) == list(range(1, len(sequences) + 1))  # SequenceIDs count from 1
    rows = delivered_rows(env.bucket)
    assert len(rows) == 300 == d.status.rows and len({r["id"] for r in rows}) == 300
    assert d.status.files == len(keys)


def test_files_are_written_at_the_size_threshold(small_files: ServerProcess) -> None:
    env = make_env(small_files)
    env.delivery.create(
        env.table,
        "size",
        TaskConfig(bucket=env.bucket.bucket_name, prefix="s", mode=Mode.INCREMENTAL),
    )
    env.wait("size", lambda d: d.status.phase == "incremental")
    for i in range(10):  # ~600 bytes: below the threshold, and the time limit is an hour
        env.ots.put_row(env.table, Row([("id", f"a{i}")], [("text", "y" * 40)]))
    time.sleep(1.5)
    assert objects(env.bucket) == []
    for i in range(40):  # past 2,000 bytes
        env.ots.put_row(env.table, Row([("id", f"b{i}")], [("text", "y" * 40)]))
    d = env.wait("size", lambda d: d.status.files >= 1)
    # Each file holds the threshold's worth of rows or more (~67 bytes a row); what is left waits.
    per_row = 16 + 44 + 7
    keys = objects(env.bucket)
    assert keys[0] == "s/size_0_s__1" and all(re.fullmatch(r"s/size_0_s__\d", k) for k in keys)
    assert d.status.rows >= 2000 // per_row * len(keys)
    assert 50 - d.status.rows < 2000 // per_row + 1


def test_files_are_written_after_the_time_limit(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", {"OSSBOX_DELIVERY_ROLL_S": "2"})
    try:
        env = make_env(server)
        config = TaskConfig(bucket=env.bucket.bucket_name, prefix="t", mode=Mode.INCREMENTAL)
        env.delivery.create(env.table, "timed", config)
        env.wait("timed", lambda d: d.status.phase == "incremental")
        written = time.monotonic()
        env.ots.put_row(env.table, Row([("id", "one")], [("v", 1)]))
        time.sleep(1.0)
        assert objects(env.bucket) == []  # far below 4 MiB: it waits for the time limit
        env.wait_rows("timed", 1, timeout=10)
        assert 2.0 <= time.monotonic() - written < 6.0
        assert objects(env.bucket) == ["t/timed_0_t__1"]
    finally:
        server.stop()


PREFIXES = {
    "plain": "myPrefix",
    "nested": "myPrefix/$yyyy/$MM/$dd/$HH/$mm",
    "hive": "myPrefix/year=$yyyy/month=$MM/day=$dd",
    "daily": "ds=$yyyy$MM$dd",
}
EXPECTED = {
    "plain": "myPrefix/plain_0_myPrefix__1",
    "nested": "myPrefix/2020/08/31/16/03/nested_0_myPrefix_2020_08_31_16_03__1",
    "hive": "myPrefix/year=2020/month=08/day=31/hive_0_myPrefix_year=2020_month=08_day=31__1",
    "daily": "ds=20200831/daily_0_ds=20200831__1",
}


def test_the_reference_object_names_at_1603_on_2020_08_31(tmp_path: Path) -> None:
    target = datetime.datetime(2020, 8, 31, 16, 3, 5, tzinfo=datetime.UTC).timestamp()
    server = start_server(tmp_path / "data", {"OSSBOX_CLOCK_OFFSET_S": str(int(target - time.time()))})
    try:
        env = make_env(server)
        env.ots.put_row(env.table, Row([("id", "written-at-16:03")], [("v", 1)]))
        for name, prefix in PREFIXES.items():
            # All four tasks write into one bucket: the names do not collide.
            env.delivery.create(env.table, name, TaskConfig(bucket=env.bucket.bucket_name, prefix=prefix))
        for name in PREFIXES:
            env.wait_rows(name, 1)
        assert objects(env.bucket) == sorted(EXPECTED.values())
        assert {r["id"] for r in delivered_rows(env.bucket, "ds=")} == {"written-at-16:03"}
    finally:
        server.stop()
