"""Hadoop's OSS connector rules for directories, delete and rename, checked on the stored objects."""

from __future__ import annotations

import errno
import os

import oss2
import pytest

from ossbox.fs import OssFileSystem
from tests.fs.conftest import make_fs
from tests.fs.fault_proxy import FaultProxy
from tests.server import ServerProcess


def keys(bucket: oss2.Bucket) -> list[str]:
    return sorted(o.key for o in oss2.ObjectIteratorV2(bucket))


def test_mkdir_writes_a_zero_byte_slash_marker(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    ofs.mkdir(f"{b}/d1/d2")
    assert keys(oss_bucket) == ["d1/d2/"]
    assert oss_bucket.head_object("d1/d2/").content_length == 0
    assert ofs.isdir(f"{b}/d1/d2") and ofs.isdir(f"{b}/d1")
    assert ofs.ls(f"{b}/d1/d2") == []
    with pytest.raises(FileExistsError):
        ofs.mkdir(f"{b}/d1/d2")
    ofs.makedirs(f"{b}/d1/d2", exist_ok=True)


def test_alluxio_folder_markers_and_bare_prefixes_are_directories(
    ofs: OssFileSystem, oss_bucket: oss2.Bucket
) -> None:
    b = oss_bucket.bucket_name
    oss_bucket.put_object("alluxio_$folder$", b"")
    oss_bucket.put_object("alluxio/inner_$folder$", b"")
    oss_bucket.put_object("bare/deep/file.txt", b"x")
    oss_bucket.put_object("top.txt", b"top")
    assert ofs.isdir(f"{b}/alluxio") and ofs.isdir(f"{b}/alluxio/inner")
    assert ofs.isdir(f"{b}/bare") and ofs.isdir(f"{b}/bare/deep")
    assert ofs.isfile(f"{b}/bare/deep/file.txt")
    listing = {e["name"]: e["type"] for e in ofs.ls(b)}
    assert listing == {
        f"{b}/alluxio": "directory",
        f"{b}/bare": "directory",
        f"{b}/top.txt": "file",
    }
    assert [e["name"] for e in ofs.ls(f"{b}/alluxio")] == [f"{b}/alluxio/inner"]
    assert ofs.find(b, withdirs=True) == sorted(
        [
            f"{b}/alluxio",
            f"{b}/alluxio/inner",
            f"{b}/bare",
            f"{b}/bare/deep",
            f"{b}/bare/deep/file.txt",
            f"{b}/top.txt",
        ]
    )
    # Deleting such a directory removes its `_$folder$` marker too.
    ofs.rm(f"{b}/alluxio", recursive=True)
    assert not ofs.exists(f"{b}/alluxio")
    assert "alluxio_$folder$" not in keys(oss_bucket)


def test_mkdir_on_or_under_a_file_fails_and_writes_nothing(
    ofs: OssFileSystem, oss_bucket: oss2.Bucket
) -> None:
    b = oss_bucket.bucket_name
    ofs.pipe_file(f"{b}/f", b"data")
    with pytest.raises(FileExistsError):
        ofs.mkdir(f"{b}/f")
    with pytest.raises(NotADirectoryError):
        ofs.mkdir(f"{b}/f/sub")
    with pytest.raises(NotADirectoryError):
        ofs.makedirs(f"{b}/f/sub/deeper", exist_ok=True)
    assert keys(oss_bucket) == ["f"]
    ofs.mkdir(f"{b}/dir")
    with pytest.raises(IsADirectoryError):
        ofs.open(f"{b}/dir", "wb")


def test_deleting_the_last_child_keeps_the_parent(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    oss_bucket.put_object("p/q/only.txt", b"1")  # no markers at all: the directories are implied
    ofs.rm(f"{b}/p/q/only.txt")
    assert ofs.isdir(f"{b}/p/q") and ofs.isdir(f"{b}/p")
    assert keys(oss_bucket) == ["p/q/"]
    ofs.rm(f"{b}/p/q", recursive=True)
    assert ofs.isdir(f"{b}/p") and keys(oss_bucket) == ["p/"]


def test_rm_of_a_non_empty_directory_needs_recursive(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    ofs.pipe_file(f"{b}/d/x", b"x")
    with pytest.raises(IsADirectoryError):
        ofs.rm(f"{b}/d")
    with pytest.raises(OSError) as e:
        ofs.rmdir(f"{b}/d")
    assert e.value.errno == errno.ENOTEMPTY
    assert ofs.isfile(f"{b}/d/x")
    with pytest.raises(FileNotFoundError):
        ofs.rm(f"{b}/missing")


def test_recursive_delete_goes_in_batches_of_1000(server: ServerProcess, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    names = [f"tree/{i % 7}/k{i:05d}" for i in range(2345)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: oss_bucket.put_object(k, b""), names))
    oss_bucket.put_object("keep.txt", b"k")
    proxy = FaultProxy(server.port, lambda m, t: None).start()
    try:
        fs = make_fs(proxy.endpoint)
        fs.rm(f"{b}/tree", recursive=True)
    finally:
        proxy.stop()
    deletes = [t for m, t in proxy.requests if m == "POST" and "delete" in t]
    assert len(deletes) == 3  # 2345 keys + the `tree_$folder$` probe: 1000 + 1000 + 346
    assert keys(oss_bucket) == ["keep.txt"]


def test_rename_a_file(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    ofs.pipe_file(f"{b}/a/one.txt", b"one")
    ofs.mv(f"{b}/a/one.txt", f"{b}/b/two.txt")
    assert ofs.cat_file(f"{b}/b/two.txt") == b"one"
    assert not ofs.exists(f"{b}/a/one.txt")
    assert ofs.isdir(f"{b}/a")  # the source's parent stays


def test_rename_a_tree_copies_every_child_then_deletes(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    files = {f"src/f{i}": os.urandom(100 + i) for i in range(25)}
    files["src/sub/deep/x.bin"] = os.urandom(4000)
    for k, v in files.items():
        oss_bucket.put_object(k, v)
    ofs.mkdir(f"{b}/src/emptysub")
    ofs.rename(f"{b}/src", f"{b}/dst")
    got = {k: oss_bucket.get_object(k).read() for k in keys(oss_bucket) if not k.endswith("/")}
    assert got == {k.replace("src/", "dst/", 1): v for k, v in files.items()}
    assert ofs.isdir(f"{b}/dst/emptysub")
    assert not ofs.exists(f"{b}/src")
    # Into an existing directory: the source moves under it.
    ofs.mkdir(f"{b}/box")
    ofs.rename(f"{b}/dst", f"{b}/box")
    assert ofs.isfile(f"{b}/box/dst/sub/deep/x.bin")
    assert not ofs.exists(f"{b}/dst")


def test_rename_of_alluxio_style_directory(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    oss_bucket.put_object("al_$folder$", b"")
    ofs.rename(f"{b}/al", f"{b}/moved")
    assert ofs.isdir(f"{b}/moved") and not ofs.exists(f"{b}/al")
    assert keys(oss_bucket) == ["moved/"]


def test_rename_refusals(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    ofs.pipe_file(f"{b}/d/f", b"1")
    ofs.pipe_file(f"{b}/other", b"2")
    for src, dst in [
        (b, f"{b}/x"),
        (f"{b}/d", f"{b}/d/inner"),
        (f"{b}/d", f"{b}/d/inner/deeper"),
        (f"{b}/d", ""),
    ]:
        with pytest.raises(OSError) as e:
            ofs.rename(src, dst)
        assert e.value.errno == errno.EINVAL, (src, dst)
    with pytest.raises(FileExistsError):
        ofs.rename(f"{b}/d/f", f"{b}/other")
    with pytest.raises(FileNotFoundError):
        ofs.rename(f"{b}/missing", f"{b}/y")
    assert ofs.cat_file(f"{b}/other") == b"2" and ofs.cat_file(f"{b}/d/f") == b"1"


def test_large_copy_uses_upload_part_copy(server: ServerProcess, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    fs = make_fs(server.endpoint, partition_size="5MB", copy_threshold="6MB")
    data = os.urandom(12 << 20)
    oss_bucket.put_object("big.bin", data)
    fs.rename(f"{b}/big.bin", f"{b}/moved.bin")
    head = oss_bucket.head_object("moved.bin")
    assert head.object_type == "Multipart"  # three UploadPartCopy parts, not one CopyObject
    assert head.etag.endswith("-3")
    assert oss_bucket.get_object("moved.bin").read() == data
    assert not fs.exists(f"{b}/big.bin")


def test_seek_past_eof_is_an_error(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    ofs.pipe_file(f"{b}/s", b"0123456789")
    with ofs.open(f"{b}/s", "rb") as f:
        f.seek(10)
        assert f.read() == b""
        with pytest.raises(EOFError):
            f.seek(11)
        with pytest.raises(EOFError):
            f.seek(1, 2)
        f.seek(-3, 2)
        assert f.read() == b"789"


def test_info_ls_and_open_of_missing_things(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    with pytest.raises(FileNotFoundError):
        ofs.info(f"{b}/nope")
    with pytest.raises(FileNotFoundError):
        ofs.ls(f"{b}/nope")
    with pytest.raises(FileNotFoundError):
        ofs.open(f"{b}/nope", "rb")
    with pytest.raises(FileNotFoundError):
        ofs.info("no-such-bucket-ossbox/x")
    with pytest.raises(FileNotFoundError):
        ofs.ls("no-such-bucket-ossbox")
    ofs.pipe_file(f"{b}/file", b"1")
    assert [e["name"] for e in ofs.ls(f"{b}/file")] == [f"{b}/file"]
    with pytest.raises(NotImplementedError):
        ofs.open(f"{b}/file", "ab")


def test_exception_inside_with_leaves_no_object(ofs: OssFileSystem, oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    with pytest.raises(RuntimeError), ofs.open(f"{b}/partial", "wb") as f:
        f.write(os.urandom(12 << 20))  # two parts already uploaded
        raise RuntimeError("caller failed")
    assert not ofs.exists(f"{b}/partial")
    assert list(oss2.MultipartUploadIterator(oss_bucket)) == []


def test_a_file_replaced_mid_read_fails_instead_of_mixing_versions(
    ofs: OssFileSystem, oss_bucket: oss2.Bucket
) -> None:
    b = oss_bucket.bucket_name
    old = os.urandom(3 << 20)
    oss_bucket.put_object("v", old)
    with ofs.open(f"{b}/v", "rb", block_size=1 << 20) as f:
        assert f.read(1000) == old[:1000]
        oss_bucket.put_object("v", os.urandom(3 << 20))
        f.seek(2 << 20)
        with pytest.raises(OSError):
            f.read(1000)
