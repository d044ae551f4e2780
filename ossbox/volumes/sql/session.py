"""One statement's DuckDB: a private scratch directory, the tables it may read as views, then locked.

User SQL runs in the server process, so DuckDB's file access is switched off except for this statement's
own directory (which holds only files the caller may read: hard links into the download cache), the
configuration is locked, and exactly one SELECT statement is accepted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import oss2

from ossbox.volumes.errors import VolumeError
from ossbox.volumes.sql.lexer import position

CACHE_LIMIT_BYTES = 4 << 30
MEMORY_LIMIT = "2GB"
_DOWNLOAD_THREADS = 4
_LINE = re.compile(r"LINE (\d+): (.*)\n( *)\^", re.S)
_MISSING_TABLE = re.compile(r'Table with name "?([^"\s]+)"? does not exist')


class Scratch:
    """The service's scratch space: a download cache of immutable data files and per-statement dirs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache = root / "cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.sessions = root / "sessions"
        self.sessions.mkdir(exist_ok=True)

    def cached(self, bucket: oss2.Bucket, key: str, size: int) -> Path:
        """A local copy of an object that never changes once written (table data files have unique names)."""
        name = hashlib.sha256(f"{bucket.endpoint}/{bucket.bucket_name}/{key}".encode()).hexdigest()
        path = self.cache / (name + ".data")
        if path.exists() and path.stat().st_size == size:
            os.utime(path)
            return path
        tmp = self.cache / f"{name}.{uuid.uuid4().hex}.tmp"
        try:
            bucket.get_object_to_file(key, str(tmp))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def adopt(self, bucket: oss2.Bucket, key: str, local: Path) -> None:
        """A file this process just uploaded as `key`: keep it as the cached copy."""
        name = hashlib.sha256(f"{bucket.endpoint}/{bucket.bucket_name}/{key}".encode()).hexdigest()
        tmp = self.cache / f"{name}.{uuid.uuid4().hex}.tmp"
        try:
            os.link(local, tmp)
            os.replace(tmp, self.cache / (name + ".data"))
        except OSError:
            tmp.unlink(missing_ok=True)

    def trim(self, limit: int = CACHE_LIMIT_BYTES) -> None:
        files = sorted((p.stat().st_mtime, p.stat().st_size, p) for p in self.cache.glob("*.data"))
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= limit:
                break
            path.unlink(missing_ok=True)
            total -= size

    @contextlib.contextmanager
    def session_dir(self) -> Iterator[Path]:
        path = self.sessions / uuid.uuid4().hex
        path.mkdir()
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


class Session:
    def __init__(self, scratch: Scratch, directory: Path, threads: int = 2) -> None:
        self.scratch = scratch
        self.dir = directory
        self.con = duckdb.connect(
            ":memory:",
            config={
                "threads": threads,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "temp_directory": str(directory / "spill"),
                # several statements may run at once in each server process; beyond this DuckDB spills
                "memory_limit": MEMORY_LIMIT,
            },
        )
        self.con.execute(f"SET allowed_directories=['{directory}/']")
        self.con.execute("SET enable_external_access=false")
        self.con.execute("SET lock_configuration=true")
        self._names = 0

    def close(self) -> None:
        self.con.close()

    def local_name(self, suffix: str) -> Path:
        self._names += 1
        return self.dir / f"f{self._names}{suffix}"

    def link(self, source: Path, suffix: str) -> Path:
        """A cached file made visible to this statement."""
        target = self.local_name(suffix)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        return target

    def fetch(self, bucket: oss2.Bucket, objects: list[tuple[str, int]], suffix: str) -> list[Path]:
        """Objects of one bucket, through the cache, as files of this statement (in the given order)."""
        with ThreadPoolExecutor(_DOWNLOAD_THREADS) as pool:
            cached = list(pool.map(lambda o: self.scratch.cached(bucket, o[0], o[1]), objects))
        return [self.link(c, suffix) for c in cached]

    def download(self, bucket: oss2.Bucket, objects: list[tuple[str, int]], suffix: str) -> list[Path]:
        """Objects that may change (volume files), downloaded for this statement only."""
        targets = [self.local_name(suffix) for _ in objects]
        with ThreadPoolExecutor(_DOWNLOAD_THREADS) as pool:
            list(
                pool.map(
                    lambda p: bucket.get_object_to_file(p[0][0], str(p[1])),
                    zip(objects, targets, strict=True),
                )
            )
        return targets


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def file_list(paths: list[Path]) -> str:
    return "[" + ", ".join(quote_str(str(p)) for p in paths) + "]"


def check_single_select(text: str, offset: int, statement: str) -> None:
    try:
        found = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise duckdb_error(exc, statement, offset) from None
    if len(found) != 1 or found[0].type.name != "SELECT":
        line, column = position(statement, offset)
        raise VolumeError("SyntaxError", "expected exactly one query", 400, line, column)


def duckdb_error(
    exc: Exception, statement: str, offset: int, project: str = "", scrub: dict[str, str] | None = None
) -> VolumeError:
    """DuckDB's error, its position mapped from the query text to the statement, local paths hidden."""
    text = str(exc)
    for local, shown in (scrub or {}).items():
        text = text.replace(local, shown)
    head = text.split("\n\nLINE ", 1)[0].strip()
    m = _LINE.search(text)
    line = column = None
    if m:
        qline, prefix = int(m.group(1)), len(f"LINE {m.group(1)}: ")
        caret = len(m.group(3)) - prefix
        query = statement[offset:]
        starts = [0] + [i + 1 for i, ch in enumerate(query) if ch == "\n"]
        if qline <= len(starts):
            line, column = position(statement, offset + starts[qline - 1] + max(caret, 0))
    missing = _MISSING_TABLE.search(head)
    if missing:
        return VolumeError(
            "NoSuchTable", f"Table not found - '{project}.{missing.group(1)}'.", 404, line, column
        )
    kind = "SyntaxError" if isinstance(exc, duckdb.ParserException) else "SemanticError"
    if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException):
        kind = "InvalidData"
    return VolumeError(kind, head, 400, line, column)
