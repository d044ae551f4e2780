"""One store, two dialects: what oss2 writes boto3 reads and the other way round, with the same ETag (in
each dialect's spelling: OSS upper-case hex, S3 lower-case), metadata, ACLs, policies and uploads."""

from __future__ import annotations

import json
from typing import Any

import oss2
import pytest
import requests

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

MiB = 1 << 20


@pytest.fixture
def oss_bucket(server: ServerProcess, bucket: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.AuthV4(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, bucket, region=REGION)


def test_written_by_oss_read_by_s3(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    r = oss_bucket.put_object(
        "from-oss", b"oss bytes", headers={"Content-Type": "text/o", "x-oss-meta-who": "oss2"}
    )
    got = s3.get_object(Bucket=bucket, Key="from-oss")
    assert got["Body"].read() == b"oss bytes"
    assert r.etag == r.etag.upper()
    assert got["ETag"].strip('"') == r.etag.lower()
    assert got["ContentType"] == "text/o" and got["Metadata"] == {"who": "oss2"}
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["ETag"].strip('"') == r.etag.lower()


def test_written_by_s3_read_by_oss(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    put = s3.put_object(Bucket=bucket, Key="from-s3", Body=b"s3 bytes" * 50000, Metadata={"who": "boto3"})
    got = oss_bucket.get_object("from-s3")  # oss2 checks the CRC-64 ossbox computed on the S3 write
    assert got.read() == b"s3 bytes" * 50000
    assert got.etag == put["ETag"].strip('"').upper()
    assert got.headers["x-oss-meta-who"] == "boto3"
    oss_bucket.delete_object("from-s3")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_multipart_started_in_s3_finished_in_oss(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"1" * (5 * MiB))
    listed = list(oss2.MultipartUploadIterator(oss_bucket))
    assert [(u.key, u.upload_id) for u in listed] == [("mp", uid)]
    p2 = oss_bucket.upload_part("mp", uid, 2, b"2" * 10)
    parts = [oss2.models.PartInfo(1, p1["ETag"].strip('"').upper()), oss2.models.PartInfo(2, p2.etag)]
    done = oss_bucket.complete_multipart_upload("mp", uid, parts)
    head = s3.head_object(Bucket=bucket, Key="mp")
    assert head["ETag"].strip('"') == done.etag.lower() and head["ContentLength"] == 5 * MiB + 10


def test_multipart_started_in_oss_finished_in_s3(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    uid = oss_bucket.init_multipart_upload("mp2").upload_id
    oss_part = oss_bucket.upload_part("mp2", uid, 1, b"o" * (5 * MiB))
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mp2", uid)]
    assert [p["ETag"] for p in s3.list_parts(Bucket=bucket, Key="mp2", UploadId=uid)["Parts"]] == [
        f'"{oss_part.etag.lower()}"'
    ]
    p2 = s3.upload_part(Bucket=bucket, Key="mp2", UploadId=uid, PartNumber=2, Body=b"s")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp2",
        UploadId=uid,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": oss_part.etag}, {"PartNumber": 2, "ETag": p2["ETag"]}]
        },
    )
    assert oss_bucket.get_object("mp2").read() == b"o" * (5 * MiB) + b"s"


def test_acl_and_policy_are_shared(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert oss_bucket.get_bucket_acl().acl == "public-read"
    oss_bucket.put_object("o", b"1")
    oss_bucket.put_object_acl("o", oss2.OBJECT_ACL_PUBLIC_READ_WRITE)
    perms = sorted(g["Permission"] for g in s3.get_object_acl(Bucket=bucket, Key="o")["Grants"])
    assert perms == ["FULL_CONTROL", "READ", "WRITE"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/public/*"],
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    ram = json.loads(oss_bucket.get_bucket_policy().policy)
    assert ram["Statement"][0]["Action"] == ["oss:GetObject"]
    assert ram["Statement"][0]["Resource"] == [f"acs:oss:*:*:{bucket}/public/*"]
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == ram
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(oss2.exceptions.NoSuchBucketPolicy):
        oss_bucket.get_bucket_policy()


def test_bucket_tags_are_shared(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    with pytest.raises(s3.exceptions.ClientError) as err:
        s3.get_bucket_tagging(Bucket=bucket)
    assert err.value.response["Error"]["Code"] == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    assert oss_bucket.get_bucket_tagging().tag_set.tagging_rule == {"team": "data"}
    rule = oss2.models.TaggingRule()
    rule.add("env", "test")
    oss_bucket.put_bucket_tagging(oss2.models.Tagging(rule))
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "test"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    assert oss_bucket.get_bucket_tagging().tag_set.tagging_rule == {}


def test_cors_rules_apply_to_s3_requests(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    """A browser uploading with a presigned S3 URL: the preflight (unsigned) and the upload both see the
    bucket's CORS rules."""
    from oss2.models import BucketCors, CorsRule

    app = "https://app.example.com"
    rule = CorsRule(allowed_origins=[app], allowed_methods=["PUT"], allowed_headers=["*"])
    oss_bucket.put_bucket_cors(BucketCors([rule]))
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60)
    origin = {"Origin": "https://app.example.com"}
    pre = requests.options(url, headers={**origin, "Access-Control-Request-Method": "PUT"}, timeout=10)
    assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    r = requests.put(url, data=b"from a browser", headers=origin, timeout=10)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = requests.put(url, data=b"x", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
