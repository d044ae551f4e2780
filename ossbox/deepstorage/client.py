"""The only door to OSS: oss2 buckets built from Druid's credentials, Druid's retry rule, readable errors."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import oss2
import oss2.exceptions

from ossbox.deepstorage.config import OssCredentials
from ossbox.deepstorage.errors import BucketNotFoundError, DeepStorageError, ObjectNotFoundError, RemoteError

log = logging.getLogger("ossbox.deepstorage")
T = TypeVar("T")

# Druid retries (RetryUtils) with 1 s doubling up to 60 s and 10 tries; a command-line tool should give up
# sooner, so ossbox defaults to 5 tries (about 15 s of waiting) and lets callers choose.
DEFAULT_MAX_TRIES = 5
_BASE_SLEEP_S = 1.0
_MAX_SLEEP_S = 60.0


class OssClients:
    """oss2 bucket handles for one endpoint and key pair, one per bucket name (cached per instance)."""

    def __init__(
        self,
        credentials: OssCredentials,
        *,
        max_tries: int = DEFAULT_MAX_TRIES,
        connect_timeout: float | None = None,
    ) -> None:
        self.endpoint = credentials.endpoint
        self.max_tries = max(1, max_tries)
        self._auth = oss2.Auth(credentials.access_key, credentials.secret_key)
        self._session = oss2.Session()
        self._connect_timeout = connect_timeout
        self._buckets: dict[str, oss2.Bucket] = {}

    def bucket(self, name: str) -> oss2.Bucket:
        if name not in self._buckets:
            self._buckets[name] = oss2.Bucket(
                self._auth, self.endpoint, name, session=self._session, connect_timeout=self._connect_timeout
            )
        return self._buckets[name]

    def call(self, what: str, fn: Callable[[], T], bucket: str, key: str | None = None) -> T:
        """Run one SDK call with Druid's retry rule; translate what finally fails."""
        try:
            return retry(fn, self.max_tries, what)
        except oss2.exceptions.OssError as e:
            raise translate(e, bucket, key, self.endpoint) from e


def is_retryable(e: BaseException) -> bool:
    """Druid's OssUtils.RETRYABLE (I/O failures, RequestTimeout); ossbox also retries 5xx answers."""
    if isinstance(e, (oss2.exceptions.RequestError, oss2.exceptions.InconsistentError)):
        return True  # the connection failed, or the body arrived damaged (CRC-64 mismatch)
    if isinstance(e, oss2.exceptions.OssError):
        return e.code == "RequestTimeout" or (isinstance(e.status, int) and e.status >= 500)
    return isinstance(e, (ConnectionError, TimeoutError))


def retry(fn: Callable[[], T], max_tries: int, what: str) -> T:
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as e:
            if attempt >= max_tries or not is_retryable(e):
                raise
            sleep = min(_MAX_SLEEP_S, _BASE_SLEEP_S * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
            log.warning(
                "%s failed (%s), retrying in %.1f s (try %d of %d)",
                what,
                _short(e),
                sleep,
                attempt,
                max_tries,
            )
            time.sleep(sleep)
            attempt += 1


def _short(e: BaseException) -> str:
    if isinstance(e, oss2.exceptions.OssError):
        return f"{e.status} {e.code}".strip()
    return type(e).__name__


def translate(e: oss2.exceptions.OssError, bucket: str, key: str | None, endpoint: str) -> DeepStorageError:
    where = f"oss://{bucket}/{key}" if key is not None else f"bucket {bucket!r}"
    code = e.code or ""
    if code == "NoSuchBucket":
        return BucketNotFoundError(f"bucket {bucket!r} does not exist at {endpoint}")
    if code == "NoSuchKey" or (e.status == 404 and key is not None):
        return ObjectNotFoundError(f"{where} does not exist")
    if isinstance(e, oss2.exceptions.RequestError):
        return RemoteError(
            f"cannot reach {endpoint} for {where}: {type(e.exception).__name__}", "RequestError"
        )
    message = (e.message or "").strip()
    return RemoteError(f"{where}: {e.status} {code}{': ' + message if message else ''}", code, e.status)


def list_objects(
    clients: OssClients, bucket: str, prefix: str, page_size: int = 1000
) -> Iterator[ObjectInfo]:
    """Every object under `prefix`, page by page (at most 1000 keys a page, as Druid lists)."""
    handle = clients.bucket(bucket)
    marker = ""
    while True:
        page = clients.call(
            f"list oss://{bucket}/{prefix}",
            functools.partial(handle.list_objects, prefix=prefix, marker=marker, max_keys=page_size),
            bucket,
        )
        for info in page.object_list:
            yield ObjectInfo(
                key=info.key,
                size=int(info.size),
                last_modified_ms=int(info.last_modified) * 1000,
                etag=info.etag or "",
                storage_class=info.storage_class or "",
            )
        if not page.is_truncated:
            return
        marker = page.next_marker


def delete_keys(clients: OssClients, bucket: str, keys: list[str]) -> int:
    """Delete keys in batches of at most 1000 (the DeleteMultipleObjects limit); return how many were sent."""
    handle = clients.bucket(bucket)
    for i in range(0, len(keys), 1000):
        batch = keys[i : i + 1000]
        clients.call(
            f"delete {len(batch)} keys in {bucket}",
            functools.partial(handle.batch_delete_objects, batch),
            bucket,
        )
    return len(keys)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified_ms: int
    etag: str
    storage_class: str
