"""Bucket configurations through S3 (CORS, default encryption): stored once, seen and applied by both
dialects."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import oss2
import pytest
import requests

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


def _oss(server: ServerProcess, bucket: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, bucket, region=REGION)


def _code(err: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[int, str]:
    r = err.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def test_cors_through_s3(s3: Any, bucket: str, server: ServerProcess) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_cors(Bucket=bucket)
    assert _code(err) == (404, "NoSuchCORSConfiguration")
    rules = [
        {
            "ID": "web",
            "AllowedMethods": ["GET", "PUT"],
            "AllowedOrigins": ["https://*.example.com"],
            "AllowedHeaders": ["x-amz-*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got == [{k: v for k, v in rules[0].items() if k != "ID"}]
    # The OSS dialect reads the same rules, and the preflight follows them.
    assert [r.allowed_origins for r in _oss(server, bucket).get_bucket_cors().rules] == [
        ["https://*.example.com"]
    ]
    preflight = requests.options(
        f"{server.endpoint}/{bucket}/k",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_cors(Bucket=bucket)
    assert _code(err) == (404, "NoSuchCORSConfiguration")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={"CORSRules": [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]},
        )
    assert _code(err)[0] == 400


def test_default_encryption_through_s3(s3: Any, bucket: str, server: ServerProcess) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_encryption(Bucket=bucket)
    assert _code(err) == (404, "ServerSideEncryptionConfigurationNotFoundError")
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=config)
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    s3.put_object(Bucket=bucket, Key="plain-request", Body=b"data")
    assert s3.head_object(Bucket=bucket, Key="plain-request")["ServerSideEncryption"] == "AES256"
    assert _oss(server, bucket).get_bucket_encryption().sse_algorithm == "AES256"
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=kms)
    s3.put_object(Bucket=bucket, Key="kms", Body=b"data")
    assert s3.head_object(Bucket=bucket, Key="kms")["ServerSideEncryption"] == "aws:kms"
    assert s3.get_object(Bucket=bucket, Key="kms")["Body"].read() == b"data"
    bad = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse"}}]}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=bad)
    assert _code(err)[0] == 400
    s3.delete_bucket_encryption(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="after", Body=b"data")
    assert "ServerSideEncryption" not in s3.head_object(Bucket=bucket, Key="after")
