"""The multipart family through oss2."""

from __future__ import annotations

import hashlib
import os

import oss2
import pytest
from oss2.models import PartInfo

KB = 1024


def _etag_of_parts(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest().upper()
    return f"{digest}-{len(parts)}"


def test_upload_complete_with_part_list(bucket: oss2.Bucket) -> None:
    parts = [os.urandom(100 * KB), os.urandom(150 * KB), b"tail"]
    upload_id = bucket.init_multipart_upload("mp", headers={"x-oss-meta-k": "v"}).upload_id
    infos = []
    for i, data in enumerate(parts, 1):
        r = bucket.upload_part("mp", upload_id, i, data)
        assert r.etag == hashlib.md5(data).hexdigest().upper()
        infos.append(PartInfo(i, r.etag))
    listed = bucket.list_parts("mp", upload_id).parts
    assert [(p.part_number, p.size) for p in listed] == [(1, 100 * KB), (2, 150 * KB), (3, 4)]
    r = bucket.complete_multipart_upload("mp", upload_id, infos)
    assert r.etag == _etag_of_parts(parts)
    got = bucket.get_object("mp")
    assert got.read() == b"".join(parts)
    h = bucket.head_object("mp")
    assert h.object_type == "Multipart" and h.headers["x-oss-meta-k"] == "v"
    assert list(oss2.MultipartUploadIterator(bucket)) == []


def test_complete_all_header(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("all").upload_id
    bucket.upload_part("all", upload_id, 2, b"b" * (100 * KB))
    bucket.upload_part("all", upload_id, 1, b"a" * (100 * KB))
    bucket.complete_multipart_upload("all", upload_id, None, headers={"x-oss-complete-all": "yes"})
    assert bucket.get_object("all").read() == b"a" * (100 * KB) + b"b" * (100 * KB)


def test_part_overwrite_and_subset(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("sub").upload_id
    bucket.upload_part("sub", upload_id, 1, b"x" * (100 * KB))
    p1 = bucket.upload_part("sub", upload_id, 1, b"y" * (100 * KB))
    bucket.upload_part("sub", upload_id, 2, b"unused")
    p3 = bucket.upload_part("sub", upload_id, 3, b"z")
    bucket.complete_multipart_upload("sub", upload_id, [PartInfo(1, p1.etag), PartInfo(3, p3.etag)])
    assert bucket.get_object("sub").read() == b"y" * (100 * KB) + b"z"


def test_complete_errors(bucket: oss2.Bucket) -> None:
    upload_id = bucket.init_multipart_upload("err").upload_id
    p1 = bucket.upload_part("err", upload_id, 1, b"small")
    p2 = bucket.upload_part("err", upload_id, 2, b"x")
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.complete_multipart_upload("err", upload_id, [PartInfo(1, p1.etag), PartInfo(2, p2.etag)])
    assert err.value.code == "EntityTooSmall"
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket.complete_multipart_upload("err", upload_id, [PartInfo(1, "0" * 32)])
    assert err.value.code == "InvalidPart"
    # oss2 sorts the list itself, so send the out-of-order document by hand.
    body = (
        "<CompleteMultipartUpload>"
        f"<Part><PartNumber>2</PartNumber><ETag>{p2.etag}</ETag></Part>"
        f"<Part><PartNumber>1</PartNumber><ETag>{p1.etag}</ETag></Part>"
        "</CompleteMultipartUpload>"
    )
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bucket._do("POST", bucket.bucket_name, "err", params={"uploadId": upload_id}, data=body)
    assert err.value.code == "InvalidPartOrder"
    assert not bucket.object_exists("err")
    bucket.abort_multipart_upload("err", upload_id)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part("err", upload_id, 3, b"late")
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.complete_multipart_upload("err", "0" * 32, [PartInfo(1, p1.etag)])


def test_upload_part_copy(bucket: oss2.Bucket) -> None:
    src = os.urandom(300 * KB)
    bucket.put_object("src", src)
    upload_id = bucket.init_multipart_upload("copy").upload_id
    r1 = bucket.upload_part_copy(bucket.bucket_name, "src", (0, 100 * KB - 1), "copy", upload_id, 1)
    r2 = bucket.upload_part_copy(bucket.bucket_name, "src", (100 * KB, 300 * KB - 1), "copy", upload_id, 2)
    assert r1.etag == hashlib.md5(src[: 100 * KB]).hexdigest().upper()
    bucket.complete_multipart_upload("copy", upload_id, [PartInfo(1, r1.etag), PartInfo(2, r2.etag)])
    assert bucket.get_object("copy").read() == src


def test_upload_part_copy_open_ended_range(bucket: oss2.Bucket) -> None:
    src = os.urandom(300 * KB)
    bucket.put_object("src", src)
    upload_id = bucket.init_multipart_upload("copy").upload_id
    r1 = bucket.upload_part_copy(bucket.bucket_name, "src", (0, 100 * KB - 1), "copy", upload_id, 1)
    r2 = bucket.upload_part_copy(bucket.bucket_name, "src", (100 * KB, None), "copy", upload_id, 2)
    assert r2.etag == hashlib.md5(src[100 * KB :]).hexdigest().upper()
    bucket.complete_multipart_upload("copy", upload_id, [PartInfo(1, r1.etag), PartInfo(2, r2.etag)])
    assert bucket.get_object("copy").read() == src


def test_list_uploads_paging_and_delimiter(bucket: oss2.Bucket) -> None:
    ids = {}
    for key in ["a/1", "a/2", "b", "c/d/e"]:
        ids[key] = bucket.init_multipart_upload(key).upload_id
    extra = bucket.init_multipart_upload("b").upload_id
    seen = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket, max_uploads=2)]
    assert [k for k, _ in seen] == ["a/1", "a/2", "b", "b", "c/d/e"]
    assert {u for k, u in seen if k == "b"} == {ids["b"], extra}
    top = bucket.list_multipart_uploads(delimiter="/")
    assert top.prefix_list == ["a/", "c/"]
    assert [u.key for u in top.upload_list] == ["b", "b"]
    # Paged one entry at a time, each common prefix appears once and the uploads of a key in id order.
    entries = []
    marker, id_marker = "", ""
    while True:
        page = bucket.list_multipart_uploads(
            delimiter="/", key_marker=marker, upload_id_marker=id_marker, max_uploads=1
        )
        entries += page.prefix_list + [u.upload_id for u in page.upload_list]
        if not page.is_truncated:
            break
        marker, id_marker = page.next_key_marker, page.next_upload_id_marker
    assert entries == ["a/", *sorted([ids["b"], extra]), "c/"]
    # A key marker alone lists keys strictly after it.
    after_b = bucket.list_multipart_uploads(key_marker="b")
    assert [u.key for u in after_b.upload_list] == ["c/d/e"]


def test_resumable_upload_and_download(bucket: oss2.Bucket, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src.bin"
    data = os.urandom(3 * 1024 * KB + 17)
    src.write_bytes(data)
    oss2.resumable_upload(
        bucket,
        "resumable",
        str(src),
        multipart_threshold=256 * KB,
        part_size=256 * KB,
        num_threads=4,
        store=oss2.ResumableStore(root=str(tmp_path)),
    )
    assert bucket.head_object("resumable").object_type == "Multipart"
    dst = tmp_path / "dst.bin"
    oss2.resumable_download(
        bucket,
        "resumable",
        str(dst),
        multiget_threshold=256 * KB,
        part_size=256 * KB,
        num_threads=4,
        store=oss2.ResumableDownloadStore(root=str(tmp_path)),
    )
    assert dst.read_bytes() == data
