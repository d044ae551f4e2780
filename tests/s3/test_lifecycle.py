"""Lifecycle rules through S3's API (boto3's put/get/delete_bucket_lifecycle_configuration): the same stored
rules as the OSS dialect's, executed by the same pass."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.exceptions
import oss2
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


def _code(err: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[int, str]:
    r = err.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


RULES = [
    {
        "ID": "logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
    },
    {
        "ID": "archive",
        "Filter": {
            "And": {
                "Prefix": "data/",
                "Tags": [{"Key": "tier", "Value": "cold"}],
                "ObjectSizeGreaterThan": 10,
            }
        },
        "Status": "Enabled",
        "Transitions": [{"Days": 10, "StorageClass": "STANDARD_IA"}, {"Days": 60, "StorageClass": "GLACIER"}],
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
    },
    {
        "ID": "dated",
        "Filter": {"Tag": {"Key": "k", "Value": "v"}},
        "Status": "Disabled",
        "Expiration": {"Date": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)},
    },
]


def test_lifecycle_through_s3(s3: Any, bucket: str, server: ServerProcess) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert _code(err) == (404, "NoSuchLifecycleConfiguration")
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got == RULES
    # The OSS dialect sees the same rules.
    oss_rules = (
        oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, bucket, region=REGION)
        .get_bucket_lifecycle()
        .rules
    )
    assert [(r.id, r.prefix) for r in oss_rules] == [("logs", "logs/"), ("archive", "data/"), ("dated", "")]
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert _code(err) == (404, "NoSuchLifecycleConfiguration")


@pytest.mark.parametrize(
    "rule, expected",
    [
        (
            {"ID": "x", "Filter": {"Prefix": ""}, "Status": "Maybe", "Expiration": {"Days": 1}},
            (400, "MalformedXML"),
        ),
        (
            {"ID": "x", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 0}},
            (400, "InvalidArgument"),
        ),
        (
            {
                "ID": "x",
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "Expiration": {"Date": dt.datetime(2030, 1, 1, 12)},
            },
            (400, "InvalidArgument"),
        ),
        (
            {
                "ID": "x",
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 2},
            },
            (501, "NotImplemented"),
        ),
        (
            {"ID": "y" * 256, "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 1}},
            (400, "InvalidArgument"),
        ),
    ],
)
def test_bad_lifecycle_rules_are_refused(
    s3: Any, bucket: str, rule: dict[str, Any], expected: tuple[int, str]
) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    assert _code(err) == expected
    with pytest.raises(botocore.exceptions.ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
