"""Faults on a cluster: nodes killed mid-write, PostgreSQL restarted under load, the lifecycle node killed,
and configurations that cannot work."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import oss2
import psycopg
import pytest
from oss2.models import BucketLifecycle, LifecycleExpiration, LifecycleRule

from tests import pg
from tests.cluster.conftest import Cluster, new_name, node_args
from tests.server import ServerProcess, free_port

pytestmark = pytest.mark.slow


class Writer(threading.Thread):
    """PUTs, appends and multipart uploads through one node until stopped; remembers what was acknowledged."""

    def __init__(self, bucket: oss2.Bucket, tag: str) -> None:
        super().__init__(daemon=True)
        self.bucket, self.tag = bucket, tag
        self.acked: dict[str, str] = {}  # key -> md5 of the acknowledged content
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def run(self) -> None:
        rng = random.Random(self.tag)
        i = 0
        while not self.stop.is_set():
            i += 1
            key = f"{self.tag}/{i}"
            try:
                kind = i % 3
                if kind == 0:
                    data = rng.randbytes(rng.choice([100, 5000, 300_000]))
                    self.bucket.put_object(key, data)
                elif kind == 1:
                    first, second = rng.randbytes(2000), rng.randbytes(200_000)
                    pos = self.bucket.append_object(key, 0, first).next_position
                    self.acked[key] = hashlib.md5(first).hexdigest()
                    self.bucket.append_object(key, pos, second)
                    data = first + second
                else:
                    data = rng.randbytes(150_000)
                    upload = self.bucket.init_multipart_upload(key).upload_id
                    etag = self.bucket.upload_part(key, upload, 1, data).etag
                    self.bucket.complete_multipart_upload(key, upload, [oss2.models.PartInfo(1, etag)])
                self.acked[key] = hashlib.md5(data).hexdigest()
            except (oss2.exceptions.RequestError, oss2.exceptions.ServerError) as exc:
                self.errors.append(exc)
                time.sleep(0.05)


def _check_whole(bucket: oss2.Bucket, acked: dict[str, str], tag: str) -> None:
    """Every acknowledged write is there in full; nothing else under `tag` is partial."""
    for key, md5 in acked.items():
        assert hashlib.md5(bucket.get_object(key).read()).hexdigest() == md5, key
    for obj in oss2.ObjectIterator(bucket, prefix=f"{tag}/"):
        data = bucket.get_object(obj.key).read()
        assert len(data) == obj.size, obj.key


def test_kill_9_of_a_node_mid_write_loses_nothing_acknowledged(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster(2)
    name = new_name("kill")
    c.bucket(1, name).create_bucket()
    victim = c.nodes[0]
    for round_ in range(3):
        writer = Writer(c.bucket(0, name), f"r{round_}")
        writer.start()
        time.sleep(random.uniform(0.8, 1.5))
        victim.kill()
        writer.stop.set()
        writer.join(30)
        assert writer.acked, "nothing was acknowledged before the kill"
        _check_whole(c.bucket(1, name), writer.acked, f"r{round_}")
        victim.start()
    # The restarted node serves everything too, and the survivor logged no error.
    _check_whole(c.bucket(0, name), writer.acked, f"r{round_}")
    assert not [line for line in c.nodes[1].log().splitlines() if " ERROR " in line]


def test_postgresql_restart_under_load(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster(2)
    name = new_name("pgdown")
    c.bucket(0, name).create_bucket()
    writers = [Writer(c.bucket(i, name), f"n{i}") for i in range(2)]
    for w in writers:
        w.start()
    time.sleep(1)
    pg.cluster().restart(down_for_s=2)
    time.sleep(2)  # the nodes reconnect by themselves
    before = {id(w): len(w.acked) for w in writers}
    time.sleep(2)
    for w in writers:
        w.stop.set()
        w.join(30)
        assert len(w.acked) > before[id(w)], "the node did not recover after PostgreSQL came back"
    statuses = {getattr(e, "status", None) for w in writers for e in w.errors}
    assert 503 in statuses, "no request saw PostgreSQL down"
    assert statuses <= {503, -2}, statuses  # 503 ServiceUnavailable, or a connection the server closed
    codes = {e.code for w in writers for e in w.errors if isinstance(e, oss2.exceptions.ServerError)}
    assert codes <= {"ServiceUnavailable"}, codes
    for w in writers:
        _check_whole(c.bucket(1, name), w.acked, w.tag)
    tracebacks = [line for n in c.nodes for line in n.log().splitlines() if "Traceback" in line]
    assert not tracebacks, "\n".join(n.log()[-3000:] for n in c.nodes)


def test_lifecycle_moves_to_another_node_when_its_node_dies(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster(2, "--lifecycle-interval-seconds", "0.3")
    pattern = re.compile(r"lifecycle pass in process (\d+)")
    # A rule that expires every object under old/ at once: a pass that finds work says so in its log.
    name = new_name("lc")
    bucket = c.bucket(0, name)
    bucket.create_bucket()
    rule = LifecycleRule(
        "old", "old/", status=LifecycleRule.ENABLED,
        expiration=LifecycleExpiration(created_before_date=datetime.date(2100, 1, 1)),
    )  # fmt: skip
    bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
    feeding = threading.Event()

    def feed() -> None:
        i = 0
        while not feeding.is_set():
            i += 1
            with contextlib.suppress(oss2.exceptions.RequestError, oss2.exceptions.ServerError):
                c.bucket(i % 2, name).put_object(f"old/{i}", b"x")
            time.sleep(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()

    def runners() -> dict[int, int]:
        """node index -> passes it ran"""
        return {i: len(pattern.findall(n.log())) for i, n in enumerate(c.nodes)}

    deadline = time.monotonic() + 20
    while not any(runners().values()):
        assert time.monotonic() < deadline, "no node ran lifecycle passes"
        time.sleep(0.1)
    time.sleep(1)
    counts = runners()
    assert [v > 0 for v in counts.values()].count(True) == 1, counts  # exactly one node runs them
    holder = next(i for i, v in counts.items() if v)
    other = 1 - holder
    c.nodes[holder].kill()
    before = runners()[other]
    deadline = time.monotonic() + 10
    while runners()[other] == before:
        assert time.monotonic() < deadline, "the other node did not take lifecycle over"
        time.sleep(0.1)
    feeding.set()
    feeder.join(10)


def _start_fails(data_dir: str, url: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "ossbox", "server", "--address", f"127.0.0.1:{free_port()}", "--data-dir",
         data_dir, "--meta-url", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert pg.PASSWORD not in out and "wrong-password" not in out, out
    return out


def test_bad_configuration_gets_a_clear_message(tmp_path: os.PathLike[str]) -> None:
    cluster = pg.cluster()
    data = str(tmp_path)
    unreachable = f"postgresql://postgres:{pg.PASSWORD}@127.0.0.1:{free_port()}/ossbox"
    assert "cannot reach the metadata database at postgresql://postgres:***@127.0.0.1" in _start_fails(
        data, unreachable
    )
    url = cluster.create_database("badcfg")
    wrong = url.replace(pg.PASSWORD, "wrong-password")
    assert "password authentication failed" in _start_fails(data, wrong)
    assert "unsupported metadata URL" in _start_fails(data, "mysql://x@y/z")
    # A database migrated by a newer ossbox is refused, not misread.
    node = ServerProcess(tmp_path / "d", free_port(), extra_args=node_args(url)).start()
    node.stop()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, 0)")
    assert "schema version 9999, newer than this ossbox knows" in _start_fails(data, url)
