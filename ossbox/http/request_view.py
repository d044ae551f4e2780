"""What handlers of both dialects read of a request the same way: its query, headers, key and bucket, and
the version a GET/HEAD addresses."""

from __future__ import annotations

from typing import Protocol

from ossbox.http.server import Request
from ossbox.meta.types import Bucket, ObjectMeta
from ossbox.service.storage import Storage
from ossbox.service.versioning import DeleteMarkerError

# Headers a writer may set that are stored and answered as given (both dialects name them alike).
STORED_HEADERS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "expires": "Expires",
}


class _ParsedRequest(Protocol):
    @property
    def query(self) -> dict[str, str]: ...

    @property
    def headers(self) -> dict[str, str]: ...

    @property
    def key(self) -> str | None: ...

    @property
    def host(self) -> str: ...


class RequestView:
    """Base of each dialect's call (a slotted dataclass that has `http`, `req`, `bucket` and `storage`)."""

    __slots__ = ()
    http: Request
    req: _ParsedRequest
    bucket: Bucket | None
    storage: Storage

    @property
    def origin(self) -> str:
        """scheme://host as the client reached the server, for the URLs an answer names (Location)."""
        return f"{'https' if self.http.secure else 'http'}://{self.req.host}"

    @property
    def q(self) -> dict[str, str]:
        return self.req.query

    @property
    def h(self) -> dict[str, str]:
        return self.req.headers

    @property
    def key(self) -> str:
        assert self.req.key is not None
        return self.req.key

    @property
    def bkt(self) -> Bucket:
        assert self.bucket is not None
        return self.bucket


def read_target(call: RequestView, with_body: bool, header_prefix: str) -> tuple[ObjectMeta, bytes | None]:
    """The version a request addresses (`versionId`, else the current one), and its inline body if asked
    for and at hand. A delete marker's id comes back in `<prefix>delete-marker` / `<prefix>version-id`."""
    storage, bucket = call.storage, call.bkt
    versioned = bool(bucket.versioning)
    try:
        version_id = call.q.get("versionId")
        if version_id is not None:
            return storage.version(bucket.name, call.key, version_id), None
        if with_body:
            return storage.head_with_body(bucket.name, call.key, versioned)
        return storage.head(bucket.name, call.key, versioned), None
    except DeleteMarkerError as exc:
        exc.headers.update(
            {f"{header_prefix}delete-marker": "true", f"{header_prefix}version-id": exc.marker_version_id}
        )
        raise
