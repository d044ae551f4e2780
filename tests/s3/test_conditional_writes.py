"""S3's conditional writes through boto3: If-None-Match and If-Match (ETags or `*`) on PutObject, CopyObject
and CompleteMultipartUpload, with and without versioning."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.exceptions
import pytest


def _status_code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[int, str]:
    r = exc.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def _fails(expected: tuple[int, str], call: Any, **kwargs: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(**kwargs)
    assert _status_code(err) == expected


PRECONDITION = (412, "PreconditionFailed")
NO_KEY = (404, "NoSuchKey")


@pytest.mark.parametrize("versioned", [False, True])
def test_put_object_conditions(s3: Any, bucket: str, versioned: bool) -> None:
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object
    etag = put(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    _fails(PRECONDITION, put, Bucket=bucket, Key="k", Body=b"x", IfNoneMatch="*")
    _fails(PRECONDITION, put, Bucket=bucket, Key="k", Body=b"x", IfNoneMatch=etag)
    put(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch='"0000"')
    _fails(PRECONDITION, put, Bucket=bucket, Key="k", Body=b"x", IfMatch=etag)  # now "two"'s ETag
    etag2 = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    put(Bucket=bucket, Key="k", Body=b"three", IfMatch=etag2)
    put(Bucket=bucket, Key="k", Body=b"four", IfMatch="*")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"four"
    s3.delete_object(Bucket=bucket, Key="k")  # a delete marker when versioned: no current version either way
    _fails(NO_KEY, put, Bucket=bucket, Key="k", Body=b"x", IfMatch="*")
    _fails(NO_KEY, put, Bucket=bucket, Key="k", Body=b"x", IfMatch=etag)
    put(Bucket=bucket, Key="k", Body=b"five", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"five"
    if versioned:  # the fixture empties the bucket of current objects only
        listed = s3.list_object_versions(Bucket=bucket)
        for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])


def test_complete_and_copy_conditions(s3: Any, bucket: str) -> None:
    def complete(key: str, **condition: str) -> Any:
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"abc")
        parts = {"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}
        return s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload=parts, **condition
        )

    _fails(NO_KEY, complete, key="mp", IfMatch="*")
    etag = complete("mp", IfNoneMatch="*")["ETag"]
    _fails(PRECONDITION, complete, key="mp", IfNoneMatch="*")
    _fails(PRECONDITION, complete, key="mp", IfMatch='"0000"')
    complete("mp", IfMatch=etag)
    # A failed condition leaves the upload in place: it can still be completed or aborted.
    assert len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 3

    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    copy = s3.copy_object
    copy(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, IfNoneMatch="*")
    _fails(
        PRECONDITION,
        copy,
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        IfNoneMatch="*",
    )
    _fails(NO_KEY, copy, Bucket=bucket, Key="none", CopySource={"Bucket": bucket, "Key": "src"}, IfMatch="*")


def test_conditional_deletes(s3: Any, bucket: str) -> None:
    delete = s3.delete_object
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"abc")["ETag"]
    head = s3.head_object(Bucket=bucket, Key="k")
    _fails(PRECONDITION, delete, Bucket=bucket, Key="k", IfMatch='"0000"')
    _fails(PRECONDITION, delete, Bucket=bucket, Key="k", IfMatchSize=4)
    _fails(PRECONDITION, delete, Bucket=bucket, Key="k", IfMatchLastModifiedTime=dt.datetime(2015, 1, 1))
    delete(Bucket=bucket, Key="k", IfMatch=etag, IfMatchSize=3, IfMatchLastModifiedTime=head["LastModified"])
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    delete(Bucket=bucket, Key="k", IfMatch='"0000"')  # nothing to delete: no error, as S3
    # DeleteObjects: a failed condition is that entry's error; the others are deleted.
    one = s3.put_object(Bucket=bucket, Key="one", Body=b"1")["ETag"]
    s3.put_object(Bucket=bucket, Key="two", Body=b"2")
    answer = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "one", "ETag": one}, {"Key": "two", "ETag": '"0000"'}]},
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["one"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("two", "PreconditionFailed")]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["two"]


def test_conditional_delete_of_a_version(s3: Any, new_bucket: Any) -> None:
    bucket = new_bucket()
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    version, etag = put["VersionId"], put["ETag"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    _fails(PRECONDITION, s3.delete_object, Bucket=bucket, Key="k", VersionId=version, IfMatch='"0000"')
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version, IfMatch=etag)
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in versions] != [version] and len(versions) == 1
    s3.delete_object(Bucket=bucket, Key="k", VersionId=versions[0]["VersionId"], IfMatch="*")
