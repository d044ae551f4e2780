"""The table service's HTTP face: POST /{Api} with a protobuf body, Tablestore's headers, signed answers."""

from __future__ import annotations

import base64
import datetime
import hashlib
import logging
import uuid

from ossbox.core.errors import MetaUnavailable
from ossbox.http.server import BodyTooLarge, ClientDisconnected, Request, Response
from ossbox.tables import validate
from ossbox.tables.auth import Verified, Verifier, is_auth_error, sign_response
from ossbox.tables.errors import (
    TableError,
    auth_failed,
    body_too_large,
    internal_error,
    method_not_allowed,
    unavailable,
)
from ossbox.tables.service import TableService
from ossbox.tables.wire import pb

log = logging.getLogger("ossbox.tables")

# PutRow, UpdateRow and BatchWriteRow take up to 4 MB of row data; the protobuf around it adds a little.
MAX_BODY_BYTES = 4 * 1024 * 1024 + 64 * 1024


def _date(now: datetime.datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii")


class TableApp:
    def __init__(self, service: TableService, verifier: Verifier) -> None:
        self.service = service
        self.verifier = verifier

    async def __call__(self, http: Request) -> Response:
        request_id = uuid.uuid4().hex
        path = http.raw_path.decode("latin-1")
        verified: Verified | None = None
        try:
            if http.method != "POST":
                raise method_not_allowed()
            length = http.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                raise body_too_large()
            try:
                body = await http.body.read_all(MAX_BODY_BYTES)
            except BodyTooLarge:
                raise body_too_large() from None
            now = datetime.datetime.now(datetime.UTC)
            verified = self.verifier.verify(
                path, http.raw_query.decode("latin-1"), http.headers, _md5(body), now
            )
            if not validate.is_valid_instance(verified.instance):
                raise auth_failed("The instance is not found.")
            api = path.lstrip("/")
            status, answer = 200, await self.service.call(api, verified.instance, body, verified.caller)
        except TableError as exc:
            status, answer = exc.status, _error_body(exc)
            if is_auth_error(exc):
                verified = None  # the SDK does not check the signature of an OTSAuthFailed answer
        except ClientDisconnected:
            raise
        except MetaUnavailable:  # the database (PostgreSQL) is unreachable: the SDK retries a 503
            failure = unavailable()
            status, answer = failure.status, _error_body(failure)
        except Exception:
            log.exception("table request %s failed: %s", request_id, path[:200])
            failure = internal_error()
            status, answer = failure.status, _error_body(failure)
        return self._respond(path, status, answer, request_id, verified)

    @staticmethod
    def _respond(path: str, status: int, body: bytes, request_id: str, verified: Verified | None) -> Response:
        ots = {
            "x-ots-contentmd5": _md5(body),
            "x-ots-requestid": request_id,
            "x-ots-date": _date(datetime.datetime.now(datetime.UTC)),
            "x-ots-contenttype": "protocol buffer",
        }
        headers = list(ots.items())
        if verified is not None:
            headers.append(
                ("Authorization", sign_response(path, ots, verified.access_key_id, verified.signing_key))
            )
        headers.append(("Content-Type", "application/x-protobuf"))
        return Response(status, headers, body)


def _error_body(exc: TableError) -> bytes:
    return bytes(pb.Error(code=exc.code, message=exc.message).SerializeToString())
