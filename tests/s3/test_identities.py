"""The S3 dialect shares the OSS dialect's identities: RAM users' keys with their policies (S3 operations
checked as the OSS actions of the same use cases) and STS temporary credentials (x-amz-security-token)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import oss2
import pytest
import requests

from tests.iam import allow, deny, key_of, new_user, policy
from tests.s3.conftest import s3_client
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess
from tests.test_sts import assume, new_role


def _code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_ram_user_policies_govern_s3_calls(server: ServerProcess, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data/a", Body=b"A")
    s3.put_object(Bucket=bucket, Key="secret/b", Body=b"B")
    doc = policy(
        allow(["oss:GetObject", "oss:ListObjects"], [f"acs:oss:*:*:{bucket}", f"acs:oss:*:*:{bucket}/*"]),
        deny("oss:GetObject", f"acs:oss:*:*:{bucket}/secret/*"),
    )
    _, auth = new_user(server, doc)
    key_id, secret = key_of(auth)
    user = s3_client(server.endpoint, key_id=key_id, secret=secret)
    assert user.get_object(Bucket=bucket, Key="data/a")["Body"].read() == b"A"
    assert [o["Key"] for o in user.list_objects_v2(Bucket=bucket)["Contents"]] == ["data/a", "secret/b"]
    for call in (
        lambda: user.get_object(Bucket=bucket, Key="secret/b"),
        lambda: user.put_object(Bucket=bucket, Key="data/new", Body=b"x"),
        lambda: user.delete_object(Bucket=bucket, Key="data/a"),
        lambda: user.list_buckets(),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call()
        assert _code(err) == "AccessDenied"
    r = user.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "data/a"}]})
    assert [e["Code"] for e in r["Errors"]] == ["AccessDenied"] and "Deleted" not in r
    assert s3.head_object(Bucket=bucket, Key="data/a")["ContentLength"] == 1


def test_sts_credentials(server: ServerProcess, bucket: str) -> None:
    arn = new_role(server, "AliyunOSSReadOnlyAccess")
    creds = assume(server, oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), arn).credentials
    root = s3_client(server.endpoint)
    root.put_object(Bucket=bucket, Key="k", Body=b"sts")
    import boto3

    session = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.access_key_secret,
        aws_session_token=creds.security_token,
        region_name="cn-hangzhou",
    )
    assert session.get_object(Bucket=bucket, Key="k")["Body"].read() == b"sts"
    url = session.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == b"sts"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        session.put_object(Bucket=bucket, Key="k2", Body=b"no")
    assert _code(err) == "AccessDenied"
    forged = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.access_key_secret,
        aws_session_token=creds.security_token[:-4] + "AAAA",
        region_name="cn-hangzhou",
    )
    with pytest.raises(botocore.exceptions.ClientError) as err:
        forged.get_object(Bucket=bucket, Key="k")
    assert _code(err) == "InvalidAccessKeyId"
