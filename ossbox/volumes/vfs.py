"""A volume's files on OSS, with Hadoop's directory rules (integrations.md, "Filesystem on a bucket").

Directories are zero-byte `dir/` markers or common prefixes; `dir_$folder$` markers (Alluxio) are read as
directories too. Renames are copy-then-delete. Every call goes through oss2 as the volume's role.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import oss2

from ossbox.volumes.errors import VolumeError, already_exists, not_found
from ossbox.volumes.oss import OssLocation, oss_errors

_ALLUXIO_MARKER = "_$folder$"
_COPY_THREADS = 8


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the volume root, no leading '/'
    is_dir: bool
    size: int
    mtime: int  # seconds since the epoch, 0 for implied directories

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "dir": self.is_dir, "size": self.size, "mtime": self.mtime}


class VolumeFs:
    def __init__(self, bucket: oss2.Bucket, location: OssLocation, role_arn: str, display: str) -> None:
        self.bucket = bucket
        self.location = location
        self.role_arn = role_arn
        self.display = display  # odps://project/volume, for messages

    def _key(self, path: str) -> str:
        return self.location.prefix + path

    def _where(self, path: str) -> str:
        return f"{self.display}/{path}" if path else self.display

    # -- status ----------------------------------------------------------------------------------------
    def stat(self, path: str) -> Entry | None:
        with oss_errors(self.role_arn, self._where(path)):
            if not path:
                return Entry("", True, 0, 0)
            try:
                head = self.bucket.head_object(self._key(path))
                return Entry(path, False, int(head.content_length or 0), int(head.last_modified or 0))
            except oss2.exceptions.NotFound:
                pass
            try:
                head = self.bucket.head_object(self._key(path) + "/")
                return Entry(path, True, 0, int(head.last_modified or 0))
            except oss2.exceptions.NotFound:
                pass
            found = self.bucket.list_objects(self._key(path) + "/", max_keys=1)
            if found.object_list or found.prefix_list:
                return Entry(path, True, 0, 0)
            if self.bucket.object_exists(self._key(path) + _ALLUXIO_MARKER):
                return Entry(path, True, 0, 0)
            return None

    def require(self, path: str) -> Entry:
        entry = self.stat(path)
        if entry is None:
            raise not_found("NoSuchPath", f"{self._where(path)}: No such file or directory")
        return entry

    def listdir(self, path: str) -> list[Entry]:
        entry = self.require(path)
        if not entry.is_dir:
            return [entry]
        prefix = self._key(path) + "/" if path else self.location.prefix
        out: dict[str, Entry] = {}
        with oss_errors(self.role_arn, self._where(path)):
            for obj in oss2.ObjectIterator(self.bucket, prefix=prefix, delimiter="/"):
                name = obj.key[len(prefix) :]
                if obj.is_prefix():
                    child = name.rstrip("/")
                    out[child] = Entry(_join(path, child), True, 0, 0)
                elif not name:
                    continue  # the directory's own marker
                elif name.endswith(_ALLUXIO_MARKER):
                    child = name[: -len(_ALLUXIO_MARKER)]
                    out.setdefault(child, Entry(_join(path, child), True, 0, int(obj.last_modified)))
                else:
                    out[name] = Entry(_join(path, name), False, int(obj.size), int(obj.last_modified))
        return [out[k] for k in sorted(out)]

    def walk_files(self, path: str) -> list[tuple[str, int]]:
        """(key, size) of every object below `path` (a file: itself), markers included."""
        entry = self.require(path)
        if not entry.is_dir:
            return [(self._key(path), entry.size)]
        prefix = self._key(path) + "/" if path else self.location.prefix
        with oss_errors(self.role_arn, self._where(path)):
            found = [(o.key, int(o.size)) for o in oss2.ObjectIterator(self.bucket, prefix=prefix)]
            if path and self.bucket.object_exists(self._key(path) + _ALLUXIO_MARKER):
                found.append((self._key(path) + _ALLUXIO_MARKER, 0))
            return found

    def du(self, path: str) -> int:
        return sum(size for _, size in self.walk_files(path))

    # -- changes ---------------------------------------------------------------------------------------
    def mkdir(self, path: str, parents: bool = True) -> None:
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            ancestor = "/".join(parts[:i])
            entry = self.stat(ancestor)
            if entry is not None and not entry.is_dir:
                raise already_exists("FileAlreadyExists", f"{self._where(ancestor)} is a file")
            if entry is None and i < len(parts) and not parents:
                raise not_found("NoSuchPath", f"{self._where(ancestor)}: No such file or directory")
        with oss_errors(self.role_arn, self._where(path)):
            self.bucket.put_object(self._key(path) + "/", b"")

    def touchz(self, path: str) -> None:
        entry = self.stat(path)
        if entry is not None:
            if entry.is_dir:
                raise already_exists("PathIsDirectory", f"{self._where(path)} is a directory")
            if entry.size:
                raise already_exists("FileAlreadyExists", f"{self._where(path)} must be a zero-length file")
        self.check_parent_is_not_file(path)
        with oss_errors(self.role_arn, self._where(path)):
            self.bucket.put_object(self._key(path), b"")

    def check_parent_is_not_file(self, path: str) -> None:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            entry = self.stat(parent)
            if entry is not None and not entry.is_dir:
                raise already_exists("FileAlreadyExists", f"{self._where(parent)} is a file")

    def rm(self, path: str, recursive: bool) -> int:
        entry = self.require(path)
        if entry.is_dir and not recursive:
            raise VolumeError("PathIsDirectory", f"{self._where(path)} is a directory (use -rm -r)")
        keys = [k for k, _ in self.walk_files(path)]
        with oss_errors(self.role_arn, self._where(path)):
            for i in range(0, len(keys), 1000):
                self.bucket.batch_delete_objects(keys[i : i + 1000])
            self._keep_parent(path)
        return len(keys)

    def _keep_parent(self, path: str) -> None:
        """Deleting the last child keeps the parent directory (Hadoop): write its marker if it has none."""
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent and self.stat(parent) is None:
            self.bucket.put_object(self._key(parent) + "/", b"")

    def copy(self, src: str, dst: str, delete_source: bool) -> str:
        """cp / mv: into an existing directory the source keeps its name. Returns the destination path."""
        source = self.require(src)
        target = self.stat(dst)
        if target is not None and target.is_dir:
            dst = _join(dst, src.rsplit("/", 1)[-1])
            target = self.stat(dst)
        if target is not None:
            raise already_exists("FileAlreadyExists", f"{self._where(dst)} already exists")
        if source.is_dir and (dst == src or dst.startswith(src + "/")):
            raise VolumeError("InvalidPath", f"cannot move or copy {self._where(src)} into itself")
        self.check_parent_is_not_file(dst)
        pairs = [(k, self._key(dst) + k[len(self._key(src)) :], n) for k, n in self.walk_files(src)]
        with oss_errors(self.role_arn, self._where(src)):
            with ThreadPoolExecutor(_COPY_THREADS) as pool:
                list(pool.map(lambda p: self._copy_object(p[0], p[1], p[2]), pairs))
            if source.is_dir and not any(k == self._key(src) + "/" for k, _, _ in pairs):
                self.bucket.put_object(self._key(dst) + "/", b"")
            if delete_source:
                keys = [k for k, _, _ in pairs]
                for i in range(0, len(keys), 1000):
                    self.bucket.batch_delete_objects(keys[i : i + 1000])
                self._keep_parent(src)
        return dst

    def _copy_object(self, src_key: str, dst_key: str, size: int) -> None:
        if size <= 1 << 30:
            self.bucket.copy_object(self.bucket.bucket_name, src_key, dst_key)
            return
        part = 256 << 20
        upload = self.bucket.init_multipart_upload(dst_key).upload_id
        parts = []
        for n, start in enumerate(range(0, size, part), 1):
            end = min(start + part, size) - 1
            result = self.bucket.upload_part_copy(
                self.bucket.bucket_name, src_key, (start, end), dst_key, upload, n
            )
            parts.append(oss2.models.PartInfo(n, result.etag))
        self.bucket.complete_multipart_upload(dst_key, upload, parts)

    def presign(self, path: str, method: str, expires_s: int) -> str:
        with oss_errors(self.role_arn, self._where(path)):
            return str(self.bucket.sign_url(method, self._key(path), expires_s, slash_safe=True))


def _join(parent: str, child: str) -> str:
    return f"{parent}/{child}" if parent else child
