"""Blobs on an S3-compatible cluster (`--blob-url s3://bucket/prefix?endpoint=...`): SeaweedFS, MinIO,
Ceph RGW, or S3 itself.

Each blob is one object `<prefix>blobs/<blob_id>`, written once and never changed: a body below one part
is a single PUT when the writer syncs; a larger body of known length (up to 5 GiB, S3's limit for one
PUT) is one PUT streamed to the cluster while the request is still being received; any other (a chunked
body, or past 5 GiB) is a multipart upload whose parts go out on worker threads as they fill (at most
`_PARTS_IN_FLIGHT` per writer). Memory per writer stays bounded either way. The cluster's answer to the
PUT or to CompleteMultipartUpload is the durability point, so `publish` has nothing to do. Ranged reads
are ranged GETs.

The client is botocore (the library made for the job, retries and SigV4 included); checksums of its own
are off, since ossbox already computes MD5 and CRC-64 of every body. Credentials come from botocore's
usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile), never from the URL.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ossbox.blobs.store import BlobConfigError
from ossbox.core.errors import BlobUnavailable

log = logging.getLogger("ossbox.blobs")

_PART_SIZE = 16 << 20
_SINGLE_PUT_MAX = 5 << 30
_STREAM_QUEUE = 8  # slices (of ~1 MiB) a streamed PUT may hold before its writer waits
_PARTS_IN_FLIGHT = 2
_READ_CHUNK = 1 << 20
_DELETE_BATCH = 1000
_OWNER_OBJECT = "ossbox-owner"
_MISSING = ("NoSuchKey", "404", "NotFound")


class S3BlobStore:
    reserve_bytes = 0
    remote = True

    def __init__(self, bucket: str, prefix: str, endpoint: str | None, region: str) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        config = Config(
            region_name=region,
            signature_version="s3v4",
            # No SHA-256 of every body for the signature (botocore's default over http): ossbox already
            # hashes each body twice (MD5, CRC-64), and a third pass costs a large PUT a third of its rate.
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            max_pool_connections=64,
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = botocore.session.get_session()
        self._client: Any = session.create_client("s3", endpoint_url=endpoint, config=config)
        # A streamed body cannot be sent twice: its PUT is tried once, and fails the request if it fails.
        once = config.merge(Config(retries={"total_max_attempts": 1}))
        self._stream_client: Any = session.create_client("s3", endpoint_url=endpoint, config=once)
        self._uploads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ossbox-s3-parts")

    # ------------------------------------------------------------ names
    def _key(self, blob_id: str) -> str:
        return f"{self.prefix}blobs/{blob_id}"

    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint}" if self.endpoint else "")

    # ------------------------------------------------------------ writing
    def has_room_for(self, nbytes: int) -> bool:
        return True  # the cluster answers for its own space (a full cluster fails the PUT)

    def create(self, size: int | None = None) -> S3BlobWriter | S3StreamWriter:
        # The creation second leads the id: an operator can tell old blobs from new at a glance.
        blob_id = f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(10)}"
        if size is not None and _PART_SIZE <= size <= _SINGLE_PUT_MAX:
            return S3StreamWriter(self, blob_id, size)
        return S3BlobWriter(self, blob_id)

    def publish(self, blob_ids: Iterable[str]) -> None:
        """Nothing to do: a blob is durable and readable once its writer synced."""

    def delete(self, blob_ids: Iterable[str]) -> None:
        keys = [self._key(b) for b in blob_ids]
        for i in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": k} for k in keys[i : i + _DELETE_BATCH]]
            answer = self._call(
                "delete_objects", Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            for error in answer.get("Errors", []):
                log.warning("could not delete blob %s: %s", error.get("Key"), error.get("Code"))

    # ------------------------------------------------------------ reading
    def read_range(self, blob_id: str, offset: int, length: int) -> bytes:
        if length == 0:
            return b""
        body = self._get(blob_id, offset, length)
        try:
            data: bytes = body.read()
        except BotoCoreError as exc:
            raise self._unavailable("read", exc) from exc
        finally:
            body.close()
        if len(data) != length:
            raise _short(blob_id, offset, length)
        return data

    def iter_range(self, blob_id: str, offset: int, length: int, chunk: int = _READ_CHUNK) -> Iterator[bytes]:
        if length == 0:
            return
        body = self._get(blob_id, offset, length)
        got = 0
        try:
            for data in body.iter_chunks(chunk):
                got += len(data)
                yield data
        except BotoCoreError as exc:
            raise self._unavailable("read", exc) from exc
        finally:
            body.close()
        if got != length:
            raise _short(blob_id, offset, length)

    def _get(self, blob_id: str, offset: int, length: int) -> Any:
        try:
            answer = self._client.get_object(
                Bucket=self.bucket, Key=self._key(blob_id), Range=f"bytes={offset}-{offset + length - 1}"
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(f"blob {blob_id} is missing from {self._where()}") from exc
            raise self._unavailable("read", exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable("read", exc) from exc
        return answer["Body"]

    # ------------------------------------------------------------ housekeeping
    def sweep(self, referenced: set[str], min_age_s: float = 0) -> tuple[int, int]:
        """Abort multipart uploads and delete blobs no metadata refers to, older than `min_age_s`.

        A blob is written in place before its commit, so a blob another node is still committing is
        unreferenced for a moment; the age spares it (the cluster's LastModified is when the PUT finished;
        an upload's age is that of its newest part)."""
        cutoff = time.time() - min_age_s
        aborted = 0
        for page in self._pages("list_multipart_uploads", "Uploads", Prefix=f"{self.prefix}blobs/"):
            for upload in page:
                if upload["Initiated"].timestamp() < cutoff and not self._has_new_parts(upload, cutoff):
                    key, upload_id = upload["Key"], upload["UploadId"]
                    self._call("abort_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id)
                    aborted += 1
        orphans: list[str] = []
        start = len(self.prefix) + len("blobs/")
        for page in self._pages("list_objects_v2", "Contents", Prefix=f"{self.prefix}blobs/"):
            for item in page:
                blob_id = item["Key"][start:]
                if blob_id not in referenced and item["LastModified"].timestamp() < cutoff:
                    orphans.append(blob_id)
        self.delete(orphans)
        return aborted, len(orphans)

    def _has_new_parts(self, upload: dict[str, Any], cutoff: float) -> bool:
        """Whether a part arrived since `cutoff`: a body that takes longer than the grace period to
        receive is still being written, not abandoned."""
        params = {"Key": upload["Key"], "UploadId": upload["UploadId"]}
        return any(
            part["LastModified"].timestamp() >= cutoff
            for page in self._pages("list_parts", "Parts", **params)
            for part in page
        )

    def _pages(self, operation: str, field: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        try:
            for page in self._client.get_paginator(operation).paginate(Bucket=self.bucket, **params):
                yield page.get(field, [])
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable("list", exc) from exc

    def claim(self, owner: str) -> None:
        key = self.prefix + _OWNER_OBJECT
        try:
            current = self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise self._config_error(exc) from None
            current = ""
        except BotoCoreError as exc:
            raise BlobConfigError(f"cannot reach the blob store {self._where()}: {exc}") from None
        if current and current != owner:
            raise BlobConfigError(
                f"the blob store {self._where()} holds the blobs of another ossbox metadata store "
                f"(owner {current}, this one is {owner}); give each its own bucket or prefix"
            )
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=owner.encode())
            self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": self.prefix + "ossbox-probe"}], "Quiet": True}
            )
        except ClientError as exc:
            raise self._config_error(exc) from None
        except BotoCoreError as exc:
            raise BlobConfigError(f"cannot reach the blob store {self._where()}: {exc}") from None

    def close(self) -> None:
        self._uploads.shutdown(wait=True)
        self._client.close()
        self._stream_client.close()

    # ------------------------------------------------------------ calls and errors
    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self._client, operation)(**params)
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(operation, exc) from exc

    def _unavailable(self, what: str, exc: Exception) -> BlobUnavailable:
        log.warning("blob store %s: %s failed: %s", self._where(), what, _reason(exc))
        return BlobUnavailable()

    def _config_error(self, exc: ClientError) -> BlobConfigError:
        code = _code(exc)
        if code == "NoSuchBucket":
            return BlobConfigError(f"the blob store's bucket does not exist: {self._where()}")
        where = self._where()
        return BlobConfigError(f"the blob store {where} refused ossbox's key: {code} ({_reason(exc)})")


