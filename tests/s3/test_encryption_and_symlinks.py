"""Server-side encryption and symlinks seen through the S3 dialect: SSE-S3 (AES256) and SSE-KMS (aws:kms)
map onto OSS's AES256 and KMS on the same stored objects; a symlink made with oss2 reads through boto3."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import botocore.exceptions
import oss2
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

MiB = 1 << 20


@pytest.fixture
def oss_bucket(server: ServerProcess, bucket: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.AuthV4(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, bucket, region=REGION)


def _code(err: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_sse_s3_round_trip_and_seen_by_oss(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    body = b"secret " * 40000
    put = s3.put_object(Bucket=bucket, Key="enc", Body=body, ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="enc", Range="bytes=7-20")
    assert got["Body"].read() == body[7:21] and got["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="enc")["ServerSideEncryption"] == "AES256"
    o = oss_bucket.get_object("enc")
    assert o.read() == body and o.headers["x-oss-server-side-encryption"] == "AES256"
    small = s3.put_object(Bucket=bucket, Key="small", Body=b"tiny", ServerSideEncryption="AES256")
    assert small["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == b"tiny"


def test_sse_kms_and_bad_values(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    put = s3.put_object(
        Bucket=bucket, Key="kms", Body=b"k" * 1000, ServerSideEncryption="aws:kms", SSEKMSKeyId="key-1"
    )
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == "key-1"
    head = oss_bucket.head_object("kms")
    assert head.headers["x-oss-server-side-encryption"] == "KMS"
    assert head.headers["x-oss-server-side-encryption-key-id"] == "key-1"
    assert s3.get_object(Bucket=bucket, Key="kms")["Body"].read() == b"k" * 1000
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"1", ServerSideEncryption="rot13")
    assert _code(err) == "InvalidArgument"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_copy_into_encryption_and_encrypted_multipart(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p" * (3 * MiB))
    s3.copy_object(
        Bucket=bucket,
        Key="plain",
        CopySource={"Bucket": bucket, "Key": "plain"},
        ServerSideEncryption="AES256",
    )
    head = s3.head_object(Bucket=bucket, Key="plain")
    assert head["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"p" * (3 * MiB)

    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="AES256")["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"1" * (5 * MiB))
    p2 = s3.upload_part_copy(
        Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, CopySource={"Bucket": bucket, "Key": "plain"}
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=uid,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": p1["ETag"]},
                {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]},
            ]
        },
    )
    got = oss_bucket.get_object("mp")  # oss2 checks the CRC-64 of the plaintext
    assert got.read() == b"1" * (5 * MiB) + b"p" * (3 * MiB)
    assert got.headers["x-oss-server-side-encryption"] == "AES256"


def test_symlink_made_by_oss_reads_through_s3(s3: Any, bucket: str, oss_bucket: oss2.Bucket) -> None:
    oss_bucket.put_object("target", b"target bytes")
    oss_bucket.put_symlink("target", "link")
    assert s3.get_object(Bucket=bucket, Key="link")["Body"].read() == b"target bytes"
    assert s3.head_object(Bucket=bucket, Key="link")["ContentLength"] == len(b"target bytes")
    oss_bucket.delete_object("target")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="link")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_part_copied_into_an_encrypted_upload_carries_its_checksum(s3: Any, bucket: str) -> None:
    body = b"c" * (5 * MiB + 3)
    s3.put_object(Bucket=bucket, Key="plain-src", Body=body)
    uid = s3.create_multipart_upload(
        Bucket=bucket, Key="enc-mp", ServerSideEncryption="AES256", ChecksumAlgorithm="SHA256"
    )["UploadId"]
    copied = s3.upload_part_copy(
        Bucket=bucket,
        Key="enc-mp",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "plain-src"},
    )["CopyPartResult"]
    assert copied["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    s3.abort_multipart_upload(Bucket=bucket, Key="enc-mp", UploadId=uid)
