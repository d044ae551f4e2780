"""Static websites: PutBucketWebsite, GetBucketWebsite, DeleteBucketWebsite, and serving a website bucket.

Served as OSS serves a bucket with a website configuration:
- an anonymous GET of the bucket itself answers the index document (a signed one still lists objects);
- a GET or HEAD of a missing key ending in `/` answers `<key><index>` with SupportSubDir, else the root index;
- with SupportSubDir, a missing key without `/` whose `<key>/<index>` exists is redirected (302) to `<key>/`
  (Type 0) or answered with it (Type 2); Type 1 goes straight to the error document;
- anything else missing answers the error document with its HttpStatus (404 by default), to anonymous
  requests; signed ones (SDKs) keep getting NoSuchKey.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from ossbox.core.errors import OSSError
from ossbox.http.oss.common import Call, Handler, xml_document
from ossbox.http.server import Response
from ossbox.protocol.configs import website
from ossbox.protocol.request import Access, OssRequest, Route
from ossbox.service import bucket_configs

NAME = "website"
_GET_OBJECT = Route("GetObject", Access.OBJECT_READ)


async def put_bucket_website(call: Call) -> Response:
    _config, document = website.parse(await call.raw_xml_body())
    await bucket_configs.put(call.storage, call.bkt.name, NAME, document)
    return Response(200)


async def get_bucket_website(call: Call) -> Response:
    document = call.storage.meta.bucket_configs.get(call.bkt.name, NAME)
    if document is None:
        raise OSSError(
            404,
            "NoSuchWebsiteConfiguration",
            "The specified bucket does not have a website configuration.",
            {"BucketName": call.bkt.name},
        )
    return xml_document(document)


async def delete_bucket_website(call: Call) -> Response:
    await bucket_configs.delete(call.storage, call.bkt.name, NAME)
    return Response(204)


def root_request(req: OssRequest, document: str) -> OssRequest | None:
    """An anonymous plain GET of a website bucket's root, as a GetObject of its index document."""
    config = website.load(document)
    if req.method != "GET" or req.key is not None or req.query or config.index is None:
        return None
    return dataclasses.replace(req, key=config.index, route=_GET_OBJECT)


def _is_missing(exc: OSSError) -> bool:
    return exc.code == "NoSuchKey"


async def _serve_key(call: Call, key: str, handler: Handler) -> Response | None:
    """`key` through the operation's handler, authorized as a read of that key; None if it is missing."""
    other = dataclasses.replace(call, req=dataclasses.replace(call.req, key=key))
    other.grant = call.authorize(Access.OBJECT_READ, "oss:GetObject", call.bkt, key)
    try:
        return await handler(other)
    except OSSError as exc:
        if _is_missing(exc):
            return None
        raise


def _exists(call: Call, key: str) -> bool:
    return call.storage.meta.get_object(call.bkt.name, key) is not None


def _directory_location(call: Call, key: str) -> str:
    path = quote(key, safe="/") + "/"
    return "/" + path if call.req.virtual_host else f"/{call.bkt.name}/{path}"


async def serve(call: Call, document: str, handler: Handler, anonymous: bool) -> Response:
    """A GetObject or HeadObject on a website bucket, with the index and error document fallbacks."""
    try:
        return await handler(call)
    except OSSError as exc:
        if not _is_missing(exc):
            raise
        missing = exc
    config = website.load(document)
    key = call.key
    index = config.index
    if index is not None and key.endswith("/"):
        found = await _serve_key(call, key + index if config.support_subdir else index, handler)
        if found is not None:
            return found
    elif index is not None and config.support_subdir and config.subdir_type != 1:
        directory_index = f"{key}/{index}"
        if config.subdir_type == 0 and _exists(call, directory_index):
            return Response(302, [("Location", _directory_location(call, key))], b"")
        if config.subdir_type == 2:
            found = await _serve_key(call, directory_index, handler)
            if found is not None:
                return found
    if anonymous and config.error_key is not None:
        found = await _serve_key(call, config.error_key, handler)
        if found is not None:
            if found.status == 200:
                found.status = config.error_status
            return found
    raise missing
