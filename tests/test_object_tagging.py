"""Object tagging through oss2 against the real server: x-oss-tagging on every write that takes it,
?tagging Get/Put/Delete (per version too), x-oss-tagging-count, the copy directive, OSS's limits and
errors, the same tags through the S3 dialect, and lifecycle rules that filter on them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import oss2
import pytest
import requests
from oss2.headers import OSS_OBJECT_TAGGING, OSS_OBJECT_TAGGING_COPY_DIRECTIVE
from oss2.models import (
    BucketLifecycle,
    LifecycleExpiration,
    LifecycleRule,
    Tagging,
    TaggingRule,
)

from tests.clocked import ClockedServer, fresh_bucket
from tests.conftest import new_bucket_name
from tests.rawhttp import signed_headers
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


def _tags(bucket: oss2.Bucket, key: str, **params: Any) -> dict[str, str]:
    return dict(bucket.get_object_tagging(key, **params).tag_set.tagging_rule)


def _tagging(**pairs: str) -> Tagging:
    rule = TaggingRule()
    for k, v in pairs.items():
        rule.add(k, v)
    return Tagging(rule)


def test_tags_on_every_write_and_in_heads(bucket: oss2.Bucket) -> None:
    bucket.put_object("put", b"1", headers={OSS_OBJECT_TAGGING: "a=1&b=%E4%B8%AD%E6%96%87&flag"})
    assert _tags(bucket, "put") == {"a": "1", "b": "中文", "flag": ""}
    assert bucket.head_object("put").headers["x-oss-tagging-count"] == "3"
    assert "x-oss-tagging-count" in bucket.get_object("put").headers

    up = bucket.init_multipart_upload("mp", headers={OSS_OBJECT_TAGGING: "m=1"}).upload_id
    part = bucket.upload_part("mp", up, 1, b"p")
    bucket.complete_multipart_upload("mp", up, [oss2.models.PartInfo(1, part.etag)])
    assert _tags(bucket, "mp") == {"m": "1"}

    bucket.append_object("app", 0, b"x", headers={OSS_OBJECT_TAGGING: "first=1"})
    bucket.append_object("app", 1, b"y", headers={OSS_OBJECT_TAGGING: "ignored=1"})
    assert _tags(bucket, "app") == {"first": "1"}

    bucket.put_symlink("put", "link", headers={OSS_OBJECT_TAGGING: "s=1"})
    assert _tags(bucket, "link") == {"s": "1"}


def test_put_get_delete_tagging_keep_the_data_and_mtime(bucket: oss2.Bucket) -> None:
    bucket.put_object("k", b"data")
    before = bucket.head_object("k")
    assert _tags(bucket, "k") == {}
    bucket.put_object_tagging("k", _tagging(**{"x": "1", "a+-.:": "_/ =", "w" * 128: "v" * 256}))
    assert _tags(bucket, "k") == {"x": "1", "a+-.:": "_/ =", "w" * 128: "v" * 256}
    after = bucket.head_object("k")
    assert after.last_modified == before.last_modified and after.etag == before.etag
    assert bucket.get_object("k").read() == b"data"
    assert bucket.delete_object_tagging("k").status == 204
    assert _tags(bucket, "k") == {}
    assert "x-oss-tagging-count" not in bucket.head_object("k").headers


def test_copy_directive(bucket: oss2.Bucket) -> None:
    bucket.put_object("src", b"s", headers={OSS_OBJECT_TAGGING: "k1=v1&k2=v2"})
    bucket.copy_object(bucket.bucket_name, "src", "copied")
    assert _tags(bucket, "copied") == {"k1": "v1", "k2": "v2"}
    bucket.copy_object(
        bucket.bucket_name,
        "src",
        "replaced",
        headers={OSS_OBJECT_TAGGING_COPY_DIRECTIVE: "REPLACE", OSS_OBJECT_TAGGING: "n=1"},
    )
    assert _tags(bucket, "replaced") == {"n": "1"}
    bucket.copy_object(
        bucket.bucket_name, "src", "none", headers={OSS_OBJECT_TAGGING_COPY_DIRECTIVE: "REPLACE"}
    )
    assert _tags(bucket, "none") == {}
    # Onto itself: only the tags change.
    bucket.copy_object(
        bucket.bucket_name,
        "src",
        "src",
        headers={OSS_OBJECT_TAGGING_COPY_DIRECTIVE: "REPLACE", OSS_OBJECT_TAGGING: "self=1"},
    )
    assert _tags(bucket, "src") == {"self": "1"} and bucket.get_object("src").read() == b"s"
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.copy_object(
            bucket.bucket_name, "src", "x", headers={OSS_OBJECT_TAGGING_COPY_DIRECTIVE: "MOVE"}
        )
    assert err.value.code == "InvalidArgument"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("aa=bb=cc", "InvalidArgument"),
        ("=a&b=a", "InvalidTag"),
        ("a" * 129 + "=b", "InvalidTag"),
        ("a=" + "v" * 257, "InvalidTag"),
        ("a=b&a=c", "InvalidTag"),
        ("&".join(f"k{i}=v" for i in range(11)), "BadRequest"),
        ("k=%25abc", "InvalidTag"),
    ],
)
def test_bad_headers_write_nothing(bucket: oss2.Bucket, header: str, code: str) -> None:
    with pytest.raises(oss2.exceptions.OssError) as err:
        bucket.put_object("bad", b"1", headers={OSS_OBJECT_TAGGING: header})
    assert err.value.status == 400 and err.value.code == code
    assert not bucket.object_exists("bad")
    with pytest.raises(oss2.exceptions.OssError):
        bucket.init_multipart_upload("bad", headers={OSS_OBJECT_TAGGING: header})
    assert list(oss2.MultipartUploadIterator(bucket)) == []


def test_bad_bodies_change_nothing(server: ServerProcess, bucket: oss2.Bucket) -> None:
    bucket.put_object("k", b"1", headers={OSS_OBJECT_TAGGING: "keep=1"})
    for body, code in [
        (b"<Tagging><TagSet><Tag><Key>k</Key><Value>%abc</Value></Tag></TagSet></Tagging>", "InvalidTag"),
        (b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>", "MalformedXML"),
        (b"<Tagging><TagSet>", "MalformedXML"),
    ]:
        url, headers = signed_headers("PUT", server.endpoint, bucket.bucket_name, "k", params={"tagging": ""})
        r = requests.put(url + "?tagging", data=body, headers=headers)
        assert r.status_code == 400 and f"<Code>{code}</Code>" in r.text, r.text
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.put_object_tagging("missing", _tagging(a="1"))
    assert _tags(bucket, "k") == {"keep": "1"}


def test_tags_of_each_version(server: ServerProcess) -> None:
    with fresh_bucket(server.endpoint, new_bucket_name("tv"), "Enabled") as bucket:
        v1 = bucket.put_object("k", b"1", headers={OSS_OBJECT_TAGGING: "v=1"}).versionid
        v2 = bucket.put_object("k", b"2").versionid
        assert _tags(bucket, "k") == {}
        assert _tags(bucket, "k", params={"versionId": v1}) == {"v": "1"}
        bucket.put_object_tagging("k", _tagging(old="yes"), params={"versionId": v1})
        assert _tags(bucket, "k", params={"versionId": v1}) == {"old": "yes"}
        assert _tags(bucket, "k", params={"versionId": v2}) == {}
        bucket.delete_object("k")  # a delete marker on top
        with pytest.raises(oss2.exceptions.OssError) as err:
            bucket.get_object_tagging("k")
        assert err.value.status == 404


def test_tags_are_shared_with_the_s3_dialect(server: ServerProcess, bucket: oss2.Bucket) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=ACCESS_KEY_SECRET,
        region_name=REGION,
    )
    bucket.put_object("o", b"1", headers={OSS_OBJECT_TAGGING: "from=oss"})
    assert s3.get_object_tagging(Bucket=bucket.bucket_name, Key="o")["TagSet"] == [
        {"Key": "from", "Value": "oss"}
    ]
    s3.put_object_tagging(
        Bucket=bucket.bucket_name, Key="o", Tagging={"TagSet": [{"Key": "by", "Value": "s3"}]}
    )
    assert _tags(bucket, "o") == {"by": "s3"}


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClockedServer]:
    server = ClockedServer(tmp_path_factory.mktemp("tag-lifecycle") / "data").start()
    yield server
    server.stop()
    assert not server.errors_logged()


def test_lifecycle_rules_filter_on_tags(clocked: ClockedServer) -> None:
    with fresh_bucket(clocked.endpoint, new_bucket_name("tlc")) as bucket:
        rule = LifecycleRule(
            "tagged",
            "logs/",
            status=LifecycleRule.ENABLED,
            expiration=LifecycleExpiration(days=1),
            tagging=_tagging(temp="yes"),
        )
        bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
        bucket.put_object("logs/tagged", b"1", headers={OSS_OBJECT_TAGGING: "temp=yes&x=1"})
        bucket.put_object("logs/other-value", b"1", headers={OSS_OBJECT_TAGGING: "temp=no"})
        bucket.put_object("logs/untagged", b"1")
        bucket.put_object("logs/tagged-later", b"1")
        bucket.put_object_tagging("logs/tagged-later", _tagging(temp="yes"))
        clocked.advance("1d1h")
        clocked.lifecycle_pass()
        left = {o.key for o in oss2.ObjectIterator(bucket)}
        assert left == {"logs/other-value", "logs/untagged"}
