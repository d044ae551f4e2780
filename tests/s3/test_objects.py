"""Objects through boto3 with its default settings: put/get/head, ranges, conditionals, copy, delete,
tagging, ACLs, presigned URLs and listings."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import Any

import botocore.exceptions
import pytest
import requests

from tests.s3.conftest import s3_client
from tests.s3.signed import send
from tests.server import ServerProcess


def _code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_put_get_head_with_metadata(s3: Any, bucket: str) -> None:
    body = b"hello world"
    put = s3.put_object(
        Bucket=bucket,
        Key="dir/a.txt",
        Body=body,
        ContentType="text/plain",
        Metadata={"Owner": "me"},
        CacheControl="no-cache",
    )
    md5 = hashlib.md5(body).hexdigest()
    assert put["ETag"] == f'"{md5}"'
    got = s3.get_object(Bucket=bucket, Key="dir/a.txt")
    assert got["Body"].read() == body
    assert got["ETag"] == f'"{md5}"' and got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"owner": "me"} and got["CacheControl"] == "no-cache"
    # boto3 asks for the checksum on GET and validates the body against it.
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
    head = s3.head_object(Bucket=bucket, Key="dir/a.txt")
    assert head["ContentLength"] == len(body) and head["ETag"] == f'"{md5}"'


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_every_checksum_algorithm_is_verified_stored_and_returned(
    s3: Any, bucket: str, algorithm: str
) -> None:
    body = b"x" * 3000
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm=algorithm)
    value = put[f"Checksum{algorithm}"]
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == value and head["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == body and got[f"Checksum{algorithm}"] == value


def test_ranges(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-4")["Body"].read() == b"234"
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")
    assert got["Body"].read() == b"789" and got["ContentRange"] == "bytes 7-9/10"
    assert "ChecksumCRC32" not in got  # a range is not the whole object: no whole-object checksum
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=8-100")["Body"].read() == b"89"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=20-30")
    assert _code(err) == "InvalidRange"


def test_conditionals(s3: Any, bucket: str) -> None:
    tag = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=tag)["Body"].read() == b"v1"
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=tag.upper())["Body"].read() == b"v1"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert _code(err) == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=tag)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.head_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    # Conditional create: If-None-Match: * refuses to overwrite.
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfNoneMatch="*")
    assert _code(err) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"v1"


def test_copy_with_metadata_directive(s3: Any, bucket: str, new_bucket: Any) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", Metadata={"a": "1"}, ContentType="text/x")
    other = new_bucket()
    s3.copy_object(Bucket=other, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    head = s3.head_object(Bucket=other, Key="copy")
    assert head["Metadata"] == {"a": "1"} and head["ContentType"] == "text/x"
    s3.copy_object(
        Bucket=bucket,
        Key="src",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/y",
    )
    head = s3.head_object(Bucket=bucket, Key="src")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "text/y"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert _code(err) == "InvalidRequest"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.copy_object(
            Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch='"00"'
        )
    assert _code(err) == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "missing"})
    assert _code(err) == "NoSuchKey"
    # The copy keeps the source's checksum (the bytes are the same).
    src = s3.head_object(Bucket=bucket, Key="src", ChecksumMode="ENABLED")
    dst = s3.head_object(Bucket=other, Key="copy", ChecksumMode="ENABLED")
    assert src["ChecksumCRC32"] == dst["ChecksumCRC32"]


def test_delete_and_delete_objects(s3: Any, bucket: str) -> None:
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    s3.delete_object(Bucket=bucket, Key="a")
    s3.delete_object(Bucket=bucket, Key="never-there")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["b", "c", "zz"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"1", Tagging="project=x&team=data%20eng")
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("project", "x"), ("team", "data eng")]
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "only", "Value": "one"}]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object_tagging(
            Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
        )
    assert _code(err) == "BadRequest"
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    s3.copy_object(
        Bucket=bucket,
        Key="t2",
        CopySource={"Bucket": bucket, "Key": "t"},
        TaggingDirective="REPLACE",
        Tagging="new=tag",
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="t2")["TagSet"] == [{"Key": "new", "Value": "tag"}]


def test_acls(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"1")
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    perms = sorted(g["Permission"] for g in s3.get_bucket_acl(Bucket=bucket)["Grants"])
    assert perms == ["FULL_CONTROL", "READ"]
    s3.put_object_acl(Bucket=bucket, Key="o", ACL="private")
    assert [g["Permission"] for g in s3.get_object_acl(Bucket=bucket, Key="o")["Grants"]] == ["FULL_CONTROL"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object_acl(Bucket=bucket, Key="o", ACL="authenticated-read")
    assert _code(err) == "NotImplemented"


def test_presigned_urls(s3: Any, bucket: str, server: ServerProcess) -> None:
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    assert requests.put(put_url, data=b"via url", timeout=10).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    assert requests.get(get_url, timeout=10).content == b"via url"
    tampered = get_url.replace("/p?", "/q?")
    r = requests.get(tampered, timeout=10)
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=1)
    time.sleep(2.1)
    r = requests.get(expired, timeout=10)
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content and b"expired" in r.content


def test_listings(s3: Any, bucket: str) -> None:
    keys = [f"a/{i:02d}" for i in range(5)] + ["b/x", "c"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    )
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == keys and len(pages) == 4
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in top["Contents"]] == ["c"]
    v1 = list(s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))
    assert [o["Key"] for p in v1 for o in p.get("Contents", [])] == keys
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="a/03", Prefix="a/")
    assert [o["Key"] for o in after["Contents"]] == ["a/04"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix="a/")
    assert next((v["Key"], v["VersionId"], v["IsLatest"]) for v in versions["Versions"]) == (
        "a/00",
        "null",
        True,
    )
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") is None
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="!!!not-a-token")
    assert _code(err) == "InvalidArgument"
    # max-keys=0: an empty page that is not truncated (OSS would say truncated); an empty token is echoed.
    for empty in (s3.list_objects(Bucket=bucket, MaxKeys=0), s3.list_objects_v2(Bucket=bucket, MaxKeys=0)):
        assert empty["IsTruncated"] is False and "Contents" not in empty
    whole = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert whole["ContinuationToken"] == "" and [o["Key"] for o in whole["Contents"]] == keys


def test_buckets(s3: Any, new_bucket: Any, server: ServerProcess) -> None:
    name = new_bucket()
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert (
        s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "cn-hangzhou"
    )
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "cn-hangzhou"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.create_bucket(Bucket=name)
    assert _code(err) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket=name, Key="k", Body=b"1")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.delete_bucket(Bucket=name)
    assert _code(err) == "BucketNotEmpty"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.head_object(Bucket="no-such-bucket-here", Key="k")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert _code(err) == "NoSuchBucket"
    # A client configured for the default S3 region works too: us-east-1 names ossbox's region.
    east = s3_client(server.endpoint, region="us-east-1")
    assert east.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_what_is_not_served_is_refused_not_ignored(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"1"
    for call in (
        lambda: s3.put_object(
            Bucket=bucket, Key="k2", Body=b"1", SSECustomerAlgorithm="AES256", SSECustomerKey="k" * 32
        ),
        lambda: s3.get_object(Bucket=bucket, Key="k", PartNumber=1),
        lambda: s3.get_bucket_website(Bucket=bucket),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call()
        assert _code(err) == "NotImplemented"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k", VersionId="not-a-version-of-ours")
    assert _code(err) == "InvalidArgument"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"1"


def test_keys_with_special_characters_list_back_intact(s3: Any, bucket: str, server: ServerProcess) -> None:
    keys = sorted(["plain/key.txt", "sp ace/a&b<c>d\"e'f+g.txt", "ünï/cödé~.bin", "x%2Fy"])
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    # boto3 asks for encoding-type=url and decodes; without it the XML must be escaped instead.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == keys
    raw = send("GET", f"{server.endpoint}/{bucket}?list-type=2")
    assert raw.status_code == 200
    assert b"<Key>sp ace/a&amp;b&lt;c&gt;d&quot;e'f+g.txt</Key>" in raw.content
    assert "<Key>ünï/cödé~.bin</Key>".encode() in raw.content


def test_list_buckets_in_pages(s3: Any, new_bucket: Any) -> None:
    for _ in range(3):
        new_bucket()
    everything = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "ContinuationToken" not in s3.list_buckets()
    paged: list[str] = []
    token = None
    while True:
        page = s3.list_buckets(MaxBuckets=2, **({"ContinuationToken": token} if token else {}))
        assert len(page["Buckets"]) <= 2
        paged += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if token is None:
            break
    assert paged == everything and len(everything) >= 3
