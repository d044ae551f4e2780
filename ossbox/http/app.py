"""The OSS application: parse, authenticate, authorize, dispatch, render. One error->response mapping."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from ossbox.auth.authenticator import Authenticator
from ossbox.auth.authorizer import Authorizer, Grant, request_values
from ossbox.auth.principals import Principal
from ossbox.core.errors import OSSError, internal_error, no_such_bucket
from ossbox.core.names import is_valid_bucket_name
from ossbox.http import responses, traffic
from ossbox.http.oss import HANDLERS, Call, access_logging, cors, referer, website
from ossbox.http.oss.common import CallExtras
from ossbox.http.rpc import RpcApi, is_rpc_request
from ossbox.http.s3.app import S3Api, is_form_post, is_s3_request
from ossbox.http.s3.post import is_s3_form
from ossbox.http.server import ClientDisconnected, Request, Response
from ossbox.meta.types import Bucket
from ossbox.protocol import request as oss_request
from ossbox.protocol.actions import on_a_version
from ossbox.protocol.request import Access, OssRequest
from ossbox.protocol.times import DateCache
from ossbox.service.access_log import AccessLogger
from ossbox.service.callbacks import PUBLIC_KEY_PATH
from ossbox.service.storage import Storage

_CALLBACK_KEY_PATH = PUBLIC_KEY_PATH.encode()
log = logging.getLogger("ossbox.app")


class OssApp:
    def __init__(
        self,
        storage: Storage,
        authenticator: Authenticator,
        authorizer: Authorizer,
        rpc: RpcApi,
        base_domains: tuple[str, ...],
        access_logger: AccessLogger | None = None,
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
        self.configs = storage.meta.bucket_configs
        self.access_logger = access_logger
        self._extras = CallExtras(authenticator)

    async def __call__(self, http: Request) -> Response:
        request_id = responses.new_request_id()
        head = http.method == "HEAD"
        if http.method == "GET" and http.raw_path == _CALLBACK_KEY_PATH:
            # Anonymous, as OSS's: upload callbacks name this URL for the application to check signatures.
            pem = self.storage.callback_signer().public_pem
            return Response(200, [("Content-Type", "application/x-pem-file")], pem)
        if is_rpc_request(http):
            resp = await self.rpc(http, request_id)
            resp.headers += [("Date", self._dates.now()), ("x-acs-request-id", request_id)]
            return resp
        if self.s3 is not None and (
            is_s3_request(http, self.s3_domains) or (is_form_post(http) and await is_s3_form(http.body))
        ):
            resp = await self.s3(http, request_id)
            resp.headers += [("Server", "ossbox"), ("Date", self._dates.now())]
            return resp
        seen = _Seen()
        error_code = ""
        try:
            resp = await self._handle(http, seen)
        except OSSError as exc:
            error_code = exc.code
            resp = responses.error(exc, request_id, self.host_id, head)
        except ClientDisconnected:
            raise
        except Exception:
            log.exception(
                "request %s failed: %s %s", request_id, http.method, http.raw_path[:200].decode("latin-1")
            )
            error_code = "InternalError"
            resp = responses.error(internal_error(), request_id, self.host_id, head)
        hot = seen.hot
        if hot is not None:
            self._after(http, seen, hot, resp, request_id, error_code)
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

    def _after(
        self, http: Request, seen: _Seen, hot: Mapping[str, str], resp: Response, request_id: str, error: str
    ) -> None:
        """What a bucket's configurations add to a served request: CORS headers, its access log line."""
        origin = http.headers.get("origin")
        document = hot.get(cors.NAME)
        if origin and document is not None and seen.req is not None and seen.req.route.op != "Options":
            resp.headers += cors.actual_request_headers(document, origin, http.method)
        document = hot.get(access_logging.NAME)
        if document is not None and self.access_logger is not None and seen.bucket is not None:
            access_logging.record(
                self.access_logger,
                document,
                http,
                seen.req,
                seen.bucket,
                seen.principal,
                resp,
                request_id,
                error,
                seen.started,
                self.authorizer.account_id,
            )

    async def _handle(self, http: Request, seen: _Seen) -> Response:
        req = oss_request.parse(
            http.method,
            http.raw_path,
            http.raw_query,
            http.headers,
            self.base_domains,
            self.configs.cname_bucket,
        )
        seen.req = req
        if req.route.op == "Options":
            return self._preflight(req, seen)
        bucket = self._bucket_for(req)
        hot = None
        if bucket is not None:
            seen.bucket = bucket
            hot = seen.hot = self.configs.hot(bucket.name)
        principal = self.auth.authenticate(req)
        seen.principal = principal
        if hot is not None:
            req = self._apply_configs(req, hot, principal)
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
            values = request_values(http.client, req.headers, req.query, secure=http.secure)
            action = on_a_version(route.action) if "versionId" in req.query else route.action
            grant = self.authorizer.check(principal, route.access, action, bucket, req.key, values)
        owner_id = principal.owner_id if principal else (bucket.owner_id if bucket else "")
        rate = None
        if route.op in traffic.UPLOADS or route.op in traffic.DOWNLOADS:
            rate = traffic.requested(req.headers, req.query)
            if rate is not None and route.op in traffic.UPLOADS:
                http.body.limit_rate(traffic.TokenBucket(rate))
        call = Call(
            http, req, principal, bucket, self.storage, owner_id, grant, self.authorizer, self._extras
        )
        handler = HANDLERS[route.op]
        if hot is not None and website.NAME in hot and route.op in ("GetObject", "HeadObject"):
            anonymous = principal is None and "authorization" not in req.headers
            resp = await website.serve(call, hot[website.NAME], handler, anonymous)
        else:
            resp = await handler(call)
        if rate is not None and route.op in traffic.DOWNLOADS:
            resp = traffic.pace_response(resp, rate)
        return resp

    def _apply_configs(
        self, req: OssRequest, hot: Mapping[str, str], principal: Principal | None
    ) -> OssRequest:
        """Referer checks (anonymous and presigned requests) and the website root, before authorization."""
        if "authorization" not in req.headers:
            document = hot.get(referer.NAME)
            if document is not None:
                referer.check(document, req.headers)
            document = hot.get(website.NAME)
            if document is not None and principal is None:
                return website.root_request(req, document) or req
        return req

    def _preflight(self, req: OssRequest, seen: _Seen) -> Response:
        bucket = None
        if req.bucket is not None and is_valid_bucket_name(req.bucket):
            bucket = self.storage.meta.get_bucket(req.bucket)
        hot = None
        if bucket is not None:
            seen.bucket = bucket
            hot = seen.hot = self.configs.hot(bucket.name)
        return cors.preflight(req.bucket, bucket is not None, hot, req.headers)


class _Seen:
    """What the request turned out to address, for the steps after the handler (CORS, access log)."""

    __slots__ = ("bucket", "hot", "principal", "req", "started")

    def __init__(self) -> None:
        self.req: OssRequest | None = None
        self.bucket: Bucket | None = None
        self.hot: Mapping[str, str] | None = None
        self.principal: Principal | None = None
        self.started = time.monotonic()
