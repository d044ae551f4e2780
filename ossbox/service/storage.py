"""Use cases on buckets and objects, independent of the wire dialect.

Reads go straight to the metadata store; every change is a small function run by the committer inside
one transaction, so checks (does the bucket exist, is the append position right) and writes are atomic.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

from ossbox.blobs.store import BlobStore
from ossbox.core.blob_ids import is_inline_blob
from ossbox.core.clock import Clock, SystemClock
from ossbox.core.errors import OSSError, invalid_argument, no_such_bucket, no_such_key, no_such_upload
from ossbox.core.versions import wire_version_id
from ossbox.meta.sql_store import SqlMeta, SqlTxn
from ossbox.meta.types import Bucket, Extent, ListedObject, ObjectMeta, Part, StsSession, Upload
from ossbox.protocol import sse
from ossbox.protocol.crc64 import crc64, crc64_combine
from ossbox.protocol.s3 import checksums
from ossbox.service import archive, callbacks, symlinks, versioning, worm
from ossbox.service.callbacks import Signer
from ossbox.service.committer import Committer, NewBlob, Outcome
from ossbox.service.conditions import NO_CONDITION, DeleteCondition, WriteCondition
from ossbox.service.encryption import BlobCipher, BlobKeyError, KeyRing
from ossbox.service.ingest import BodyDigest, Ingested, NewKey, ReadChunk, ingest
from ossbox.service.key_order import prefix_successor as _prefix_successor
from ossbox.service.lifecycle import Rule, rules_from_json, rules_to_json, validate_rules
from ossbox.service.version_listing import VersionListing, list_versions
from ossbox.service.versioning import Deleted, DeleteMarkerError, check_version_id, no_such_version

MAX_OBJECT_SIZE = 5 << 30  # single PUT / part limit
MAX_APPEND_SIZE = 5 << 30
MIN_PART_SIZE = 100 << 10
MAX_PARTS = 10000
MAX_BUCKETS = 100  # OSS's default per account (--max-buckets changes it)
# Rows fetched right after a listing skips a common prefix (the batch then grows while keys keep coming).
_AFTER_SEEK_BATCH = 4
DEFAULT_RESTORE_DELAY_MS = 5_000
# A copy that must re-encrypt its source is retried this often when the source changes meanwhile.
_REWRITE_ATTEMPTS = 3
# The bucket configuration holding the default encryption rule (a spec in sse's stored form).
ENCRYPTION_CONFIG = "encryption"


@dataclass(frozen=True)
class WriteAttrs:
    """What a writer sets besides the bytes."""

    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    user_meta: dict[str, str] = field(default_factory=dict)
    acl: str = "default"
    storage_class: str | None = None
    # URL-encoded tags ("k=v&k2=v2"); None: none for a new object, the source's for a copy
    tagging: str | None = None
    # The encryption the request asks for; None: the bucket's default rule (if any) decides.
    sse: sse.SseSpec | None = None


@dataclass(frozen=True)
class Listing:
    objects: list[ListedObject]
    prefixes: list[str]
    truncated: bool
    next_marker: str


@dataclass(frozen=True)
class Restored:
    """The outcome of RestoreObject: a restore started (OSS: 202) or a restored copy kept longer (200)."""

    started: bool
    tier: str
    version_id: str


class Storage:
    def __init__(
        self,
        meta: SqlMeta,
        blobs: BlobStore,
        committer: Committer,
        region: str,
        clock: Clock | None = None,
        restore_delay_ms: int = DEFAULT_RESTORE_DELAY_MS,
        keyring: KeyRing | None = None,
        max_buckets: int = MAX_BUCKETS,
        callback_hosts: tuple[str, ...] = ("*",),
    ) -> None:
        self.meta = meta
        self.max_buckets = max_buckets  # per owner; 0: no limit
        self.callback_hosts = callback_hosts  # hosts upload callbacks may be sent to (shell patterns)
        # None in tools that never touch object data (`ossbox lifecycle run`).
        self._keyring = keyring
        self.blobs = blobs
        self.committer = committer
        self.region = region
        self.clock: Clock = clock or SystemClock()
        self.restore_delay_ms = restore_delay_ms
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="ossbox-io")
        self._callback_signer: Signer | None = None

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def retention(self, bucket: str) -> worm.Policy | None:
        """The bucket's retention policy in force now, from the cached request-path configurations (every
        write asks: no query). On the event loop's thread, where the metadata's read connection lives."""
        hot = self.meta.bucket_configs.hot(bucket)
        return worm.load(hot.get(worm.CONFIG) if hot is not None else None, self.now_ms())

    def callback_signer(self) -> Signer:
        """The key upload callbacks are signed with: made on first use, kept in the metadata (so that every
        node and process signs with the same one)."""
        if self._callback_signer is None:
            pem = self.meta.get_setting(callbacks.KEY_SETTING)
            if pem is None:
                fresh = Signer.new_private_pem().decode()
                pem = self.meta.write(lambda txn: txn.set_setting_if_absent(callbacks.KEY_SETTING, fresh))
            self._callback_signer = Signer(pem.encode())
        return self._callback_signer

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    # ------------------------------------------------------------ buckets
    def bucket(self, name: str) -> Bucket:
        b = self.meta.get_bucket(name)
        if b is None:
            raise no_such_bucket(name)
        return b

    async def create_bucket(
        self, owner_id: str, name: str, acl: str, storage_class: str, encryption: str | None = None
    ) -> None:
        """`encryption`: the default encryption rule to start with (sse's stored form)."""

        def op(txn: SqlTxn) -> Outcome[None]:
            existing = txn.get_bucket(name)
            if existing is not None:
                if existing.owner_id == owner_id:
                    # OSS answers 200 to a repeated create by the owner and leaves the bucket as it is.
                    return Outcome(None, [])
                raise OSSError(
                    409,
                    "BucketAlreadyExists",
                    "The requested bucket name is not available.",
                    {"BucketName": name},
                )
            count = txn.c.execute("SELECT COUNT(*) FROM buckets WHERE owner_id = ?", (owner_id,)).fetchone()[
                0
            ]
            if self.max_buckets and count >= self.max_buckets:
                raise OSSError(
                    400, "TooManyBuckets", "You have attempted to create more buckets than allowed."
                )
            txn.insert_bucket(Bucket(name, owner_id, self.now_ms(), self.region, acl, storage_class))
            if encryption is not None:
                txn.configs.put(name, ENCRYPTION_CONFIG, encryption)
            return Outcome(None, [])

        await self.committer.commit(op)

    async def delete_bucket(self, name: str, abort_uploads: bool = False) -> None:
        """`abort_uploads`: multipart uploads in progress go with the bucket (S3's behaviour); otherwise
        they keep it from being deleted, as objects do (OSS's)."""

        def op(txn: SqlTxn) -> Outcome[None]:
            if txn.get_bucket(name) is None:
                raise no_such_bucket(name)
            dead: list[str] = []
            if abort_uploads and txn.bucket_has_no_objects(name):
                for upload_id in txn.upload_ids(name):
                    dead += txn.delete_upload(upload_id)
            if not txn.bucket_is_empty(name):
                raise OSSError(
                    409,
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty.",
                    {"BucketName": name},
                )
            txn.delete_bucket(name)
            return Outcome(None, dead)

        await self.committer.commit(op)

    async def set_bucket_versioning(self, name: str, status: str) -> None:
        """Enabled or Suspended; once configured, a bucket never goes back to unversioned."""
        if status not in versioning.STATUSES:
            raise invalid_argument("The versioning status must be Enabled or Suspended.", "Status", status)

        def op(txn: SqlTxn) -> Outcome[None]:
            if txn.get_bucket(name) is None:
                raise no_such_bucket(name)
            txn.set_bucket_versioning(name, status)
            return Outcome(None, [])

        await self.committer.commit(op)

    # ------------------------------------------------------------ lifecycle configuration
    async def put_lifecycle(self, name: str, rules: Sequence[Rule]) -> None:
        checked = validate_rules(rules)
        text = rules_to_json(checked)

        def op(txn: SqlTxn) -> Outcome[None]:
            if txn.get_bucket(name) is None:
                raise no_such_bucket(name)
            txn.put_lifecycle(name, text, self.now_ms())
            return Outcome(None, [])

        await self.committer.commit(op)

    def lifecycle(self, name: str) -> list[Rule] | None:
        text = self.meta.get_lifecycle(name)
        return None if text is None else rules_from_json(text)

    async def delete_lifecycle(self, name: str) -> None:
        def op(txn: SqlTxn) -> Outcome[None]:
            if txn.get_bucket(name) is None:
                raise no_such_bucket(name)
            txn.delete_lifecycle(name)
            return Outcome(None, [])

        await self.committer.commit(op)

    async def set_bucket_acl(self, name: str, acl: str) -> None:
        def op(txn: SqlTxn) -> Outcome[None]:
            if txn.get_bucket(name) is None:
                raise no_such_bucket(name)
            txn.set_bucket_acl(name, acl)
            return Outcome(None, [])

        await self.committer.commit(op)

    async def set_bucket_policy(self, name: str, document: str | None) -> None:
        """Store (or, with None, remove) a bucket's policy, already validated by the caller."""

        def op(txn: SqlTxn) -> Outcome[None]:
            if txn.get_bucket(name) is None:
                raise no_such_bucket(name)
            if document is None:
                txn.identities.delete_bucket_policy(name)
            else:
                txn.identities.put_bucket_policy(name, document)
            return Outcome(None, [])

        await self.committer.commit(op)

    # ------------------------------------------------------------ identities
    async def store_sts_session(self, session: StsSession) -> None:
        def op(txn: SqlTxn) -> Outcome[None]:
            txn.identities.insert_session(session)
            return Outcome(None, [])

        await self.committer.commit(op)

    # ------------------------------------------------------------ objects: read
    def head(self, bucket: str, key: str, versioned: bool = False) -> ObjectMeta:
        """The current version; `versioned` (the bucket's versioning was configured) makes a miss tell
        whether a delete marker hides the key."""
        o = self.meta.get_object(bucket, key)
        if o is None:
            raise self._missing(bucket, key, versioned)
        return o

    def head_with_body(
        self, bucket: str, key: str, versioned: bool = False
    ) -> tuple[ObjectMeta, bytes | None]:
        """The object, and its whole body when the metadata store holds it inline (small objects)."""
        o, body = self.meta.get_object_with_body(bucket, key)
        if o is None:
            raise self._missing(bucket, key, versioned)
        if body is not None and o.sse:
            body = self._ciphers(o)[o.extents[0][0]].apply(0, body)
        return o, body

    def _missing(self, bucket: str, key: str, versioned: bool) -> OSSError:
        if versioned:
            newest = self.meta.newest_noncurrent(bucket, key)
            if newest is not None and newest.delete_marker:
                return DeleteMarkerError(no_such_key(key), wire_version_id(newest.version_id))
        return no_such_key(key)

    def version(self, bucket: str, key: str, version_id: str) -> ObjectMeta:
        """A specific version (checked id, "null" included). A delete marker answers 405 as OSS does."""
        found = self.meta.find_version(bucket, key, check_version_id(version_id))
        if found is None:
            raise no_such_version(version_id)
        o = found[0]
        if o.delete_marker:
            raise DeleteMarkerError(
                OSSError(
                    405, "MethodNotAllowed", "The specified method is not allowed against this resource."
                ),
                version_id,
            )
        return o

    def object_or_version(self, bucket: str, key: str, version_id: str | None, versioned: bool) -> ObjectMeta:
        return (
            self.head(bucket, key, versioned) if version_id is None else self.version(bucket, key, version_id)
        )

    def check_readable(self, o: ObjectMeta) -> None:
        """GET and copies of a frozen (archived, not restored) object fail with InvalidObjectState."""
        if o.storage_class in archive.FROZEN_CLASSES:
            archive.check_readable(o.storage_class, o.restore, self.now_ms())

    # ------------------------------------------------------------ encryption
    @property
    def keyring(self) -> KeyRing:
        if self._keyring is None:
            raise RuntimeError("this process was started without the master key")
        return self._keyring

    def bucket_default_sse(self, bucket: str) -> sse.SseSpec | None:
        """The bucket's default encryption rule (cached with the other request-path configurations)."""
        hot = self.meta.bucket_configs.hot(bucket)
        document = hot.get(ENCRYPTION_CONFIG) if hot is not None else None
        return None if document is None else sse.decode(document)

    def new_object_sse(self, bucket: str, requested: sse.SseSpec | None) -> str:
        """The stored encryption of a new object: what the request asks for, else the bucket's default."""
        chosen = requested if requested is not None else self.bucket_default_sse(bucket)
        return "" if chosen is None else self.keyring.stored(chosen)

    def _new_key(self, stored_sse: str) -> NewKey | None:
        if not stored_sse:
            return None
        keyring = self.keyring
        return lambda blob_id: keyring.new_data_key(blob_id, stored_sse)

    def _ciphers(self, o: ObjectMeta) -> dict[str, BlobCipher]:
        """The data keys of an encrypted object's blobs (an empty dict for a plain one)."""
        if not o.sse or not o.extents:
            return {}
        ids = {e[0] for e in o.extents}
        records = self.meta.blob_keys(ids)
        if len(records) != len(ids):
            raise BlobKeyError(f"object {o.bucket}/{o.key}: the data key of a blob is missing")
        keyring = self.keyring
        return {blob_id: keyring.open(blob_id, record) for blob_id, record in records.items()}

    # ------------------------------------------------------------ objects: read data
    async def read(self, o: ObjectMeta, start: int, length: int) -> AsyncGenerator[bytes, None]:
        """The bytes [start, start+length) of `o` (decrypted), in chunks."""
        ciphers = self._ciphers(o)
        pos = 0
        remaining = length
        for blob_id, offset, ext_len in o.extents:
            if remaining <= 0:
                break
            if pos + ext_len <= start:
                pos += ext_len
                continue
            skip = max(0, start - pos)
            take = min(ext_len - skip, remaining)
            chunks = self._iter_extent(blob_id, offset + skip, take, ciphers.get(blob_id))
            if self.blobs.remote and not is_inline_blob(blob_id):
                # Each chunk is a network read: on a worker thread, never on the event loop.
                loop = asyncio.get_running_loop()
                while (chunk := await loop.run_in_executor(self.executor, next, chunks, None)) is not None:
                    yield chunk
            else:
                for chunk in chunks:
                    yield chunk
            remaining -= take
            pos += ext_len

    def _iter_extent(
        self, blob_id: str, offset: int, length: int, cipher: BlobCipher | None = None
    ) -> Iterator[bytes]:
        if is_inline_blob(blob_id):
            return iter((self._read_range(blob_id, offset, length, cipher),))
        chunks = self.blobs.iter_range(blob_id, offset, length)
        return chunks if cipher is None else _decrypted(chunks, cipher, offset)

    def _read_range(self, blob_id: str, offset: int, length: int, cipher: BlobCipher | None = None) -> bytes:
        if is_inline_blob(blob_id):
            data = self.meta.read_inline(blob_id, offset, length)
        else:
            data = self.blobs.read_range(blob_id, offset, length)
        return data if cipher is None else cipher.apply(offset, data)

    async def read_small(self, o: ObjectMeta, start: int, length: int) -> bytes:
        """The bytes [start, start+length) of `o` in one piece (for small ranges)."""
        if self.blobs.remote and not all(is_inline_blob(e[0]) for e in o.extents):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, self._read_small, o, start, length)
        return self._read_small(o, start, length)

    def _read_small(self, o: ObjectMeta, start: int, length: int) -> bytes:
        ciphers = self._ciphers(o)
        parts = []
        pos = 0
        remaining = length
        for blob_id, offset, ext_len in o.extents:
            if remaining <= 0:
                break
            if pos + ext_len <= start:
                pos += ext_len
                continue
            skip = max(0, start - pos)
            take = min(ext_len - skip, remaining)
            parts.append(self._read_range(blob_id, offset + skip, take, ciphers.get(blob_id)))
            remaining -= take
            pos += ext_len
        return b"".join(parts)

    # ------------------------------------------------------------ objects: write
    async def _ingest(
        self,
        read_chunk: ReadChunk,
        content_length: int | None,
        content_md5: str | None,
        max_size: int,
        digest: BodyDigest | None = None,
        stored_sse: str = "",
    ) -> Ingested:
        return await ingest(
            self.blobs,
            read_chunk,
            self.executor,
            content_length=content_length,
            content_md5=content_md5,
            max_size=max_size,
            extra=digest,
            new_key=self._new_key(stored_sse),
        )

    async def put_object(
        self,
        bucket: Bucket,
        key: str,
        read_chunk: ReadChunk,
        content_length: int | None,
        content_md5: str | None,
        attrs: WriteAttrs,
        condition: WriteCondition = NO_CONDITION,
        digest: BodyDigest | None = None,
    ) -> ObjectMeta:
        stored_sse = self.new_object_sse(bucket.name, attrs.sse)
        data = await self._ingest(
            read_chunk, content_length, content_md5, MAX_OBJECT_SIZE, digest, stored_sse
        )
        obj = ObjectMeta(
            bucket=bucket.name,
            key=key,
            size=data.size,
            etag=data.etag,
            crc64=data.crc64,
            mtime_ms=self.now_ms(),
            object_type="Normal",
            storage_class=attrs.storage_class or bucket.storage_class,
            acl=attrs.acl,
            content_type=attrs.content_type,
            headers=attrs.headers,
            user_meta=attrs.user_meta,
            extents=((data.blob_id, 0, data.size),) if data.size else (),
            checksum=data.checksum,
            tagging=attrs.tagging or "",
            sse=stored_sse,
        )
        return await self.committer.commit(self._put_op(obj, condition), [data.new_blob])

    def _put_op(self, obj: ObjectMeta, condition: WriteCondition) -> Callable[[SqlTxn], Outcome[ObjectMeta]]:
        retention = self.retention(obj.bucket)

        def op(txn: SqlTxn) -> Outcome[ObjectMeta]:
            bucket = txn.get_bucket(obj.bucket)
            if bucket is None:
                raise no_such_bucket(obj.bucket)
            condition.check(txn, bucket, obj.key)
            return Outcome(obj, versioning.install(txn, bucket, obj, obj.mtime_ms, retention))

        return op

    async def append_object(
        self,
        bucket: Bucket,
        key: str,
        position: int,
        read_chunk: ReadChunk,
        content_length: int | None,
        content_md5: str | None,
        attrs: WriteAttrs,
    ) -> ObjectMeta:
        current = self.meta.get_object(bucket.name, key)
        _check_append(current, position)
        # The first append chooses the encryption; later appends are written the way the object is.
        stored_sse = current.sse if current is not None else self.new_object_sse(bucket.name, attrs.sse)
        data = await self._ingest(
            read_chunk, content_length, content_md5, MAX_APPEND_SIZE, stored_sse=stored_sse
        )

        retention = self.retention(bucket.name)

        def op(txn: SqlTxn) -> Outcome[ObjectMeta]:
            row = txn.get_bucket(bucket.name)
            if row is None:
                raise no_such_bucket(bucket.name)
            cur = txn.get_object(bucket.name, key)
            _check_append(cur, position)
            if cur is not None and cur.sse != stored_sse:
                # Replaced by a differently encrypted object of the same length since the check above.
                raise OSSError(409, "ObjectNotAppendable", "The object changed while the append was sent.")
            new_extent = ((data.blob_id, 0, data.size),) if data.size else ()
            now = self.now_ms()
            if cur is None:
                obj = ObjectMeta(
                    bucket=bucket.name,
                    key=key,
                    size=data.size,
                    etag=data.etag,
                    crc64=data.crc64,
                    mtime_ms=now,
                    object_type="Appendable",
                    storage_class=attrs.storage_class or bucket.storage_class,
                    acl=attrs.acl,
                    content_type=attrs.content_type,
                    headers=attrs.headers,
                    user_meta=attrs.user_meta,
                    extents=new_extent,
                    sse=stored_sse,
                    tagging=attrs.tagging or "",
                )
                # The first append creates a version; later ones extend it in place (OSS keeps no
                # version per append).
                return Outcome(obj, versioning.install(txn, row, obj, now, retention))
            worm.check_mutable(retention, cur, now)  # appending changes a protected object's data
            # MD5 cannot be extended, so an appendable object's ETag chains the ETags of its appends.
            etag = hashlib.md5(bytes.fromhex(cur.etag.split("-")[0]) + data.md5).hexdigest().upper()
            obj = replace(
                cur,
                size=cur.size + data.size,
                etag=etag,
                crc64=crc64_combine(cur.crc64, data.crc64, data.size),
                mtime_ms=now,
                extents=cur.extents + new_extent,
                checksum="",  # an S3 checksum covers the bytes it was sent with, not the appends
            )
            return Outcome(obj, txn.put_object(obj))

        return await self.committer.commit(op, [data.new_blob])

    async def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        dst: Bucket,
        dst_key: str,
        attrs: WriteAttrs | None,
        check: Callable[[ObjectMeta], None],
        condition: WriteCondition = NO_CONDITION,
        src_version_id: str | None = None,
        dst_sse: sse.SseSpec | None = None,
    ) -> tuple[ObjectMeta, ObjectMeta]:
        """Copy by reference: the new object shares the source's blobs, unless it is to be encrypted
        differently from the source (`dst_sse`, else the destination bucket's default), in which case the
        data is rewritten in the destination's state. `attrs` None keeps the source's metadata.
        Returns the new object and the source version it was copied from."""
        if src_version_id is not None:
            check_version_id(src_version_id)
        stored_sse = self.new_object_sse(dst.name, dst_sse)
        retention = self.retention(dst.name)
        for _ in range(_REWRITE_ATTEMPTS):
            snapshot, rewritten = await self._rewrite_if_needed(
                lambda: self._copy_source(self.meta, src_bucket, src_key, src_version_id), stored_sse, check
            )

            def op(
                txn: SqlTxn,
                snapshot: ObjectMeta | None = snapshot,
                rewritten: _Rewritten | None = rewritten,
            ) -> Outcome[tuple[ObjectMeta, ObjectMeta]]:
                if txn.get_bucket(src_bucket) is None:
                    raise no_such_bucket(src_bucket)
                target = txn.get_bucket(dst.name)
                if target is None:
                    raise no_such_bucket(dst.name)
                src = self._copy_source(txn, src_bucket, src_key, src_version_id)
                _check_snapshot(src, snapshot, stored_sse)
                check(src)
                self.check_readable(src)
                condition.check(txn, target, dst_key)
                now = self.now_ms()
                obj = _fresh_version(
                    src,
                    bucket=dst.name,
                    key=dst_key,
                    mtime_ms=now,
                    object_type="Normal" if src.object_type == "Appendable" else src.object_type,
                    acl="default",
                    sse="" if src.object_type == SYMLINK else stored_sse,
                    extents=src.extents if rewritten is None else rewritten.extents,
                )
                if attrs is not None:
                    obj = replace(
                        obj,
                        content_type=attrs.content_type,
                        headers=attrs.headers,
                        user_meta=attrs.user_meta,
                        acl=attrs.acl,
                        storage_class=attrs.storage_class or obj.storage_class,
                        tagging=obj.tagging if attrs.tagging is None else attrs.tagging,
                    )
                return Outcome((obj, src), versioning.install(txn, target, obj, now, retention))

            try:
                return await self.committer.commit(op, rewritten.new_blobs if rewritten else ())
            except _SourceChanged:
                continue
        raise _conflict()

    async def _rewrite_if_needed(
        self, peek: Callable[[], ObjectMeta], stored_sse: str, check: Callable[[ObjectMeta], None]
    ) -> tuple[ObjectMeta | None, _Rewritten | None]:
        """For a copy into another encryption state: the source as read now and its data rewritten in
        `stored_sse` (the commit then checks that the source is still that version). (None, None) when
        the copy can share the source's blobs."""
        src = peek()
        if not _needs_rewrite(src, stored_sse):
            return None, None
        check(src)
        self.check_readable(src)
        data = await self._rewrite(src, 0, src.size, stored_sse)
        return src, _Rewritten(((data.blob_id, 0, data.size),), [data.new_blob])

    async def _rewrite(
        self, src: ObjectMeta, start: int, length: int, stored_sse: str, algorithm: str = ""
    ) -> Ingested:
        """Bytes [start, start+length) of `src`, decrypted and stored again as a new blob in `stored_sse`
        (with the S3 checksum `algorithm` of them computed on the way, when given)."""
        chunks = self.read(src, start, length)

        async def read_chunk() -> bytes:
            return await anext(chunks, b"")

        digest = _Checksummed(algorithm) if algorithm else None
        try:
            return await self._ingest(read_chunk, length, None, max(length, 1), digest, stored_sse)
        finally:
            await chunks.aclose()

    def _copy_source(
        self, reader: _VersionReader, bucket: str, key: str, version_id: str | None
    ) -> ObjectMeta:
        if version_id is None:
            src = reader.get_object(bucket, key)
            if src is None:
                raise no_such_key(key)
            return src
        found = reader.find_version(bucket, key, version_id)
        if found is None:
            raise no_such_version(version_id)
        if found[0].delete_marker:
            raise invalid_argument(
                "The source of a copy request may not specifically refer to a delete marker by version id.",
                "x-oss-copy-source",
                version_id,
            )
        return found[0]

    async def update_meta(
        self, bucket: str, key: str, attrs: WriteAttrs, keep_acl: bool, dst_sse: sse.SseSpec | None = None
    ) -> ObjectMeta:
        """Copy onto itself with REPLACE: only metadata changes (in a versioned bucket, as a new version),
        unless the object is to be encrypted differently (`dst_sse`, else the bucket's default): then its
        data is rewritten in the new state."""
        stored_sse = self.new_object_sse(bucket, dst_sse)

        def current() -> ObjectMeta:
            cur = self.meta.get_object(bucket, key)
            if cur is None:
                raise no_such_key(key)
            return cur

        for _ in range(_REWRITE_ATTEMPTS):
            snapshot, rewritten = await self._rewrite_if_needed(current, stored_sse, lambda _o: None)

            def op(
                txn: SqlTxn,
                snapshot: ObjectMeta | None = snapshot,
                rewritten: _Rewritten | None = rewritten,
            ) -> Outcome[ObjectMeta]:
                row = txn.get_bucket(bucket)
                if row is None:
                    raise no_such_bucket(bucket)
                cur = txn.get_object(bucket, key)
                if cur is None:
                    raise no_such_key(key)
                _check_snapshot(cur, snapshot, stored_sse)
                self.check_readable(cur)
                now = self.now_ms()
                obj = replace(
                    cur,
                    content_type=attrs.content_type,
                    headers=attrs.headers,
                    user_meta=attrs.user_meta,
                    acl=cur.acl if keep_acl else attrs.acl,
                    storage_class=attrs.storage_class or cur.storage_class,
                    tagging=cur.tagging if attrs.tagging is None else attrs.tagging,
                    mtime_ms=now,
                    restore=None,  # a copy: an archived object starts frozen again
                    sse="" if cur.object_type == SYMLINK else stored_sse,
                    extents=cur.extents if rewritten is None else rewritten.extents,
                )
                if not row.versioning:
                    return Outcome(obj, txn.put_object(obj))
                obj = _fresh_version(obj)
                return Outcome(obj, versioning.install(txn, row, obj, now))

            try:
                return await self.committer.commit(op, rewritten.new_blobs if rewritten else ())
            except _SourceChanged:
                continue
        raise _conflict()

    async def put_symlink(
        self,
        bucket: Bucket,
        key: str,
        target: str,
        attrs: WriteAttrs,
        condition: WriteCondition = NO_CONDITION,
    ) -> ObjectMeta:
        if bucket.storage_class in archive.FROZEN_CLASSES:
            raise OSSError(
                400, "OperationNotSupported", f"Symlinks cannot be made in a {bucket.storage_class} bucket."
            )
        size, etag, crc = symlinks.identity(target)
        obj = ObjectMeta(
            bucket=bucket.name,
            key=key,
            size=size,
            etag=etag,
            crc64=crc,
            mtime_ms=self.now_ms(),
            object_type=SYMLINK,
            storage_class=attrs.storage_class or bucket.storage_class,
            acl=attrs.acl,
            content_type=attrs.content_type,
            headers=attrs.headers,
            user_meta=attrs.user_meta,
            symlink_target=target,
            tagging=attrs.tagging or "",
        )
        return await self.committer.commit(self._put_op(obj, condition))

    def follow_symlink(self, link: ObjectMeta) -> ObjectMeta:
        """The object a symlink points to (its current version); errors as OSS's for a missing target or
        a target that is itself a symlink."""
        return symlinks.target_of(self.meta, link)

    @staticmethod
    def symlink_view(link: ObjectMeta, target: ObjectMeta) -> ObjectMeta:
        return symlinks.view(link, target)

    async def set_object_tagging(
        self, bucket: str, key: str, tagging: str, version_id: str | None = None
    ) -> str:
        """Replace the tags (URL-encoded, already validated; '' removes them) of the current version or
        the one named; returns its (stored) version id."""
        if version_id is not None:
            check_version_id(version_id)

        def op(txn: SqlTxn) -> Outcome[str]:
            o, current = self._existing_version(txn, bucket, key, version_id)
            txn.update_version(o, current, tagging=tagging)
            return Outcome(o.version_id, [])

        return await self.committer.commit(op)

    async def set_object_acl(self, bucket: str, key: str, acl: str, version_id: str | None = None) -> str:
        """Returns the (stored) version id whose ACL changed."""
        if version_id is not None:
            check_version_id(version_id)

        def op(txn: SqlTxn) -> Outcome[str]:
            o, current = self._existing_version(txn, bucket, key, version_id)
            txn.update_version(o, current, acl=acl)
            return Outcome(o.version_id, [])

        return await self.committer.commit(op)

    def _existing_version(
        self, txn: SqlTxn, bucket: str, key: str, version_id: str | None
    ) -> tuple[ObjectMeta, bool]:
        """The current version, or the one named; never a delete marker."""
        if version_id is None:
            cur = txn.get_object(bucket, key)
            if cur is None:
                raise no_such_key(key)
            return cur, True
        found = txn.find_version(bucket, key, version_id)
        if found is None:
            raise no_such_version(version_id)
        if found[0].delete_marker:
            raise OSSError(
                405, "MethodNotAllowed", "The specified method is not allowed against this resource."
            )
        return found

    async def delete_object(
        self, bucket: str, key: str, version_id: str | None = None, condition: DeleteCondition | None = None
    ) -> Deleted:
        if version_id is not None:
            check_version_id(version_id)

        retention = self.retention(bucket)

        def op(txn: SqlTxn) -> Outcome[Deleted]:
            done, dead = self._delete_one(txn, bucket, key, version_id, condition, retention)
            return Outcome(done, dead)

        return await self.committer.commit(op)

    def _delete_one(
        self,
        txn: SqlTxn,
        bucket: str,
        key: str,
        version_id: str | None,
        condition: DeleteCondition | None = None,
        retention: worm.Policy | None = None,
    ) -> tuple[Deleted, list[str]]:
        if condition:
            if version_id is not None:
                found = txn.find_version(bucket, key, version_id)
                condition.check(found[0] if found else None)
            else:
                condition.check(txn.get_object(bucket, key))
        if version_id is not None:
            return versioning.delete_version(txn, bucket, key, version_id, retention, self.now_ms())
        row = txn.get_bucket(bucket)
        if row is None:
            raise no_such_bucket(bucket)
        return versioning.delete_current(txn, row, key, self.now_ms(), retention)

    async def delete_objects(
        self,
        bucket: str,
        targets: Sequence[tuple[str, str | None]],
        conditions: Sequence[DeleteCondition | None] | None = None,
    ) -> list[Deleted | OSSError]:
        """(key, version id or None) pairs, all in one transaction; with `conditions` (one per target), a
        target whose condition fails is left alone and its result is the error."""
        for _, version_id in targets:
            if version_id is not None:
                check_version_id(version_id)
        checks = list(conditions) if conditions is not None else [None] * len(targets)
        retention = self.retention(bucket)

        def op(txn: SqlTxn) -> Outcome[list[Deleted | OSSError]]:
            dead: list[str] = []
            results: list[Deleted | OSSError] = []
            for (key, version_id), condition in zip(targets, checks, strict=True):
                try:
                    done, freed = self._delete_one(txn, bucket, key, version_id, condition, retention)
                except OSSError as exc:
                    if exc.code not in ("PreconditionFailed", "FileImmutable"):
                        raise
                    results.append(exc)  # checked before anything of this key was changed
                    continue
                results.append(done)
                dead += freed
            return Outcome(results, dead)

        return await self.committer.commit(op)

    # ------------------------------------------------------------ restore
    async def restore_object(
        self, bucket: str, key: str, version_id: str | None, days: int, tier: str | None
    ) -> Restored:
        if version_id is not None:
            check_version_id(version_id)

        def op(txn: SqlTxn) -> Outcome[Restored]:
            o, current = self._existing_version(txn, bucket, key, version_id)
            chosen = archive.check_restore_request(o.storage_class, days, tier)
            restore, started = archive.next_restore(
                o.restore, days, chosen, self.now_ms(), self.restore_delay_ms
            )
            txn.update_version(
                o,
                current,
                restore_ready_ms=restore.ready_ms,
                restore_expiry_ms=restore.expiry_ms,
                restore_tier=restore.tier,
            )
            return Outcome(Restored(started, restore.tier, o.version_id), [])

        return await self.committer.commit(op)

    # ------------------------------------------------------------ listing
    def list_versions(
        self, bucket: str, prefix: str, delimiter: str, key_marker: str, version_id_marker: str, max_keys: int
    ) -> VersionListing:
        if version_id_marker:
            check_version_id(version_id_marker)
        return list_versions(self.meta, bucket, prefix, delimiter, key_marker, version_id_marker, max_keys)

    def list_objects(self, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int) -> Listing:
        """Keys and common prefixes after `after`, up to `max_keys` entries in all.

        With a delimiter, every key under a common prefix is skipped with one index seek, so a page costs
        O(max_keys) lookups whatever the bucket holds.
        """
        objects: list[ListedObject] = []
        prefixes: list[str] = []
        cursor = max(after, prefix) if after else prefix
        inclusive = not after or after < prefix
        last = ""
        full_batch = min(max_keys + 1, 1001)
        batch = full_batch
        while True:
            rows = self.meta.scan_objects(bucket, cursor, inclusive, batch)
            if not rows:
                return Listing(objects, prefixes, False, "")
            for row in rows:
                key = row.key
                if not key.startswith(prefix):
                    return Listing(objects, prefixes, False, "")
                if len(objects) + len(prefixes) >= max_keys:
                    return Listing(objects, prefixes, True, last)
                if delimiter:
                    cut = key.find(delimiter, len(prefix))
                    if cut >= 0:
                        common = key[: cut + len(delimiter)]
                        # Seek past every key that starts with `common`.
                        cursor = _prefix_successor(common)
                        inclusive = True
                        # A marker inside this group means an earlier page already returned it.
                        if not (after and after.startswith(common)):
                            prefixes.append(common)
                            last = common
                        # After a seek, read a few rows first: the next key often opens another group.
                        batch = _AFTER_SEEK_BATCH
                        break
                objects.append(row)
                last = key
                cursor = key
                inclusive = False
            else:
                if len(rows) < batch:
                    return Listing(objects, prefixes, False, "")
                batch = min(batch * 4, full_batch)

    def list_uploads(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> tuple[list[Upload], list[str], bool, str, str]:
        uploads: list[Upload] = []
        prefixes: list[str] = []
        # scan_uploads is strictly after (k_marker, u_marker); ("prefix", "") still includes a key equal
        # to the prefix, since every upload id sorts after "".
        if key_marker and key_marker >= prefix:
            # Without an upload-id-marker, the uploads of key_marker itself were listed already.
            k_marker, u_marker = key_marker, upload_id_marker or "\U0010ffff"
        else:
            k_marker, u_marker = prefix, ""
        last_key, last_id = "", ""
        full_batch = min(max_uploads + 1, 1001)
        batch = full_batch
        while True:
            rows = self.meta.scan_uploads(bucket, k_marker, u_marker, batch)
            if not rows:
                return uploads, prefixes, False, "", ""
            for row in rows:
                if not row.key.startswith(prefix):
                    return uploads, prefixes, False, "", ""
                if len(uploads) + len(prefixes) >= max_uploads:
                    return uploads, prefixes, True, last_key, last_id
                if delimiter:
                    cut = row.key.find(delimiter, len(prefix))
                    if cut >= 0:
                        common = row.key[: cut + len(delimiter)]
                        # A key marker inside this group means an earlier page already returned it.
                        if not (key_marker and key_marker.startswith(common)):
                            prefixes.append(common)
                            last_key, last_id = common, ""
                        k_marker, u_marker = _prefix_successor(common), ""
                        batch = _AFTER_SEEK_BATCH
                        break
                uploads.append(row)
                last_key, last_id = row.key, row.upload_id
                k_marker, u_marker = row.key, row.upload_id
            else:
                if len(rows) < batch:
                    return uploads, prefixes, False, "", ""
                batch = min(batch * 4, full_batch)

    # ------------------------------------------------------------ multipart
    async def initiate_upload(
        self, bucket: Bucket, key: str, attrs: WriteAttrs, checksum_algorithm: str = ""
    ) -> Upload:
        """`checksum_algorithm`: "<ALGORITHM>:<COMPOSITE|FULL_OBJECT>" when parts must carry S3 checksums."""
        upload = Upload(
            upload_id=f"{time.time_ns():016X}{secrets.token_hex(8).upper()}",
            bucket=bucket.name,
            key=key,
            initiated_ms=self.now_ms(),
            storage_class=attrs.storage_class or bucket.storage_class,
            acl=attrs.acl,
            content_type=attrs.content_type,
            headers=attrs.headers,
            user_meta=attrs.user_meta,
            checksum_algorithm=checksum_algorithm,
            tagging=attrs.tagging or "",
            sse=self.new_object_sse(bucket.name, attrs.sse),
        )

        def op(txn: SqlTxn) -> Outcome[Upload]:
            if txn.get_bucket(bucket.name) is None:
                raise no_such_bucket(bucket.name)
            txn.insert_upload(upload)
            return Outcome(upload, [])

        return await self.committer.commit(op)

    def upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        u = self.meta.get_upload(upload_id)
        if u is None or u.bucket != bucket or u.key != key:
            raise no_such_upload(upload_id)
        return u

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        read_chunk: ReadChunk,
        content_length: int | None,
        content_md5: str | None,
        digest: BodyDigest | None = None,
    ) -> Part:
        upload = self.upload(bucket, key, upload_id)
        data = await self._ingest(
            read_chunk, content_length, content_md5, MAX_OBJECT_SIZE, digest, upload.sse
        )
        part = Part(
            part_number,
            data.size,
            data.etag,
            data.crc64,
            self.now_ms(),
            ((data.blob_id, 0, data.size),) if data.size else (),
            data.checksum,
        )
        return await self.committer.commit(self._part_op(bucket, key, upload_id, part), [data.new_blob])

    def _part_op(
        self, bucket: str, key: str, upload_id: str, part: Part, shared: bool = False
    ) -> Callable[[SqlTxn], Outcome[Part]]:
        """`shared`: the part references another object's blobs, read before this transaction; if that
        object was deleted meanwhile they may be gone, and the copy must look at its source again."""

        def op(txn: SqlTxn) -> Outcome[Part]:
            if not txn.upload_exists(upload_id, bucket, key):
                raise no_such_upload(upload_id)
            if shared and not txn.blobs_exist(part.extents):
                raise _SourceChanged()
            return Outcome(part, txn.put_part(upload_id, part))

        return op

    async def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        src_bucket: str,
        src_key: str,
        byte_range: tuple[int, int | None] | None,
        check: Callable[[ObjectMeta], None],
        src_version_id: str | None = None,
    ) -> Part:
        """A part that references a range of another object's extents; CRC and ETag come from its bytes
        (and the S3 checksum, when the upload asked for one). A source encrypted otherwise than the upload
        is copied as new data in the upload's state; a symlink is followed to its target."""
        upload = self.upload(bucket, key, upload_id)
        for _ in range(_REWRITE_ATTEMPTS):
            try:
                return await self._copy_part_once(
                    upload, part_number, src_bucket, src_key, byte_range, check, src_version_id
                )
            except _SourceChanged:
                continue  # the source was replaced or deleted while its range was read
        raise _conflict()

    async def _copy_part_once(
        self,
        upload: Upload,
        part_number: int,
        src_bucket: str,
        src_key: str,
        byte_range: tuple[int, int | None] | None,
        check: Callable[[ObjectMeta], None],
        src_version_id: str | None,
    ) -> Part:
        bucket, key, upload_id = upload.bucket, upload.key, upload.upload_id
        algorithm = upload.checksum_algorithm.partition(":")[0]
        if self.meta.get_bucket(src_bucket) is None:
            raise no_such_bucket(src_bucket)
        if src_version_id is None:
            src = self.meta.get_object(src_bucket, src_key)
            if src is None:
                raise no_such_key(src_key)
        else:
            src = self.version(src_bucket, src_key, src_version_id)
        check(src)
        if src.object_type == SYMLINK:
            src = self.follow_symlink(src)
        self.check_readable(src)
        start, end_or_none = byte_range if byte_range else (0, None)
        end = src.size - 1 if end_or_none is None else end_or_none
        if byte_range and (start >= src.size or end >= src.size or start > end):
            raise OSSError(416, "InvalidRange", "The requested range cannot be satisfied.")
        length = end - start + 1 if src.size else 0
        extents = tuple(_slice_extents(src.extents, start, length))
        if length and _needs_rewrite(src, upload.sse):
            data = await self._rewrite(src, start, length, upload.sse, algorithm)
            new = Part(
                part_number,
                length,
                data.etag,
                data.crc64,
                self.now_ms(),
                ((data.blob_id, 0, length),),
                data.checksum,
            )
            return await self.committer.commit(self._part_op(bucket, key, upload_id, new), [data.new_blob])
        md5, crc, checksum = await asyncio.get_running_loop().run_in_executor(
            self.executor, self._hash_extents, src, extents, algorithm
        )
        part = Part(part_number, length, md5.hex().upper(), crc, self.now_ms(), extents, checksum)
        return await self.committer.commit(self._part_op(bucket, key, upload_id, part, shared=True))

    def _hash_extents(
        self, src: ObjectMeta, extents: Sequence[Extent], algorithm: str = ""
    ) -> tuple[bytes, int, str]:
        """MD5, CRC-64 and the S3 checksum `algorithm` ('' for none) of the plaintext of `extents` (a slice
        of `src`'s)."""
        ciphers = self._ciphers(src)
        md5 = hashlib.md5()
        crc = 0
        extra = _Checksummed(algorithm) if algorithm else None
        for blob_id, offset, length in extents:
            for chunk in self._iter_extent(blob_id, offset, length, ciphers.get(blob_id)):
                md5.update(chunk)
                crc = crc64(chunk, crc)
                if extra is not None:
                    extra.update(chunk)
        return md5.digest(), crc, extra.finish() if extra else ""

    async def complete_upload(
        self,
        bucket: Bucket,
        key: str,
        upload_id: str,
        wanted: list[tuple[int, str]] | None,
        attrs_override: WriteAttrs | None = None,
        condition: WriteCondition = NO_CONDITION,
        wanted_checksums: dict[int, str] | None = None,
        repeat_ok: bool = False,
    ) -> ObjectMeta:
        """Stitch parts into an object: metadata only, whatever the object's size.

        `wanted_checksums`: part number -> the S3 checksum the client lists for it; each must be the
        checksum the part was uploaded with. `repeat_ok` (S3): completing an upload again with the same part
        list answers the object it made, as long as that object is still the key's current version.
        """

        retention = self.retention(bucket.name)

        def op(txn: SqlTxn) -> Outcome[ObjectMeta]:
            row = txn.get_bucket(bucket.name)
            upload = txn.get_upload(upload_id)
            if row is not None and upload is None and repeat_ok and wanted:
                made = _completed_before(txn, bucket.name, key, wanted)
                if made is not None:
                    return Outcome(made, [])
            if row is None or upload is None or upload.bucket != bucket.name or upload.key != key:
                raise no_such_upload(upload_id)
            have = {p.part_number: p for p in txn.parts(upload_id)}
            if wanted is None:
                chosen = [have[n] for n in sorted(have)]
            else:
                chosen = []
                previous = 0
                for number, etag in wanted:
                    if number <= previous:
                        raise OSSError(
                            400,
                            "InvalidPartOrder",
                            "The list of parts was not in ascending order.",
                        )
                    previous = number
                    part = have.get(number)
                    if (
                        part is None
                        or part.etag != etag.strip('"').upper()
                        or not _checksum_matches(part, (wanted_checksums or {}).get(number))
                    ):
                        raise OSSError(
                            400,
                            "InvalidPart",
                            "One or more of the specified parts could not be found or the specified entity "
                            "tag might not have matched the part's entity tag.",
                            {"PartNumber": str(number), "ETag": etag},
                        )
                    chosen.append(part)
            for part in chosen[:-1]:
                if part.size < MIN_PART_SIZE:
                    raise OSSError(
                        400,
                        "EntityTooSmall",
                        "Your proposed upload is smaller than the minimum allowed size.",
                        {"PartNumber": str(part.part_number), "MinSizeAllowed": str(MIN_PART_SIZE)},
                    )
            condition.check(txn, row, key)
            md5s = b"".join(bytes.fromhex(p.etag) for p in chosen)
            crc = 0
            size = 0
            extents: list[Extent] = []
            for p in chosen:
                crc = crc64_combine(crc, p.crc64, p.size)
                size += p.size
                extents += p.extents
            a = attrs_override
            checksum = _multipart_checksum(upload, chosen)
            obj = ObjectMeta(
                bucket=bucket.name,
                key=key,
                size=size,
                etag=f"{hashlib.md5(md5s).hexdigest().upper()}-{len(chosen)}",
                crc64=crc,
                mtime_ms=self.now_ms(),
                object_type="Multipart",
                storage_class=upload.storage_class,
                acl=a.acl if a else upload.acl,
                content_type=upload.content_type,
                headers=upload.headers,
                user_meta=upload.user_meta,
                extents=tuple(extents),
                checksum=checksum,
                tagging=upload.tagging,
                sse=upload.sse,
            )
            dead = versioning.install(txn, row, obj, obj.mtime_ms, retention)
            dead += txn.delete_upload(upload_id)
            return Outcome(obj, dead)

        return await self.committer.commit(op)

    async def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        def op(txn: SqlTxn) -> Outcome[None]:
            if not txn.upload_exists(upload_id, bucket, key):
                raise no_such_upload(upload_id)
            return Outcome(None, txn.delete_upload(upload_id))

        await self.committer.commit(op)


