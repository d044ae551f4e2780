"""PostObject: a browser form upload (multipart/form-data) into a bucket.

The fields before the `file` part are read first (at most 8 MB in all): the key (`${filename}` stands for
the file's name), the policy and its signature (V1 or V4, ossbox/auth/post_signature.py), metadata and
options. The signer (or, unsigned, the bucket's public-read-write ACL) must be allowed oss:PutObject on the
key, and the policy's conditions must hold, before a byte of the file is stored; the file then streams
through the same ingest path as PutObject. Fields after the file are ignored.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from ossbox.auth import post_signature
from ossbox.auth.authorizer import request_values
from ossbox.core.errors import OSSError, invalid_argument
from ossbox.core.names import validate_object_key
from ossbox.http.form_data import FormReader, boundary_of, malformed_post, size_checked
from ossbox.http.oss import callback
from ossbox.http.oss.common import OBJECT_ACLS, Call, acl_from, storage_class_from
from ossbox.http.responses import quoted_etag, xml
from ossbox.http.server import Response
from ossbox.protocol import post_policy, sse
from ossbox.protocol import xml as X
from ossbox.protocol.request import Access
from ossbox.service.conditions import WriteCondition
from ossbox.service.storage import WriteAttrs

MAX_FIELDS_BYTES = 8 << 20
_TRAILER_LIMIT = 1 << 20
_STORED_HEADERS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "content-language": "Content-Language",
    "expires": "Expires",
}


async def _read_fields(reader: FormReader) -> tuple[dict[str, str], str | None, str | None]:
    """(fields by lower-case name, the file part's filename, its Content-Type); raises if there is no file."""
    fields: dict[str, str] = {}
    total = 0
    while (part := await reader.next_part()) is not None:
        if part.name.lower() == "file":
            return fields, part.filename, part.content_type
        value = await reader.read_value(MAX_FIELDS_BYTES - total)
        total += len(value)
        fields.setdefault(part.name.lower(), value.decode("utf-8", "replace"))
    raise malformed_post("The body of your POST request has no file field.")


def _attrs(fields: dict[str, str], file_type: str | None) -> WriteAttrs:
    meta = {k[len("x-oss-meta-") :]: v for k, v in fields.items() if k.startswith("x-oss-meta-")}
    return WriteAttrs(
        content_type=fields.get("content-type") or file_type or "application/octet-stream",
        headers={canon: fields[name] for name, canon in _STORED_HEADERS.items() if name in fields},
        user_meta=meta,
        acl=acl_from(fields, OBJECT_ACLS) or "default",
        storage_class=storage_class_from(fields),
        sse=sse.from_headers(fields),
    )


def _success_status(fields: dict[str, str]) -> int:
    value = fields.get("success_action_status", "")
    return int(value) if value in ("200", "201", "204") else 204


def _redirect_url(fields: dict[str, str]) -> str | None:
    url = fields.get("success_action_redirect")
    if not url:
        return None
    if urlsplit(url).scheme not in ("http", "https"):
        raise invalid_argument(
            "success_action_redirect must be an http(s) URL.", "success_action_redirect", url
        )
    return url


async def post_object(call: Call) -> Response:
    bucket = call.bkt
    if call.extras is None:
        raise OSSError(501, "NotImplemented", "PostObject is not available here.")
    reader = FormReader(call.http.body.read_chunk, boundary_of(call.h.get("content-type", "")))
    fields, filename, file_type = await _read_fields(reader)
    key = fields.get("key", "")
    if not key:
        raise invalid_argument("The key field is missing.", "key", "")
    key = key.replace("${filename}", filename or "")
    validate_object_key(key)
    principal = (
        post_signature.verify(call.extras.authenticator, fields) if post_signature.is_signed(fields) else None
    )
    policy = post_policy.decode(fields["policy"]) if "policy" in fields else None
    if policy is not None:
        post_policy.check(policy, {**fields, "bucket": bucket.name, "key": key})
    values = request_values(call.http.client, call.h, call.q, secure=call.http.secure)
    call.authorizer.check(principal, Access.OBJECT_WRITE, "oss:PutObject", bucket, key, values)
    redirect = _redirect_url(fields)
    cb = callback.requested(call, fields)
    attrs = _attrs(fields, file_type)
    read = size_checked(reader.read_chunk, policy.length_range if policy else None)
    forbid = WriteCondition(forbid_overwrite=fields.get("x-oss-forbid-overwrite", "").lower() == "true")
    o = await call.storage.put_object(bucket, key, read, None, fields.get("content-md5"), attrs, forbid)
    await reader.drain(_TRAILER_LIMIT)
    headers = [("ETag", quoted_etag(o.etag)), ("x-oss-hash-crc64ecma", str(o.crc64))]
    headers += sse.response_headers(o.sse)
    if cb is not None:
        return await callback.answer(call, cb, o, "PostObject", headers)
    if redirect is not None:
        query = urlencode({"bucket": bucket.name, "key": key, "etag": quoted_etag(o.etag)})
        location = redirect + ("&" if "?" in redirect else "?") + query
        return Response(303, [*headers, ("Location", location)], b"")
    status = _success_status(fields)
    path = f"/{quote(key)}" if call.req.virtual_host else f"/{bucket.name}/{quote(key)}"
    location = f"{call.origin}{path}"
    if status == 201:
        inner = X.els(
            [("Bucket", bucket.name), ("Location", location), ("Key", key), ("ETag", quoted_etag(o.etag))]
        )
        return xml("PostResponse", inner, 201, [*headers, ("Location", location)])
    return Response(status, [*headers, ("Location", location)], b"")
