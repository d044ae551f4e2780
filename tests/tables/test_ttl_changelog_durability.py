"""TTL and change log retention with a controlled clock (OSSBOX_CLOCK_OFFSET_S, never a sleep), the change
log's reading interface, and acknowledged writes surviving kill -9."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tablestore import (
    INF_MAX,
    INF_MIN,
    CapacityUnit,
    Condition,
    Direction,
    OTSClient,
    ReservedThroughput,
    Row,
    RowExistenceExpectation,
    TableMeta,
    TableOptions,
)

from ossbox.tables.changelog import DELETE_ALL_VERSIONS, ChangeLogTrimmed, NoSuchTable
from tests.server import ServerProcess, admin_env, free_port
from tests.tables.changes import change_log
from tests.tables.conftest import TableFactory, client

DAY_S = 86400


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", free_port()).start()
    yield proc
    proc.stop()


def restart(proc: ServerProcess, clock_offset_s: int | None = None, kill: bool = False) -> None:
    proc.kill() if kill else proc.stop()
    proc.extra_env = {} if clock_offset_s is None else {"OSSBOX_CLOCK_OFFSET_S": str(clock_offset_s)}
    proc.start()


def keys_in(ots: OTSClient, table: str) -> list[str]:
    rows = ots.xget_range(table, Direction.FORWARD, [("id", INF_MIN)], [("id", INF_MAX)], CapacityUnit(0, 0))
    return [r.primary_key[0][1] for r in rows]


def test_ttl_and_retention_follow_the_clock(own_server: ServerProcess) -> None:
    ots = client(own_server, "ttl-instance")
    ots.create_table(
        TableMeta("ttl", [("id", "STRING")]),
        TableOptions(DAY_S, 1, 3 * DAY_S),
        ReservedThroughput(CapacityUnit(0, 0)),
    )
    ots.create_table(
        TableMeta("keep", [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
    )
    now_ms = int(time.time() * 1000)
    ots.put_row("ttl", Row([("id", "fresh")], [("v", 1)]))
    ots.put_row("ttl", Row([("id", "mixed")], [("old", 1, now_ms - 2 * DAY_S * 1000), ("new", 2)]))
    ots.put_row("ttl", Row([("id", "stale")], [("v", 1, now_ms - 2 * DAY_S * 1000)]))  # expired when written
    ots.put_row("keep", Row([("id", "forever")], [("v", 1)]))
    assert keys_in(ots, "ttl") == ["fresh", "mixed"]
    _, row, _ = ots.get_row("ttl", [("id", "mixed")], max_version=1)
    assert [c[0] for c in row.attribute_columns] == ["new"]
    with change_log(own_server) as log:
        assert len(log.read("ttl-instance", "ttl", log.start("ttl-instance", "ttl")).records) == 3

    restart(own_server, clock_offset_s=DAY_S + 3600)  # a day and an hour later
    ots = client(own_server, "ttl-instance")
    assert keys_in(ots, "ttl") == []
    assert ots.get_row("ttl", [("id", "fresh")], max_version=1)[1] is None
    assert keys_in(ots, "keep") == ["forever"]  # no TTL: kept
    # An expired row does not exist for conditions either.
    ots.put_row(
        "ttl", Row([("id", "fresh")], [("v", 2)]), Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
    )
    assert keys_in(ots, "ttl") == ["fresh"]
    # That write was the first commit of this process: it dropped change log records past the 24 h retention.
    with change_log(own_server) as log:
        with pytest.raises(ChangeLogTrimmed):
            log.read("ttl-instance", "ttl", 0)
        start = log.start("ttl-instance", "ttl")
        records = log.read("ttl-instance", "ttl", start).records
        assert [(r.action, r.primary_key) for r in records] == [("PUT_ROW", [("id", "fresh")])]
        assert abs(records[0].timestamp_ms - (time.time() + DAY_S + 3600) * 1000) < 120_000


def test_change_log_records_every_write_in_order(
    ots: OTSClient, make_table: TableFactory, server: ServerProcess, instance: str
) -> None:
    table = make_table()
    with change_log(server) as log:
        start = log.latest(instance, table)
    ots.put_row(table, Row([("id", "a")], [("v", 1), ("w", "x")]))
    ots.update_row(
        table, Row([("id", "a")], {"put": [("v", 2)], "delete_all": ["w"], "increment": [("n", 5)]}), None
    )
    try:
        ots.put_row(
            table, Row([("id", "a")], [("v", 9)]), Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
        )
    except Exception:
        pass  # refused: must not be logged
    ots.delete_row(table, Row([("id", "a")]), None)
    ots.delete_row(table, Row([("id", "never-existed")]), None)  # changes nothing: not logged
    with change_log(server) as log:
        first = log.read(instance, table, start, limit=2)
        rest = log.read(instance, table, first.next_checkpoint)
        assert log.read(instance, table, rest.next_checkpoint).records == []
        assert log.latest(instance, table) == rest.next_checkpoint
        assert (
            log.checkpoint_at(instance, table, first.records[1].timestamp_ms) <= first.records[0].checkpoint
        )
        with pytest.raises(NoSuchTable):
            log.read(instance, "no_such_table", 0)
    records = first.records + rest.records
    assert [r.action for r in records] == ["PUT_ROW", "UPDATE_ROW", "DELETE_ROW"]
    assert all(r.primary_key == [("id", "a")] for r in records)
    assert [r.checkpoint for r in records] == sorted(r.checkpoint for r in records)
    assert [(c.name, c.kind, c.value) for c in records[0].columns] == [("v", "PUT", 1), ("w", "PUT", "x")]
    assert [(c.name, c.kind, c.value) for c in records[1].columns] == [
        ("v", "PUT", 2),
        ("w", DELETE_ALL_VERSIONS, None),
        ("n", "PUT", 5),  # an increment logs its result
    ]
    assert records[2].columns == []


def test_acknowledged_writes_survive_kill_9(own_server: ServerProcess) -> None:
    ots = client(own_server, "crash-instance")
    ots.create_table(
        TableMeta("c", [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
    )
    acknowledged: list[str] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        mine = client(own_server, "crash-instance")
        for i in range(40):
            key = f"w{w}-{i:03d}"
            mine.put_row("c", Row([("id", key)], [("v", i)]))
            with lock:
                acknowledged.append(key)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    restart(own_server, kill=True)
    ots = client(own_server, "crash-instance")
    assert keys_in(ots, "c") == sorted(acknowledged)
    with change_log(own_server) as log:
        assert len(log.read("crash-instance", "c", 0, limit=1000).records) == 320


def test_tables_list_command(own_server: ServerProcess) -> None:
    import subprocess
    import sys

    ots = client(own_server, "cli-instance")
    ots.create_table(
        TableMeta("listed", [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
    )
    out = subprocess.run(
        [sys.executable, "-m", "ossbox", "tables", "list", "--data-dir", str(own_server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=admin_env(own_server.data_dir),
    ).stdout
    assert out.startswith("cli-instance\tlisted\t")
