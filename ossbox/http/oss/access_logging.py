"""Access logging: PutBucketLogging, GetBucketLogging, DeleteBucketLogging, and one line per request."""

from __future__ import annotations

import time

from ossbox.auth.principals import Principal
from ossbox.core.errors import OSSError
from ossbox.core.names import is_valid_bucket_name
from ossbox.http.oss.common import Call, xml_document
from ossbox.http.server import Request, Response
from ossbox.meta.sql_store import SqlTxn
from ossbox.meta.types import Bucket
from ossbox.protocol.configs import logging_status
from ossbox.protocol.request import OssRequest
from ossbox.service import bucket_configs
from ossbox.service.access_log import AccessLogger

NAME = "logging"


def _invalid_target(name: str) -> OSSError:
    return OSSError(
        400,
        "InvalidTargetBucketForLogging",
        "The target bucket for logging does not exist, or is not yours, or is in another region.",
        {"TargetBucket": name},
    )


async def put_bucket_logging(call: Call) -> Response:
    status = logging_status.parse(await call.raw_xml_body())
    source = call.bkt
    if status is not None and not is_valid_bucket_name(status.target_bucket):
        raise _invalid_target(status.target_bucket)

    def change(txn: SqlTxn, _current: str | None) -> tuple[str | None, None]:
        if status is None:
            return None, None
        target = txn.get_bucket(status.target_bucket)
        if target is None or target.owner_id != source.owner_id or target.region != source.region:
            raise _invalid_target(status.target_bucket)
        return logging_status.render(status), None

    await bucket_configs.update(call.storage, source.name, NAME, change)
    return Response(200)


async def get_bucket_logging(call: Call) -> Response:
    document = call.storage.meta.bucket_configs.get(call.bkt.name, NAME)
    return xml_document(document or logging_status.render(None))


async def delete_bucket_logging(call: Call) -> Response:
    await bucket_configs.delete(call.storage, call.bkt.name, NAME)
    return Response(204)


def record(
    logger: AccessLogger,
    document: str,
    http: Request,
    req: OssRequest | None,
    bucket: Bucket,
    principal: Principal | None,
    resp: Response,
    request_id: str,
    error_code: str,
    started: float,
    account_id: str,
) -> None:
    """Buffer the line of one served request (never raises)."""
    try:
        status = logging_status.load(document)
        sent = len(resp.body) if isinstance(resp.body, bytes) else (resp.content_length or 0)
        if resp.head or http.method == "HEAD":
            sent = 0
        length = http.headers.get("content-length")
        h = http.headers
        entry = logging_status.LogEntry(
            remote_ip=http.client,
            epoch_s=time.time(),
            request_line=f"{http.method} {http.raw_target.decode('latin-1')} HTTP/{http.http_version}",
            status=resp.status,
            sent_bytes=sent,
            request_ms=int((time.monotonic() - started) * 1000),
            referer=h.get("referer", ""),
            user_agent=h.get("user-agent", ""),
            host=h.get("host", ""),
            request_id=request_id,
            requester=_requester(principal, account_id),
            operation=req.route.op if req is not None else "",
            bucket=bucket.name,
            key=(req.key or "") if req is not None else "",
            object_size=int(length)
            if length and length.isdigit() and http.method in ("PUT", "POST")
            else None,
            error_code=error_code,
            request_length=int(length) if length and length.isdigit() else None,
            owner=account_id,
            storage_class=bucket.storage_class.lower(),
            access_key_id=principal.access_key_id if principal else "",
            bucket_arn=f"acs:oss:{bucket.region}:{account_id}:{bucket.name}",
        )
        logger.record(status, bucket.name, logging_status.format_line(entry))
    except Exception:  # a log line must never fail the request it describes
        import logging

        logging.getLogger("ossbox.access_log").exception("could not format an access log line")


def _requester(principal: Principal | None, account_id: str) -> str:
    if principal is None:
        return ""
    return account_id if principal.is_owner else principal.name or principal.access_key_id
