"""The metadata store's queries, written once for both engines (ossbox.meta.sqlite, ossbox.meta.postgres).

Reads run on the caller's thread; all writes go through `write_batch`, which the committer calls from its
own thread with a connection of its own, so that many requests share one durable commit (group commit).
Each operation in a batch runs inside a SAVEPOINT: one failing operation (say, an append at the wrong
position) rolls back alone and the rest of the batch commits.

The SQL here is the dialect both engines speak (`INSERT ... ON CONFLICT`, `RETURNING`, CASTs where
PostgreSQL would widen a type); the engines differ in how they connect, migrate, serialise writers and tell
other processes that cached rows changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any, TypeVar

from ossbox.core.blob_ids import INLINE_MAX_BYTES, is_inline_blob
from ossbox.core.errors import OSSError
from ossbox.core.versions import NULL_VERSION, vseq_of
from ossbox.meta.bucket_configs import BucketConfigCatalog, BucketConfigWriter
from ossbox.meta.connection import Connection
from ossbox.meta.identities import ACCESS_KEY_SELECT, IdentityCatalog, IdentityWriter, access_key_from_row
from ossbox.meta.leases import Lease
from ossbox.meta.shared_state import SharedState
from ossbox.meta.types import (
    AccessKey,
    BlobKey,
    Bucket,
    BucketStat,
    Extent,
    ListedObject,
    ListedVersion,
    ObjectMeta,
    Part,
    Restore,
    Upload,
)

T = TypeVar("T")
_U64 = 1 << 64
# Buckets and access keys are cached until any process changes one of them (see shared_state.py).
_CACHE_MAX = 4096


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


class SchemaTooNew(Exception):
    """The database was migrated by a newer ossbox: this one would misread it."""


def migrations(engine: str) -> list[tuple[int, str]]:
    """(version, SQL) of `engine`'s migrations (ossbox/meta/migrations/<engine>/NNNN_*.sql), in order."""
    found = []
    for entry in resources.files("ossbox.meta").joinpath("migrations", engine).iterdir():
        name = entry.name
        if name.endswith(".sql"):
            found.append((int(name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def pending_migrations(engine: str, done: set[int]) -> list[tuple[int, str]]:
    """The migrations not applied yet; SchemaTooNew when the database has one this release lacks."""
    known = migrations(engine)
    newest_known = known[-1][0]
    if done and max(done) > newest_known:
        raise SchemaTooNew(
            f"the metadata database is at schema version {max(done)}, newer than this ossbox knows "
            f"({newest_known}); upgrade ossbox or point it at another database"
        )
    return [(v, sql) for v, sql in known if v not in done]


def statements(sql: str) -> list[str]:
    return [s for s in sql.split(";\n") if s.strip()]


_BUCKET_COLS = "name, owner_id, created_ms, region, acl, storage_class, versioning"

_OBJECT_COLS = (
    "bucket, key, size, etag, crc64, mtime_ms, object_type, storage_class, acl, content_type, "
    "headers, user_meta, extents, version_id, vseq, restore_ready_ms, restore_expiry_ms, restore_tier, "
    "checksum, tagging, sse, symlink_target"
)
_N_OBJECT_COLS = 22
# A row of object_versions: the object columns, then whether it is a delete marker and since when it is
# noncurrent.
_VERSION_COLS = _OBJECT_COLS + ", delete_marker, noncurrent_ms"
_LISTED_COLS = "key, size, etag, mtime_ms, object_type, storage_class, restore_ready_ms, restore_expiry_ms"
_LISTED_VERSION_COLS = (
    "key, version_id, vseq, size, etag, mtime_ms, object_type, storage_class, restore_ready_ms, "
    "restore_expiry_ms"
)
# Columns a version's owner may change in place (ACL, restore, storage class by lifecycle).
_UPDATABLE = frozenset(
    ["acl", "storage_class", "restore_ready_ms", "restore_expiry_ms", "restore_tier", "tagging"]
)


# The body comes along only for an object made of one inline extent (ids start with "i-", see
# ossbox.core.blob_ids): `extents` is then `[["i-...",0,size]]`.
def object_with_body_sql(first_blob_id: str) -> str:
    """GET's one query: the object row and, for a single inline extent, its body. `first_blob_id` is the
    engine's expression for the first extent's blob id in `objects.extents` (JSON)."""
    return (
        f"SELECT {_OBJECT_COLS}, CASE WHEN size <= {INLINE_MAX_BYTES} AND substr(extents, 1, 5) = '[[\"i-' "
        f"THEN (SELECT data FROM blob_data WHERE blob_id = {first_blob_id}) END "
        "FROM objects WHERE bucket = ? AND key = ?"
    )


_UPLOAD_COLS = (
    "upload_id, bucket, key, initiated_ms, storage_class, acl, content_type, headers, user_meta, "
    "checksum_algorithm, tagging, sse"
)
_UPLOAD_SELECT = f"SELECT {_UPLOAD_COLS} FROM uploads "
_PART_COLS = "part_number, size, etag, crc64, mtime_ms, extents, checksum"


def _upload_from_row(r: Sequence[Any]) -> Upload:
    return Upload(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], _load_map(r[7]), _load_map(r[8]), r[9], r[10], r[11]
    )


def _part_from_row(r: Sequence[Any]) -> Part:
    return Part(r[0], r[1], r[2], _to_u64(r[3]), r[4], _load_extents(r[5]), r[6])


def _object_from_row(r: Sequence[Any]) -> ObjectMeta:
    # Positional (in ObjectMeta's field order): measurably cheaper than keywords on every GET.
    return ObjectMeta(
        r[0],  # bucket
        r[1],  # key
        r[2],  # size
        r[3],  # etag
        _to_u64(r[4]),  # crc64
        r[5],  # mtime_ms
        r[6],  # object_type
        r[7],  # storage_class
        r[8],  # acl
        r[9],  # content_type
        _load_map(r[10]),  # headers
        _load_map(r[11]),  # user_meta
        _load_extents(r[12]),  # extents
        r[13],  # version_id
        r[14],  # vseq
        None if r[15] is None else Restore(r[15], r[16], r[17] or ""),
        checksum=r[18],
        tagging=r[19],
        sse=r[20],
        symlink_target=r[21],
    )


def _version_from_row(r: Sequence[Any]) -> ObjectMeta:
    o = _object_from_row(r)
    o.delete_marker = bool(r[_N_OBJECT_COLS])
    o.noncurrent_ms = r[_N_OBJECT_COLS + 1]
    return o


def _object_values(o: ObjectMeta) -> tuple[Any, ...]:
    r = o.restore
    return (
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
        o.version_id,
        o.vseq,
        None if r is None else r.ready_ms,
        None if r is None else r.expiry_ms,
        None if r is None else r.tier,
        o.checksum,
        o.tagging,
        o.sse,
        o.symlink_target,
    )


_OBJECT_PLACEHOLDERS = ",".join("?" * _N_OBJECT_COLS)
_UPSERT_OBJECT = (
    f"INSERT INTO objects ({_OBJECT_COLS}) VALUES ({_OBJECT_PLACEHOLDERS}) "
    "ON CONFLICT (bucket, key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _OBJECT_COLS.split(", ")[2:])
)
_UPSERT_PART = (
    f"INSERT INTO parts ({_PART_COLS}, upload_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (upload_id, part_number) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _PART_COLS.split(", ")[1:])
)


def _find_version(c: Connection, bucket: str, key: str, version_id: str) -> tuple[ObjectMeta, bool] | None:
    """The version of `key` named by a wire version id ("null" included), and whether it is the current one.

    Callers check that `version_id` is well formed first (ossbox.core.versions.vseq_of).
    """
    stored = "" if version_id == NULL_VERSION else version_id
    row = c.execute(
        f"SELECT {_OBJECT_COLS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
    ).fetchone()
    if row is not None and row[13] == stored:
        return _object_from_row(row), True
    if stored:
        vseq = vseq_of(stored)
        found = c.execute(
            f"SELECT {_VERSION_COLS} FROM object_versions WHERE bucket = ? AND key = ? AND vseq = ? "
            "AND version_id = ?",
            (bucket, key, vseq, stored),
        ).fetchone()
    else:
        found = c.execute(
            f"SELECT {_VERSION_COLS} FROM object_versions WHERE bucket = ? AND key = ? AND version_id = ''",
            (bucket, key),
        ).fetchone()
    return None if found is None else (_version_from_row(found), False)


def _newest_version(c: Connection, bucket: str, key: str) -> ObjectMeta | None:
    row = c.execute(
        f"SELECT {_VERSION_COLS} FROM object_versions WHERE bucket = ? AND key = ? "
        "ORDER BY vseq DESC LIMIT 1",
        (bucket, key),
    ).fetchone()
    return None if row is None else _version_from_row(row)


class SqlMeta:
    """Reads, caches and the write path shared by the engines. A subclass opens the connections and
    provides `_reader`, `_run_batch` and, when it has one, a way to hear of other processes' changes."""

    # SQLite's form; PostgreSQL's is in ossbox.meta.postgres.
    object_with_body_sql = object_with_body_sql("json_extract(objects.extents, '$[0][0]')")
    # The engine's name in OSSBOX_META_URL form ("sqlite", "postgresql"), for messages.
    engine = ""
    # How many threads may call write_batch at once (ossbox.service.committer).
    committer_threads = 1

    def __init__(self, read: Connection, shared: SharedState) -> None:
        """`read` serves the event loop's thread; `shared` is this data directory's shared state."""
        self._read = read
        self._shared = shared
        # Set when a commit deleted inline bodies whose pages have not been reclaimed yet (SQLite only).
        self.freed_inline_pages = False
        self._cache_generation = self._generation()
        self._bucket_cache: dict[str, Bucket | None] = {}
        self._key_cache: dict[str, AccessKey | None] = {}
        self._caches: list[dict[Any, Any]] = [self._bucket_cache, self._key_cache]
        self.identities = IdentityCatalog(self._read, self._check_caches, self._caches)
        self.bucket_configs = BucketConfigCatalog(self._read, self._check_caches, self._caches)

    def close(self) -> None:
        self._shared.close()

    # ---------------------------------------------------------------- reads
    def clock_offset_ms(self) -> int:
        """The test clock's offset, shared by every process on this data directory (ossbox/core/clock.py)."""
        return self._shared.clock_offset_ms()

    def set_clock_offset_ms(self, offset_ms: int) -> None:
        self._shared.set_clock_offset_ms(offset_ms)

    def get_setting(self, name: str) -> str | None:
        row = self._read.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _generation(self) -> int:
        """Moves whenever any process commits a change to what is cached here."""
        return self._shared.generation()

    def _check_caches(self) -> None:
        generation = self._generation()
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
        row = self._read.execute(f"SELECT {_BUCKET_COLS} FROM buckets WHERE name = ?", (name,)).fetchone()
        return None if row is None else Bucket(*row)

    def list_buckets(self, owner_id: str, prefix: str, marker: str, limit: int) -> list[Bucket]:
        rows = self._read.execute(
            f"SELECT {_BUCKET_COLS} FROM buckets "
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
        row = self._read.execute(self.object_with_body_sql, (bucket, key)).fetchone()
        if row is None:
            return None, None
        o = _object_from_row(row)
        body = row[_N_OBJECT_COLS]
        if body is None or len(o.extents) != 1 or o.extents[0][1] != 0 or len(body) != o.size:
            return o, None
        return o, bytes(body)

    def scan_objects(self, bucket: str, after: str, inclusive: bool, limit: int) -> list[ListedObject]:
        """Objects in key order starting after (or at) `after`; the caller applies prefix and delimiter."""
        op = ">=" if inclusive else ">"
        rows = self._read.execute(
            f"SELECT {_LISTED_COLS} FROM objects WHERE bucket = ? AND key {op} ? ORDER BY key LIMIT ?",
            (bucket, after, limit),
        ).fetchall()
        return [ListedObject(*r) for r in rows]

    def scan_current_versions(
        self, bucket: str, after: str, inclusive: bool, limit: int
    ) -> list[ListedVersion]:
        """Current versions (every one is its key's latest) in key order, for ListObjectVersions."""
        op = ">=" if inclusive else ">"
        rows = self._read.execute(
            f"SELECT {_LISTED_VERSION_COLS} FROM objects WHERE bucket = ? AND key {op} ? "
            "ORDER BY key LIMIT ?",
            (bucket, after, limit),
        ).fetchall()
        return [
            ListedVersion(r[0], r[1], r[2], True, False, r[3], r[4], r[5], r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def scan_noncurrent_versions(
        self, bucket: str, key: str, below_vseq: int | None, limit: int
    ) -> list[ListedVersion]:
        """Rows of object_versions in (key, newest first) order: those of `key` older than `below_vseq`
        (all of them when None), then those of later keys. `is_latest` is left False (the caller knows)."""
        cols = _LISTED_VERSION_COLS + ", delete_marker"
        rows: list[Any] = []
        if below_vseq is not None:
            rows = self._read.execute(
                f"SELECT {cols} FROM object_versions WHERE bucket = ? AND key = ? AND vseq < ? "
                "ORDER BY vseq DESC LIMIT ?",
                (bucket, key, below_vseq, limit),
            ).fetchall()
        if len(rows) < limit:
            op = ">" if below_vseq is not None else ">="
            rows += self._read.execute(
                f"SELECT {cols} FROM object_versions WHERE bucket = ? AND key {op} ? "
                "ORDER BY key, vseq DESC LIMIT ?",
                (bucket, key, limit - len(rows)),
            ).fetchall()
        return [
            ListedVersion(r[0], r[1], r[2], False, bool(r[10]), r[3], r[4], r[5], r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def find_version(self, bucket: str, key: str, version_id: str) -> tuple[ObjectMeta, bool] | None:
        """The version named by a (well-formed) wire version id and whether it is the current one."""
        return _find_version(self._read, bucket, key, version_id)

    def newest_noncurrent(self, bucket: str, key: str) -> ObjectMeta | None:
        """The newest row of object_versions for `key` (when there is no current version: its delete
        marker, if the key has any history)."""
        return _newest_version(self._read, bucket, key)

    def get_lifecycle(self, bucket: str) -> str | None:
        row = self._read.execute("SELECT rules FROM bucket_lifecycle WHERE bucket = ?", (bucket,)).fetchone()
        return None if row is None else str(row[0])

    def buckets_with_lifecycle(self) -> list[tuple[str, str]]:
        return [
            (str(r[0]), str(r[1]))
            for r in self._read.execute("SELECT bucket, rules FROM bucket_lifecycle ORDER BY bucket")
        ]

    def scan_noncurrent(self, bucket: str, after: tuple[str, int] | None, limit: int) -> list[ObjectMeta]:
        """Whole rows of object_versions in (key, newest first) order after (key, vseq), for lifecycle."""
        if after is None:
            rows = self._read.execute(
                f"SELECT {_VERSION_COLS} FROM object_versions WHERE bucket = ? "
                "ORDER BY key, vseq DESC LIMIT ?",
                (bucket, limit),
            ).fetchall()
        else:
            rows = self._read.execute(
                f"SELECT {_VERSION_COLS} FROM object_versions WHERE bucket = ? AND key = ? AND vseq < ? "
                "ORDER BY vseq DESC LIMIT ?",
                (bucket, after[0], after[1], limit),
            ).fetchall()
            if len(rows) < limit:
                rows += self._read.execute(
                    f"SELECT {_VERSION_COLS} FROM object_versions WHERE bucket = ? AND key > ? "
                    "ORDER BY key, vseq DESC LIMIT ?",
                    (bucket, after[0], limit - len(rows)),
                ).fetchall()
        return [_version_from_row(r) for r in rows]

    def scan_objects_full(self, bucket: str, after: str, limit: int) -> list[ObjectMeta]:
        """Whole current rows in key order after `after`, for lifecycle."""
        rows = self._read.execute(
            f"SELECT {_OBJECT_COLS} FROM objects WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?",
            (bucket, after, limit),
        ).fetchall()
        return [_object_from_row(r) for r in rows]

    def bucket_has_objects(self, bucket: str) -> bool:
        return (
            self._read.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (bucket,)).fetchone()
            is not None
        )

    def bucket_stat(self, bucket: str) -> BucketStat:
        rows = self._read.execute(
            "SELECT storage_class, CAST(COALESCE(SUM(size), 0) AS BIGINT), COUNT(*), "
            "COALESCE(MAX(mtime_ms), 0) "
            "FROM objects WHERE bucket = ? GROUP BY storage_class",
            (bucket,),
        ).fetchall()
        uploads = self._read.execute("SELECT COUNT(*) FROM uploads WHERE bucket = ?", (bucket,)).fetchone()[0]
        markers = self._read.execute(
            "SELECT COUNT(*) FROM object_versions WHERE bucket = ? AND delete_marker = 1", (bucket,)
        ).fetchone()[0]
        by_class = {r[0]: (r[1], r[2]) for r in rows}
        size = sum(r[1] for r in rows)
        count = sum(r[2] for r in rows)
        last = max((r[3] for r in rows), default=0)
        return BucketStat(size, count, uploads, last, by_class, int(markers))

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

    def _reader(self) -> Connection:
        """The read connection of the calling thread (worker threads get their own)."""
        raise NotImplementedError

    def blob_keys(self, blob_ids: Iterable[str]) -> dict[str, BlobKey]:
        """The wrapped data keys of encrypted blobs; callable from any thread."""
        ids = list(blob_ids)
        marks = ",".join("?" * len(ids))
        rows = (
            self._reader()
            .execute(
                f"SELECT blob_id, cipher, kek, wrapped, iv FROM blob_keys WHERE blob_id IN ({marks})", ids
            )
            .fetchall()
        )
        return {r[0]: BlobKey(r[1], r[2], bytes(r[3]), bytes(r[4])) for r in rows}

    def count_blob_keys(self) -> int:
        return int(self._read.execute("SELECT COUNT(*) FROM blob_keys").fetchone()[0])

    def read_inline(self, blob_id: str, offset: int, length: int) -> bytes:
        """Bytes of an inline blob; callable from any thread."""
        row = (
            self._reader()
            .execute(
                "SELECT substr(data, CAST(? AS INTEGER), CAST(? AS INTEGER)) FROM blob_data "
                "WHERE blob_id = ?",
                (offset + 1, length, blob_id),
            )
            .fetchone()
        )
        if row is None or len(row[0]) != length:
            raise OSError(f"inline blob {blob_id} is missing or shorter than its metadata says")
        return bytes(row[0])

    def lease(self, name: str) -> Lease:
        """The lease that elects one process, of all that share this metadata, for background work `name`."""
        raise NotImplementedError

    # ---------------------------------------------------------------- writes
    def write_batch(self, ops: Sequence[Callable[[SqlTxn], T]]) -> list[T | OSSError | Exception]:
        """Run `ops` in one durable transaction, each isolated by a savepoint."""
        raise NotImplementedError

    def reclaim_space(self) -> None:
        """Give the space of deleted inline bodies back to the filesystem, where the engine needs telling."""

    def write(self, op: Callable[[SqlTxn], T]) -> T:
        """One operation in its own transaction (administrative paths, tests)."""
        result = self.write_batch([op])[0]
        if isinstance(result, Exception):
            raise result
        return result


def run_savepointed(c: Connection, txn: SqlTxn, ops: Sequence[Callable[[SqlTxn], T]]) -> list[T | Exception]:
    """Each of `ops` inside its own savepoint of the open transaction: a failing one rolls back alone."""
    results: list[T | Exception] = []
    for op in ops:
        c.execute("SAVEPOINT op")
        try:
            results.append(op(txn))
            c.execute("RELEASE op")
        except Exception as exc:
            if txn.must_abort(exc):
                raise
            c.execute("ROLLBACK TO op")
            c.execute("RELEASE op")
            txn.forget_locks()
            results.append(exc)
    return results


class SqlTxn:
    """Write operations available inside a transaction. Each returns the blob ids it made unreferenced."""

    # Slots: a misspelt flag (say, a change flag of an older name) fails loudly instead of being ignored.
    __slots__ = ("c", "changed_config", "configs", "freed_inline", "identities")
    # How blobs_exist reads a blob's row; PostgreSQL locks it so that a concurrent delete cannot free it.
    blob_exists_sql = "SELECT 1 FROM blobs WHERE blob_id = ?"

    def __init__(self, conn: Connection) -> None:
        self.c = conn
        self.freed_inline = False
        # Set by changes to what processes cache (buckets, keys, identities, bucket policies).
        self.changed_config = False
        self.identities = IdentityWriter(self)
        self.configs = BucketConfigWriter(self)

    # -- serialising writers --
    # An operation reads (a key's current version, an upload, a bucket) and writes on what it read. SQLite
    # has one writer at a time, so these are no-ops; PostgreSQL's transactions run side by side and take
    # a transaction-scoped lock on each name first (ossbox.meta.postgres.PgTxn).
    def lock(self, name: str, shared: bool = False) -> None:
        """Hold `name` (a key, an upload, a bucket) until the transaction ends; `shared` admits other
        shared holders (readers of a bucket's row) but no exclusive one."""

    def forget_locks(self) -> None:
        """The savepoint that took some locks rolled back (which released them)."""

    def must_abort(self, exc: Exception) -> bool:
        """Whether `exc` dooms the whole transaction (a lost connection, a deadlock) rather than one op."""
        return False

    def _key(self, bucket: str, key: str) -> None:
        self.lock(f"o:{bucket}/{key}")

    def _upload(self, upload_id: str) -> None:
        self.lock(f"u:{upload_id}")

    def _bucket(self, name: str, shared: bool = False) -> None:
        self.lock(f"b:{name}", shared)

    # -- settings and keys --
    def set_setting(self, name: str, value: str) -> None:
        self.c.execute(
            "INSERT INTO settings VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def set_setting_if_absent(self, name: str, value: str) -> str:
        """Store `value` unless the setting exists (another node may be starting too); returns the stored
        one."""
        self.c.execute("INSERT INTO settings VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, value))
        return str(self.c.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()[0])

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
        # Shared: every write into a bucket reads it; only changes to the bucket itself exclude them.
        self._bucket(name, shared=True)
        row = self.c.execute(f"SELECT {_BUCKET_COLS} FROM buckets WHERE name = ?", (name,)).fetchone()
        return None if row is None else Bucket(*row)

    def insert_bucket(self, b: Bucket) -> None:
        self._bucket(b.name)
        self.changed_config = True
        self.c.execute(
            f"INSERT INTO buckets ({_BUCKET_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (b.name, b.owner_id, b.created_ms, b.region, b.acl, b.storage_class, b.versioning),
        )

    def set_bucket_versioning(self, name: str, status: str) -> None:
        self._bucket(name)
        self.changed_config = True
        self.c.execute("UPDATE buckets SET versioning = ? WHERE name = ?", (status, name))

    def set_bucket_acl(self, name: str, acl: str) -> None:
        self._bucket(name)
        self.changed_config = True
        self.c.execute("UPDATE buckets SET acl = ? WHERE name = ?", (acl, name))

    def bucket_has_no_objects(self, name: str) -> bool:
        """No current or noncurrent version, no delete marker (uploads in progress not counted)."""
        self._bucket(name)
        return (
            self.c.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone() is None
            and self.c.execute("SELECT 1 FROM object_versions WHERE bucket = ? LIMIT 1", (name,)).fetchone()
            is None
        )

    def bucket_is_empty(self, name: str) -> bool:
        return (
            self.bucket_has_no_objects(name)
            and self.c.execute("SELECT 1 FROM uploads WHERE bucket = ? LIMIT 1", (name,)).fetchone() is None
        )

    def upload_ids(self, bucket: str) -> list[str]:
        return [r[0] for r in self.c.execute("SELECT upload_id FROM uploads WHERE bucket = ?", (bucket,))]

    def delete_bucket(self, name: str) -> None:
        self._bucket(name)
        self.changed_config = True
        self.c.execute("DELETE FROM buckets WHERE name = ?", (name,))
        self.c.execute("DELETE FROM bucket_policies WHERE bucket = ?", (name,))
        self.configs.delete_bucket(name)
        self.c.execute("DELETE FROM bucket_lifecycle WHERE bucket = ?", (name,))

    def put_lifecycle(self, bucket: str, rules_json: str, now_ms: int) -> None:
        self.c.execute(
            "INSERT INTO bucket_lifecycle VALUES (?, ?, ?) "
            "ON CONFLICT (bucket) DO UPDATE SET rules = excluded.rules, updated_ms = excluded.updated_ms",
            (bucket, rules_json, now_ms),
        )

    def delete_lifecycle(self, bucket: str) -> None:
        self.c.execute("DELETE FROM bucket_lifecycle WHERE bucket = ?", (bucket,))

    # -- blobs --
    def add_blob(
        self, blob_id: str, size: int, data: bytes | None = None, key: BlobKey | None = None
    ) -> None:
        """Register a new blob with no references yet: a durable file, or `data` stored inline; `key` is
        its wrapped data key when it is encrypted."""
        self.c.execute("INSERT INTO blobs VALUES (?, ?, 0)", (blob_id, size))
        if data is not None:
            self.c.execute("INSERT INTO blob_data VALUES (?, ?)", (blob_id, data))
        if key is not None:
            self.c.execute(
                "INSERT INTO blob_keys VALUES (?, ?, ?, ?, ?)",
                (blob_id, key.cipher, key.kek, key.wrapped, key.iv),
            )

    def drop_orphan_blob_keys(self) -> int:
        """Keys whose blob row is gone (none should be: they are deleted together); run at start-up."""
        return self.c.execute(
            "DELETE FROM blob_keys WHERE blob_id NOT IN (SELECT blob_id FROM blobs)"
        ).rowcount

    def _forget(self, blob_id: str) -> bool:
        """Drop an unreferenced blob's row (and its key); True if it is a file the caller must delete."""
        self.c.execute("DELETE FROM blobs WHERE blob_id = ?", (blob_id,))
        self.c.execute("DELETE FROM blob_keys WHERE blob_id = ?", (blob_id,))
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

    def blobs_exist(self, extents: Iterable[Extent]) -> bool:
        """Whether every blob of `extents` is still stored (not freed since they were read)."""
        ids = {e[0] for e in extents}
        return all(self.c.execute(self.blob_exists_sql, (b,)).fetchone() is not None for b in ids)

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
        self._key(bucket, key)
        row = self.c.execute(
            f"SELECT {_OBJECT_COLS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        return None if row is None else _object_from_row(row)

    def put_object(self, o: ObjectMeta) -> list[str]:
        self._key(o.bucket, o.key)
        old = self.c.execute(
            "SELECT extents FROM objects WHERE bucket = ? AND key = ?", (o.bucket, o.key)
        ).fetchone()
        self.c.execute(
            _UPSERT_OBJECT,
            _object_values(o),
        )
        self._ref(o.extents, +1)
        return self._ref(_load_extents(old[0]), -1) if old else []

    def set_object_tagging(self, bucket: str, key: str, tagging: str) -> bool:
        self._key(bucket, key)
        return (
            self.c.execute(
                "UPDATE objects SET tagging = ? WHERE bucket = ? AND key = ?", (tagging, bucket, key)
            ).rowcount
            > 0
        )

    # -- versions --
    def next_vseq(self) -> int:
        return int(
            self.c.execute(
                "UPDATE counters SET value = value + 1 WHERE name = 'version_seq' RETURNING value"
            ).fetchone()[0]
        )

    def find_version(self, bucket: str, key: str, version_id: str) -> tuple[ObjectMeta, bool] | None:
        self._key(bucket, key)
        return _find_version(self.c, bucket, key, version_id)

    def newest_noncurrent(self, bucket: str, key: str) -> ObjectMeta | None:
        self._key(bucket, key)
        return _newest_version(self.c, bucket, key)

    def demote_current(self, bucket: str, key: str, noncurrent_ms: int, vseq_if_unset: int) -> bool:
        """Move the current version of `key` into object_versions (its blob references move with it).
        A version written before versioning (vseq 0) takes `vseq_if_unset`. False if there is none."""
        self._key(bucket, key)
        row = self.c.execute(
            f"DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING {_OBJECT_COLS}", (bucket, key)
        ).fetchone()
        if row is None:
            return False
        o = _object_from_row(row)
        if o.vseq == 0:
            o.vseq = vseq_if_unset
        self._insert_version(o, False, noncurrent_ms)
        return True

    def _insert_version(self, o: ObjectMeta, delete_marker: bool, noncurrent_ms: int) -> None:
        self.c.execute(
            f"INSERT INTO object_versions ({_VERSION_COLS}) VALUES ({_OBJECT_PLACEHOLDERS}, ?, ?)",
            (*_object_values(o), int(delete_marker), noncurrent_ms),
        )

    def insert_delete_marker(self, marker: ObjectMeta) -> None:
        """A delete marker as the newest version of its key (there must be no current version)."""
        self._key(marker.bucket, marker.key)
        self._insert_version(marker, True, 0)

    def version_count(self, bucket: str, key: str) -> int:
        """Rows of object_versions for `key`."""
        self._key(bucket, key)
        return int(
            self.c.execute(
                "SELECT COUNT(*) FROM object_versions WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()[0]
        )

    def mark_noncurrent(self, bucket: str, key: str, vseq: int, noncurrent_ms: int) -> None:
        """A delete marker that was its key's latest version is not any more."""
        self._key(bucket, key)
        self.c.execute(
            "UPDATE object_versions SET noncurrent_ms = ? WHERE bucket = ? AND key = ? AND vseq = ?",
            (noncurrent_ms, bucket, key, vseq),
        )

    def delete_noncurrent(self, bucket: str, key: str, vseq: int) -> list[str]:
        """Remove a row of object_versions for good; returns the file blobs left unreferenced."""
        self._key(bucket, key)
        row = self.c.execute(
            "DELETE FROM object_versions WHERE bucket = ? AND key = ? AND vseq = ? RETURNING extents",
            (bucket, key, vseq),
        ).fetchone()
        return self._ref(_load_extents(row[0]), -1) if row else []

    def promote(self, bucket: str, key: str, vseq: int) -> ObjectMeta:
        """Make a noncurrent version (not a delete marker) current again; there must be no current one."""
        self._key(bucket, key)
        row = self.c.execute(
            "DELETE FROM object_versions WHERE bucket = ? AND key = ? AND vseq = ? "
            f"RETURNING {_VERSION_COLS}",
            (bucket, key, vseq),
        ).fetchone()
        o = _version_from_row(row)
        o.delete_marker, o.noncurrent_ms = False, 0
        self.c.execute(
            f"INSERT INTO objects ({_OBJECT_COLS}) VALUES ({_OBJECT_PLACEHOLDERS})", _object_values(o)
        )
        return o

    def update_version(self, o: ObjectMeta, current: bool, **columns: Any) -> bool:
        """Change some of a version's own columns (see _UPDATABLE) where it is: current or noncurrent."""
        self._key(o.bucket, o.key)
        assert columns and _UPDATABLE.issuperset(columns)
        sets = ", ".join(f"{name} = ?" for name in columns)
        if current:
            sql = f"UPDATE objects SET {sets} WHERE bucket = ? AND key = ? AND version_id = ?"
            where: tuple[Any, ...] = (o.bucket, o.key, o.version_id)
        else:
            sql = f"UPDATE object_versions SET {sets} WHERE bucket = ? AND key = ? AND vseq = ?"
            where = (o.bucket, o.key, o.vseq)
        return self.c.execute(sql, (*columns.values(), *where)).rowcount > 0

    def set_object_acl(self, bucket: str, key: str, acl: str) -> bool:
        self._key(bucket, key)
        return (
            self.c.execute(
                "UPDATE objects SET acl = ? WHERE bucket = ? AND key = ?", (acl, bucket, key)
            ).rowcount
            > 0
        )

    def delete_object(self, bucket: str, key: str) -> list[str]:
        self._key(bucket, key)
        old = self.c.execute(
            "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING extents", (bucket, key)
        ).fetchone()
        return self._ref(_load_extents(old[0]), -1) if old else []

    # -- multipart --
    def insert_upload(self, u: Upload) -> None:
        self._upload(u.upload_id)
        self.c.execute(
            f"INSERT INTO uploads ({_UPLOAD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                u.sse,
            ),
        )

    def get_upload(self, upload_id: str) -> Upload | None:
        self._upload(upload_id)
        row = self.c.execute(_UPLOAD_SELECT + "WHERE upload_id = ?", (upload_id,)).fetchone()
        return None if row is None else _upload_from_row(row)

    def upload_exists(self, upload_id: str, bucket: str, key: str) -> bool:
        self._upload(upload_id)
        return (
            self.c.execute(
                "SELECT 1 FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key),
            ).fetchone()
            is not None
        )

    def put_part(self, upload_id: str, p: Part) -> list[str]:
        self._upload(upload_id)
        old = self.c.execute(
            "SELECT extents FROM parts WHERE upload_id = ? AND part_number = ?", (upload_id, p.part_number)
        ).fetchone()
        self.c.execute(
            _UPSERT_PART,
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
        self._upload(upload_id)
        rows = self.c.execute(
            f"SELECT {_PART_COLS} FROM parts WHERE upload_id = ? ORDER BY part_number", (upload_id,)
        ).fetchall()
        return [_part_from_row(r) for r in rows]

    def delete_upload(self, upload_id: str) -> list[str]:
        """Remove an upload and its parts, dropping the parts' references."""
        self._upload(upload_id)
        dead: list[str] = []
        for row in self.c.execute(
            "DELETE FROM parts WHERE upload_id = ? RETURNING extents", (upload_id,)
        ).fetchall():
            dead += self._ref(_load_extents(row[0]), -1)
        self.c.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        return dead
