"""Alibaba Cloud's RPC-style API on the same port: STS (AssumeRole, GetCallerIdentity).

A request is an RPC call when it targets `/` and names an action (`Action=` in the query, as
aliyun-python-sdk-core sends it, or the `x-acs-action` header of alibabacloud_tea_openapi). Both of the SDKs'
signatures are verified (rpc_signing.py); answers are JSON in STS's shape, errors too
(`{"RequestId", "HostId", "Code", "Message"}`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from ossbox.auth.authenticator import ResolveCredential
from ossbox.auth.authorizer import request_values
from ossbox.auth.principals import Credential, Kind, Principal
from ossbox.auth.sts import AssumeRoleRequest, Sts, caller_arn, sts_error
from ossbox.core.errors import OSSError, internal_error
from ossbox.http.server import BodyTooLarge, ClientDisconnected, Request, Response
from ossbox.protocol import rpc_signing
from ossbox.protocol.request import parse_query, split_target

log = logging.getLogger("ossbox.rpc")
VERSION = "2015-04-01"
MAX_SKEW_S = 15 * 60
_MAX_BODY = 64 << 10
_JSON = ("Content-Type", "application/json;charset=utf-8")


def is_rpc_request(http: Request) -> bool:
    if http.raw_path not in (b"/", b""):
        return False
    if "x-acs-action" in http.headers:
        return True
    query = http.raw_query
    return query.startswith(b"Action=") or b"&Action=" in query


class _Nonces:
    """Signature nonces seen in the last MAX_SKEW_S seconds (per process): a replayed request is refused."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def fresh(self, nonce: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - MAX_SKEW_S:
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


