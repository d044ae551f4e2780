"""Response helpers shared by the OSS handlers: XML bodies, error documents, object headers."""

from __future__ import annotations

import base64
import functools
import itertools
import os

from ossbox.core.errors import OSSError
from ossbox.http.server import Response
from ossbox.meta.types import ObjectMeta, Restore
from ossbox.protocol import object_tags, sse
from ossbox.protocol.times import http_date
from ossbox.protocol.xml import document, els
from ossbox.service.archive import RestoreState, restore_state

XML_TYPE = ("Content-Type", "application/xml")


# Request ids: 24 hex digits like OSS's, a random per-process prefix and a counter (no syscall per request).
_ID_PREFIX = os.urandom(4).hex().upper()
_id_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter) & 0xFFFFFFFFFFFFFFFF:016X}"


def xml(root: str, inner: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [XML_TYPE, *(headers or [])], document(root, inner))


def error(exc: OSSError, request_id: str, host_id: str, head: bool) -> Response:
    inner = els(
        [
            ("Code", exc.code),
            ("Message", exc.message),
            ("RequestId", request_id),
            ("HostId", host_id),
            *exc.details.items(),
            ("EC", exc.ec),
        ]
    )
    body = document("Error", inner)
    headers = [XML_TYPE, ("x-oss-ec", exc.ec), *exc.headers.items()]
    if head:
        # HEAD has no body: oss2 reads the error document from x-oss-err instead.
        headers.append(("x-oss-err", base64.b64encode(body).decode()))
        return Response(exc.status, headers, b"", content_length=0, head=True)
    return Response(exc.status, headers, body)


def quoted_etag(etag: str) -> str:
    return f'"{etag}"'


@functools.lru_cache(maxsize=4096)
def _last_modified(epoch_s: int) -> str:
    return http_date(epoch_s)


def object_headers(o: ObjectMeta) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", o.content_type),
        ("ETag", quoted_etag(o.etag)),
        ("Last-Modified", _last_modified(o.mtime_ms // 1000)),
        ("x-oss-object-type", o.object_type),
        ("x-oss-storage-class", o.storage_class),
        ("x-oss-hash-crc64ecma", str(o.crc64)),
        ("Accept-Ranges", "bytes"),
    ]
    if o.object_type == "Appendable":
        headers.append(("x-oss-next-append-position", str(o.size)))
    if o.sse:
        headers += sse.response_headers(o.sse)
    if o.tagging:
        headers.append(("x-oss-tagging-count", str(object_tags.count(o.tagging))))
    headers += list(o.headers.items())
    headers += [(f"x-oss-meta-{k}", v) for k, v in o.user_meta.items()]
    return headers


def restore_header(restore: Restore, now_ms: int) -> str:
    """x-oss-restore and listings' RestoreInfo: "" when the restored copy has expired."""
    state = restore_state(restore, now_ms)
    if state is RestoreState.FROZEN:
        return ""
    if state is RestoreState.ONGOING:
        return 'ongoing-request="true"'
    return f'ongoing-request="false", expiry-date="{http_date(restore.expiry_ms // 1000)}"'
