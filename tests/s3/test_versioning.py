"""Versioning through S3, on the same versions as the OSS dialect's: ids, delete markers, listing,
version-addressed reads, copies, tags and deletes."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import oss2
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


def _code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_versions_delete_markers_and_listing(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and "null" not in (v1, v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    old = s3.get_object(Bucket=bucket, Key="k", VersionId=v1)
    assert old["Body"].read() == b"one" and old["VersionId"] == v1
    assert s3.head_object(Bucket=bucket, Key="k")["VersionId"] == v2
    gone = s3.delete_object(Bucket=bucket, Key="k")
    assert gone["DeleteMarker"] is True
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k")
    assert _code(err) == "NoSuchKey"
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    listed = s3.list_object_versions(Bucket=bucket)
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [
        ("k", gone["VersionId"], True)
    ]
    assert [(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [(v2, False), (v1, False)]
    # Removing the delete marker makes the newest version current again.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=gone["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    # A version can be copied, tagged and deleted by id.
    copied = s3.copy_object(
        Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1}
    )
    assert copied["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"one"
    s3.put_object_tagging(
        Bucket=bucket, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "old", "Value": "1"}]}
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["TagSet"] == [
        {"Key": "old", "Value": "1"}
    ]
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    r = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": "bogus!"}]},
    )
    assert [(d["Key"], d["VersionId"]) for d in r["Deleted"]] == [("k", v1)]
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("k", "InvalidArgument")]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k", VersionId=v1)
    assert _code(err) == "NoSuchVersion"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="s", Body=b"x").get("VersionId") == "null"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Disabled"})
    assert _code(err) == "MalformedXML"
    # Clean up every version so the fixture can delete the bucket.
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


def test_versions_are_shared_with_oss(s3: Any, bucket: str, server: ServerProcess) -> None:
    oss_bucket = oss2.Bucket(
        oss2.AuthV4(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, bucket, region=REGION
    )
    oss_bucket.put_bucket_versioning(oss2.models.BucketVersioningConfig(oss2.BUCKET_VERSIONING_ENABLE))
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    first = oss_bucket.put_object("o", b"from oss").versionid
    second = s3.put_object(Bucket=bucket, Key="o", Body=b"from s3")["VersionId"]
    assert oss_bucket.get_object("o", params={"versionId": second}).read() == b"from s3"
    assert s3.get_object(Bucket=bucket, Key="o", VersionId=first)["Body"].read() == b"from oss"
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == [second, first]
    for version_id in ids:
        s3.delete_object(Bucket=bucket, Key="o", VersionId=version_id)


def test_archived_objects_restore_through_s3(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="cold", Body=b"frozen", StorageClass="GLACIER")
    head = s3.head_object(Bucket=bucket, Key="cold")
    assert head["StorageClass"] == "GLACIER" and "Restore" not in head
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="cold")
    assert _code(err) == "InvalidObjectState"
    r = s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 1})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3.head_object(Bucket=bucket, Key="cold")["Restore"] == 'ongoing-request="true"'
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 1})
    assert _code(err) == "RestoreAlreadyInProgress"
    s3.put_object(Bucket=bucket, Key="warm", Body=b"1")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.restore_object(Bucket=bucket, Key="warm", RestoreRequest={"Days": 1})
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
