"""Hotlink protection: PutBucketReferer, GetBucketReferer, and the check of anonymous and presigned requests
(a request signed in its Authorization header is never checked)."""

from __future__ import annotations

from collections.abc import Mapping

from ossbox.http.oss.common import Call, xml_document
from ossbox.http.server import Response
from ossbox.protocol.configs import referer
from ossbox.service import bucket_configs

NAME = "referer"
_DEFAULT = referer.render(referer.RefererConfig(True, True, (), ()))


async def put_bucket_referer(call: Call) -> Response:
    config = referer.parse(await call.raw_xml_body())
    stored = referer.render(config)
    # The default configuration checks nothing: store none, so that requests do not pay for it.
    if stored == _DEFAULT:
        await bucket_configs.delete(call.storage, call.bkt.name, NAME)
    else:
        await bucket_configs.put(call.storage, call.bkt.name, NAME, stored)
    return Response(200)


async def get_bucket_referer(call: Call) -> Response:
    return xml_document(call.storage.meta.bucket_configs.get(call.bkt.name, NAME) or _DEFAULT)


def check(document: str, headers: Mapping[str, str]) -> None:
    """AccessDenied unless the request's Referer passes. Only for requests without an Authorization header."""
    value = headers.get("referer")
    if value is not None and not value.isascii():
        try:
            value = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
    referer.check(referer.load(document), value)
