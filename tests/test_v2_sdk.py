"""The same API through the V2 SDK (alibabacloud-oss-v2), which signs with V4."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from tests.conftest import new_bucket_name
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess
from tests.v2sdk import v2_client


@pytest.fixture
def client(server: ServerProcess) -> oss.Client:
    return v2_client(server.endpoint)


@pytest.fixture
def bucket(client: oss.Client) -> Iterator[str]:
    name = new_bucket_name("v2")
    client.put_bucket(oss.PutBucketRequest(bucket=name))
    yield name
    for page in client.list_objects_v2_paginator().iter_page(oss.ListObjectsV2Request(bucket=name)):
        for o in page.contents or []:
            client.delete_object(oss.DeleteObjectRequest(bucket=name, key=o.key))
    client.delete_bucket(oss.DeleteBucketRequest(bucket=name))


def test_exists_checks(client: oss.Client, bucket: str) -> None:
    assert client.is_bucket_exist(bucket)
    assert not client.is_bucket_exist(new_bucket_name("none"))
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="k", body=b"v"))
    assert client.is_object_exist(bucket, "k")
    assert not client.is_object_exist(bucket, "nope")


def test_put_get_metadata_unicode_key(client: oss.Client, bucket: str) -> None:
    key = "dir/ü nicode ✓.txt"
    r = client.put_object(
        oss.PutObjectRequest(bucket=bucket, key=key, body=b"hello world", metadata={"owner": "me"})
    )
    assert r.etag == '"5EB63BBBE01EEED093CB22BB8F5ACDC3"'
    got = client.get_object(oss.GetObjectRequest(bucket=bucket, key=key))
    assert got.body.read() == b"hello world"
    assert got.metadata == {"owner": "me"}
    assert got.hash_crc64 == r.hash_crc64
    rng = client.get_object(oss.GetObjectRequest(bucket=bucket, key=key, range_header="bytes=6-10"))
    assert rng.body.read() == b"world"


def test_presign_v4(client: oss.Client, bucket: str) -> None:
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="a b", body=b"signed"))
    pre = client.presign(oss.GetObjectRequest(bucket=bucket, key="a b"))
    assert requests.get(pre.url, timeout=10).content == b"signed"
    put = client.presign(oss.PutObjectRequest(bucket=bucket, key="via-url"))
    assert requests.put(put.url, data=b"up", timeout=10).status_code == 200
    assert client.get_object(oss.GetObjectRequest(bucket=bucket, key="via-url")).body.read() == b"up"


def test_uploader_and_downloader(client: oss.Client, bucket: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(2 * 1024 * 1024 + 3)
    uploader = client.uploader(part_size=256 * 1024, parallel_num=3)
    uploader.upload_from(oss.PutObjectRequest(bucket=bucket, key="big"), io.BytesIO(data))
    out = tmp_path / "out"
    downloader = client.downloader(part_size=256 * 1024, parallel_num=3)
    downloader.download_file(oss.GetObjectRequest(bucket=bucket, key="big"), str(out))
    assert out.read_bytes() == data


def test_append_and_copy(client: oss.Client, bucket: str) -> None:
    r = client.append_object(oss.AppendObjectRequest(bucket=bucket, key="ap", position=0, body=b"abc"))
    client.append_object(
        oss.AppendObjectRequest(
            bucket=bucket, key="ap", position=r.next_position, body=b"def", init_hash_crc64=r.hash_crc64
        )
    )
    client.copy_object(oss.CopyObjectRequest(bucket=bucket, key="cp", source_key="ap"))
    assert client.get_object(oss.GetObjectRequest(bucket=bucket, key="cp")).body.read() == b"abcdef"


def test_listing_and_delete_multiple(client: oss.Client, bucket: str) -> None:
    for k in ["x/1", "x/2", "y"]:
        client.put_object(oss.PutObjectRequest(bucket=bucket, key=k, body=b"."))
    r = client.list_objects_v2(oss.ListObjectsV2Request(bucket=bucket, delimiter="/"))
    assert [o.key for o in r.contents] == ["y"]
    assert [p.prefix for p in r.common_prefixes] == ["x/"]
    d = client.delete_multiple_objects(
        oss.DeleteMultipleObjectsRequest(
            bucket=bucket, objects=[oss.DeleteObject(key="x/1"), oss.DeleteObject(key="x/2")]
        )
    )
    assert sorted(o.key for o in d.deleted_objects) == ["x/1", "x/2"]


def test_error_codes(client: oss.Client, bucket: str) -> None:
    with pytest.raises(oss.exceptions.OperationError) as err:
        client.get_object(oss.GetObjectRequest(bucket=bucket, key="missing"))
    se = err.value.unwrap()
    assert isinstance(se, oss.exceptions.ServiceError)
    assert (se.status_code, se.code, se.ec) == (404, "NoSuchKey", "0026-00000001")


def test_describe_regions(client: oss.Client, server: ServerProcess) -> None:
    """The server's region, at the endpoint the client used (V2 SDK), and a region it does not serve."""
    every = client.describe_regions(oss.DescribeRegionsRequest()).region_info
    host = server.endpoint.split("://", 1)[1]
    assert [(r.region, r.internet_endpoint, r.internal_endpoint) for r in every] == [
        (f"oss-{REGION}", host, host)
    ]
    one = client.describe_regions(oss.DescribeRegionsRequest(regions=f"oss-{REGION}")).region_info
    assert [r.region for r in one] == [f"oss-{REGION}"]
    with pytest.raises(oss.exceptions.OperationError) as missing:
        client.describe_regions(oss.DescribeRegionsRequest(regions="oss-us-west-1"))
    assert missing.value.unwrap().code == "NoSuchRegion"
    # oss2, signing V1 (where `regions` is not a signed sub-resource)
    service = oss2.Service(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint)
    assert [r.region for r in service.describe_regions().regions] == [f"oss-{REGION}"]


