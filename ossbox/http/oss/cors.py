"""CORS: PutBucketCors, GetBucketCors, DeleteBucketCors, the OPTIONS preflight, and the Access-Control-*
headers of actual requests that carry an Origin."""

from __future__ import annotations

from collections.abc import Mapping

from ossbox.core.errors import OSSError, no_such_bucket
from ossbox.http.oss.common import Call, xml_document
from ossbox.http.server import Response
from ossbox.protocol.configs import cors
from ossbox.service import bucket_configs

NAME = "cors"


def _forbidden(message: str) -> OSSError:
    return OSSError(403, "AccessForbidden", message)


async def put_bucket_cors(call: Call) -> Response:
    config = cors.parse(await call.raw_xml_body())
    await bucket_configs.put(call.storage, call.bkt.name, NAME, cors.render(config))
    return Response(200)


async def get_bucket_cors(call: Call) -> Response:
    document = call.storage.meta.bucket_configs.get(call.bkt.name, NAME)
    if document is None:
        raise OSSError(
            404,
            "NoSuchCORSConfiguration",
            "The CORS configuration does not exist.",
            {"BucketName": call.bkt.name},
        )
    return xml_document(document)


async def delete_bucket_cors(call: Call) -> Response:
    await bucket_configs.delete(call.storage, call.bkt.name, NAME)
    return Response(204)


def preflight(
    bucket: str | None, exists: bool, hot: Mapping[str, str] | None, headers: Mapping[str, str]
) -> Response:
    """An OPTIONS request: answered from the bucket's CORS rules alone (browsers send no credentials)."""
    origin = headers.get("origin")
    method = headers.get("access-control-request-method")
    if not origin:
        raise OSSError(400, "BadRequest", "Insufficient information. Origin request header needed.")
    if not method:
        raise OSSError(
            400,
            "BadRequest",
            "Insufficient information. Request Access-Control-Request-Method header needed.",
        )
    if bucket is None or not exists:
        raise no_such_bucket(bucket or "")
    document = hot.get(NAME) if hot else None
    if document is None:
        raise _forbidden("CORSResponse: CORS is not enabled for this bucket.")
    config = cors.load(document)
    wanted = cors.split_header_list(headers.get("access-control-request-headers", ""))
    rule = cors.match(config, origin, method, wanted)
    if rule is None:
        raise _forbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
            "Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are "
            "not whitelisted by the resource's CORS spec."
        )
    return Response(200, cors.response_headers(config, rule, origin, wanted), b"")


def actual_request_headers(document: str, origin: str, method: str) -> list[tuple[str, str]]:
    """CORS headers for a request with an Origin: those of the first matching rule, else none."""
    config = cors.load(document)
    rule = cors.match(config, origin, "GET" if method == "OPTIONS" else method, [])
    if rule is None:
        return [("Vary", "Origin")] if config.response_vary else []
    return cors.response_headers(config, rule, origin, None)
