"""The OSS application: parse, authenticate, authorize, dispatch, render. One error->response mapping."""

from __future__ import annotations

import logging

from ossbox.auth.authenticator import Authenticator
from ossbox.auth.authorizer import Authorizer, Grant, request_values
from ossbox.core.errors import OSSError, internal_error, no_such_bucket
from ossbox.core.names import is_valid_bucket_name
from ossbox.http import responses
from ossbox.http.oss import HANDLERS, Call
from ossbox.http.rpc import RpcApi, is_rpc_request
from ossbox.http.s3.app import S3Api, is_s3_request
from ossbox.http.server import ClientDisconnected, Request, Response
from ossbox.meta.types import Bucket
from ossbox.protocol import request as oss_request
from ossbox.protocol.request import Access, OssRequest
from ossbox.protocol.times import DateCache
from ossbox.service.storage import Storage

log = logging.getLogger("ossbox.app")


class OssApp:
    def __init__(
        self,
        storage: Storage,
        authenticator: Authenticator,
        authorizer: Authorizer,
        rpc: RpcApi,
        base_domains: tuple[str, ...],
        s3: S3Api | None = None,
        s3_domains: tuple[str, ...] = (),
    ) -> None:
        self.rpc = rpc
        self.s3 = s3
        self.s3_domains = s3_domains
        self.storage = storage
        self.auth = authenticator
        self.authorizer = authorizer
        self.base_domains = base_domains
        self._dates = DateCache()
        self.host_id = "ossbox"

    async def __call__(self, http: Request) -> Response:
        request_id = responses.new_request_id()
        head = http.method == "HEAD"
        if is_rpc_request(http):
            resp = await self.rpc(http, request_id)
            resp.headers += [("Date", self._dates.now()), ("x-acs-request-id", request_id)]
            return resp
        if self.s3 is not None and is_s3_request(http, self.s3_domains):
            resp = await self.s3(http, request_id)
            resp.headers += [("Server", "ossbox"), ("Date", self._dates.now())]
            return resp
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
        route = req.route
        if (
            principal is not None
            and principal.is_owner
            and (bucket is None or bucket.owner_id == principal.owner_id)
        ):
            grant = Grant.OWNER  # the common case, without building the policy context
        elif route.access is Access.EACH_OBJECT:
            grant = Grant.ACL  # the handler checks every object the request names
        else:
            values = request_values(http.client, req.headers, req.query)
            grant = self.authorizer.check(principal, route.access, route.action, bucket, req.key, values)
        owner_id = principal.owner_id if principal else (bucket.owner_id if bucket else "")
        call = Call(http, req, principal, bucket, self.storage, owner_id, grant, self.authorizer)
        return await HANDLERS[route.op](call)
