"""The S3 application: parse, find the bucket, authenticate, authorize, dispatch, render S3's errors.

A request is S3's when it is signed with AWS Signature V4 (header or presigned), carries S3's own
x-amz-date / x-amz-content-sha256 headers, or is addressed to a host configured as S3-only
(`--s3-domain`). `is_s3_request` decides with a few dictionary look-ups, so OSS requests pay nothing.
"""

from __future__ import annotations

import logging

from ossbox.auth.authorizer import Authorizer, Grant, request_values
from ossbox.auth.s3 import S3Auth, S3Authenticator
from ossbox.core.errors import OSSError, internal_error, no_such_bucket
from ossbox.core.names import is_valid_bucket_name
from ossbox.http.oss import cors
from ossbox.http.s3 import buckets, configs, lifecycle, listing, multipart, objects, policies
from ossbox.http.s3.common import S3Call, S3Handler
from ossbox.http.s3.errors import error_response
from ossbox.http.server import ClientDisconnected, Request, Response
from ossbox.meta.types import Bucket
from ossbox.protocol.request import Access
from ossbox.protocol.s3 import request as s3_request
from ossbox.protocol.s3.request import S3Request
from ossbox.service.storage import Storage

log = logging.getLogger("ossbox.s3")

HANDLERS: dict[str, S3Handler] = {
    "ListBuckets": buckets.list_buckets,
    "CreateBucket": buckets.create_bucket,
    "DeleteBucket": buckets.delete_bucket,
    "HeadBucket": buckets.head_bucket,
    "GetBucketLocation": buckets.get_bucket_location,
    "GetBucketAcl": buckets.get_bucket_acl,
    "PutBucketAcl": buckets.put_bucket_acl,
    "GetBucketVersioning": buckets.get_bucket_versioning,
    "PutBucketVersioning": buckets.put_bucket_versioning,
    "GetBucketTagging": buckets.get_bucket_tagging,
    "PutBucketTagging": buckets.put_bucket_tagging,
    "DeleteBucketTagging": buckets.delete_bucket_tagging,
    "GetBucketPolicy": policies.get_bucket_policy,
    "PutBucketPolicy": policies.put_bucket_policy,
    "DeleteBucketPolicy": policies.delete_bucket_policy,
    "GetBucketCors": configs.get_bucket_cors,
    "PutBucketCors": configs.put_bucket_cors,
    "DeleteBucketCors": configs.delete_bucket_cors,
    "GetBucketEncryption": configs.get_bucket_encryption,
    "PutBucketEncryption": configs.put_bucket_encryption,
    "DeleteBucketEncryption": configs.delete_bucket_encryption,
    "GetBucketLifecycle": lifecycle.get_bucket_lifecycle,
    "PutBucketLifecycle": lifecycle.put_bucket_lifecycle,
    "DeleteBucketLifecycle": lifecycle.delete_bucket_lifecycle,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "ListObjectVersions": listing.list_object_versions,
    "ListMultipartUploads": multipart.list_uploads,
    "DeleteObjects": objects.delete_objects,
    "PostObject": policies.post_object,
    "GetObject": objects.get_object,
    "HeadObject": objects.head_object,
    "PutObject": objects.put_object,
    "DeleteObject": objects.delete_object,
    "GetObjectAcl": objects.get_object_acl,
    "PutObjectAcl": objects.put_object_acl,
    "GetObjectTagging": objects.get_object_tagging,
    "PutObjectTagging": objects.put_object_tagging,
    "DeleteObjectTagging": objects.delete_object_tagging,
    "CreateMultipartUpload": multipart.create_upload,
    "UploadPart": multipart.upload_part,
    "CompleteMultipartUpload": multipart.complete_upload,
    "AbortMultipartUpload": multipart.abort_upload,
    "ListParts": multipart.list_parts,
    "RestoreObject": objects.restore_object,
}


def is_s3_request(http: Request, s3_domains: tuple[str, ...]) -> bool:
    h = http.headers
    auth = h.get("authorization")
    if auth is not None:
        return auth.startswith("AWS4-")
    if "x-amz-content-sha256" in h or "x-amz-date" in h:
        return True
    query = http.raw_query
    if query and (b"X-Amz-Credential=" in query or b"X-Amz-Signature=" in query):
        return True
    if s3_domains:
        host = h.get("host", "").rsplit(":", 1)[0].lower()
        return any(host == d or host.endswith("." + d) for d in s3_domains)
    return False