class RpcApi:
    def __init__(self, sts: Sts, resolve: ResolveCredential, base_domains: tuple[str, ...]) -> None:
        self._sts = sts
        self._resolve = resolve
        self._base_domains = base_domains
        self._nonces = _Nonces()

    async def __call__(self, http: Request, request_id: str) -> Response:
        try:
            return await self._handle(http, request_id)
        except OSSError as exc:
            return _error(exc, request_id)
        except ClientDisconnected:
            raise
        except Exception:
            log.exception("RPC request %s failed", request_id)
            return _error(internal_error(), request_id)

    async def _handle(self, http: Request, request_id: str) -> Response:
        bucket, _ = split_target(http.raw_path, http.headers.get("host", ""), self._base_domains)
        if bucket is not None:
            raise sts_error(400, "InvalidParameter", "RPC calls are made to the endpoint, not to a bucket.")
        try:
            body = await http.body.read_all(_MAX_BODY)
        except BodyTooLarge as exc:
            raise sts_error(400, "InvalidParameter", "The request body is too large.") from exc
        _, query_pairs = parse_query(http.raw_query)
        params = list(query_pairs)
        if http.headers.get("content-type", "").startswith("application/x-www-form-urlencoded") and body:
            params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        named = dict(params)
        principal = self._authenticate(http, query_pairs, params, named, body)
        action = http.headers.get("x-acs-action") or named.get("Action", "")
        version = http.headers.get("x-acs-version") or named.get("Version", "")
        if version and version != VERSION:
            raise sts_error(400, "InvalidVersion", f"Specified parameter Version is not valid: {version}.")
        values = request_values(http.client, http.headers, {}, secure=http.secure)
        if action == "AssumeRole":
            result = await self._assume_role(principal, named, values)
        elif action == "GetCallerIdentity":
            result = self._caller_identity(principal)
        else:
            raise sts_error(
                404, "InvalidAction.NotFound", f"Specified api is not found: {action or '(none)'}."
            )
        return Response(200, [_JSON], json.dumps({"RequestId": request_id, **result}).encode())

    # -- authentication --------------------------------------------------------------------------------
    def _authenticate(
        self,
        http: Request,
        query_pairs: list[tuple[str, str]],
        params: list[tuple[str, str]],
        named: dict[str, str],
        body: bytes,
    ) -> Principal:
        auth = http.headers.get("authorization", "")
        if auth.startswith(rpc_signing.ACS3):
            return self._acs3(http, query_pairs, auth, body)
        if "Signature" in named:
            return self._v1(http, params, named)
        raise sts_error(
            400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
        )

    def _credential(self, access_key_id: str, token: str | None) -> Credential:
        try:
            return self._resolve(access_key_id, token)
        except OSSError as exc:
            if exc.code == "InvalidAccessKeyId":
                raise sts_error(
                    404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
                ) from exc
            raise

    def _check_nonce(self, nonce: str) -> None:
        if not nonce:
            raise sts_error(400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action.")
        if not self._nonces.fresh(nonce):
            raise sts_error(400, "SignatureNonceUsed", "The request signature nonce has been used.")

    def _v1(self, http: Request, params: list[tuple[str, str]], named: dict[str, str]) -> Principal:
        for name in ("AccessKeyId", "Timestamp", "SignatureMethod"):
            if not named.get(name):
                raise sts_error(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if named["SignatureMethod"] != "HMAC-SHA1":
            raise sts_error(400, "InvalidSignatureMethod", "SignatureMethod must be HMAC-SHA1.")
        _check_time(named["Timestamp"])
        cred = self._credential(named["AccessKeyId"], named.get("SecurityToken"))
        string_to_sign = rpc_signing.v1_string_to_sign(http.method, params)
        expected = rpc_signing.v1_signature(cred.secret, string_to_sign)
        if not hmac.compare_digest(expected, named["Signature"]):
            # As STS words it: aliyun-python-sdk-core compares the string after the colon with its own.
            raise _mismatch(f" server string to sign is:{string_to_sign}")
        self._check_nonce(named.get("SignatureNonce", ""))
        return cred.principal

    def _acs3(self, http: Request, query_pairs: list[tuple[str, str]], auth: str, body: bytes) -> Principal:
        fields = rpc_signing.parse_acs3_authorization(auth)
        access_key_id, signed, provided = (
            fields.get("Credential"),
            fields.get("SignedHeaders"),
            fields.get("Signature"),
        )
        if not access_key_id or not signed or not provided:
            raise sts_error(400, "IncompleteSignature", "The Authorization header is incomplete.")
        h = http.headers
        payload = h.get("x-acs-content-sha256", "")
        if not hmac.compare_digest(payload, hashlib.sha256(body).hexdigest()):
            raise sts_error(400, "InvalidParameter", "x-acs-content-sha256 does not match the request body.")
        _check_time(h.get("x-acs-date", ""))
        cred = self._credential(access_key_id, h.get("x-acs-security-token"))
        path = http.raw_path.decode("latin-1") or "/"
        canonical = rpc_signing.acs3_canonical_request(
            http.method, path, query_pairs, h, signed.split(";"), payload
        )
        if not hmac.compare_digest(rpc_signing.acs3_signature(cred.secret, canonical), provided):
            raise _mismatch()
        self._check_nonce(h.get("x-acs-signature-nonce", ""))
        return cred.principal

    # -- actions ---------------------------------------------------------------------------------------
    async def _assume_role(
        self, caller: Principal, p: dict[str, str], values: dict[str, str]
    ) -> dict[str, object]:
        duration = p.get("DurationSeconds")
        if duration is not None and not duration.isdigit():
            raise sts_error(400, "InvalidParameter.DurationSeconds", "DurationSeconds must be a number.")
        req = AssumeRoleRequest(
            role_arn=p.get("RoleArn", ""),
            session_name=p.get("RoleSessionName", ""),
            duration_s=int(duration) if duration else None,
            policy=p.get("Policy") or None,
        )
        issued = await self._sts.assume_role(caller, req, values)
        s = issued.session
        expiration = datetime.fromtimestamp(s.expires_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "AssumedRoleUser": {"Arn": issued.arn, "AssumedRoleId": issued.assumed_role_id},
            "Credentials": {
                "AccessKeyId": s.access_key_id,
                "AccessKeySecret": s.secret,
                "SecurityToken": issued.token,
                "Expiration": expiration,
            },
        }

    def _caller_identity(self, caller: Principal) -> dict[str, object]:
        account = self._sts.account_id
        kinds = {
            Kind.OWNER: "Account",
            Kind.USER: "RAMUser",
            Kind.SESSION: "AssumedRoleUser",
            Kind.SERVICE: "Service",
        }
        return {
            "AccountId": account,
            "Arn": caller_arn(caller, account),
            "IdentityType": kinds[caller.kind],
            "PrincipalId": caller.name or account,
            "UserId": caller.name or account,
        }


def _error(exc: OSSError, request_id: str) -> Response:
    body = {"RequestId": request_id, "HostId": "sts.ossbox", "Code": exc.code, "Message": exc.message}
    return Response(exc.status, [_JSON], json.dumps(body).encode())


def _mismatch(detail: str = "") -> OSSError:
    message = "Specified signature is not matched with our calculation." + detail
    return sts_error(400, "SignatureDoesNotMatch", message)


def _check_time(value: str) -> None:
    try:
        when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError as exc:
        raise sts_error(
            400, "InvalidTimeStamp.Format", "Specified time stamp is not in ISO8601 UTC form."
        ) from exc
    if abs(time.time() - when) > MAX_SKEW_S:
        raise sts_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