def _checksum_matches(part: Part, listed: str | None) -> bool:
    """A checksum listed for a part in CompleteMultipartUpload must be the one the part carries."""
    if listed is None:
        return True
    return part.checksum.partition(":")[2] == listed


def _multipart_checksum(upload: Upload, parts: Sequence[Part]) -> str:
    """The object's S3 checksum from its parts', when the upload asked for one and every part has it."""
    if not upload.checksum_algorithm or not parts:
        return ""
    algorithm, _, checksum_type = upload.checksum_algorithm.partition(":")
    values = []
    for p in parts:
        alg, _, value = p.checksum.partition(":")
        if alg != algorithm:
            return ""  # a part written without it (through OSS, or a copy before the upload asked)
        values.append((value, p.size))
    return checksums.stored(algorithm, checksums.combine_parts(algorithm, checksum_type, values))


def _completed_before(txn: SqlTxn, bucket: str, key: str, wanted: list[tuple[int, str]]) -> ObjectMeta | None:
    """The key's current object if a complete of exactly these parts made it (same multipart ETag)."""
    try:
        md5s = b"".join(bytes.fromhex(etag.strip('"')) for _, etag in wanted)
    except ValueError:
        return None
    expected = f"{hashlib.md5(md5s).hexdigest().upper()}-{len(wanted)}"
    current = txn.get_object(bucket, key)
    if current is None or current.object_type != "Multipart" or current.etag.upper() != expected:
        return None
    return current


