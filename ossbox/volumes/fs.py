"""The odps:// filesystem (fsspec): volume files read and written through the project service.

Every open asks the service for a presigned OSS URL (it checks the caller's Read or Write grant first, then
signs as the volume's role), and the bytes then go straight between the client and OSS, as MaxCompute's own
SDK does. Registered through the `fsspec.specs` entry point, so pandas, pyarrow and Dask open
`odps://<project>/<volume>/<path>` by URL. Credentials: storage options (endpoint, access_id, access_key,
config_file) or the ODPS_* environment variables a job gets from `ossbox job run`.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import requests
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from ossbox.volumes.client import ProjectClient, load_config
from ossbox.volumes.errors import VolumeError

_URL_REFRESH_S = 600


def _os_error(exc: VolumeError, path: str) -> OSError:
    if exc.code in ("NoSuchPath", "NoSuchVolume", "NoSuchProject"):
        return FileNotFoundError(path)
    if exc.code == "FileAlreadyExists":
        return FileExistsError(path)
    if exc.status == 403:
        return PermissionError(f"{path}: {exc.message}")
    return OSError(f"{path}: {exc.describe()}")


class OdpsFileSystem(AbstractFileSystem):  # type: ignore[misc]
    protocol = ("odps",)
    root_marker = ""

    def __init__(
        self,
        endpoint: str | None = None,
        access_id: str | None = None,
        access_key: str | None = None,
        config_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from pathlib import Path

        config = load_config(endpoint, "-", access_id, access_key, Path(config_file) if config_file else None)
        self.client = ProjectClient(config)

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("odps://"):
            path = path[len("odps://") :]
        return path.strip("/")

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        """'project/volume/a/b' -> ('project', '/volume/a/b')."""
        project, _, rest = path.partition("/")
        if not project:
            raise ValueError("odps:// paths name a project: odps://<project>/<volume>/<path>")
        return project, "/" + rest

    def _call(self, path: str, verb: str, **args: Any) -> dict[str, Any]:
        project, inner = self._split(self._strip_protocol(path))
        try:
            return self.client.vfs(verb, project, **{"path": inner, **args})
        except VolumeError as exc:
            raise _os_error(exc, path) from None

    # -- listing ---------------------------------------------------------------------------------------
    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        project, inner = self._split(path)
        answer = self._call(path, "ls")
        if "volumes" in answer:
            out = [
                {"name": f"{project}/{v['name']}", "size": 0, "type": "directory"} for v in answer["volumes"]
            ]
        else:
            volume = inner.strip("/").split("/", 1)[0]
            out = [
                {
                    "name": f"{project}/{volume}/{e['path']}",
                    "size": e["size"],
                    "type": "directory" if e["dir"] else "file",
                    "mtime": e["mtime"],
                }
                for e in answer["entries"]
            ]
        return out if detail else [e["name"] for e in out]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        _, inner = self._split(path)
        if inner.count("/") <= 1 or inner == "/":
            return {"name": path, "size": 0, "type": "directory"}
        entry = self._call(path, "stat")["entry"]
        if entry is None:
            raise FileNotFoundError(path)
        return {
            "name": path,
            "size": entry["size"],
            "type": "directory" if entry["dir"] else "file",
            "mtime": entry["mtime"],
        }

    # -- changes ---------------------------------------------------------------------------------------
    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self._call(path, "mkdir", parents=create_parents)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        if self.exists(path):
            if not exist_ok:
                raise FileExistsError(path)
            return
        self.mkdir(path)

    def rm_file(self, path: str) -> None:
        self._call(path, "rm", recursive=False)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        for p in [path] if isinstance(path, str) else path:
            self._call(p, "rm", recursive=recursive)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        project, src = self._split(self._strip_protocol(path1))
        _, dst = self._split(self._strip_protocol(path2))
        try:
            self.client.vfs("cp", project, src=src, dst=dst)
        except VolumeError as exc:
            raise _os_error(exc, path1) from None

    def mv(
        self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any
    ) -> None:
        project, src = self._split(self._strip_protocol(path1))
        _, dst = self._split(self._strip_protocol(path2))
        try:
            self.client.vfs("mv", project, src=src, dst=dst)
        except VolumeError as exc:
            raise _os_error(exc, path1) from None

    def presigned_url(self, path: str, method: str = "GET", overwrite: bool = True) -> str:
        return str(self._call(path, "presign", method=method, overwrite=overwrite)["url"])

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> OdpsFile:
        return OdpsFile(
            self, path, mode, block_size or 8 << 20, autocommit, cache_options=cache_options, **kwargs
        )


class OdpsFile(AbstractBufferedFile):  # type: ignore[misc]
    """Reads are ranged GETs on a presigned URL; a write is spooled locally and PUT on close."""

    def __init__(
        self, fs: OdpsFileSystem, path: str, mode: str, block_size: int, autocommit: bool, **kwargs: Any
    ) -> None:
        self._url: str | None = None
        self._url_at = 0.0
        self._spool: Any = None
        super().__init__(fs, path, mode, block_size, autocommit, **kwargs)

    def _read_url(self) -> str:
        if self._url is None or time.monotonic() - self._url_at > _URL_REFRESH_S:
            self._url = self.fs.presigned_url(self.path, "GET")
            self._url_at = time.monotonic()
        return self._url

    def _fetch_range(self, start: int, end: int) -> bytes:
        if start >= end:
            return b""
        resp = self.fs.client.http.get(
            self._read_url(), headers={"Range": f"bytes={start}-{end - 1}"}, timeout=3600
        )
        if resp.status_code == 416:
            return b""
        if resp.status_code >= 300:
            raise OSError(f"{self.path}: OSS answered HTTP {resp.status_code}")
        return bytes(resp.content)

    def _initiate_upload(self) -> None:
        # closed once the upload is done (the final _upload_chunk)
        self._spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)  # noqa: SIM115

    def _upload_chunk(self, final: bool = False) -> bool:
        if self._spool is None:
            self._initiate_upload()
        self._spool.write(self.buffer.getvalue())
        if final:
            url = self.fs.presigned_url(self.path, "PUT", overwrite=True)
            self._spool.seek(0)
            try:
                resp = self.fs.client.http.put(url, data=self._spool, timeout=3600)
            except requests.RequestException as exc:
                raise OSError(f"{self.path}: upload failed ({type(exc).__name__})") from None
            finally:
                self._spool.close()
            if resp.status_code >= 300:
                raise OSError(f"{self.path}: OSS answered HTTP {resp.status_code}")
        return True
