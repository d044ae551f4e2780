"""Exactly-once files: SIGKILL of every server process at random points, many times, during a full scan and
during incremental delivery under load. Afterwards the bucket holds every row once: none lost, none twice.
And the process that leads delivery may die alone: another one takes over."""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tablestore import BatchWriteRowRequest, OTSClient, PutRowItem, Row, TableInBatchWriteRowItem
from tablestore.retry import NoRetryPolicy

from ossbox.delivery.client import DeliveryClient
from ossbox.delivery.model import Mode, TaskConfig
from tests.delivery.conftest import Env, delivered_rows, make_env, objects, start_ready, start_server
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess

# Small files and two writers: a batch every few dozen rows, so that kills land in every step of it.
CRASHY = {"OSSBOX_DELIVERY_ROLL_BYTES": "1500", "OSSBOX_DELIVERY_MAX_WRITERS": "2"}
KILLS = 10


@pytest.fixture
def crashy(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path / "data", CRASHY)
    yield proc
    proc.stop()


def kill_and_restart(server: ServerProcess, rng: random.Random) -> None:
    time.sleep(rng.uniform(0.05, 1.2))
    server.kill()
    start_ready(server)


def check_exactly_once(env: Env, task: str, expected: set[str], allowed: set[str] | None = None) -> None:
    rows = delivered_rows(env.bucket)
    counts = Counter(str(r["id"]) for r in rows)
    twice = sorted(k for k, n in counts.items() if n > 1)
    assert not twice, f"delivered more than once: {twice[:10]}"
    missing = sorted(expected - set(counts))
    assert not missing, f"never delivered: {missing[:10]}"
    assert set(counts) <= (allowed or expected)
    status = env.describe(task).status
    assert status.rows == len(rows)
    assert status.files == len(objects(env.bucket))


@pytest.mark.slow
def test_sigkill_during_a_full_scan(crashy: ServerProcess) -> None:
    env = make_env(crashy)
    expected = {f"r{i:05d}" for i in range(2000)}
    ids = sorted(expected)
    for start in range(0, len(ids), 200):
        request = BatchWriteRowRequest()
        items = [PutRowItem(Row([("id", i)], [("v", i * 3)]), None) for i in ids[start : start + 200]]
        request.add(TableInBatchWriteRowItem(env.table, items))
        env.ots.batch_write_row(request)
    env.delivery.create(
        env.table, "scan", TaskConfig(bucket=env.bucket.bucket_name, prefix="s", mode=Mode.FULL)
    )
    rng = random.Random(8)
    for _ in range(KILLS):
        kill_and_restart(crashy, rng)
    env.wait("scan", lambda d: d.status.full_done, timeout=120)
    check_exactly_once(env, "scan", expected)


class Writer:
    """Puts rows with new ids until stopped, through the crashes; remembers what was acknowledged."""

    def __init__(self, server: ServerProcess, instance: str, table: str) -> None:
        self._ots = OTSClient(
            server.endpoint,
            ACCESS_KEY_ID,
            ACCESS_KEY_SECRET,
            instance,
            retry_policy=NoRetryPolicy(),
            socket_timeout=5,
        )
        self._table = table
        self.acked: set[str] = set()
        self.attempted: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"w{n:06d}"
            n += 1
            self.attempted.add(key)
            try:
                self._ots.put_row(self._table, Row([("id", key)], [("v", n)]))
            except Exception:
                time.sleep(0.05)  # the server is down: the next row gets a new id
                continue
            self.acked.add(key)
            time.sleep(0.002)


@pytest.mark.slow
def test_sigkill_during_incremental_delivery_under_load(crashy: ServerProcess) -> None:
    env = make_env(crashy)
    env.delivery.create(
        env.table, "follow", TaskConfig(bucket=env.bucket.bucket_name, prefix="f", mode=Mode.INCREMENTAL)
    )
    env.wait("follow", lambda d: d.status.phase == "incremental")
    writer = Writer(crashy, env.instance, env.table)
    writer.thread.start()
    rng = random.Random(11)
    try:
        for _ in range(KILLS):
            # Under load whatever the machine's speed: each round kills after some 20 more acknowledged rows.
            enough = len(writer.acked) + 20
            deadline = time.monotonic() + 20
            while len(writer.acked) < enough and time.monotonic() < deadline:
                time.sleep(0.02)
            kill_and_restart(crashy, rng)
    finally:
        writer.stop.set()
        writer.thread.join()
    assert len(writer.acked) >= 20 * KILLS
    stopped_ms = int(time.time() * 1000)
    env.wait("follow", lambda d: d.status.synced_ms > stopped_ms + 1000, timeout=120)
    check_exactly_once(env, "follow", writer.acked, writer.attempted)


def _leaders(server: ServerProcess) -> list[int]:
    return [int(p) for p in re.findall(r"this process \(pid (\d+)\) runs the delivery tasks", server.log())]


def test_another_process_takes_over_when_the_leader_dies(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        env = make_env(server)
        env.delivery.create(env.table, "lead", TaskConfig(bucket=env.bucket.bucket_name, prefix="l"))
        env.ots.put_row(env.table, Row([("id", "before")], [("v", 1)]))
        env.wait_rows("lead", 1)
        (leader,) = _leaders(server)
        os.kill(leader, signal.SIGKILL)  # only the leading worker: the other serves on, and takes the lock
        deadline = time.monotonic() + 20
        while len(_leaders(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_leaders(server)) == 2 and _leaders(server)[1] != leader
        env.ots.put_row(env.table, Row([("id", "after")], [("v", 2)]))
        env.wait_rows("lead", 2)
        assert sorted(r["id"] for r in delivered_rows(env.bucket)) == ["after", "before"]
        client = DeliveryClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, env.instance)
        assert [t.name for t in client.list()] == ["lead"]
    finally:
        server.stop()