def _fresh_version(o: ObjectMeta, **changes: object) -> ObjectMeta:
    """A new version made from an existing one (copies): no id, history or restore of its own yet."""
    return replace(o, version_id="", vseq=0, restore=None, delete_marker=False, noncurrent_ms=0, **changes)  # type: ignore[arg-type]


def _check_append(cur: ObjectMeta | None, position: int) -> None:
    if cur is None:
        if position != 0:
            raise OSSError(
                409,
                "PositionNotEqualToLength",
                "Position is not equal to file length",
                headers={"x-oss-next-append-position": "0"},
            )
        return
    if cur.object_type != "Appendable":
        raise OSSError(409, "ObjectNotAppendable", "The object is not appendable")
    if cur.size != position:
        raise OSSError(
            409,
            "PositionNotEqualToLength",
            "Position is not equal to file length",
            headers={
                "x-oss-next-append-position": str(cur.size),
                "x-oss-hash-crc64ecma": str(cur.crc64),
            },
        )


def _slice_extents(extents: Sequence[Extent], start: int, length: int) -> list[Extent]:
    out: list[Extent] = []
    pos = 0
    remaining = length
    for blob_id, offset, ext_len in extents:
        if remaining <= 0:
            break
        if pos + ext_len <= start:
            pos += ext_len
            continue
        skip = max(0, start - pos)
        take = min(ext_len - skip, remaining)
        out.append((blob_id, offset + skip, take))
        remaining -= take
        pos += ext_len
    return out


