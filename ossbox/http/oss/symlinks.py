"""PutSymlink and GetSymlink (GET and HEAD follow symlinks: see objects.py and ossbox/service/symlinks.py)."""

from __future__ import annotations

from urllib.parse import quote, unquote

from ossbox.core.errors import OSSError
from ossbox.core.names import validate_object_key
from ossbox.core.versions import wire_version_id
from ossbox.http.oss.common import Call, write_attrs, write_condition
from ossbox.http.oss.objects import read_target, version_headers
from ossbox.http.responses import object_headers, quoted_etag
from ossbox.http.server import Response
from ossbox.service.storage import SYMLINK, WriteAttrs

TARGET_HEADER = "x-oss-symlink-target"


async def put_symlink(call: Call) -> Response:
    key = call.key
    validate_object_key(key)
    raw = call.h.get(TARGET_HEADER)
    if not raw:
        raise OSSError(
            400, "MissingArgument", "Missing Some Required Arguments.", {"ArgumentName": TARGET_HEADER}
        )
    # Clients send the target URL-encoded (oss2 quotes every character but unreserved ones).
    target = unquote(raw)
    validate_object_key(target)
    attrs = write_attrs(call, key)
    # A symlink holds no data: there is nothing to encrypt.
    attrs = WriteAttrs(
        attrs.content_type, attrs.headers, attrs.user_meta, attrs.acl, attrs.storage_class, attrs.tagging
    )
    o = await call.storage.put_symlink(call.bkt, key, target, attrs, write_condition(call))
    headers = [("ETag", quoted_etag(o.etag))]
    if call.bkt.versioning:
        headers.append(("x-oss-version-id", wire_version_id(o.version_id)))
    return Response(200, headers)


async def get_symlink(call: Call) -> Response:
    link, _ = read_target(call, False)
    call.check_object_read(call.bkt, link, call.grant)
    if link.object_type != SYMLINK or link.symlink_target is None:
        raise OSSError(400, "NotSymlink", "The specified object is not a symlink.", {"Key": call.key})
    headers = [h for h in object_headers(link) if h[0] not in ("Accept-Ranges", "x-oss-hash-crc64ecma")]
    headers.append((TARGET_HEADER, quote(link.symlink_target, safe="/")))
    headers += version_headers(call, link)
    return Response(200, headers)
