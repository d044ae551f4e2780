"""The multipart family through boto3, with its default per-part checksums, and the failure paths."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

import boto3.s3.transfer
import botocore.exceptions
import oss2
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

MiB = 1 << 20


def _code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_transfer_manager_upload_and_download(s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * (11 * 4096 + 7)  # 11 MiB and a bit: three parts of (at least) 5 MiB
    cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "big", Config=cfg)
    head = s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    parts = -(-len(data) // (5 * MiB))
    assert head["ContentLength"] == len(data) and head["ETag"].endswith(f'-{parts}"')
    # s3transfer asks for CRC32 per part: the object's checksum is COMPOSITE over the parts.
    assert head["ChecksumType"] == "COMPOSITE" and head["ChecksumCRC32"].endswith(f"-{parts}")
    out = io.BytesIO()
    s3.download_fileobj(bucket, "big", out, Config=cfg)
    assert out.getvalue() == data


def test_parts_listing_complete_and_etag(s3: Any, bucket: str) -> None:
    up = s3.create_multipart_upload(Bucket=bucket, Key="m", ContentType="text/m", Metadata={"k": "v"})
    uid = up["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=1, Body=b"a" * (5 * MiB))
    p2 = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=2, Body=b"b" * 100)
    listed = s3.list_parts(Bucket=bucket, Key="m", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed] == [
        (1, 5 * MiB, p1["ETag"]),
        (2, 100, p2["ETag"]),
    ]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("m", uid)]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="m",
        UploadId=uid,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]
        },
    )
    digests = hashlib.md5(b"a" * (5 * MiB)).digest() + hashlib.md5(b"b" * 100).digest()
    assert done["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-2"'
    head = s3.head_object(Bucket=bucket, Key="m")
    assert head["ContentType"] == "text/m" and head["Metadata"] == {"k": "v"}
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_full_object_crc64nvme(s3: Any, bucket: str) -> None:
    up = s3.create_multipart_upload(
        Bucket=bucket, Key="f", ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT"
    )
    uid = up["UploadId"]
    chunks = [b"x" * (5 * MiB), b"y" * 1234]
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        r = s3.upload_part(
            Bucket=bucket, Key="f", UploadId=uid, PartNumber=n, Body=chunk, ChecksumAlgorithm="CRC64NVME"
        )
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC64NVME": r["ChecksumCRC64NVME"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="f", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    whole = s3.put_object(Bucket=bucket, Key="whole", Body=b"".join(chunks), ChecksumAlgorithm="CRC64NVME")
    # FULL_OBJECT: the parts' CRCs combine into the CRC of the whole object.
    assert done["ChecksumCRC64NVME"] == whole["ChecksumCRC64NVME"]
    got = s3.get_object(Bucket=bucket, Key="f", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(chunks) and got["ChecksumType"] == "FULL_OBJECT"


def test_upload_part_copy(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789" * MiB)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r1 = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes=0-{5 * MiB - 1}",
    )
    r2 = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes={5 * MiB}-{10 * MiB - 1}",
    )
    parts = [
        {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]},
    ]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"0123456789" * MiB


def test_failures(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="e")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=1, Body=b"tiny")["ETag"]
    last = s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=2, Body=b"end")["ETag"]

    def complete(parts: list[dict[str, Any]]) -> str:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": parts}
            )
        return _code(err)

    assert complete([{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}]) == "EntityTooSmall"
    assert complete([{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}]) == "InvalidPartOrder"
    assert complete([{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]) == "InvalidPart"
    assert complete([{"PartNumber": 3, "ETag": last}]) == "InvalidPart"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": []})
    assert _code(err) == "MalformedXML"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=10001, Body=b"x")
    assert _code(err) == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="e", UploadId=uid)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=1, Body=b"x")
    assert _code(err) == "NoSuchUpload"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_parts(Bucket=bucket, Key="e", UploadId="nope")
    assert _code(err) == "NoSuchUpload"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_checksum_algorithm_of_upload_is_enforced(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="c", ChecksumAlgorithm="SHA256")["UploadId"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.upload_part(
            Bucket=bucket, Key="c", UploadId=uid, PartNumber=1, Body=b"x", ChecksumAlgorithm="CRC32"
        )
    assert _code(err) == "InvalidRequest"
    r = s3.upload_part(
        Bucket=bucket, Key="c", UploadId=uid, PartNumber=1, Body=b"x", ChecksumAlgorithm="SHA256"
    )
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="c",
            UploadId=uid,
            MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": r["ETag"], "ChecksumSHA256": "A" * 43 + "="}]
            },
        )
    assert _code(err) == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="c",
        UploadId=uid,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]}]
        },
    )
    assert done["ChecksumSHA256"].endswith("-1")


def test_delete_bucket_aborts_uploads_in_progress(s3: Any, server: ServerProcess) -> None:
    """S3 deletes a bucket whose only contents are uploads in progress, aborting them; OSS refuses."""
    name = f"s3-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    upload = s3.create_multipart_upload(Bucket=name, Key="pending")["UploadId"]
    s3.upload_part(Bucket=name, Key="pending", UploadId=upload, PartNumber=1, Body=b"p" * (300 * 1024))
    oss_bucket = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, name, region=REGION
    )
    with pytest.raises(oss2.exceptions.ServerError) as err:
        oss_bucket.delete_bucket()
    assert err.value.code == "BucketNotEmpty"
    # An object still keeps it, uploads or not.
    s3.put_object(Bucket=name, Key="object", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as s3_err:
        s3.delete_bucket(Bucket=name)
    assert _code(s3_err) == "BucketNotEmpty"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=name)["Uploads"]] == [upload]
    s3.delete_object(Bucket=name, Key="object")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(botocore.exceptions.ClientError) as s3_err:
        s3.head_bucket(Bucket=name)
    assert s3_err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.create_bucket(Bucket=name)  # the name is free again, with nothing left in it
    assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    s3.delete_bucket(Bucket=name)


def test_completing_again_answers_the_same_object(s3: Any, bucket: str) -> None:
    """S3 answers a repeated CompleteMultipartUpload with the object it made (clients retry completes whose
    answer they lost), while that object is still the key's current version."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"data")
    parts = {"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}
    first = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload=parts)
    again = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload=parts)
    assert again["ETag"] == first["ETag"]
    other = {"Parts": [{"ETag": '"0123456789abcdef0123456789abcdef"', "PartNumber": 1}]}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload=other)
    assert _code(err) == "NoSuchUpload"
    s3.put_object(Bucket=bucket, Key="mp", Body=b"replaced")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload=parts)
    assert _code(err) == "NoSuchUpload"
