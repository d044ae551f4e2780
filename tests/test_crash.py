"""kill -9 during PUT, multipart complete and append, many times: nothing acknowledged is lost, nothing is
half-visible or corrupt, and the next start sweeps what the crash left behind."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import oss2
import pytest
from oss2.models import PartInfo

from tests import metadb
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

CHUNK = 7_001


def _content(seed: int, length: int) -> bytes:
    return random.Random(seed).randbytes(length)


def _append_chunk(seed: int, n: int) -> bytes:
    return _content(seed * 1000 + n, CHUNK)


class Load:
    """Writers that record what the server acknowledged."""

    def __init__(self, bucket: oss2.Bucket, round_no: int) -> None:
        self.bucket = bucket
        self.round = round_no
        self.stop = threading.Event()
        self.acked_puts: dict[str, tuple[int, int]] = {}
        self.acked_appends: dict[str, int] = {}
        self.lock = threading.Lock()

    def puts(self, worker: int) -> None:
        i = 0
        while not self.stop.is_set():
            key = f"put/{self.round}/{worker}/{i}"
            seed, length = hash(key) & 0xFFFFFFFF, random.choice([0, 100, 70_000, 1_500_000])
            try:
                self.bucket.put_object(key, _content(seed, length), headers={"x-oss-meta-seed": str(seed)})
            except Exception:
                return
            with self.lock:
                self.acked_puts[key] = (seed, length)
            i += 1

    def multipart(self, worker: int) -> None:
        i = 0
        while not self.stop.is_set():
            key = f"mp/{self.round}/{worker}/{i}"
            seed = hash(key) & 0xFFFFFFFF
            data = _content(seed, 250_000)
            try:
                uid = self.bucket.init_multipart_upload(key, headers={"x-oss-meta-seed": str(seed)}).upload_id
                p1 = self.bucket.upload_part(key, uid, 1, data[:120_000])
                p2 = self.bucket.upload_part(key, uid, 2, data[120_000:])
                self.bucket.complete_multipart_upload(key, uid, [PartInfo(1, p1.etag), PartInfo(2, p2.etag)])
            except Exception:
                return
            with self.lock:
                self.acked_puts[key] = (seed, 250_000)
            i += 1

    def appends(self, worker: int) -> None:
        key = f"ap/{self.round}/{worker}"
        seed = hash(key) & 0xFFFFFFFF
        n = 0
        while not self.stop.is_set():
            try:
                self.bucket.append_object(key, n * CHUNK, _append_chunk(seed, n))
            except Exception:
                return
            n += 1
            with self.lock:
                self.acked_appends[key] = n


def _verify(bucket: oss2.Bucket, load: Load) -> None:
    present = {o.key: o for o in oss2.ObjectIterator(bucket, prefix="")}
    for key in load.acked_puts:
        assert key in present, f"acknowledged write of {key} was lost"
    for key, obj in present.items():
        data = bucket.get_object(key).read()  # oss2 checks the CRC-64 of every whole-object GET
        if key.startswith("ap/"):
            seed = hash(key) & 0xFFFFFFFF
            assert len(data) % CHUNK == 0, f"{key}: torn append ({len(data)} bytes)"
            n = len(data) // CHUNK
            assert data == b"".join(_append_chunk(seed, j) for j in range(n)), f"{key}: corrupt append"
            if key in load.acked_appends:
                assert n >= load.acked_appends[key], f"{key}: acknowledged append lost"
        else:
            seed = int(bucket.head_object(key).headers["x-oss-meta-seed"])
            length = 250_000 if key.startswith("mp/") else obj.size
            assert data == _content(seed, length), f"{key}: corrupt or half-written"


def _no_leftovers(data_dir: Path) -> None:
    assert list((data_dir / "tmp").iterdir()) == []
    on_disk = {p.name for p in (data_dir / "blobs").glob("*/*")}
    with metadb.connect(data_dir) as db:
        referenced = {r[0] for r in db.execute("SELECT blob_id FROM blobs")}
        inline_rows = {r[0] for r in db.execute("SELECT blob_id FROM blob_data")}
    inline = {b for b in referenced if b.startswith("i-")}
    # Small bodies live in blob_data (inline blobs), larger ones in files: each exactly once.
    assert on_disk == referenced - inline
    assert inline_rows == inline


@pytest.mark.slow
def test_kill_9_during_writes_many_times(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    server = ServerProcess(data_dir, port).start()
    bucket = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET),
        server.endpoint,
        "crash",
        region=REGION,
        connect_timeout=5,
    )
    bucket.create_bucket()
    rng = random.Random(1234)
    try:
        for round_no in range(6):
            load = Load(bucket, round_no)
            threads = [threading.Thread(target=load.puts, args=(w,)) for w in range(3)]
            threads += [threading.Thread(target=load.multipart, args=(w,)) for w in range(2)]
            threads += [threading.Thread(target=load.appends, args=(w,)) for w in range(2)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.4, 1.5))
            server.kill()
            load.stop.set()
            for t in threads:
                t.join(timeout=30)
            server = ServerProcess(data_dir, port).start()
            _no_leftovers(data_dir)
            _verify(bucket, load)
            assert load.acked_puts or load.acked_appends, "the load made no progress before the kill"
    finally:
        server.stop()
