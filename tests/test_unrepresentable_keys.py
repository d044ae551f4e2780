"""Keys holding characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, U+FFFE, U+FFFF): every XML
answer of both dialects stays parseable (U+FFFD in element text, the exact key with encoding-type=url), XML
request bodies carrying them raw are read, and nothing answers 5xx. And a 500, when one happens, is logged
with its request id and traceback."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import oss2
import pytest
import requests

from tests.rawhttp import signed_headers
from tests.s3.conftest import s3_client
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

KEYS = [f"k{c:02x}-{chr(c)}-end" for c in range(1, 0x20)] + ["nonchar-\ufffe", "nonchar-\uffff"]


@pytest.fixture
def s3(server: ServerProcess) -> Any:
    # One attempt: a response the client cannot parse must fail the test, not be retried into success.
    return s3_client(server.endpoint, retries={"max_attempts": 1})


def _log_errors(server: ServerProcess, since: int) -> list[str]:
    return [line for line in server.log()[since:].splitlines() if " ERROR " in line or "Traceback" in line]


def test_s3_answers_stay_parseable(server: ServerProcess, s3: Any) -> None:
    since = len(server.log())
    bucket = f"ctl-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # botocore asks listings for encoding-type=url: the keys come back exactly.
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(KEYS)
    assert sorted(o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]) == sorted(KEYS)
    assert sorted(v["Key"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]) == sorted(KEYS)
    uploads = {}
    for key in KEYS[:4] + KEYS[-2:]:
        uploads[key] = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]  # a parseable answer
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]  # no encoding asked: U+FFFD stands in
    assert len(listed) == len(uploads) and all("\ufffd" in u["Key"] for u in listed)
    exact = s3.list_multipart_uploads(Bucket=bucket, EncodingType="url")[
        "Uploads"
    ]  # botocore leaves these encoded
    assert sorted(unquote(u["Key"]) for u in exact) == sorted(uploads)
    key, upload = next(iter(uploads.items()))
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]}
    )
    for k, u in list(uploads.items())[1:]:
        s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=u)
    s3.copy_object(Bucket=bucket, Key=KEYS[5] + "-copy", CopySource={"Bucket": bucket, "Key": KEYS[5]})
    # DeleteObjects: the request carries the keys raw (as boto3 writes them), the answer is parseable.
    every = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in every]})
    assert len(answer["Deleted"]) == len(every) and not answer.get("Errors")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)
    assert not _log_errors(server, since)


def test_oss_answers_stay_parseable(server: ServerProcess) -> None:
    since = len(server.log())
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    b = oss2.Bucket(auth, server.endpoint, f"ctl-{uuid.uuid4().hex[:12]}", region=REGION)
    b.create_bucket()
    for key in KEYS:
        b.put_object(key, b"x")
    assert sorted(o.key for o in oss2.ObjectIterator(b)) == sorted(KEYS)
    assert sorted(o.key for o in oss2.ObjectIteratorV2(b)) == sorted(KEYS)
    upload = b.init_multipart_upload(KEYS[0]).upload_id
    assert [u.key for u in oss2.MultipartUploadIterator(b)] == [KEYS[0]]
    b.abort_multipart_upload(KEYS[0], upload)
    assert sorted(b.batch_delete_objects(KEYS).deleted_keys) == sorted(KEYS)
    b.delete_bucket()
    assert not _log_errors(server, since)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", free_port(), extra_args=("--workers", "1")).start()
    yield srv
    srv.stop()


def test_an_internal_error_is_logged_with_its_request_id(own_server: ServerProcess) -> None:
    """A fault under ossbox (its temporary directory removed): the client gets OSS's InternalError with the
    request id, and the log has one line with that id, the operation, and the traceback."""
    b = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), own_server.endpoint, "faulty", region=REGION)
    b.create_bucket()
    shutil.rmtree(own_server.data_dir / "tmp")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.put_object("k", b"x" * 200_000)  # a file blob: written into tmp/ first
    assert err.value.status == 500 and err.value.code == "InternalError"
    request_id = err.value.request_id
    assert request_id
    log = own_server.log()
    lines = [line for line in log.splitlines() if request_id in line]
    assert len(lines) == 1 and "ERROR" in lines[0] and "PUT /faulty/k" in lines[0], lines
    assert "Traceback" in log.split(lines[0], 1)[1]
    assert ACCESS_KEY_SECRET not in log


def test_a_lone_surrogate_is_refused_before_anything_is_written(server: ServerProcess, s3: Any) -> None:
    """A key's bytes must be UTF-8; a UTF-8-encoded surrogate half (ED A0 80) is not: 400 in both dialects."""
    bucket = f"sur-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    url, headers = signed_headers("PUT", server.endpoint, bucket, "x", {"Content-Length": "1"})
    oss_url = url.replace("/x", "/%ED%A0%80", 1)
    oss = requests.put(oss_url, data=b"1", headers=headers, timeout=10)
    assert oss.status_code == 400, oss.text
    presigned = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "x"})
    answer = requests.put(presigned.replace(f"/{bucket}/x", f"/{bucket}/%ED%A0%80", 1), data=b"1", timeout=10)
    assert answer.status_code in (400, 403), answer.text  # the changed path no longer matches its signature
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)
