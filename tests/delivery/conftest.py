"""A server that delivers quickly (short roll interval, short pauses), and helpers: the tablestore SDK to
write rows, the delivery client to manage tasks, oss2 and pyarrow to read the delivered files back."""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oss2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tablestore import CapacityUnit, OTSClient, ReservedThroughput, TableMeta, TableOptions

from ossbox.delivery.client import DeliveryClient, TaskDescription
from tests.conftest import empty_and_delete
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

logging.getLogger("tablestore").setLevel(logging.ERROR)

# Short intervals so that nothing waits long; the defaults (2 minutes, 4 MiB) are checked in test_model.
FAST = {
    "OSSBOX_DELIVERY_ROLL_S": "1",
    "OSSBOX_DELIVERY_POLL_S": "0.1",
    "OSSBOX_DELIVERY_RETRY_MAX_S": "0.5",
}


def start_ready(proc: ServerProcess, timeout: float = 60) -> ServerProcess:
    """Start and wait until every worker process serves (the supervisor announces it), not just the first."""
    announced = proc.log().count("ossbox serving OSS at")
    proc.start()
    deadline = time.monotonic() + timeout
    while proc.log().count("ossbox serving OSS at") <= announced:
        if time.monotonic() > deadline:
            raise RuntimeError(f"ossbox did not finish starting:\n{proc.log()[-3000:]}")
        time.sleep(0.05)
    return proc


def start_server(data_dir: Path, env: dict[str, str] | None = None, workers: int = 2) -> ServerProcess:
    proc = ServerProcess(
        data_dir, free_port(), extra_env={**FAST, **(env or {})}, extra_args=("--workers", str(workers))
    )
    return start_ready(proc)


@pytest.fixture(scope="package")
def dserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("delivery") / "data")
    yield proc
    proc.stop()
    errors = [line for line in proc.log().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not errors, "server logged errors:\n" + proc.log()[-5000:]


def new_name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}"


@dataclass
class Env:
    """One instance with one table, a bucket, and the clients to use them."""

    server: ServerProcess
    instance: str
    table: str
    ots: OTSClient
    delivery: DeliveryClient
    bucket: oss2.Bucket

    def describe(self, task: str) -> TaskDescription:
        return self.delivery.describe(self.table, task)

    def wait(
        self, task: str, until: Callable[[TaskDescription], bool], timeout: float = 30
    ) -> TaskDescription:
        deadline = time.monotonic() + timeout
        while True:
            d = self.describe(task)
            if until(d):
                return d
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task} did not get there; last status {d.status}")
            time.sleep(0.1)

    def wait_rows(self, task: str, rows: int, timeout: float = 30) -> TaskDescription:
        return self.wait(task, lambda d: d.status.rows >= rows, timeout)


def make_env(server: ServerProcess, pk: list[tuple[str, str]] | None = None, defined: Any = None) -> Env:
    instance = "d" + uuid.uuid4().hex[:10]
    ots = OTSClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, instance)
    table = "t_" + uuid.uuid4().hex[:8]
    ots.create_table(
        TableMeta(table, pk or [("id", "STRING")], defined or []),
        TableOptions(),
        ReservedThroughput(CapacityUnit(0, 0)),
    )
    bucket = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_name("lake"), region=REGION
    )
    bucket.create_bucket()
    delivery = DeliveryClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, instance)
    return Env(server, instance, table, ots, delivery, bucket)


@pytest.fixture
def env(dserver: ServerProcess) -> Iterator[Env]:
    e = make_env(dserver)
    yield e
    for t in e.delivery.list():
        e.delivery.delete(t.table, t.name)
    if e.bucket.bucket_name and _exists(e.bucket):
        empty_and_delete(e.bucket)


def _exists(bucket: oss2.Bucket) -> bool:
    try:
        bucket.get_bucket_info()
        return True
    except oss2.exceptions.NoSuchBucket:
        return False


def objects(bucket: oss2.Bucket, prefix: str = "") -> list[str]:
    return sorted(o.key for o in oss2.ObjectIterator(bucket, prefix=prefix))


def read_file(bucket: oss2.Bucket, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(bucket.get_object(key).read()))


def delivered_rows(bucket: oss2.Bucket, prefix: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for key in objects(bucket, prefix):
        rows += read_file(bucket, key).to_pylist()
    return rows