class S3BlobWriter:
    """A blob being written: parts go out as they fill, the last one (or the only PUT) at `sync`."""

    __slots__ = (
        "_buffer", "_buffered", "_done", "_in_flight", "_lock", "_parts", "_sent", "_store", "_upload_id",
        "blob_id", "size",
    )  # fmt: skip

    def __init__(self, store: S3BlobStore, blob_id: str) -> None:
        self._store = store
        self.blob_id = blob_id
        self.size = 0
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._sent = 0  # parts handed to the upload threads
        self._in_flight: list[Future[None]] = []
        self._lock = threading.Lock()
        self._done = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.write_chunks([data])

    def write_chunks(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
        for c in chunks:
            # Callers may reuse their buffers after the call: keep an immutable copy only where needed.
            self._buffer.append(c if isinstance(c, bytes) else bytes(c))
            self._buffered += len(c)
            self.size += len(c)
        if self._buffered >= _PART_SIZE:
            self._send_part()

    def _send_part(self) -> None:
        store = self._store
        if self._upload_id is None:
            answer = store._call("create_multipart_upload", Bucket=store.bucket, Key=store._key(self.blob_id))
            self._upload_id = answer["UploadId"]
        body = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        self._sent += 1
        number = self._sent
        while len(self._in_flight) >= _PARTS_IN_FLIGHT:
            self._in_flight.pop(0).result()  # raises what the upload raised
        self._in_flight.append(store._uploads.submit(self._upload_part, number, body))

    def _upload_part(self, number: int, body: bytes) -> None:
        store = self._store
        answer = store._call(
            "upload_part",
            Bucket=store.bucket,
            Key=store._key(self.blob_id),
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        with self._lock:
            self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def sync(self) -> None:
        store = self._store
        key = store._key(self.blob_id)
        if self._upload_id is None:
            store._call("put_object", Bucket=store.bucket, Key=key, Body=b"".join(self._buffer))
        else:
            if self._buffered:
                self._send_part()
            for fut in self._in_flight:
                fut.result()
            self._in_flight = []
            parts = sorted(self._parts, key=lambda p: p["PartNumber"])
            store._call(
                "complete_multipart_upload",
                Bucket=store.bucket,
                Key=key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": parts},
            )
        self._buffer, self._buffered = [], 0
        self._done = True

    def close(self) -> None:
        self._buffer, self._buffered = [], 0

    def discard(self) -> None:
        store = self._store
        self._buffer, self._buffered = [], 0
        for fut in self._in_flight:
            fut.exception()  # wait; its error no longer matters
        self._in_flight = []
        try:
            if self._done:
                store.delete([self.blob_id])
            elif self._upload_id is not None:
                store._call(
                    "abort_multipart_upload",
                    Bucket=store.bucket,
                    Key=store._key(self.blob_id),
                    UploadId=self._upload_id,
                )
        except BlobUnavailable:
            pass  # the sweep removes it later


class _Aborted(Exception):
    """Raised inside a streamed PUT's body to cut the request off: the cluster never stores it."""


class _BodyPipe(io.RawIOBase):
    """The body of a streamed PUT: what the writer hands over, read by botocore on the upload's thread."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: queue.Queue[list[bytes] | BaseException | None] = queue.Queue(_STREAM_QUEUE)
        self._chunks: list[bytes] = []
        self._sent = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._sent

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # botocore notes the position before sending; it can only be where we are.
        if whence == io.SEEK_SET and offset == self._sent:
            return offset
        raise io.UnsupportedOperation("a streamed body cannot be rewound")

    def put(self, item: list[bytes] | BaseException | None) -> None:
        self._queue.put(item)

    def read(self, size: int = -1) -> bytes:
        """The next received chunk, whole. Only http.client reads this body, and it sends whatever a read
        returns: chunks of the size they arrived in (64 KiB and more) instead of its 16 KiB blocks halve the
        Python work per byte."""
        while not self._chunks:
            item = self._queue.get()
            if item is None:
                return b""
            if isinstance(item, BaseException):
                raise item
            self._chunks = item
        out = self._chunks.pop(0)
        self._sent += len(out)
        return out


class S3StreamWriter:
    """A body of known length as one PUT, sent on a thread of its own while the request arrives (a thread,
    not a pool's: a waiting writer must never keep another upload from starting)."""

    __slots__ = ("_done", "_error", "_expected", "_pipe", "_store", "_thread", "blob_id", "size")

    def __init__(self, store: S3BlobStore, blob_id: str, size: int) -> None:
        self._store = store
        self.blob_id = blob_id
        self.size = 0
        self._expected = size
        self._pipe = _BodyPipe()
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(target=self._send, name="ossbox-s3-put", daemon=True)
        self._thread.start()

    def _send(self) -> None:
        store = self._store
        try:
            store._stream_client.put_object(
                Bucket=store.bucket,
                Key=store._key(self.blob_id),
                Body=self._pipe,
                ContentLength=self._expected,
            )
        except BaseException as exc:
            self._error = exc
            # Unblock a writer waiting on a full pipe: nothing reads it any more.
            with contextlib.suppress(queue.Empty):
                while True:
                    self._pipe._queue.get_nowait()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.write_chunks([data])

    def write_chunks(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
        if self._error is not None:
            raise self._failure("write")
        if self.size + sum(len(c) for c in chunks) > self._expected:
            raise OSError("more data than the body's length")  # the caller checks; this is a guard
        self._pipe.put([c if isinstance(c, bytes) else bytes(c) for c in chunks])
        self.size += sum(len(c) for c in chunks)

    def sync(self) -> None:
        if self.size != self._expected:
            raise OSError(f"body ended at {self.size} of {self._expected} bytes")
        self._pipe.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._failure("write")
        self._done = True

    def _failure(self, what: str) -> Exception:
        error = self._error
        assert error is not None
        if isinstance(error, (BotoCoreError, ClientError)):
            return self._store._unavailable(what, error)
        return error if isinstance(error, Exception) else RuntimeError(str(error))

    def close(self) -> None:
        """Nothing to release before `sync` or `discard`."""

    def discard(self) -> None:
        if self._thread.is_alive():
            self._pipe.put(_Aborted())
            self._thread.join()
        if self._done:
            with contextlib.suppress(BlobUnavailable):
                self._store.delete([self.blob_id])


def _short(blob_id: str, offset: int, length: int) -> OSError:
    return OSError(f"blob {blob_id} shorter than its metadata says (wanted {length} bytes at {offset})")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _reason(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
