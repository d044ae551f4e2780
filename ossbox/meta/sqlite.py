"""The embedded metadata store: SQLite in WAL mode.

Reads run on the caller's thread through one connection; all writes go through `write_batch`, which the
committer calls from its own thread with a second connection, so that many requests share one durable
commit (group commit). Each operation in a batch runs inside a SAVEPOINT: one failing operation (say, an
append at the wrong position) rolls back alone and the rest of the batch commits.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from ossbox.core.blob_ids import INLINE_MAX_BYTES, is_inline_blob
from ossbox.core.errors import OSSError
from ossbox.meta.bucket_configs import BucketConfigCatalog, BucketConfigWriter
from ossbox.meta.identities import ACCESS_KEY_SELECT, IdentityCatalog, IdentityWriter, access_key_from_row
from ossbox.meta.shared_state import SharedState
from ossbox.meta.types import (
    AccessKey,
    Bucket,
    BucketStat,
    Extent,
    ListedObject,
    ObjectMeta,
    Part,
    Upload,
)

T = TypeVar("T")
_U64 = 1 << 64
# Buckets and access keys are cached until any process changes one of them (see shared_state.py).
_CACHE_MAX = 4096
_VACUUM_PAGES_PER_BATCH = 4096  # 16 MiB of 4 KiB pages


def _to_i64(value: int) -> int:
    return value - _U64 if value >= 1 << 63 else value


def _to_u64(value: int) -> int:
    return value + _U64 if value < 0 else value


def _dump_extents(extents: Iterable[Extent]) -> str:
    return json.dumps([list(e) for e in extents], separators=(",", ":"))


def _load_extents(text: str) -> tuple[Extent, ...]:
    if text.count("[") == 2:
        # One extent, the common case: `[["<blob id>",offset,length]]`. Blob ids are [0-9a-f-i] only, so
        # splitting is exact, and several times cheaper than json.loads.
        blob, offset, length = text[3:-2].rsplit(",", 2)
        return ((blob[:-1], int(offset), int(length)),)
    return tuple((e[0], e[1], e[2]) for e in json.loads(text))


def _load_map(text: str) -> dict[str, str]:
    return {} if text == "{}" else dict(json.loads(text))


def _dump(d: dict[str, str]) -> str:
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def _remember(cache: dict[str, T], name: str, entry: T) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[name] = entry


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("ossbox.meta").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql"):
            found.append((int(name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    # Pages freed by deleting inline blobs go back to the filesystem (see write_batch); this takes
    # effect only on a database created with it, i.e. before the first table exists.
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsync'd; group commit keeps that affordable.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


_OBJECT_COLS = (
    "bucket, key, size, etag, crc64, mtime_ms, object_type, storage_class, acl, content_type, "
    "headers, user_meta, extents, checksum, tagging"
)


# The body comes along only for an object made of one inline extent (ids start with "i-", see
# ossbox.core.blob_ids): `extents` is then `[["i-...",0,size]]`.
_OBJECT_WITH_BODY = (
    f"SELECT {_OBJECT_COLS}, CASE WHEN size <= {INLINE_MAX_BYTES} AND substr(extents, 1, 5) = '[[\"i-' "
    "THEN (SELECT data FROM blob_data WHERE blob_id = json_extract(objects.extents, '$[0][0]')) END "
    "FROM objects WHERE bucket = ? AND key = ?"
)

_UPLOAD_SELECT = (
    "SELECT upload_id, bucket, key, initiated_ms, storage_class, acl, content_type, headers, user_meta, "
    "checksum_algorithm, tagging FROM uploads "
)
_PART_COLS = "part_number, size, etag, crc64, mtime_ms, extents, checksum"


def _upload_from_row(r: Sequence[Any]) -> Upload:
    return Upload(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _load_map(r[7]), _load_map(r[8]), r[9], r[10])


def _part_from_row(r: Sequence[Any]) -> Part:
    return Part(r[0], r[1], r[2], _to_u64(r[3]), r[4], _load_extents(r[5]), r[6])


def _object_from_row(r: Sequence[Any]) -> ObjectMeta:
    return ObjectMeta(
        bucket=r[0],
        key=r[1],
        size=r[2],
        etag=r[3],
        crc64=_to_u64(r[4]),
        mtime_ms=r[5],
        object_type=r[6],
        storage_class=r[7],
        acl=r[8],
        content_type=r[9],
        headers=_load_map(r[10]),
        user_meta=_load_map(r[11]),
        extents=_load_extents(r[12]),
        checksum=r[13],
        tagging=r[14],
    )


class SqliteMeta:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._shared = SharedState(path.with_name(path.name + ".shared"))
        self._write = _connect(path)
        with self._shared.write_lock():
            self._migrate()
        self._read = _connect(path)
        self._read_thread = threading.get_ident()
        self._thread_reads = threading.local()
        self._extra_reads: list[sqlite3.Connection] = []
        # Set when a commit deleted inline bodies whose pages have not been reclaimed yet.
        self.freed_inline_pages = False
        self._cache_generation = self._shared.generation()
        self._bucket_cache: dict[str, Bucket | None] = {}
        self._key_cache: dict[str, AccessKey | None] = {}
        self._caches: list[dict[Any, Any]] = [self._bucket_cache, self._key_cache]
        self.identities = IdentityCatalog(self._read, self._check_caches, self._caches)
        self.bucket_configs = BucketConfigCatalog(self._read, self._check_caches, self._caches)
        self._write_lock = threading.Lock()

    def close(self) -> None:
        for conn in self._extra_reads:
            conn.close()
        self._read.close()
        self._write.close()
        self._shared.close()

    def _migrate(self) -> None:
        c = self._write
        c.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER)"
        )
        done = {row[0] for row in c.execute("SELECT version FROM schema_migrations")}
        for version, sql in _migrations():
            if version in done:
                continue
            c.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";\n"):
                    if statement.strip():
                        c.execute(statement)
                c.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, int(time.time() * 1000)))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    # ---------------------------------------------------------------- reads
    def get_setting(self, name: str) -> str | None:
        row = self._read.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _check_caches(self) -> None:
        generation = self._shared.generation()
        if generation != self._cache_generation:
            for cache in self._caches:
                cache.clear()
            self._cache_generation = generation

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        """Cached: every authenticated request asks."""
        self._check_caches()
        try:
            return self._key_cache[access_key_id]
        except KeyError:
            key = self._load_access_key(access_key_id)
            _remember(self._key_cache, access_key_id, key)
            return key

    def _load_access_key(self, access_key_id: str) -> AccessKey | None:
        row = self._read.execute(ACCESS_KEY_SELECT + "WHERE access_key_id = ?", (access_key_id,)).fetchone()
        return None if row is None else access_key_from_row(row)

    def list_access_keys(self) -> list[AccessKey]:
        rows = self._read.execute(ACCESS_KEY_SELECT + "ORDER BY created_ms").fetchall()
        return [access_key_from_row(r) for r in rows]

    def get_bucket(self, name: str) -> Bucket | None:
        """Cached: nearly every request asks."""
        self._check_caches()
        try:
            return self._bucket_cache[name]
        except KeyError:
            bucket = self._load_bucket(name)
            _remember(self._bucket_cache, name, bucket)
            return bucket

    def _load_bucket(self, name: str) -> Bucket | None:
        row = self._read.execute(
            "SELECT name, owner_id, created_ms, region, acl, storage_class FROM buckets WHERE name = ?",
            (name,),
        ).fetchone()
        return None if row is None else Bucket(*row)

    def list_buckets(self, owner_id: str, prefix: str, marker: str, limit: int) -> list[Bucket]:
        rows = self._read.execute(
            "SELECT name, owner_id, created_ms, region, acl, storage_class FROM buckets "
            "WHERE owner_id = ? AND name > ? AND name >= ? ORDER BY name LIMIT ?",
            (owner_id, marker, prefix, limit * 2 + 1),
        ).fetchall()
        return [Bucket(*r) for r in rows if r[0].startswith(prefix)][: limit + 1]

    def get_object(self, bucket: str, key: str) -> ObjectMeta | None:
        row = self._read.execute(
            f"SELECT {_OBJECT_COLS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        return None if row is None else _object_from_row(row)

    def get_object_with_body(self, bucket: str, key: str) -> tuple[ObjectMeta | None, bytes | None]:
        """The object and, when it is a single inline extent, its whole body: one query for a small GET."""
        row = self._read.execute(_OBJECT_WITH_BODY, (bucket, key)).fetchone()
        if row is None:
            return None, None
        o = _object_from_row(row)
        body = row[15]
        if body is None or len(o.extents) != 1 or o.extents[0][1] != 0 or len(body) != o.size:
            return o, None
        return o, bytes(body)

    def scan_objects(self, bucket: str, after: str, inclusive: bool, limit: int) -> list[ListedObject]:
        """Objects in key order starting after (or at) `after`; the caller applies prefix and delimiter."""
        op = ">=" if inclusive else ">"
        rows = self._read.execute(
            "SELECT key, size, etag, mtime_ms, object_type, storage_class FROM objects "
            f"WHERE bucket = ? AND key {op} ? ORDER BY key LIMIT ?",
            (bucket, after, limit),
        ).fetchall()
        return [ListedObject(*r) for r in rows]

    def bucket_has_objects(self, bucket: str) -> bool:
        return (
            self._read.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (bucket,)).fetchone()
            is not None
        )

    def bucket_stat(self, bucket: str) -> BucketStat:
        size, count, last = self._read.execute(
            "SELECT COALESCE(SUM(size), 0), COUNT(*), COALESCE(MAX(mtime_ms), 0) "
            "FROM objects WHERE bucket = ?",
            (bucket,),
        ).fetchone()
        uploads = self._read.execute("SELECT COUNT(*) FROM uploads WHERE bucket = ?", (bucket,)).fetchone()[0]
        return BucketStat(size, count, uploads, last)

    def get_upload(self, upload_id: str) -> Upload | None:
        row = self._read.execute(
            _UPLOAD_SELECT + "WHERE upload_id = ?",
            (upload_id,),
        ).fetchone()
        return None if row is None else _upload_from_row(row)

    def scan_uploads(self, bucket: str, key_marker: str, upload_id_marker: str, limit: int) -> list[Upload]:
        """Uploads ordered by (key, upload_id) strictly after (key_marker, upload_id_marker)."""
        rows = self._read.execute(
            _UPLOAD_SELECT + "WHERE bucket = ? AND (key > ? OR (key = ? AND upload_id > ?)) "
            "ORDER BY key, upload_id LIMIT ?",
            (bucket, key_marker, key_marker, upload_id_marker, limit),
        ).fetchall()
        return [_upload_from_row(r) for r in rows]

    def list_parts(self, upload_id: str, after_part: int = 0, limit: int = 10001) -> list[Part]:
        rows = self._read.execute(
            f"SELECT {_PART_COLS} FROM parts "
            "WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
            (upload_id, after_part, limit),
        ).fetchall()
        return [_part_from_row(r) for r in rows]

    def all_file_blob_ids(self) -> set[str]:
        """Ids of the blobs kept as files (what the blob store's startup sweep must keep)."""
        return {r[0] for r in self._read.execute("SELECT blob_id FROM blobs") if not is_inline_blob(r[0])}

    def _reader(self) -> sqlite3.Connection:
        """The read connection of the calling thread (worker threads get their own)."""
        if threading.get_ident() == self._read_thread:
            return self._read
        conn: sqlite3.Connection | None = getattr(self._thread_reads, "conn", None)
        if conn is None:
            conn = self._thread_reads.conn = _connect(self.path)
            with self._write_lock:
                self._extra_reads.append(conn)
        return conn

    def read_inline(self, blob_id: str, offset: int, length: int) -> bytes:
        """Bytes of an inline blob; callable from any thread."""
        row = (
            self._reader()
            .execute(
                "SELECT substr(data, ?, ?) FROM blob_data WHERE blob_id = ?", (offset + 1, length, blob_id)
            )
            .fetchone()
        )
        if row is None or len(row[0]) != length:
            raise OSError(f"inline blob {blob_id} is missing or shorter than its metadata says")
        return bytes(row[0])

    # ---------------------------------------------------------------- writes
    def write_batch(self, ops: Sequence[Callable[[SqliteTxn], T]]) -> list[T | OSSError | Exception]:
        """Run `ops` in one durable transaction, each isolated by a savepoint."""
        results: list[T | OSSError | Exception] = []
        with self._write_lock, self._shared.write_lock():
            c = self._write
            txn = SqliteTxn(c)
            c.execute("BEGIN IMMEDIATE")
            try:
                for op in ops:
                    c.execute("SAVEPOINT op")
                    try:
                        results.append(op(txn))
                        c.execute("RELEASE op")
                    except Exception as exc:
                        c.execute("ROLLBACK TO op")
                        c.execute("RELEASE op")
                        results.append(exc)
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
            self.freed_inline_pages = self.freed_inline_pages or txn.freed_inline
            if txn.changed_config:
                self._shared.bump()
        return results

    def reclaim_space(self) -> None:
        """Give the pages of deleted inline bodies back to the filesystem (a bounded amount per call).

        The database file shrinks only when the WAL is checkpointed, so this checkpoints too: the
        committer calls it when the disk runs low, so that deleting objects makes room for new ones.
        """
        with self._write_lock, self._shared.write_lock():
            # execute() steps this pragma once, which frees a single page; executescript runs it out.
            self._write.executescript(f"PRAGMA incremental_vacuum({_VACUUM_PAGES_PER_BATCH});")
            self._write.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.freed_inline_pages = False

    def write(self, op: Callable[[SqliteTxn], T]) -> T:
        """One operation in its own transaction (administrative paths, tests)."""
        result = self.write_batch([op])[0]
        if isinstance(result, Exception):
            raise result
        return result


class SqliteTxn:
    """Write operations available inside a transaction. Each returns the blob ids it made unreferenced."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn
        self.freed_inline = False
        # Set by changes to what processes cache (buckets, keys, identities, bucket policies).
        self.changed_config = False
        self.identities = IdentityWriter(self)
        self.configs = BucketConfigWriter(self)

    # -- settings and keys --
    def set_setting(self, name: str, value: str) -> None:
        self.c.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    def insert_access_key(self, key: AccessKey) -> None:
        self.changed_config = True
        self.c.execute(
            "INSERT INTO access_keys (access_key_id, secret, owner_id, is_root, created_ms, description, "
            "user_name, service) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.access_key_id,
                key.secret,
                key.owner_id,
                int(key.is_root),
                key.created_ms,
                key.description,
                key.user_name,
                key.service,
            ),
        )

    def delete_access_key(self, access_key_id: str) -> bool:
        self.changed_config = True
        return (
            self.c.execute("DELETE FROM access_keys WHERE access_key_id = ?", (access_key_id,)).rowcount > 0
        )

    # -- buckets --
    def get_bucket(self, name: str) -> Bucket | None:
        row = self.c.execute(
            "SELECT name, owner_id, created_ms, region, acl, storage_class FROM buckets WHERE name = ?",
            (name,),
        ).fetchone()
        return None if row is None else Bucket(*row)

    def insert_bucket(self, b: Bucket) -> None:
        self.changed_config = True
        self.c.execute(
            "INSERT INTO buckets VALUES (?, ?, ?, ?, ?, ?)",
            (b.name, b.owner_id, b.created_ms, b.region, b.acl, b.storage_class),
        )

    def set_bucket_acl(self, name: str, acl: str) -> None:
        self.changed_config = True
        self.c.execute("UPDATE buckets SET acl = ? WHERE name = ?", (acl, name))

    def bucket_is_empty(self, name: str) -> bool:
        return (
            self.c.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone() is None
            and self.c.execute("SELECT 1 FROM uploads WHERE bucket = ? LIMIT 1", (name,)).fetchone() is None
        )

    def delete_bucket(self, name: str) -> None:
        self.changed_config = True
        self.c.execute("DELETE FROM buckets WHERE name = ?", (name,))
        self.c.execute("DELETE FROM bucket_policies WHERE bucket = ?", (name,))
        self.configs.delete_bucket(name)

    # -- blobs --
    def add_blob(self, blob_id: str, size: int, data: bytes | None = None) -> None:
        """Register a new blob with no references yet: a durable file, or `data` stored inline."""
        self.c.execute("INSERT INTO blobs VALUES (?, ?, 0)", (blob_id, size))
        if data is not None:
            self.c.execute("INSERT INTO blob_data VALUES (?, ?)", (blob_id, data))

    def _forget(self, blob_id: str) -> bool:
        """Drop an unreferenced blob's row; True if it is a file the caller must delete."""
        self.c.execute("DELETE FROM blobs WHERE blob_id = ?", (blob_id,))
        if is_inline_blob(blob_id):
            self.c.execute("DELETE FROM blob_data WHERE blob_id = ?", (blob_id,))
            self.freed_inline = True
            return False
        return True

    def _ref(self, extents: Iterable[Extent], delta: int) -> list[str]:
        """Adjust reference counts; returns the file blobs that lost their last reference."""
        dead: list[str] = []
        for blob_id in {e[0] for e in extents}:
            self.c.execute("UPDATE blobs SET refs = refs + ? WHERE blob_id = ?", (delta, blob_id))
            if delta < 0:
                row = self.c.execute("SELECT refs FROM blobs WHERE blob_id = ?", (blob_id,)).fetchone()
                if row is not None and row[0] <= 0 and self._forget(blob_id):
                    dead.append(blob_id)
        return dead

    def drop_unreferenced(self, blob_ids: Iterable[str]) -> list[str]:
        """Forget blobs registered in this transaction that ended up with no reference; returns the
        files among them."""
        dead = []
        for blob_id in blob_ids:
            row = self.c.execute("SELECT refs FROM blobs WHERE blob_id = ?", (blob_id,)).fetchone()
            if row is not None and row[0] <= 0 and self._forget(blob_id):
                dead.append(blob_id)
        return dead

    # -- objects --
    def get_object(self, bucket: str, key: str) -> ObjectMeta | None:
        row = self.c.execute(
            f"SELECT {_OBJECT_COLS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        return None if row is None else _object_from_row(row)

    def put_object(self, o: ObjectMeta) -> list[str]:
        old = self.c.execute(
            "SELECT extents FROM objects WHERE bucket = ? AND key = ?", (o.bucket, o.key)
        ).fetchone()
        self.c.execute(
            f"INSERT OR REPLACE INTO objects ({_OBJECT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                o.bucket,
                o.key,
                o.size,
                o.etag,
                _to_i64(o.crc64),
                o.mtime_ms,
                o.object_type,
                o.storage_class,
                o.acl,
                o.content_type,
                _dump(o.headers),
                _dump(o.user_meta),
                _dump_extents(o.extents),
                o.checksum,
                o.tagging,
            ),
        )
        self._ref(o.extents, +1)
        return self._ref(_load_extents(old[0]), -1) if old else []

    def set_object_tagging(self, bucket: str, key: str, tagging: str) -> bool:
        return (
            self.c.execute(
                "UPDATE objects SET tagging = ? WHERE bucket = ? AND key = ?", (tagging, bucket, key)
            ).rowcount
            > 0
        )

    def set_object_acl(self, bucket: str, key: str, acl: str) -> bool:
        return (
            self.c.execute(
                "UPDATE objects SET acl = ? WHERE bucket = ? AND key = ?", (acl, bucket, key)
            ).rowcount
            > 0
        )

    def delete_object(self, bucket: str, key: str) -> list[str]:
        old = self.c.execute(
            "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING extents", (bucket, key)
        ).fetchone()
        return self._ref(_load_extents(old[0]), -1) if old else []

    # -- multipart --
    def insert_upload(self, u: Upload) -> None:
        self.c.execute(
            "INSERT INTO uploads (upload_id, bucket, key, initiated_ms, storage_class, acl, content_type, "
            "headers, user_meta, checksum_algorithm, tagging) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                u.upload_id,
                u.bucket,
                u.key,
                u.initiated_ms,
                u.storage_class,
                u.acl,
                u.content_type,
                _dump(u.headers),
                _dump(u.user_meta),
                u.checksum_algorithm,
                u.tagging,
            ),
        )

    def get_upload(self, upload_id: str) -> Upload | None:
        row = self.c.execute(_UPLOAD_SELECT + "WHERE upload_id = ?", (upload_id,)).fetchone()
        return None if row is None else _upload_from_row(row)

    def upload_exists(self, upload_id: str, bucket: str, key: str) -> bool:
        return (
            self.c.execute(
                "SELECT 1 FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key),
            ).fetchone()
            is not None
        )

    def put_part(self, upload_id: str, p: Part) -> list[str]:
        old = self.c.execute(
            "SELECT extents FROM parts WHERE upload_id = ? AND part_number = ?", (upload_id, p.part_number)
        ).fetchone()
        self.c.execute(
            f"INSERT OR REPLACE INTO parts ({_PART_COLS}, upload_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                p.part_number,
                p.size,
                p.etag,
                _to_i64(p.crc64),
                p.mtime_ms,
                _dump_extents(p.extents),
                p.checksum,
                upload_id,
            ),
        )
        self._ref(p.extents, +1)
        return self._ref(_load_extents(old[0]), -1) if old else []

    def parts(self, upload_id: str) -> list[Part]:
        rows = self.c.execute(
            f"SELECT {_PART_COLS} FROM parts WHERE upload_id = ? ORDER BY part_number", (upload_id,)
        ).fetchall()
        return [_part_from_row(r) for r in rows]

    def delete_upload(self, upload_id: str) -> list[str]:
        """Remove an upload and its parts, dropping the parts' references."""
        dead: list[str] = []
        for row in self.c.execute(
            "DELETE FROM parts WHERE upload_id = ? RETURNING extents", (upload_id,)
        ).fetchall():
            dead += self._ref(_load_extents(row[0]), -1)
        self.c.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        return dead