SYMLINK = symlinks.SYMLINK


class _VersionReader(Protocol):
    """What finding a copy source needs: the metadata store's reads, or a transaction's."""

    def get_object(self, bucket: str, key: str) -> ObjectMeta | None: ...

    def find_version(self, bucket: str, key: str, version_id: str) -> tuple[ObjectMeta, bool] | None: ...


@dataclass(frozen=True)
class _Rewritten:
    """A copy's data written anew in the destination's encryption state."""

    extents: tuple[Extent, ...]
    new_blobs: list[NewBlob]


class _Checksummed:
    """The S3 checksum of bytes ossbox copies itself (nothing to verify: it only computes one)."""

    __slots__ = ("_sum",)

    def __init__(self, algorithm: str) -> None:
        self._sum = checksums.Checksum(algorithm)

    def update(self, data: bytes) -> None:
        self._sum.update(data)

    def finish(self) -> str:
        return checksums.stored(self._sum.algorithm, self._sum.b64())


class _SourceChanged(Exception):
    """The source of a rewriting copy is no longer the version that was rewritten: try again."""


def _conflict() -> OSSError:
    return OSSError(
        409,
        "OperationAborted",
        "A conflicting operation is currently in progress against this resource. Please try again.",
    )


def _needs_rewrite(src: ObjectMeta, stored_sse: str) -> bool:
    """A copy shares the source's blobs only when they are encrypted as the destination must be."""
    return bool(src.extents) and src.object_type != SYMLINK and src.sse != stored_sse


def _check_snapshot(src: ObjectMeta, snapshot: ObjectMeta | None, stored_sse: str) -> None:
    if snapshot is None:
        if _needs_rewrite(src, stored_sse):
            raise _SourceChanged()
    elif (src.version_id, src.vseq, src.etag, src.extents, src.mtime_ms) != (
        snapshot.version_id,
        snapshot.vseq,
        snapshot.etag,
        snapshot.extents,
        snapshot.mtime_ms,
    ):
        raise _SourceChanged()


def _decrypted(chunks: Iterator[bytes], cipher: BlobCipher, offset: int) -> Iterator[bytes]:
    ctx = cipher.at(offset)
    for chunk in chunks:
        yield ctx.update(chunk)
