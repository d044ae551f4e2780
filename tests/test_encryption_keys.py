"""The master key across restarts: keys survive; a missing, damaged or different key file stops the server
with a clear message (never garbage, never the key in the log); --master-key-file; kill -9 during encrypted
writes."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import oss2
import pytest
from oss2.models import ServerSideEncryptionRule

from tests import metadb
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port
from tests.test_crash import Load, _no_leftovers, _verify

SSE = "x-oss-server-side-encryption"


def _bucket(server: ServerProcess, name: str) -> oss2.Bucket:
    return oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, name, region=REGION, connect_timeout=5
    )


def _refused_start(data_dir: Path, port: int, *args: str) -> str:
    """Start a server that must refuse to start; returns its log."""
    server = ServerProcess(data_dir, port, extra_args=args)
    with pytest.raises(RuntimeError, match="exited early") as err:
        server.start()
    assert server.proc is not None and server.proc.wait(timeout=10) != 0
    return str(err.value)


def test_keys_survive_restarts_and_a_bad_key_file_stops_the_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    server = ServerProcess(data_dir, port).start()
    key_file = data_dir / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    original = key_file.read_bytes()
    small, big = os.urandom(1000), os.urandom(2_000_000)
    try:
        b = _bucket(server, "keys")
        b.create_bucket()
        b.put_object("small", small, headers={SSE: "AES256"})
        b.put_object("big", big, headers={SSE: "KMS"})
    finally:
        server.stop()

    server = ServerProcess(data_dir, port).start()
    try:
        assert b.get_object("small").read() == small
        assert b.get_object("big", byte_range=(999_999, 1_000_999)).read() == big[999_999:1_001_000]
    finally:
        server.stop()
    assert key_file.read_bytes() == original  # created once, never rewritten

    key_file.rename(tmp_path / "master.key.saved")
    log = _refused_start(data_dir, port)
    assert "master key file" in log and "is missing" in log and "encrypted objects" in log
    assert not key_file.exists()  # no new key was made over encrypted data

    key_file.write_text("not a key\n")
    log = _refused_start(data_dir, port)
    assert "is damaged" in log

    key_file.write_text(os.urandom(32).hex() + "\n")
    log = _refused_start(data_dir, port)
    assert "is not the key" in log
    for text in (original.decode().strip(), key_file.read_text().strip()):
        assert text not in log

    # The original key, moved out of the data directory and named with --master-key-file, works.
    key_file.unlink()
    outside = tmp_path / "keys" / "ossbox.key"
    outside.parent.mkdir()
    (tmp_path / "master.key.saved").rename(outside)
    server = ServerProcess(data_dir, port, extra_args=("--master-key-file", str(outside))).start()
    try:
        assert b.get_object("big").read() == big
        assert not key_file.exists()
    finally:
        server.stop()


def test_a_fresh_data_directory_may_replace_a_key_nothing_uses(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    ServerProcess(data_dir, port).start().stop()
    first = (data_dir / "master.key").read_bytes()
    (data_dir / "master.key").unlink()
    server = ServerProcess(data_dir, port).start()  # nothing was encrypted: a new key is made
    try:
        assert (data_dir / "master.key").read_bytes() != first
        b = _bucket(server, "fresh")
        b.create_bucket()
        b.put_object("k", b"v", headers={SSE: "SM4"})
        assert b.get_object("k").read() == b"v"
    finally:
        server.stop()


@pytest.mark.slow
def test_kill_9_during_encrypted_writes(tmp_path: Path) -> None:
    """As tests/test_crash.py, in a bucket whose default rule encrypts every PUT, part and append."""
    data_dir = tmp_path / "data"
    port = free_port()
    server = ServerProcess(data_dir, port).start()
    bucket = _bucket(server, "crash-sse")
    bucket.create_bucket()
    rule = ServerSideEncryptionRule()
    rule.sse_algorithm = "AES256"
    bucket.put_bucket_encryption(rule)
    rng = random.Random(99)
    try:
        for round_no in range(3):
            load = Load(bucket, round_no)
            threads = [threading.Thread(target=load.puts, args=(w,)) for w in range(3)]
            threads += [threading.Thread(target=load.multipart, args=(0,))]
            threads += [threading.Thread(target=load.appends, args=(w,)) for w in range(2)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.5, 1.5))
            server.kill()
            load.stop.set()
            for t in threads:
                t.join(timeout=30)
            server = ServerProcess(data_dir, port).start()
            _no_leftovers(data_dir)
            with metadb.connect(data_dir) as db:
                blobs = {r[0] for r in db.execute("SELECT blob_id FROM blobs")}
                keyed = {r[0] for r in db.execute("SELECT blob_id FROM blob_keys")}
                plain = db.execute("SELECT COUNT(*) FROM objects WHERE sse = '' AND size > 0").fetchone()[0]
            assert keyed == blobs, "every blob is encrypted, each with exactly one key row"
            assert plain == 0
            _verify(bucket, load)  # whole-object GETs: oss2 checks each CRC-64 against the plaintext
            assert load.acked_puts or load.acked_appends, "the load made no progress before the kill"
    finally:
        server.stop()
