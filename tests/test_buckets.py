"""Bucket operations through oss2."""

from __future__ import annotations

from pathlib import Path

import oss2
import pytest
import requests
from botocore.exceptions import ClientError

from tests.conftest import new_bucket_name
from tests.s3.conftest import s3_client
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port


def test_bucket_lifecycle(server: ServerProcess, auth: oss2.Auth) -> None:
    name = new_bucket_name("life")
    b = oss2.Bucket(auth, server.endpoint, name, region=REGION)
    b.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ, oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_IA))
    svc = oss2.Service(auth, server.endpoint, region=REGION)
    listed = {x.name: x for x in svc.list_buckets().buckets}
    assert name in listed
    assert listed[name].location == "oss-cn-hangzhou"
    assert listed[name].extranet_endpoint == server.endpoint.removeprefix("http://")
    info = b.get_bucket_info()
    assert (info.name, info.acl.grant, info.storage_class) == (name, "public-read", "IA")
    assert b.get_bucket_location().location == "oss-cn-hangzhou"
    b.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert b.get_bucket_acl().acl == "private"
    b.put_object("x", b"12345")
    stat = b.get_bucket_stat()
    assert (stat.storage_size_in_bytes, stat.object_count) == (5, 1)
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        b.delete_bucket()
    b.delete_object("x")
    b.delete_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_bucket_info()


def test_invalid_bucket_names(server: ServerProcess) -> None:
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    for name in ["ab", "UPPER-case", "-leading", "trailing-", "a" * 64, "under_score"]:
        with pytest.raises((oss2.exceptions.ServerError, oss2.exceptions.ClientError)) as err:
            oss2.Bucket(auth, server.endpoint, name, region=REGION).create_bucket()
        if isinstance(err.value, oss2.exceptions.ServerError):
            assert err.value.code == "InvalidBucketName"


def test_missing_bucket_before_auth(server: ServerProcess) -> None:
    bad = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, "wrong-secret"), server.endpoint, "no-such-bucket-x", region=REGION
    )
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bad.get_object("k")
    with pytest.raises(oss2.exceptions.NoSuchBucket) as err:
        bad.head_object("k")  # HEAD: the code travels in x-oss-err
    assert err.value.code == "NoSuchBucket"


def test_list_buckets_paging(server: ServerProcess) -> None:
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    names = sorted(f"page-{i}-{new_bucket_name('p')}" for i in range(3))
    for n in names:
        oss2.Bucket(auth, server.endpoint, n, region=REGION).create_bucket()
    try:
        found = [
            b.name
            for b in oss2.BucketIterator(oss2.Service(auth, server.endpoint), prefix="page-", max_keys=1)
        ]
        assert found == names
    finally:
        for n in names:
            oss2.Bucket(auth, server.endpoint, n, region=REGION).delete_bucket()


def test_live_channel_listing_is_empty(server: ServerProcess) -> None:
    b = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name(), region=REGION
    )
    b.create_bucket()
    try:
        assert b.list_live_channel().channels == []
    finally:
        b.delete_bucket()


def test_unsupported_operation_is_501(server: ServerProcess) -> None:
    b = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name(), region=REGION
    )
    b.create_bucket()
    try:
        with pytest.raises(oss2.exceptions.ServerError) as err:
            b.get_bucket_replication()
        assert (err.value.status, err.value.code) == (501, "NotImplemented")
    finally:
        b.delete_bucket()


def test_virtual_hosted_style(server: ServerProcess, v1_bucket: oss2.Bucket) -> None:
    """Host `bucket.localhost:port` addresses the bucket; the path is the key."""
    from tests.rawhttp import signed_headers

    v1_bucket.put_object("dir/v h", b"virtual")
    _, headers = signed_headers("GET", server.endpoint, v1_bucket.bucket_name, "dir/v h")
    headers["Host"] = f"{v1_bucket.bucket_name}.localhost:{server.port}"
    r = requests.get(f"{server.endpoint}/dir/v%20h", headers=headers, timeout=10)
    assert (r.status_code, r.content) == (200, b"virtual")


@pytest.mark.parametrize("limit", [3, 0])
def test_max_buckets(tmp_path: Path, limit: int) -> None:
    """--max-buckets: TooManyBuckets past the limit in both dialects (OSS's 100 by default); 0: none."""
    srv = ServerProcess(tmp_path / "data", free_port(), extra_args=("--max-buckets", str(limit))).start()
    try:
        auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        made = [
            oss2.Bucket(auth, srv.endpoint, f"lim-{i}", region=REGION) for i in range(3 if limit else 120)
        ]
        for b in made:
            b.create_bucket()
        if not limit:
            assert len(oss2.Service(auth, srv.endpoint).list_buckets(max_keys=1000).buckets) == 120
            return
        with pytest.raises(oss2.exceptions.ServerError) as refused:
            oss2.Bucket(auth, srv.endpoint, "lim-extra", region=REGION).create_bucket()
        assert (refused.value.status, refused.value.code) == (400, "TooManyBuckets")
        with pytest.raises(ClientError) as s3_refused:
            s3_client(srv.endpoint).create_bucket(Bucket="lim-extra")
        assert s3_refused.value.response["Error"]["Code"] == "TooManyBuckets"
        made[0].delete_bucket()  # room again
        oss2.Bucket(auth, srv.endpoint, "lim-extra", region=REGION).create_bucket()
    finally:
        srv.stop()
