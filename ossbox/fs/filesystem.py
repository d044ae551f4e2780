"""`oss://` for fsspec: Hadoop's and Alluxio's directory semantics on any OSS endpoint, through oss2.

Directories are implied by keys below them, by Hadoop's zero-byte `dir/` marker (which this filesystem
writes) or by Alluxio's `dir_$folder$` marker (which it reads). The rules follow Hadoop's OSS connector:
mkdir on or under a file fails, deleting the last child keeps the parent, recursive delete goes in batches
of 1000, rename is copy-then-delete and refuses the root and the source's own subtree.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from glob import has_magic
from typing import Any

import oss2
from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractFileSystem

from ossbox.fs import paths
from ossbox.fs.config import ConfigError, OssConfig, load_config
from ossbox.fs.errors import translate
from ossbox.fs.file import OssFile
from ossbox.fs.multipart import MultipartWriter
from ossbox.fs.transfer import download_to_file, server_copy

Info = dict[str, Any]
_FSSPEC_KEYS = {"use_listings_cache", "listings_expiry_time", "max_paths", "skip_instance_cache"}
DELETE_BATCH = 1000


@contextlib.contextmanager
def oss_errors(path: str = "") -> Iterator[None]:
    """Turn oss2's exceptions into built-in ones (original kept as __cause__)."""
    try:
        yield
    except oss2.exceptions.OssError as e:
        raise translate(e, path) from e


class OssFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """fsspec filesystem for `oss://bucket/key` on any OSS endpoint (ossbox or Alibaba Cloud)."""

    protocol = ("oss",)
    root_marker = ""

    def __init__(
        self,
        endpoint: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        region: str | None = None,
        properties: str | os.PathLike[str] | None = None,
        config: OssConfig | None = None,
        **options: Any,
    ) -> None:
        fsspec_options = {k: options.pop(k) for k in list(options) if k in _FSSPEC_KEYS}
        super().__init__(**fsspec_options)
        given = {
            "endpoint": endpoint,
            "key": key,
            "secret": secret,
            "token": token,
            "region": region,
            **options,
        }
        self.config = config.with_options(**given) if config else load_config(given, properties)
        cfg = self.config
        if cfg.security_token:
            self._auth: Any = oss2.StsAuth(cfg.access_key_id, cfg.access_key_secret, cfg.security_token)
        elif cfg.access_key_id:
            auth_cls = oss2.AuthV4 if cfg.region else oss2.Auth
            self._auth = auth_cls(cfg.access_key_id, cfg.access_key_secret)
        else:
            self._auth = oss2.AnonymousAuth()
        self._session = oss2.Session(pool_size=max(cfg.threads, cfg.read_threads) + 8)
        self._buckets: dict[str, oss2.Bucket] = {}
        self._lock = threading.Lock()
        self._collecting = threading.local()  # see _batched

    # ------------------------------------------------------------------ SDK objects
    def bucket(self, name: str) -> oss2.Bucket:
        """The oss2 Bucket for `name`, shared by every thread (checksums are ours: see multipart.py)."""
        with self._lock:
            b = self._buckets.get(name)
            if b is None:
                b = oss2.Bucket(
                    self._auth,
                    self.config.endpoint_url,
                    name,
                    session=self._session,
                    connect_timeout=self.config.connect_timeout,
                    enable_crc=False,
                    region=self.config.region,
                    app_name="ossbox-fs",
                )
                self._buckets[name] = b
            return b

    def service(self) -> oss2.Service:
        return oss2.Service(
            self._auth,
            self.config.endpoint_url,
            session=self._session,
            connect_timeout=self.config.connect_timeout,
            region=self.config.region,
        )

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]  # type: ignore[return-value]
        return paths.strip_protocol(str(os.fspath(path)))

    @staticmethod
    def _get_kwargs_from_urls(urlpath: str) -> dict[str, Any]:
        return {}

    def unstrip_protocol(self, name: str) -> str:
        return "oss://" + self._strip_protocol(name)

    # ------------------------------------------------------------------ status
    def _file_info(self, bucket: str, key: str, size: int, etag: str, mtime: float, **extra: Any) -> Info:
        return {
            "name": paths.join(bucket, key),
            "size": int(size),
            "type": "file",
            "ETag": etag.strip('"'),
            "LastModified": float(mtime),
            **extra,
        }

    @staticmethod
    def _dir_info(name: str) -> Info:
        return {"name": name, "size": 0, "type": "directory"}

    def _head(self, bucket: str, key: str) -> Info | None:
        try:
            r = self.bucket(bucket).head_object(key)
        except oss2.exceptions.NoSuchKey:
            return None
        except oss2.exceptions.NotFound as e:
            if e.code == "NoSuchBucket":
                raise translate(e, paths.join(bucket, key)) from e
            return None
        except oss2.exceptions.OssError as e:
            raise translate(e, paths.join(bucket, key)) from e
        return self._file_info(
            bucket,
            key,
            r.content_length,
            r.etag,
            r.last_modified,
            object_type=r.object_type,
            StorageClass=r.headers.get("x-oss-storage-class"),
            crc64=r.server_crc,
        )

    def _has_children(self, bucket: str, key: str) -> bool:
        """Is anything (a marker or a key) below `key/`?"""
        with oss_errors(paths.join(bucket, key)):
            r = self.bucket(bucket).list_objects_v2(prefix=paths.dir_marker(key), max_keys=1)
        return bool(r.object_list or r.prefix_list)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self.bucket(bucket).get_bucket_info()
            return True
        except oss2.exceptions.NoSuchBucket:
            return False
        except oss2.exceptions.OssError as e:
            raise translate(e, bucket) from e

    def info(self, path: str, **kwargs: Any) -> Info:
        """getFileStatus: HEAD key, then anything under key/, then Alluxio's key_$folder$."""
        path = self._strip_protocol(path)
        bucket, key = paths.split(path)
        if not bucket:
            return self._dir_info("")
        if not key:
            if self._bucket_exists(bucket):
                return self._dir_info(bucket)
            raise FileNotFoundError(errno.ENOENT, "no such bucket", bucket)
        found = self._head(bucket, key)
        if found is not None:
            return found
        if self._has_children(bucket, key):
            return self._dir_info(path)
        if self._head(bucket, key + paths.FOLDER_SUFFIX) is not None:
            return self._dir_info(path)
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", path)

    def exists(self, path: str, **kwargs: Any) -> bool:
        try:
            self.info(path)
            return True
        except FileNotFoundError:
            return False

    def isdir(self, path: str) -> bool:
        try:
            return bool(self.info(path)["type"] == "directory")
        except FileNotFoundError:
            return False

    def isfile(self, path: str) -> bool:
        try:
            return bool(self.info(path)["type"] == "file")
        except FileNotFoundError:
            return False

    def modified(self, path: str) -> Any:
        import datetime

        info = self.info(path)
        if info["type"] != "file":
            raise IsADirectoryError(errno.EISDIR, "directories have no modification time", path)
        return datetime.datetime.fromtimestamp(info["LastModified"], tz=datetime.UTC)

    def ukey(self, path: str) -> str:
        return str(self.info(path).get("ETag", ""))

    def checksum(self, path: str) -> int:
        return int(self.ukey(path) or "0", 16)

    # ------------------------------------------------------------------ listing
    def _pages(self, bucket: str, prefix: str, delimiter: str) -> Iterator[Any]:
        token = ""
        b = self.bucket(bucket)
        while True:
            with oss_errors(paths.join(bucket, prefix)):
                r = b.list_objects_v2(
                    prefix=prefix, delimiter=delimiter, continuation_token=token, max_keys=1000
                )
            yield r
            if not r.is_truncated:
                return
            token = r.next_continuation_token

    def _walk_keys(self, bucket: str, prefix: str) -> Iterator[Any]:
        """Every object under `prefix`, markers included, flat."""
        for page in self._pages(bucket, prefix, ""):
            yield from page.object_list

    def _ls_buckets(self) -> list[Info]:
        out = []
        with oss_errors(""):
            for b in oss2.BucketIterator(self.service()):
                out.append({**self._dir_info(b.name), "CreationDate": b.creation_date})
        return out

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        bucket, key = paths.split(path)
        entries: list[Info] | None = self._ls_dir(bucket, key) if bucket else self._ls_buckets()
        if entries is None:
            info = self.info(path)  # raises FileNotFoundError when nothing is there
            entries = [info] if info["type"] == "file" else []
        return entries if detail else [e["name"] for e in entries]

    def _ls_dir(self, bucket: str, key: str) -> list[Info] | None:
        """Children of a directory, or None when the listing saw nothing at all."""
        prefix = paths.dir_marker(key) if key else ""
        files: dict[str, Info] = {}
        dirs: dict[str, Info] = {}
        seen = False
        for page in self._pages(bucket, prefix, "/"):
            for obj in page.object_list:
                seen = True
                name = obj.key[len(prefix) :]
                if not name:
                    continue  # the directory's own marker
                if name.endswith(paths.FOLDER_SUFFIX):
                    sub = name[: -len(paths.FOLDER_SUFFIX)]
                    dirs.setdefault(sub, self._dir_info(paths.join(bucket, prefix + sub)))
                    continue
                files[name] = self._file_info(
                    bucket, obj.key, obj.size, obj.etag, obj.last_modified, StorageClass=obj.storage_class
                )
            for p in page.prefix_list:
                seen = True
                sub = p[len(prefix) :].rstrip("/")
                if sub:
                    dirs.setdefault(sub, self._dir_info(paths.join(bucket, prefix + sub)))
        if not seen and key:
            return None
        if not seen and not self._bucket_exists(bucket):
            raise FileNotFoundError(errno.ENOENT, "no such bucket", bucket)
        # A key that is both a file and a directory shows as the file, as getFileStatus would.
        merged = {**dirs, **files}
        return [merged[k] for k in sorted(merged)]

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One flat listing instead of a walk: directories are derived from the keys and markers."""
        path = self._strip_protocol(path)
        bucket, key = paths.split(path)
        if maxdepth is not None or not bucket:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        prefix = paths.dir_marker(key) if key else ""
        out: dict[str, Info] = {}
        for obj in self._walk_keys(bucket, prefix):
            rel = obj.key[len(prefix) :]
            is_marker = paths.is_marker(obj.key)
            if withdirs:
                rel_dir = rel[: -len(paths.FOLDER_SUFFIX)] if rel.endswith(paths.FOLDER_SUFFIX) else rel
                for anc in [*paths.ancestors(rel_dir.rstrip("/")), rel_dir.rstrip("/") if is_marker else ""]:
                    if anc:
                        name = paths.join(bucket, prefix + anc)
                        out.setdefault(name, self._dir_info(name))
            if not is_marker:
                name = paths.join(bucket, obj.key)
                out[name] = self._file_info(
                    bucket, obj.key, obj.size, obj.etag, obj.last_modified, StorageClass=obj.storage_class
                )
        if key and not out:
            try:
                info = self.info(path)
            except FileNotFoundError:
                info = None
            if info is not None and (info["type"] == "file" or withdirs):
                out[path] = info
        elif key and withdirs:
            out.setdefault(path, self._dir_info(path))
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def du(
        self, path: str, total: bool = True, maxdepth: int | None = None, withdirs: bool = False, **kw: Any
    ) -> Any:
        sizes = {
            n: i["size"]
            for n, i in self.find(path, maxdepth=maxdepth, withdirs=withdirs, detail=True).items()
        }
        return sum(sizes.values()) if total else sizes

    # ------------------------------------------------------------------ directories
    def _check_no_file_ancestors(self, bucket: str, key: str) -> None:
        for anc in paths.ancestors(key):
            if self._head(bucket, anc) is not None:
                raise NotADirectoryError(errno.ENOTDIR, "a parent is a file", paths.join(bucket, anc))

    def _put_marker(self, bucket: str, key: str) -> None:
        with oss_errors(paths.join(bucket, key)):
            self.bucket(bucket).put_object(paths.dir_marker(key), b"")

    def _make_bucket(self, bucket: str) -> None:
        with oss_errors(bucket):
            self.bucket(bucket).create_bucket()

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        bucket, key = paths.split(path)
        if not bucket:
            raise PermissionError(errno.EPERM, "cannot create the root", "")
        if not key:
            if self._bucket_exists(bucket):
                raise FileExistsError(errno.EEXIST, "bucket exists", bucket)
            self._make_bucket(bucket)
            return
        if not self._bucket_exists(bucket):
            if not create_parents:
                raise FileNotFoundError(errno.ENOENT, "no such bucket", bucket)
            self._make_bucket(bucket)
        info = self._info_or_none(path)
        if info is not None:
            if info["type"] == "file":
                raise FileExistsError(errno.EEXIST, "a file exists at this path", path)
            raise FileExistsError(errno.EEXIST, "directory exists", path)
        self._check_no_file_ancestors(bucket, key)
        parent = paths.parent_key(key)
        if not create_parents and parent and not self.isdir(paths.join(bucket, parent)):
            raise FileNotFoundError(
                errno.ENOENT, "parent directory does not exist", paths.join(bucket, parent)
            )
        self._put_marker(bucket, key)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        try:
            self.mkdir(path, create_parents=True)
        except FileExistsError:
            if not exist_ok or self.isfile(path):
                raise

    def _info_or_none(self, path: str) -> Info | None:
        try:
            return self.info(path)
        except FileNotFoundError:
            return None

    def rmdir(self, path: str) -> None:
        path = self._strip_protocol(path)
        bucket, key = paths.split(path)
        if not key:
            with oss_errors(bucket):
                self.bucket(bucket).delete_bucket()
            return
        info = self.info(path)
        if info["type"] != "directory":
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        for obj in self._walk_keys(bucket, paths.dir_marker(key)):
            if obj.key != paths.dir_marker(key):
                raise OSError(errno.ENOTEMPTY, "directory not empty", path)
        self._delete_keys(bucket, [paths.dir_marker(key), key + paths.FOLDER_SUFFIX])
        self._keep_parent(bucket, key)

    def _keep_parent(self, bucket: str, key: str) -> None:
        """Deleting the last child must not make the parent vanish: give it a marker if it needs one."""
        parent = paths.parent_key(key)
        if parent and not self._has_children(bucket, parent):
            self._put_marker(bucket, parent)

    # ------------------------------------------------------------------ delete
    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        b = self.bucket(bucket)
        for i in range(0, len(keys), DELETE_BATCH):
            with oss_errors(bucket):
                b.batch_delete_objects(keys[i : i + DELETE_BATCH])

    def rm_file(self, path: str) -> None:
        path = self._strip_protocol(path)
        bucket, key = paths.split(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "a bucket is not a file", path)
        with oss_errors(path):
            self.bucket(bucket).delete_object(key)
        self._keep_parent(bucket, key)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        if isinstance(path, list | tuple):
            for p in path:
                self.rm(p, recursive=recursive, maxdepth=maxdepth)
            return
        path = self._strip_protocol(path)
        if maxdepth is not None or has_magic(path):
            expanded = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
            for p in reversed(expanded):
                if self.isdir(p):
                    self.rm(p, recursive=recursive)
                elif self.exists(p):
                    self.rm_file(p)
            return
        bucket, key = paths.split(path)
        if not bucket:
            raise PermissionError(errno.EPERM, "refusing to delete every bucket", "")
        info = self.info(path)
        if info["type"] == "file":
            self.rm_file(path)
            return
        prefix = paths.dir_marker(key) if key else ""
        keys = [o.key for o in self._walk_keys(bucket, prefix)]
        if not recursive and any(k != prefix for k in keys):
            raise IsADirectoryError(errno.EISDIR, "directory is not empty; use recursive=True", path)
        if key:
            keys.append(key + paths.FOLDER_SUFFIX)
        self._delete_keys(bucket, keys)
        if key:
            self._keep_parent(bucket, key)

    # ------------------------------------------------------------------ copy and rename
    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        src_bucket, src_key = paths.split(self._strip_protocol(path1))
        dst_bucket, dst_key = paths.split(self._strip_protocol(path2))
        info = self.info(path1)
        if info["type"] == "directory":
            self.makedirs(path2, exist_ok=True)
            return
        server_copy(self, src_bucket, src_key, dst_bucket, dst_key, info["size"])

    def mv(
        self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None, **kw: Any
    ) -> None:
        if isinstance(path1, list) or has_magic(str(path1)) or maxdepth is not None:
            super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kw)
            return
        self.rename(path1, path2)

    def rename(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Hadoop's rename: copy (in parallel for a tree), then delete the source."""
        src = self._strip_protocol(path1)
        dst = self._strip_protocol(path2)
        src_bucket, src_key = paths.split(src)
        dst_bucket, dst_key = paths.split(dst)
        if not src_key:
            raise OSError(errno.EINVAL, "cannot rename the root of a bucket", src)
        if not dst_bucket:
            raise OSError(errno.EINVAL, "the destination must be inside a bucket", dst)
        if src == dst:
            return
        if dst_bucket == src_bucket and dst_key.startswith(src_key + "/"):
            raise OSError(errno.EINVAL, "cannot rename a directory into its own subtree", dst)
        src_info = self.info(src)  # FileNotFoundError when missing
        dst_info = self._info_or_none(dst)
        if dst_info is not None:
            if dst_info["type"] == "file":
                raise FileExistsError(errno.EEXIST, "destination exists", dst)
            dst_key = f"{dst_key}/{src_key.rsplit('/', 1)[-1]}" if dst_key else src_key.rsplit("/", 1)[-1]
            dst = paths.join(dst_bucket, dst_key)
            if dst == src:
                return
            inner = self._info_or_none(dst)
            if inner is not None and (inner["type"] == "file" or self._has_children(dst_bucket, dst_key)):
                raise FileExistsError(errno.EEXIST, "destination exists", dst)
        if src_info["type"] == "file":
            server_copy(self, src_bucket, src_key, dst_bucket, dst_key, src_info["size"])
            with oss_errors(src):
                self.bucket(src_bucket).delete_object(src_key)
            self._keep_parent(src_bucket, src_key)
            return
        self._rename_tree(src_bucket, src_key, dst_bucket, dst_key)

    def _rename_tree(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        prefix = paths.dir_marker(src_key)
        objects = list(self._walk_keys(src_bucket, prefix))
        with cf.ThreadPoolExecutor(self.config.threads, thread_name_prefix="ossbox-rename") as pool:
            futures = [
                pool.submit(
                    server_copy,
                    self,
                    src_bucket,
                    o.key,
                    dst_bucket,
                    dst_key + "/" + o.key[len(prefix) :],
                    o.size,
                )
                for o in objects
                if not o.key.endswith(paths.FOLDER_SUFFIX)
            ]
            for f in futures:
                f.result()
        if not any(o.key == prefix for o in objects):
            self._put_marker(dst_bucket, dst_key)  # the source may have had only a `_$folder$` marker
        self._delete_keys(src_bucket, [o.key for o in objects] + [src_key + paths.FOLDER_SUFFIX])
        self._keep_parent(src_bucket, src_key)

    # ------------------------------------------------------------------ files
    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> OssFile:
        return OssFile(
            self,
            path,
            mode,
            block_size=block_size,
            cache_options=cache_options,
            autocommit=autocommit,
            **kwargs,
        )

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        path = self._strip_protocol(path)
        bucket, key = paths.split(path)
        if start is None and end is None:
            with oss_errors(path):
                return bytes(self.bucket(bucket).get_object(key).read())
        return super().cat_file(path, start=start, end=end, **kwargs)  # type: ignore[no-any-return]

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        with self.open(path, "xb" if mode == "create" else "wb", **kwargs) as f:
            f.write(value)

    def put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Upload a local file: parts read straight into the writer's buffers (no copies, no temp files)."""
        if self._collected(lpath, rpath, {"callback": callback, "mode": mode, **kwargs}):
            return
        rpath = self._strip_protocol(rpath)
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(errno.EEXIST, "file exists", rpath)
        bucket, key = paths.split(rpath)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "cannot write a file at a bucket's root", rpath)
        size = os.path.getsize(lpath)
        callback.set_size(size)
        writer = MultipartWriter(self.bucket(bucket), key, self.config, on_part_done=callback.relative_update)
        try:
            with open(lpath, "rb") as f:
                remaining = size
                while remaining > 0:
                    buf = writer.buffer(remaining)
                    n = f.readinto(memoryview(buf)[: min(remaining, writer.part_size)])
                    if not n:
                        raise OSError(errno.EIO, "local file shrank while it was read", lpath)
                    writer.submit(buf, n)
                    remaining -= n
            writer.finish()
        except BaseException:
            writer.abort()
            raise

    def get_file(
        self,
        rpath: str,
        lpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        **kwargs: Any,
    ) -> None:
        """Download with parallel ranged GETs into the local file; the whole-object CRC-64 is checked."""
        if self._collected(rpath, lpath, {"callback": callback, "outfile": outfile, **kwargs}):
            return
        rpath = self._strip_protocol(rpath)
        info = self.info(rpath)
        if info["type"] == "directory":
            os.makedirs(lpath, exist_ok=True)
            return
        bucket, key = paths.split(rpath)
        if outfile is None:
            parent = os.path.dirname(os.fspath(lpath))
            if parent:
                os.makedirs(parent, exist_ok=True)
        download_to_file(self, bucket, key, info, lpath, callback, outfile)

    # fsspec's put() and get() expand the paths, then call put_file/get_file one at a time. Run that expansion
    # as is, collect the calls, and make them `threads` at a time: many small files are latency-bound.
    def put(self, lpath: Any, rpath: Any, recursive: bool = False, **kwargs: Any) -> None:
        self._batched(super().put, "put_file", lpath, rpath, recursive=recursive, **kwargs)

    def get(self, rpath: Any, lpath: Any, recursive: bool = False, **kwargs: Any) -> None:
        self._batched(super().get, "get_file", rpath, lpath, recursive=recursive, **kwargs)

    def _batched(self, expand: Any, method: str, src: Any, dst: Any, **kwargs: Any) -> None:
        calls: list[tuple[str, str, dict[str, Any]]] = []
        self._collecting.calls = calls
        try:
            expand(src, dst, **kwargs)
        finally:
            self._collecting.calls = None
        run = getattr(self, method)  # safe in any order: both create what a path needs (exist_ok)
        with cf.ThreadPoolExecutor(self.config.threads, thread_name_prefix="ossbox-batch") as pool:
            for fut in [pool.submit(run, a, b, **kw) for a, b, kw in calls]:
                fut.result()

    def _collected(self, a: str, b: str, kwargs: dict[str, Any]) -> bool:
        calls = getattr(self._collecting, "calls", None)
        if calls is None:
            return False
        calls.append((a, b, kwargs))
        return True

    def sign(self, path: str, expiration: int = 3600, **kwargs: Any) -> str:
        """A presigned URL (GET unless method= is given)."""
        bucket, key = paths.split(self._strip_protocol(path))
        method = kwargs.pop("method", "GET")
        return str(self.bucket(bucket).sign_url(method, key, expiration, slash_safe=True, **kwargs))

    def invalidate_cache(self, path: str | None = None) -> None:
        pass  # no listing cache: every call asks the endpoint


def mount_root(properties: str | os.PathLike[str] | None = None, **options: Any) -> AbstractFileSystem:
    """The directory named by `alluxio.dora.client.ufs.root` (oss://bucket/dir) as a filesystem of its own:
    paths are relative to it, as Alluxio's root mount maps `/` to that directory."""
    from fsspec.implementations.dirfs import DirFileSystem

    fs = OssFileSystem(properties=properties, **options)
    root = fs.config.root
    if not root or not root.startswith("oss://") or not paths.split(root)[0]:
        raise ConfigError("alluxio.dora.client.ufs.root must be set to oss://<bucket>[/<dir>]")
    return DirFileSystem(path=paths.strip_protocol(root), fs=fs)
