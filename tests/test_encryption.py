"""Server-side encryption against the real server (two workers sharing one master key) with oss2 and the V2
SDK: AES256, SM4 and KMS round trips (inline and file-backed, ranged, multipart, append), the bucket's
default rule, copies across states, versions and restore, and what is on disk: ciphertext only."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.models import PartInfo, ServerSideEncryptionRule

from tests import metadb
from tests.blobfiles import read_blob
from tests.clocked import fresh_bucket
from tests.conftest import empty_and_delete, new_bucket_name
from tests.rawhttp import signed_headers
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess, free_port
from tests.v2sdk import v2_client

SSE = "x-oss-server-side-encryption"
DATA_SSE = "x-oss-server-side-data-encryption"
KEY_ID = "x-oss-server-side-encryption-key-id"
# A recognisable plaintext: the on-disk checks look for it in blob files and inline rows.
MARKER = b"ossbox-plaintext-marker:" + os.urandom(8).hex().encode()


def _body(size: int) -> bytes:
    """`size` bytes of random data with MARKER every 4 KiB."""
    out = bytearray(os.urandom(size))
    for at in range(0, max(size - len(MARKER), 0), 4096):
        out[at : at + len(MARKER)] = MARKER
    return bytes(out)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("ossbox-sse")
    proc = ServerProcess(
        root / "data", free_port(), extra_args=("--workers", "2", "--restore-delay-seconds", "0")
    ).start()
    yield proc
    proc.stop()
    errors = [line for line in proc.log().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not errors, "server logged errors:\n" + proc.log()[-5000:]


@pytest.fixture
def bucket(srv: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), srv.endpoint, new_bucket_name("sse"))
    b.create_bucket()
    yield b
    empty_and_delete(b)


def _blobs_of(data_dir: Path, bucket: str, key: str) -> list[str]:
    with metadb.connect(data_dir) as db:
        row = db.execute("SELECT extents FROM objects WHERE bucket = ? AND key = ?", (bucket, key)).fetchone()
    return [e[0] for e in json.loads(row[0])]


def _assert_ciphertext_on_disk(data_dir: Path, blob_ids: list[str]) -> None:
    """Every blob of the object: its bytes (file or inline row) do not contain the plaintext marker, and it
    has a wrapped key."""
    assert blob_ids
    with metadb.connect(data_dir) as db:
        for blob_id in blob_ids:
            assert db.execute("SELECT 1 FROM blob_keys WHERE blob_id = ?", (blob_id,)).fetchone(), blob_id
            if blob_id.startswith("i-"):
                stored = db.execute("SELECT data FROM blob_data WHERE blob_id = ?", (blob_id,)).fetchone()[0]
            else:
                stored = read_blob(data_dir, blob_id)
            assert MARKER[:16] not in stored, f"plaintext found in blob {blob_id}"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({SSE: "AES256"}, ("AES256", None, False)),
        ({SSE: "SM4"}, ("SM4", None, False)),
        ({SSE: "KMS"}, ("KMS", None, True)),
        ({SSE: "KMS", DATA_SSE: "SM4", KEY_ID: "my-key"}, ("KMS", "SM4", True)),
        ({SSE: "AES256", DATA_SSE: "SM4"}, ("AES256", None, False)),  # data encryption only with KMS
    ],
    ids=["aes256", "sm4", "kms", "kms-sm4-named", "aes256-ignores-data"],
)
@pytest.mark.parametrize("size", [5_000, 3_000_000], ids=["inline", "file"])
def test_round_trip_ranges_and_ciphertext_on_disk(
    srv: ServerProcess, bucket: oss2.Bucket, headers: dict[str, str], expected: tuple, size: int
) -> None:
    data = _body(size)
    r = bucket.put_object("obj", data, headers=headers)
    algorithm, data_algorithm, has_key = expected
    assert r.headers.get(SSE) == algorithm and r.headers.get(DATA_SSE) == data_algorithm
    assert (KEY_ID in r.headers) is has_key
    if headers.get(KEY_ID):
        assert r.headers[KEY_ID] == headers[KEY_ID]
    got = bucket.get_object("obj")  # oss2 checks the CRC-64: of the plaintext, as OSS's
    assert got.read() == data
    assert got.headers[SSE] == algorithm and got.headers.get(DATA_SSE) == data_algorithm
    assert got.headers["ETag"].strip('"') == r.etag  # ETag of the plaintext
    head = bucket.head_object("obj")
    assert head.headers[SSE] == algorithm and head.content_length == size
    for first, last in [
        (0, 0),
        (1, 16),
        (15, 17),
        (4095, 4200),
        (size - 33, size - 1),
        (size // 2, size - 2),
    ]:
        assert bucket.get_object("obj", byte_range=(first, last)).read() == data[first : last + 1]
    _assert_ciphertext_on_disk(Path(srv.data_dir), _blobs_of(Path(srv.data_dir), bucket.bucket_name, "obj"))


def test_conditionals_and_plain_objects_untouched(srv: ServerProcess, bucket: oss2.Bucket) -> None:
    r = bucket.put_object("enc", b"secret", headers={SSE: "AES256"})
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("enc", headers={"If-Match": '"0000"'})
    assert bucket.get_object("enc", headers={"If-Match": r.etag}).read() == b"secret"
    plain = bucket.put_object("plain", b"public")
    assert SSE not in plain.headers and SSE not in bucket.head_object("plain").headers
    with metadb.connect(Path(srv.data_dir)) as db:
        blob = _blobs_of(Path(srv.data_dir), bucket.bucket_name, "plain")[0]
        assert db.execute("SELECT 1 FROM blob_keys WHERE blob_id = ?", (blob,)).fetchone() is None
        assert db.execute("SELECT data FROM blob_data WHERE blob_id = ?", (blob,)).fetchone()[0] == b"public"


def test_bad_headers_are_refused_and_nothing_is_stored(bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.put_object("x", b"data", headers={SSE: "AES128"})
    assert err.value.code == "InvalidEncryptionAlgorithmError"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object("x", b"data", headers={SSE: "AES256", KEY_ID: "k"})
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_object("x", b"data", headers={SSE: "KMS", DATA_SSE: "AES"})
    assert not bucket.object_exists("x")


def test_multipart_and_upload_part_copy(srv: ServerProcess, bucket: oss2.Bucket) -> None:
    part1, part2 = _body(150_000), _body(70_000)
    plain_src = _body(300_000)
    bucket.put_object("plain-src", plain_src)
    init = bucket.init_multipart_upload("mp", headers={SSE: "KMS", DATA_SSE: "SM4"})
    assert init.headers[SSE] == "KMS" and init.headers[DATA_SSE] == "SM4" and init.headers[KEY_ID]
    uid = init.upload_id
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.upload_part("mp", uid, 1, part1, headers={SSE: "AES256"})
    p1 = bucket.upload_part("mp", uid, 1, part1)
    assert p1.headers[SSE] == "KMS" and p1.headers[KEY_ID] == init.headers[KEY_ID]
    # A plain source copied into an encrypted upload is written again, encrypted.
    p2 = bucket.upload_part_copy(bucket.bucket_name, "plain-src", (1000, 150_999), "mp", uid, 2)
    p3 = bucket.upload_part("mp", uid, 3, part2)
    parts = [PartInfo(1, p1.etag), PartInfo(2, p2.etag), PartInfo(3, p3.etag)]
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.complete_multipart_upload("mp", uid, parts, headers={SSE: "KMS"})
    done = bucket.complete_multipart_upload("mp", uid, parts)
    assert done.headers[SSE] == "KMS" and done.headers[KEY_ID] == init.headers[KEY_ID]
    whole = part1 + plain_src[1000:151_000] + part2
    assert bucket.get_object("mp").read() == whole
    assert bucket.get_object("mp", byte_range=(149_990, 150_020)).read() == whole[149_990:150_021]
    blobs = _blobs_of(Path(srv.data_dir), bucket.bucket_name, "mp")
    assert len(blobs) == 3 and _blobs_of(Path(srv.data_dir), bucket.bucket_name, "plain-src")[0] not in blobs
    _assert_ciphertext_on_disk(Path(srv.data_dir), blobs)
    # And an encrypted source into a plain upload: decrypted on the way.
    uid2 = bucket.init_multipart_upload("mp-plain").upload_id
    q1 = bucket.upload_part_copy(bucket.bucket_name, "mp", (0, 199_999), "mp-plain", uid2, 1)
    bucket.complete_multipart_upload("mp-plain", uid2, [PartInfo(1, q1.etag)])
    assert SSE not in bucket.head_object("mp-plain").headers
    assert bucket.get_object("mp-plain").read() == whole[:200_000]


def test_append_keeps_the_first_appends_encryption(srv: ServerProcess, bucket: oss2.Bucket) -> None:
    first = bucket.append_object("log", 0, b"a" * 10 + MARKER, headers={SSE: "SM4"})
    assert first.headers[SSE] == "SM4"
    second = bucket.append_object("log", first.next_position, _body(100_000), headers={SSE: "AES256"})
    assert second.headers[SSE] == "SM4"  # later appends follow the object, whatever they ask
    third = bucket.append_object("log", second.next_position, b"tail")
    assert third.headers[SSE] == "SM4" and bucket.head_object("log").headers[SSE] == "SM4"
    data = bucket.get_object("log").read()
    assert data.startswith(b"a" * 10 + MARKER) and data.endswith(b"tail") and len(data) == third.next_position
    _assert_ciphertext_on_disk(Path(srv.data_dir), _blobs_of(Path(srv.data_dir), bucket.bucket_name, "log"))


def test_bucket_default_rule(srv: ServerProcess, bucket: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.NoSuchServerSideEncryptionRule):
        bucket.get_bucket_encryption()
    assert bucket.get_bucket_info().bucket_encryption_rule.sse_algorithm is None
    rule = ServerSideEncryptionRule()
    rule.sse_algorithm = "KMS"
    rule.kms_master_keyid = "team-key"
    rule.kms_data_encryption = "SM4"
    bucket.put_bucket_encryption(rule)
    got = bucket.get_bucket_encryption()
    assert (got.sse_algorithm, got.kms_master_keyid, got.kms_data_encryption) == ("KMS", "team-key", "SM4")
    info = bucket.get_bucket_info().bucket_encryption_rule
    assert (info.sse_algorithm, info.kms_master_keyid, info.kms_data_encryption) == ("KMS", "team-key", "SM4")
    r = bucket.put_object("by-default", _body(80_000))
    assert (r.headers[SSE], r.headers[DATA_SSE], r.headers[KEY_ID]) == ("KMS", "SM4", "team-key")
    assert bucket.put_object("asked", b"x", headers={SSE: "AES256"}).headers[SSE] == "AES256"  # header wins
    uid = bucket.init_multipart_upload("mp-default").upload_id
    assert bucket.upload_part("mp-default", uid, 1, b"p").headers[SSE] == "KMS"
    bucket.abort_multipart_upload("mp-default", uid)
    bucket.delete_bucket_encryption()
    with pytest.raises(oss2.exceptions.NoSuchServerSideEncryptionRule):
        bucket.get_bucket_encryption()
    assert SSE not in bucket.put_object("after", b"z").headers
    assert bucket.head_object("by-default").headers[SSE] == "KMS"  # earlier objects keep their state
    _assert_ciphertext_on_disk(
        Path(srv.data_dir), _blobs_of(Path(srv.data_dir), bucket.bucket_name, "by-default")
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b"<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>DES"
            b"</SSEAlgorithm></ApplyServerSideEncryptionByDefault></ServerSideEncryptionRule>",
            "InvalidEncryptionAlgorithmError",
        ),
        (
            b"<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
            b"<KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></ServerSideEncryptionRule>",
            "InvalidArgument",
        ),
        (b"<ServerSideEncryptionRule></ServerSideEncryptionRule>", "MalformedXML"),
        (b"<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault>", "MalformedXML"),
    ],
    ids=["algorithm", "key-id-without-kms", "no-apply", "unclosed"],
)
def test_bad_rules_change_nothing(bucket: oss2.Bucket, body: bytes, code: str) -> None:
    rule = ServerSideEncryptionRule()
    rule.sse_algorithm = "SM4"
    bucket.put_bucket_encryption(rule)
    url, headers = signed_headers("PUT", bucket.endpoint, bucket.bucket_name, "", {}, {"encryption": ""})
    r = requests.put(url + "?encryption", data=body, headers=headers, timeout=10)
    assert r.status_code == 400 and f"<Code>{code}</Code>".encode() in r.content, r.content
    assert bucket.get_bucket_encryption().sse_algorithm == "SM4"


def test_put_bucket_with_encryption_headers(srv: ServerProcess) -> None:
    b = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), srv.endpoint, new_bucket_name("sseb"))
    b.create_bucket(headers={SSE: "AES256"})
    try:
        assert b.get_bucket_info().bucket_encryption_rule.sse_algorithm == "AES256"
        assert b.put_object("k", b"v").headers[SSE] == "AES256"
    finally:
        empty_and_delete(b)
    with pytest.raises(oss2.exceptions.ServerError):
        b.create_bucket(headers={SSE: "ROT13"})
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_bucket_info()


def test_copies_across_states(srv: ServerProcess, bucket: oss2.Bucket) -> None:
    data_dir = Path(srv.data_dir)
    name = bucket.bucket_name
    data = _body(200_000)
    src = bucket.put_object("src", data, headers={SSE: "KMS", DATA_SSE: "SM4"})
    # No header and no default: the copy is plain (as OSS), so the data is decrypted into new blobs.
    bucket.copy_object(name, "src", "plain")
    assert SSE not in bucket.head_object("plain").headers
    assert bucket.get_object("plain").read() == data
    assert bucket.head_object("plain").etag == src.etag
    plain_blobs = _blobs_of(data_dir, name, "plain")
    with metadb.connect(data_dir) as db:
        assert db.execute("SELECT 1 FROM blob_keys WHERE blob_id = ?", (plain_blobs[0],)).fetchone() is None
    assert read_blob(data_dir, plain_blobs[0]) == data
    # Plain -> AES256, then AES256 -> AES256 (same state: the blobs are shared, nothing is rewritten).
    bucket.copy_object(name, "plain", "aes", headers={SSE: "AES256"})
    assert bucket.head_object("aes").headers[SSE] == "AES256"
    bucket.copy_object(name, "aes", "aes-2", headers={SSE: "AES256"})
    assert _blobs_of(data_dir, name, "aes-2") == _blobs_of(data_dir, name, "aes")
    assert _blobs_of(data_dir, name, "aes") != plain_blobs
    _assert_ciphertext_on_disk(data_dir, _blobs_of(data_dir, name, "aes"))
    # Another KMS key is another state.
    bucket.copy_object(name, "src", "other-key", headers={SSE: "KMS", DATA_SSE: "SM4", KEY_ID: "k2"})
    assert _blobs_of(data_dir, name, "other-key") != _blobs_of(data_dir, name, "src")
    assert bucket.get_object("other-key").read() == data
    # Copy onto itself with REPLACE: how an existing object is encrypted (or decrypted) in place.
    bucket.copy_object(name, "plain", "plain", headers={SSE: "SM4", "x-oss-metadata-directive": "REPLACE"})
    assert bucket.head_object("plain").headers[SSE] == "SM4"
    assert bucket.get_object("plain", byte_range=(5, 100_004)).read() == data[5:100_005]
    _assert_ciphertext_on_disk(data_dir, _blobs_of(data_dir, name, "plain"))
    bucket.update_object_meta("plain", {"x-oss-meta-a": "b"})
    assert SSE not in bucket.head_object("plain").headers
    assert bucket.get_object("plain").read() == data
    # A small (inline) object, both ways.
    bucket.put_object("small", MARKER * 10, headers={SSE: "AES256"})
    bucket.copy_object(name, "small", "small-plain")
    assert bucket.get_object("small-plain").read() == MARKER * 10
    bucket.copy_object(name, "small-plain", "small-sm4", headers={SSE: "SM4"})
    assert bucket.get_object("small-sm4").read() == MARKER * 10
    _assert_ciphertext_on_disk(data_dir, _blobs_of(data_dir, name, "small-sm4"))
    # Every blob the copies left unreferenced is gone, with its key.
    with metadb.connect(data_dir) as db:
        orphans = db.execute(
            "SELECT COUNT(*) FROM blob_keys WHERE blob_id NOT IN (SELECT blob_id FROM blobs)"
        )
        assert orphans.fetchone()[0] == 0


def test_versions_and_restore_of_encrypted_objects(srv: ServerProcess) -> None:
    with fresh_bucket(srv.endpoint, new_bucket_name("ssev"), "Enabled") as bucket:
        old = _body(90_000)
        v1 = bucket.put_object("doc", old, headers={SSE: "AES256"}).versionid
        bucket.put_object("doc", b"new", headers={SSE: "SM4"})
        got = bucket.get_object("doc", params={"versionId": v1})
        assert got.read() == old and got.headers[SSE] == "AES256"
        assert bucket.get_object("doc", byte_range=(10, 20), params={"versionId": v1}).read() == old[10:21]
        bucket.delete_object("doc")
        assert bucket.get_object("doc", params={"versionId": v1}).read() == old
        # Copying a noncurrent encrypted version makes it current again.
        bucket.copy_object(
            bucket.bucket_name, "doc", "doc", params={"versionId": v1}, headers={SSE: "AES256"}
        )
        assert bucket.get_object("doc").read() == old
        frozen = _body(70_000)
        bucket.put_object("cold", frozen, headers={SSE: "KMS", "x-oss-storage-class": "Archive"})
        with pytest.raises(oss2.exceptions.ServerError):
            bucket.get_object("cold")
        bucket.restore_object("cold")
        assert bucket.get_object("cold").read() == frozen  # restores take no time on this server


def test_v2_sdk(srv: ServerProcess) -> None:
    client = v2_client(srv.endpoint)
    name = new_bucket_name("ssev2")
    client.put_bucket(oss.PutBucketRequest(bucket=name))
    try:
        data = _body(150_000)
        put = client.put_object(
            oss.PutObjectRequest(bucket=name, key="k", body=data, server_side_encryption="KMS")
        )
        assert put.headers[SSE] == "KMS" and put.headers[KEY_ID]  # the SDK's PutObjectResult has no field
        got = client.get_object(oss.GetObjectRequest(bucket=name, key="k", range_header="bytes=100-199"))
        assert got.body.read() == data[100:200] and got.server_side_encryption == "KMS"
        assert got.server_side_encryption_key_id == put.headers[KEY_ID]
        client.put_bucket_encryption(
            oss.PutBucketEncryptionRequest(
                bucket=name,
                server_side_encryption_rule=oss.ServerSideEncryptionRule(
                    apply_server_side_encryption_by_default=oss.ApplyServerSideEncryptionByDefault(
                        sse_algorithm="AES256"
                    )
                ),
            )
        )
        rule = client.get_bucket_encryption(oss.GetBucketEncryptionRequest(bucket=name))
        assert (
            rule.server_side_encryption_rule.apply_server_side_encryption_by_default.sse_algorithm == "AES256"
        )
        client.put_object(oss.PutObjectRequest(bucket=name, key="d", body=b"by default"))
        head = client.head_object(oss.HeadObjectRequest(bucket=name, key="d"))
        assert head.server_side_encryption == "AES256"
    finally:
        for key in ("k", "d"):
            client.delete_object(oss.DeleteObjectRequest(bucket=name, key=key))
        client.delete_bucket(oss.DeleteBucketRequest(bucket=name))
