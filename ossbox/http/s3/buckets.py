"""S3 service and bucket operations."""

from __future__ import annotations

from ossbox.core.errors import OSSError, malformed_xml
from ossbox.core.names import validate_bucket_name
from ossbox.http.s3.common import (
    CANNED_ACLS,
    MAX_XML_BODY,
    S3Call,
    int_param,
    owner_xml,
    strip_namespace,
    xml,
)
from ossbox.http.s3.listing import decode_token, encode_token
from ossbox.http.s3.objects import acl_from_request, acl_xml
from ossbox.http.server import Response
from ossbox.protocol import xml as X
from ossbox.protocol.configs import tagging
from ossbox.protocol.times import iso8601
from ossbox.service import bucket_configs
from ossbox.service.versioning import STATUSES

_MAX_BUCKETS = 10000


async def list_buckets(call: S3Call) -> Response:
    assert call.principal is not None
    owner = call.principal.owner_id
    prefix = call.q.get("prefix", "")
    # max-buckets and continuation-token page the listing (the token is the last name of the page).
    limit = max(1, int_param(call.q, "max-buckets", _MAX_BUCKETS, _MAX_BUCKETS))
    token = call.q.get("continuation-token")
    after = decode_token(token) if token else ""
    found = call.storage.meta.list_buckets(owner, prefix, after, limit)
    page = found[:limit]
    items = "".join(
        "<Bucket>"
        + X.els([("Name", b.name), ("CreationDate", iso8601(b.created_ms)), ("BucketRegion", b.region)])
        + "</Bucket>"
        for b in page
    )
    inner = owner_xml(owner) + f"<Buckets>{items}</Buckets>"
    if len(found) > limit:
        inner += X.el("ContinuationToken", encode_token(page[-1].name))
    if prefix:
        inner += X.el("Prefix", prefix)
    return xml("ListAllMyBucketsResult", inner)


async def create_bucket(call: S3Call) -> Response:
    name = call.req.bucket
    assert name is not None and call.principal is not None
    validate_bucket_name(name)
    acl = "private"
    if "x-amz-acl" in call.h:
        acl = call.h["x-amz-acl"]
        if acl not in CANNED_ACLS:
            raise OSSError(501, "NotImplemented", f"The canned ACL {acl!r} is not supported by ossbox.")
    doc = await call.xml_body("CreateBucketConfiguration", required=False)
    if doc is not None:
        constraint = X.child_text(doc, "LocationConstraint")
        if constraint and constraint not in (call.region, f"oss-{call.region}", "us-east-1"):
            raise OSSError(
                400,
                "IllegalLocationConstraintException",
                f"The {constraint} location constraint is incompatible for the region specific endpoint "
                "this request was sent to.",
            )
    existing = call.storage.meta.get_bucket(name)
    if existing is not None:
        if existing.owner_id == call.principal.owner_id:
            raise OSSError(
                409,
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                {"BucketName": name},
            )
        raise OSSError(
            409,
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket namespace is shared by all users of the "
            "system. Please select a different name and try again.",
            {"BucketName": name},
        )
    await call.storage.create_bucket(call.principal.owner_id, name, acl, "Standard")
    return Response(200, [("Location", f"/{name}")])


async def delete_bucket(call: S3Call) -> Response:
    # S3 deletes a bucket whose only contents are multipart uploads in progress (aborting them); OSS does not.
    await call.storage.delete_bucket(call.bkt.name, abort_uploads=True)
    return Response(204)


async def head_bucket(call: S3Call) -> Response:
    headers = [("x-amz-bucket-region", call.bkt.region), ("x-amz-access-point-alias", "false")]
    return Response(200, headers, b"", content_length=0, head=True)


async def get_bucket_location(call: S3Call) -> Response:
    return xml("LocationConstraint", X.esc(call.bkt.region))


async def get_bucket_acl(call: S3Call) -> Response:
    return xml("AccessControlPolicy", acl_xml(call.bkt.owner_id, call.bkt.acl))


async def put_bucket_acl(call: S3Call) -> Response:
    acl = await acl_from_request(call)
    await call.storage.set_bucket_acl(call.bkt.name, acl)
    return Response(200)


async def get_bucket_versioning(call: S3Call) -> Response:
    status = call.bkt.versioning
    return xml("VersioningConfiguration", X.el("Status", status) if status else "")


async def put_bucket_versioning(call: S3Call) -> Response:
    doc = await call.xml_body("VersioningConfiguration")
    assert doc is not None
    if (X.child_text(doc, "MfaDelete") or "Disabled") != "Disabled":
        raise OSSError(501, "NotImplemented", "MFA delete is not implemented by ossbox.")
    status = X.child_text(doc, "Status")
    if status not in STATUSES:
        raise malformed_xml("The versioning Status must be Enabled or Suspended.")
    await call.storage.set_bucket_versioning(call.bkt.name, status)
    return Response(200)


# -- bucket tagging: the same stored tag set as the OSS dialect's ------------------------------------------
_TAGGING = "tagging"


async def put_bucket_tagging(call: S3Call) -> Response:
    body = await call.body().read_all(MAX_XML_BODY)
    tags = tagging.parse(strip_namespace(body), tagging.BUCKET_TAGS)
    await bucket_configs.put(call.storage, call.bkt.name, _TAGGING, tagging.render(tags))
    return Response(204)


async def get_bucket_tagging(call: S3Call) -> Response:
    document = call.storage.meta.bucket_configs.get(call.bkt.name, _TAGGING)
    tags = tagging.load(document) if document else ()
    if not tags:
        raise OSSError(404, "NoSuchTagSet", "The TagSet does not exist", {"BucketName": call.bkt.name})
    return xml("Tagging", tagging.tag_set(tags))


async def delete_bucket_tagging(call: S3Call) -> Response:
    await bucket_configs.delete(call.storage, call.bkt.name, _TAGGING)
    return Response(204)
