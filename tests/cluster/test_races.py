"""Races between real clients on three nodes: checks and writes stay atomic across nodes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import oss2
import pytest
from botocore.exceptions import ClientError

from tests.cluster.conftest import Cluster, new_name
from tests.s3.conftest import s3_client
from tests.seaweed import SeaweedFS

pytestmark = pytest.mark.slow


def _all_at_once(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run call(i) for i in range(count) on as many threads, released together; exceptions are results."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        start.wait()
        try:
            return call(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_one_of_sixteen_conditional_writers_wins(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster(3)
    name = new_name("ifnm")
    c.bucket(0, name).create_bucket()
    clients = [s3_client(node.endpoint) for node in c.nodes]
    for round_ in range(3):
        key = f"k{round_}"
        results = _all_at_once(
            16,
            lambda i, key=key: clients[i % 3].put_object(
                Bucket=name, Key=key, Body=f"w{i}".encode(), IfNoneMatch="*"
            ),
        )
        won = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, ClientError)]
        assert len(won) == 1, results
        assert len(lost) == 15 and {e.response["Error"]["Code"] for e in lost} == {"PreconditionFailed"}
        body = clients[(won[0] + 1) % 3].get_object(Bucket=name, Key=key)["Body"].read()
        assert body == f"w{won[0]}".encode()
    # The same with OSS's x-oss-forbid-overwrite.
    buckets = [c.bucket(i, name) for i in range(3)]
    results = _all_at_once(
        16,
        lambda i: buckets[i % 3].put_object(
            "oss", f"w{i}".encode(), headers={"x-oss-forbid-overwrite": "true"}
        ),
    )
    won = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(won) == 1, results
    assert all(
        isinstance(r, oss2.exceptions.ServerError) and r.code == "FileAlreadyExists"
        for r in results
        if r is not results[won[0]]
    )
    assert buckets[0].get_object("oss").read() == f"w{won[0]}".encode()
    assert not c.errors_logged()


def test_one_append_at_a_position_wins(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster(3)
    name = new_name("append")
    buckets = [c.bucket(i, name) for i in range(3)]
    buckets[0].create_bucket()
    buckets[0].append_object("log", 0, b"head;")
    for _ in range(3):
        length = buckets[1].head_object("log").content_length
        results = _all_at_once(
            12, lambda i, at=length: buckets[i % 3].append_object("log", at, f"[{i}]".encode())
        )
        won = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
        assert len(won) == 1, results
        losers = [r for r in results if isinstance(r, Exception)]
        assert {r.code for r in losers} == {"PositionNotEqualToLength"}, losers
        assert buckets[2].get_object("log").read().endswith(f"[{won[0]}]".encode())
    assert not c.errors_logged()


def test_complete_racing_abort_of_one_upload(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster(3)
    name = new_name("mpu")
    a, b, third = (c.bucket(i, name) for i in range(3))
    a.create_bucket()
    outcomes = set()
    for round_ in range(6):
        key = f"obj{round_}"
        upload = a.init_multipart_upload(key).upload_id
        data = bytes([round_]) * (200 * 1024)
        etag = a.upload_part(key, upload, 1, data).etag

        def race(i: int, key: str = key, upload: str = upload, etag: str = etag) -> Any:
            if i == 0:
                return b.complete_multipart_upload(key, upload, [oss2.models.PartInfo(1, etag)])
            return third.abort_multipart_upload(key, upload)

        done, aborted = _all_at_once(2, race)
        if isinstance(done, Exception):
            # Abort won: the complete found no upload, and no object exists.
            assert done.code == "NoSuchUpload", done
            assert not isinstance(aborted, Exception)
            assert not a.object_exists(key)
            outcomes.add("abort")
        else:
            # Complete won: the object is whole; the abort found no upload.
            assert isinstance(aborted, oss2.exceptions.NoSuchUpload), aborted
            assert a.get_object(key).read() == data
            outcomes.add("complete")
        assert [u.upload_id for u in oss2.MultipartUploadIterator(a, prefix=key)] == []
    assert not c.errors_logged()


def test_deletes_racing_copies_of_one_source(
    make_cluster: Callable[..., Cluster], blob_store: SeaweedFS | None
) -> None:
    c = make_cluster(3, weed=blob_store)
    name = new_name("copy")
    buckets = [c.bucket(i, name) for i in range(3)]
    buckets[0].create_bucket()
    data = b"z" * (300 * 1024)  # a file blob, shared by copies
    for round_ in range(4):
        src = f"src{round_}"
        buckets[0].put_object(src, data)

        def race(i: int, src: str = src, round_: int = round_) -> Any:
            if i == 0:
                return buckets[0].delete_object(src)
            return buckets[i % 3].copy_object(name, src, f"dst{round_}-{i}")

        results = _all_at_once(8, race)
        for i, r in enumerate(results[1:], start=1):
            key = f"dst{round_}-{i}"
            if isinstance(r, Exception):
                assert r.code == "NoSuchKey", r
                assert not buckets[1].object_exists(key)
            else:
                # A copy that was acknowledged keeps its data, whatever the delete did.
                assert buckets[2].get_object(key).read() == data
    if blob_store is not None:
        # Copies share the source's blob (the reads above show none went early); once the last object
        # that uses a blob is gone, so is the blob.
        assert blob_store.keys(f"{c.blob_prefix}/blobs/")
        for obj in oss2.ObjectIterator(buckets[0]):
            buckets[1].delete_object(obj.key)
        assert blob_store.keys_once_empty(f"{c.blob_prefix}/blobs/") == []
    assert not c.errors_logged()