def test_copy_with_replace_takes_every_system_header_from_the_request(
    client: oss.Client, bucket: str
) -> None:
    """REPLACE: Content-Type, Cache-Control, Content-Disposition... come from the copy request; one it does
    not send is gone (Content-Type falls back to OSS's default), never the source's. COPY keeps them all."""
    client.put_object(
        oss.PutObjectRequest(
            bucket=bucket, key="src", body=b"data", content_type="text/x", cache_control="no-cache",
            content_disposition="attachment", metadata={"a": "1"},
        )
    )  # fmt: skip
    client.copy_object(
        oss.CopyObjectRequest(
            bucket=bucket, key="replaced", source_key="src", metadata_directive="REPLACE",
            metadata={"b": "2"}, content_encoding="identity",
        )
    )  # fmt: skip
    replaced = client.head_object(oss.HeadObjectRequest(bucket=bucket, key="replaced"))
    assert replaced.content_type == "application/octet-stream"
    assert replaced.cache_control is None and replaced.content_disposition is None
    assert replaced.content_encoding == "identity"
    assert replaced.metadata == {"b": "2"}
    client.copy_object(oss.CopyObjectRequest(bucket=bucket, key="copied", source_key="src"))
    copied = client.head_object(oss.HeadObjectRequest(bucket=bucket, key="copied"))
    assert (copied.content_type, copied.cache_control, copied.content_disposition) == (
        "text/x", "no-cache", "attachment",
    )  # fmt: skip
    assert copied.metadata == {"a": "1"}


def test_bucket_stat_by_storage_class_and_delete_markers(client: oss.Client, bucket: str) -> None:
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="std", body=b"s" * 100))
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="ia", body=b"i" * 30, storage_class="IA"))
    client.put_bucket_versioning(
        oss.PutBucketVersioningRequest(
            bucket=bucket, versioning_configuration=oss.VersioningConfiguration(status="Enabled")
        )
    )
    client.put_object(oss.PutObjectRequest(bucket=bucket, key="gone", body=b"g"))
    client.delete_object(oss.DeleteObjectRequest(bucket=bucket, key="gone"))
    stat = client.get_bucket_stat(oss.GetBucketStatRequest(bucket=bucket))
    assert (stat.storage, stat.object_count, stat.delete_marker_count) == (130, 2, 1)
    assert (stat.standard_storage, stat.standard_object_count) == (100, 1)
    assert (stat.infrequent_access_storage, stat.infrequent_access_object_count) == (30, 1)
    assert stat.archive_object_count == 0 and stat.multi_part_upload_count == 0
    info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket=bucket)).bucket_info
    assert info.block_public_access is False and info.versioning == "Enabled"
    assert info.data_redundancy_type == "LRS" and info.access_monitor == "Disabled"
    # Leave the bucket deletable for the fixture: versions and the marker go.
    versions = client.list_object_versions(oss.ListObjectVersionsRequest(bucket=bucket))
    for v in [*(versions.version or []), *(versions.delete_marker or [])]:
        client.delete_object(oss.DeleteObjectRequest(bucket=bucket, key=v.key, version_id=v.version_id))


def test_multipart_result_fields(client: oss.Client, bucket: str, server: ServerProcess) -> None:
    """What OSS answers on each multipart call, field by field as the V2 SDK reads it."""
    init = client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket=bucket, key="mp", storage_class="IA")
    )
    assert (init.bucket, init.key) == (bucket, "mp") and init.upload_id
    body = os.urandom(1000)
    part = client.upload_part(
        oss.UploadPartRequest(bucket=bucket, key="mp", upload_id=init.upload_id, part_number=1, body=body)
    )
    assert part.etag and part.content_md5 and part.hash_crc64
    listed = client.list_parts(oss.ListPartsRequest(bucket=bucket, key="mp", upload_id=init.upload_id))
    assert (listed.bucket, listed.key, listed.upload_id, listed.storage_class) == (
        bucket,
        "mp",
        init.upload_id,
        "IA",
    )
    assert (listed.max_parts, listed.is_truncated, listed.part_number_marker) == (1000, False, 0)
    [p] = listed.parts
    assert (p.part_number, p.etag, p.size, p.hash_crc64) == (1, part.etag, 1000, part.hash_crc64)
    assert p.last_modified is not None
    uploads = client.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=bucket))
    assert [(u.key, u.upload_id) for u in uploads.uploads] == [("mp", init.upload_id)]
    assert uploads.uploads[0].initiated is not None
    parts = oss.CompleteMultipartUpload(parts=[oss.UploadPart(part_number=1, etag=part.etag)])
    done = client.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket=bucket, key="mp", upload_id=init.upload_id, complete_multipart_upload=parts
        )
    )
    assert (done.bucket, done.key) == (bucket, "mp") and done.etag and done.hash_crc64
    assert done.location == f"{server.endpoint}/{bucket}/mp"
