"""S3 bucket policies (translated onto RAM's, see protocol/s3/policy.py) and presigned POST uploads."""

from __future__ import annotations

from ossbox.auth.authorizer import parse_new
from ossbox.auth.policy import MAX_BUCKET_POLICY_BYTES
from ossbox.core.errors import OSSError
from ossbox.http.s3.common import S3Call
from ossbox.http.s3.post import post_object
from ossbox.http.server import BodyTooLarge, Response
from ossbox.protocol.s3.policy import to_ram

__all__ = ["delete_bucket_policy", "get_bucket_policy", "post_object", "put_bucket_policy"]
_JSON = ("Content-Type", "application/json")


async def put_bucket_policy(call: S3Call) -> Response:
    try:
        body = await call.body().read_all(MAX_BUCKET_POLICY_BYTES)
    except BodyTooLarge as exc:
        raise OSSError(400, "PolicyTooLarge", "The policy document is too large.") from exc
    document = to_ram(body)
    try:
        parse_new(document, bucket_policy=True)
    except OSSError as exc:
        raise OSSError(400, "MalformedPolicy", exc.message) from exc
    await call.storage.set_bucket_policy(call.bkt.name, document)
    return Response(204)


async def get_bucket_policy(call: S3Call) -> Response:
    document = call.storage.meta.identities.bucket_policy(call.bkt.name)
    if document is None:
        raise OSSError(
            404, "NoSuchBucketPolicy", "The bucket policy does not exist", {"BucketName": call.bkt.name}
        )
    return Response(200, [_JSON], document.encode("utf-8"))


async def delete_bucket_policy(call: S3Call) -> Response:
    await call.storage.set_bucket_policy(call.bkt.name, None)
    return Response(204)
