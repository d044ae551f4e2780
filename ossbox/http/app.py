"""The OSS application: parse, authenticate, authorize, dispatch, render. One error->response mapping."""

from __future__ import annotations

import logging

from ossbox.auth.authenticator import Authenticator, Principal
from ossbox.core.errors import OSSError, access_denied, internal_error, no_such_bucket
from ossbox.core.names import is_valid_bucket_name
from ossbox.http import responses
from ossbox.http.oss import HANDLERS, Call
from ossbox.http.server import ClientDisconnected, Request, Response
from ossbox.meta.types import Bucket
from ossbox.protocol import request as oss_request
from ossbox.protocol.request import Access, OssRequest
from ossbox.protocol.times import DateCache
from ossbox.service.storage import Storage

log = logging.getLogger("ossbox.app")

_PUBLIC_READ = ("public-read", "public-read-write")


def authorize(access: Access, principal: Principal | None, bucket: Bucket | None, method: str) -> None:
    """Owners may do everything on their buckets; anonymous callers only what the bucket ACL allows.

    Object ACLs are checked by the object handlers, which load the object anyway.
    """
    if principal is not None:
        if bucket is not None and bucket.owner_id != principal.owner_id:
            raise access_denied("You have no right to access this bucket.")
        return
    if access in (Access.SERVICE, Access.CREATE_BUCKET, Access.BUCKET_OWNER):
        raise access_denied("Anonymous access is forbidden for this operation.")
    assert bucket is not None
    if access in (Access.BUCKET_READ, Access.OBJECT_READ):
        if access is Access.BUCKET_READ and bucket.acl not in _PUBLIC_READ:
            raise access_denied("You have no right to access this bucket because of bucket acl.")
        return
    if access is Access.OBJECT_WRITE and bucket.acl != "public-read-write":
        raise access_denied("You have no right to access this object because of bucket acl.")


class OssApp:
    def __init__(self, storage: Storage, authenticator: Authenticator, base_domains: tuple[str, ...]) -> None:
        self.storage = storage
        self.auth = authenticator
        self.base_domains = base_domains
        self._dates = DateCache()
        self.host_id = "ossbox"

    async def __call__(self, http: Request) -> Response:
        request_id = responses.new_request_id()
        head = http.method == "HEAD"
        try:
            resp = await self._handle(http)
        except OSSError as exc:
            resp = responses.error(exc, request_id, self.host_id, head)
        except ClientDisconnected:
            raise
        except Exception:
            log.exception("request %s failed: %s %s", request_id, http.method, http.raw_path[:200])
            resp = responses.error(internal_error(), request_id, self.host_id, head)
        resp.headers += [
            ("Server", "AliyunOSS"),
            ("Date", self._dates.now()),
            ("x-oss-request-id", request_id),
        ]
        return resp

    def _bucket_for(self, req: OssRequest) -> Bucket | None:
        if req.bucket is None or req.route.op == "PutBucket":
            return None
        if not is_valid_bucket_name(req.bucket):
            raise OSSError(
                400, "InvalidBucketName", "The specified bucket is not valid.", {"BucketName": req.bucket}
            )
        bucket = self.storage.meta.get_bucket(req.bucket)
        if bucket is None:
            # OSS answers NoSuchBucket before checking the signature; SDKs rely on it.
            raise no_such_bucket(req.bucket)
        return bucket

    async def _handle(self, http: Request) -> Response:
        req = oss_request.parse(http.method, http.raw_path, http.raw_query, http.headers, self.base_domains)
        bucket = self._bucket_for(req)
        principal = self.auth.authenticate(req)
        authorize(req.route.access, principal, bucket, req.method)
        owner_id = principal.owner_id if principal else (bucket.owner_id if bucket else "")
        call = Call(http, req, principal, bucket, self.storage, owner_id)
        return await HANDLERS[req.route.op](call)
