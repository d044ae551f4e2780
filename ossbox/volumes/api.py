"""The project service's HTTP API, independent of any web framework (the server wires it in).

Requests carry `Authorization: ODPS <AccessKeyId>:<signature>` (signing.py); bodies and answers are JSON.

    GET  /api/projects                          projects the caller may see
    POST /api/projects                          {"name", "warehouse", "role_arn"}: account owner only
    POST /api/projects/<p>/vfs                  {"verb": ls|stat|du|rm|mkdir|touchz|mv|cp|presign|create|rmv}
    POST /api/projects/<p>/sql                  {"statement", "settings"}: one statement
    POST /api/projects/<p>/instances            {"kind": "job"}: may the caller run a job here?
    POST /api/projects/<p>/vector-search        Proxima CE's flags as a JSON object
    GET  /api/projects/<p>/whoami

Errors answer {"Code", "Message"[, "Line", "Column"]} with the matching HTTP status.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ossbox.volumes import signing
from ossbox.volumes.errors import VolumeError, not_installed
from ossbox.volumes.grants import Caller, owner_principal, user_principal
from ossbox.volumes.service import ProjectService

log = logging.getLogger("ossbox.volumes")
PREFIX = "/api/"
MAX_BODY = 4 << 20


@dataclass(frozen=True)
class KeyInfo:
    """An access key the server knows: its secret and whose it is (None: the account owner)."""

    secret: str
    user_name: str | None


@dataclass
class ApiRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class ApiResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def access_key_of(headers: dict[str, str]) -> str | None:
    parsed = signing.parse_authorization(headers.get("authorization", ""))
    return parsed[0] if parsed else None


class ProjectApi:
    def __init__(self, service: ProjectService, clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self._clock = clock

    def handle(self, req: ApiRequest, key: KeyInfo | None) -> ApiResponse:
        request_id = uuid.uuid4().hex
        try:
            caller = self._authenticate(req, key)
            status, answer = 200, self._route(req, caller)
        except VolumeError as exc:
            status, answer = exc.status, exc.to_json()
        except Exception:
            log.exception("project API request %s failed: %s %s", request_id, req.method, req.path[:200])
            status, answer = (
                500,
                {"Code": "InternalError", "Message": f"Internal error (request {request_id})."},
            )
        body = json.dumps(answer, default=str).encode()
        return ApiResponse(
            status, body, [("Content-Type", "application/json"), ("x-odps-request-id", request_id)]
        )

    def _authenticate(self, req: ApiRequest, key: KeyInfo | None) -> Caller:
        parsed = signing.parse_authorization(req.headers.get("authorization", ""))
        if parsed is None:
            raise VolumeError(
                "Unauthorized", "The request is not signed (Authorization: ODPS id:signature).", 401
            )
        if key is None:
            raise VolumeError("InvalidAccessKeyId", "The access key id does not exist.", 401)
        sent = signing.parse_http_date(req.headers.get("date", ""))
        if sent is None or abs(self._clock() - sent) > signing.MAX_SKEW_S:
            raise VolumeError("RequestTimeTooSkewed", "The Date header is missing or too far from now.", 403)
        if req.body and not hmac.compare_digest(
            signing.content_md5(req.body), req.headers.get("content-md5", "")
        ):
            raise VolumeError("InvalidDigest", "Content-MD5 does not match the body.", 400)
        expected = signing.signature(
            key.secret, signing.string_to_sign(req.method, req.path, req.query, req.headers)
        )
        if not hmac.compare_digest(expected, parsed[1]):
            raise VolumeError("SignatureDoesNotMatch", "The request signature does not match.", 403)
        account = self.service.account_id
        if key.user_name is None:
            return Caller(owner_principal(account), True, None)
        return Caller(user_principal(account, key.user_name), False, key.user_name)

    def _route(self, req: ApiRequest, caller: Caller) -> dict[str, Any]:
        parts = req.path[len(PREFIX) :].strip("/").split("/")
        if parts[0] != "projects":
            raise VolumeError("NoSuchApi", f"Unknown API path {req.path!r}.", 404)
        svc = self.service
        if len(parts) == 1:
            if req.method == "GET":
                return {"projects": [_project_json(p) for p in svc.list_projects(caller)]}
            if req.method == "POST":
                body = _json(req.body)
                project = svc.create_project(
                    caller,
                    str(body.get("name", "")),
                    str(body.get("warehouse", "")),
                    str(body.get("role_arn", "")),
                )
                return _project_json(project)
        elif len(parts) == 3:
            name, action = parts[1].lower(), parts[2]
            if action == "whoami" and req.method == "GET":
                return svc.whoami(caller, name)
            if req.method == "POST":
                body = _json(req.body)
                if action == "vfs":
                    return svc.vfs(caller, name, body)
                if action == "sql":
                    settings = body.get("settings") or {}
                    if not isinstance(settings, dict):
                        raise VolumeError("InvalidArgument", "settings must be an object.")
                    return svc.sql(
                        caller,
                        name,
                        str(body.get("statement", "")),
                        {str(k): str(v) for k, v in settings.items()},
                    )
                if action == "instances":
                    svc.require_instance(caller, name)
                    return {"instance": uuid.uuid4().hex}
                if action == "vector-search":
                    try:
                        from ossbox.volumes.vector import run_vector_search
                    except ImportError as exc:
                        raise not_installed(f"vector search ({exc.name} is missing)") from None

                    return run_vector_search(svc, caller, name, body)
        raise VolumeError("NoSuchApi", f"Unknown API call {req.method} {req.path!r}.", 404)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise VolumeError("InvalidArgument", f"The body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise VolumeError("InvalidArgument", "The body must be a JSON object.")
    return value


def _project_json(p: Any) -> dict[str, Any]:
    return {"name": p.name, "owner": p.owner, "warehouse": p.warehouse, "role_arn": p.role_arn}