def is_form_post(http: Request) -> bool:
    """An unsigned browser-form upload (PostObject), whose dialect only its form fields tell."""
    return (
        http.method == "POST"
        and not http.raw_query
        and "authorization" not in http.headers
        and http.headers.get("content-type", "").lower().startswith("multipart/form-data")
    )


class S3Api:
    def __init__(
        self,
        storage: Storage,
        authenticator: S3Authenticator,
        authorizer: Authorizer,
        domains: tuple[str, ...],
        region: str,
    ) -> None:
        self.storage = storage
        self.auth = authenticator
        self.authorizer = authorizer
        # S3-only domains first: a host equal to one is path style even if it sits under a base domain.
        self.domains = domains
        self.region = region

    async def __call__(self, http: Request, request_id: str) -> Response:
        head = http.method == "HEAD"
        try:
            resp = await self._handle(http)
        except OSSError as exc:
            resource = http.raw_path.decode("latin-1")
            resp = error_response(exc, request_id, resource, head)
        except ClientDisconnected:
            raise
        except Exception:
            log.exception(
                "S3 request %s failed: %s %s", request_id, http.method, http.raw_path[:200].decode("latin-1")
            )
            resp = error_response(internal_error(), request_id, http.raw_path.decode("latin-1"), head)
        origin = http.headers.get("origin")
        if origin and http.method != "OPTIONS":
            resp.headers += self._cors(http, origin)
        resp.headers += [("x-amz-request-id", request_id), ("x-amz-id-2", request_id)]
        return resp

    def _preflight(self, http: Request) -> Response:
        """A CORS preflight to an S3 URL (a presigned one, say): the bucket's rules answer, as for OSS."""
        name, _, _ = s3_request.split_target(http.raw_path, http.headers.get("host", ""), self.domains)
        bucket = self.storage.meta.get_bucket(name) if name and is_valid_bucket_name(name) else None
        hot = self.storage.meta.bucket_configs.hot(bucket.name) if bucket is not None else None
        return cors.preflight(name, bucket is not None, hot, http.headers)

    def _cors(self, http: Request, origin: str) -> list[tuple[str, str]]:
        """A browser's request: the bucket's CORS rules (set through OSS; the preflight is OSS's) apply."""
        try:
            bucket, _, _ = s3_request.split_target(http.raw_path, http.headers.get("host", ""), self.domains)
        except OSSError:
            return []
        hot = self.storage.meta.bucket_configs.hot(bucket) if bucket else None
        document = hot.get(cors.NAME) if hot is not None else None
        return cors.actual_request_headers(document, origin, http.method) if document is not None else []

    def _bucket_for(self, req: S3Request) -> Bucket | None:
        if req.bucket is None or req.route.op == "CreateBucket":
            return None
        if not is_valid_bucket_name(req.bucket):
            raise OSSError(
                400, "InvalidBucketName", "The specified bucket is not valid.", {"BucketName": req.bucket}
            )
        bucket = self.storage.meta.get_bucket(req.bucket)
        if bucket is None:
            raise no_such_bucket(req.bucket)
        return bucket

    async def _handle(self, http: Request) -> Response:
        if http.method == "OPTIONS":
            return self._preflight(http)
        req = s3_request.parse(http.method, http.raw_path, http.raw_query, http.headers, self.domains)
        bucket = self._bucket_for(req)
        auth = self.auth.authenticate(req) if req.route.op != "PostObject" else S3Auth(None)
        principal = auth.principal
        route = req.route
        if (
            principal is not None
            and principal.is_owner
            and (bucket is None or bucket.owner_id == principal.owner_id)
        ):
            grant = Grant.OWNER
        elif route.access is Access.EACH_OBJECT or route.op == "PostObject":
            grant = Grant.ACL  # the handler checks every object the request names (or the form's signer)
        else:
            values = request_values(http.client, req.headers, req.query, secure=http.secure)
            grant = self.authorizer.check(principal, route.access, route.action, bucket, req.key, values)
        call = S3Call(
            http, req, auth, bucket, self.storage, grant, self.authorizer, self.region, self.auth.resolve
        )
        return await HANDLERS[route.op](call)
