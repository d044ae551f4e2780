"""Bucket policies: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy (JSON documents, RAM's language)."""

from __future__ import annotations

from ossbox.auth.authorizer import parse_new
from ossbox.auth.policy import MAX_BUCKET_POLICY_BYTES
from ossbox.core.errors import OSSError
from ossbox.http.oss.common import Call
from ossbox.http.server import BodyTooLarge, Response

_JSON = ("Content-Type", "application/json")


def _no_policy(bucket: str) -> OSSError:
    return OSSError(404, "NoSuchBucketPolicy", "The bucket policy does not exist.", {"BucketName": bucket})


async def put_bucket_policy(call: Call) -> Response:
    try:
        body = await call.http.body.read_all(MAX_BUCKET_POLICY_BYTES)
    except BodyTooLarge as exc:
        raise OSSError(400, "InvalidPolicyDocument", "The policy document is too large.") from exc
    try:
        parse_new(body, bucket_policy=True)
    except OSSError as exc:
        raise OSSError(400, "InvalidPolicyDocument", f"Invalid Policy: {exc.message}") from exc
    await call.storage.set_bucket_policy(call.bkt.name, body.decode("utf-8"))
    return Response(200)


async def get_bucket_policy(call: Call) -> Response:
    document = call.storage.meta.identities.bucket_policy(call.bkt.name)
    if document is None:
        raise _no_policy(call.bkt.name)
    return Response(200, [_JSON], document.encode("utf-8"))


async def delete_bucket_policy(call: Call) -> Response:
    await call.storage.set_bucket_policy(call.bkt.name, None)
    return Response(204)
