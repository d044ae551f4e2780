"""Browser-form uploads (S3 PostObject, what boto3's generate_presigned_post prepares).

The multipart/form-data body is read field by field; the fields before `file` are small and kept, the
file is streamed into the object as it arrives. The form's policy (expiration and conditions) and its
SigV4 signature are checked before a byte of the file is stored; the content-length-range condition is
checked when the file has been received, before the object is committed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from ossbox.auth.principals import Principal
from ossbox.auth.s3 import S3Auth
from ossbox.core.errors import OSSError, access_denied, invalid_argument
from ossbox.core.names import validate_object_key
from ossbox.http.s3.common import CANNED_ACLS, S3Call, encode_tags, etag, xml
from ossbox.http.server import Response
from ossbox.protocol import xml as X
from ossbox.protocol.request import Access
from ossbox.protocol.s3 import sigv4
from ossbox.service.storage import WriteAttrs

_MAX_FIELDS = 20 << 10
_IGNORED_IN_POLICY = ("x-amz-signature", "file", "policy")
_STORED_FIELDS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
}


def _bad_form(message: str) -> OSSError:
    return OSSError(
        400,
        "MalformedPOSTRequest",
        f"The body of your POST request is not well-formed multipart/form-data: {message}",
    )


class _FormReader:
    """Reads multipart/form-data from a stream of chunks."""

    def __init__(self, read_chunk: Callable[[], Awaitable[bytes]], boundary: bytes) -> None:
        self._read = read_chunk
        self._buf = bytearray()
        self._eof = False
        self._delim = b"\r\n--" + boundary
        self._first = b"--" + boundary

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._read()
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        if len(self._buf) > _MAX_FIELDS and self._in_fields:
            raise _bad_form("the form fields are too large")
        return True

    _in_fields = True

    async def _until(self, marker: bytes) -> int:
        while (i := self._buf.find(marker)) < 0:
            if not await self._fill():
                raise _bad_form("the body ended early")
        return i

    async def start(self) -> None:
        i = await self._until(self._first)
        del self._buf[: i + len(self._first)]

    async def next_part(self) -> tuple[dict[str, str], str] | None:
        """Headers of the next part (lower-cased names) and its field name; None after the last part."""
        while len(self._buf) < 2:
            if not await self._fill():
                raise _bad_form("the body ended early")
        if self._buf[:2] == b"--":
            return None
        end = await self._until(b"\r\n\r\n")
        raw = bytes(self._buf[:end]).decode("utf-8", "replace")
        del self._buf[: end + 4]
        headers = {}
        for line in raw.split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = {}
        for piece in disposition.split(";")[1:]:
            k, _, v = piece.strip().partition("=")
            params[k.strip().lower()] = v.strip().strip('"')
        if "name" not in params:
            raise _bad_form("a part has no name")
        headers["filename"] = params.get("filename", "")
        return headers, params["name"]

    async def value(self) -> str:
        end = await self._until(self._delim)
        value = bytes(self._buf[:end]).decode("utf-8")
        del self._buf[: end + len(self._delim)]
        return value

    async def file_chunk(self) -> bytes:
        """The next piece of the file part; b'' when it has ended."""
        self._in_fields = False
        keep = len(self._delim)
        while True:
            i = self._buf.find(self._delim)
            if i >= 0:
                out = bytes(self._buf[:i])
                del self._buf[: i + keep]
                self._delim = b""  # done: the next call returns b''
                return out
            if not self._delim:
                return b""
            if len(self._buf) > keep:
                out = bytes(self._buf[: len(self._buf) - keep])
                del self._buf[: len(self._buf) - keep]
                return out
            if not await self._fill():
                raise _bad_form("the file part has no closing boundary")


class _SizeRange:
    """content-length-range, checked when the whole file has arrived (a BodyDigest)."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high, self.size = low, high, 0

    def update(self, data: bytes) -> None:
        self.size += len(data)

    def finish(self) -> str:
        if self.size > self.high:
            raise OSSError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        if self.size < self.low:
            raise OSSError(
                400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
            )
        return ""


def _policy_failed(what: str) -> OSSError:
    return access_denied(f"Invalid according to Policy: Policy Condition failed: {what}")


def _check_policy(policy: dict[str, object], fields: dict[str, str]) -> tuple[int, int]:
    """Every condition must hold and every field be covered; returns the content-length-range."""
    expiration = policy.get("expiration")
    if not isinstance(expiration, str):
        raise access_denied("Invalid Policy: Policy missing expiration.")
    try:
        expires = datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise access_denied("Invalid Policy: Invalid 'expiration' value.") from exc
    if expires < time.time():
        raise access_denied("Invalid according to Policy: Policy expired.")
    conditions = policy.get("conditions")
    if not isinstance(conditions, list):
        raise access_denied("Invalid Policy: Policy missing conditions.")
    covered = set()
    size_range = (0, 5 << 30)
    for cond in conditions:
        if isinstance(cond, dict):
            for name, wanted in cond.items():
                name = name.lower()
                covered.add(name)
                if fields.get(name) != wanted:
                    raise _policy_failed(f'["eq", "${name}", "{wanted}"]')
        elif isinstance(cond, list) and len(cond) == 3:
            op = str(cond[0]).lower()
            if op == "content-length-range":
                size_range = (int(cond[1]), int(cond[2]))
                continue
            name = str(cond[1]).lower().removeprefix("$")
            covered.add(name)
            actual = fields.get(name, "")
            if op == "eq" and actual != cond[2]:
                raise _policy_failed(f'["eq", "${name}", "{cond[2]}"]')
            if op == "starts-with" and not actual.startswith(str(cond[2])):
                raise _policy_failed(f'["starts-with", "${name}", "{cond[2]}"]')
            if op not in ("eq", "starts-with"):
                raise access_denied(f"Invalid Policy: Invalid condition {op!r}.")
        else:
            raise access_denied("Invalid Policy: Invalid Simple-Condition.")
    for name in fields:
        if name not in covered and name not in _IGNORED_IN_POLICY and not name.startswith("x-ignore-"):
            if name in ("bucket",):
                continue
            raise access_denied(f"Invalid according to Policy: Extra input fields: {name}")
    return size_range


def _authenticate(call: S3Call, fields: dict[str, str]) -> tuple[Principal | None, tuple[int, int]]:
    if "x-amz-signature" not in fields:
        if "policy" in fields:
            raise access_denied("The form has a policy but no x-amz-signature.")
        return None, (0, 5 << 30)
    if fields.get("x-amz-algorithm") != sigv4.ALGORITHM:
        raise invalid_argument("x-amz-algorithm must be AWS4-HMAC-SHA256.", "x-amz-algorithm")
    policy_b64 = fields.get("policy", "")
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise invalid_argument("The policy is not base64-encoded JSON.", "policy") from exc
    if not isinstance(policy, dict):
        raise invalid_argument("The policy must be a JSON object.", "policy")
    credential = fields.get("x-amz-credential", "")
    parts = credential.split("/")
    if len(parts) != 5:
        raise invalid_argument("x-amz-credential is malformed.", "x-amz-credential")
    access_key_id, date, region = parts[0], parts[1], parts[2]
    token = fields.get("x-amz-security-token")
    cred = call.resolve(access_key_id, token)
    key = sigv4.signing_key(cred.secret, date, region)
    if not hmac.compare_digest(sigv4.signature(key, policy_b64), fields["x-amz-signature"]):
        raise OSSError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            {"AWSAccessKeyId": access_key_id},
        )
    size_range = _check_policy(policy, fields)
    return cred.principal, size_range


async def post_object(call: S3Call) -> Response:
    ctype = call.h.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise OSSError(
            412, "PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data"
        )
    boundary = ""
    for piece in ctype.split(";")[1:]:
        k, _, v = piece.strip().partition("=")
        if k.lower() == "boundary":
            boundary = v.strip('"')
    if not boundary:
        raise _bad_form("no boundary in Content-Type")
    form = _FormReader(call.http.body.read_chunk, boundary.encode("latin-1"))
    await form.start()
    fields: dict[str, str] = {"bucket": call.bkt.name}
    file_type = ""
    filename = ""
    while (part := await form.next_part()) is not None:
        headers, name = part
        if name.lower() == "file":
            file_type, filename = headers.get("content-type", ""), headers["filename"]
            break
        fields[name.lower()] = await form.value()
    else:
        raise invalid_argument("POST requires exactly one file upload per request.", "file")
    if "key" not in fields:
        raise invalid_argument("Bucket POST must contain a field named 'key'.", "key")
    key = fields["key"].replace("${filename}", filename)
    validate_object_key(key)
    principal, (low, high) = _authenticate(call, fields)
    call.auth = S3Auth(principal)
    call.authorize(Access.OBJECT_WRITE, "oss:PutObject", call.bkt, key)
    acl = fields.get("acl", "default")
    if acl not in (*CANNED_ACLS, "default"):
        raise OSSError(501, "NotImplemented", f"The canned ACL {acl!r} is not supported by ossbox.")
    tagging = None
    if "tagging" in fields:
        doc = X.parse(fields["tagging"].encode(), "Tagging")
        tagging = encode_tags(
            [(X.child_text(t, "Key") or "", X.child_text(t, "Value") or "") for t in doc.iter("Tag")]
        )
    attrs = WriteAttrs(
        content_type=fields.get("content-type") or file_type or "application/octet-stream",
        headers={canon: fields[n] for n, canon in _STORED_FIELDS.items() if n in fields},
        user_meta={k[len("x-amz-meta-") :]: v for k, v in fields.items() if k.startswith("x-amz-meta-")},
        acl=acl,
        tagging=tagging,
    )
    o = await call.storage.put_object(
        call.bkt, key, form.file_chunk, None, None, attrs, digest=_SizeRange(low, high)
    )
    location = f"http://{call.req.host}/{call.bkt.name}/{key}"
    result = [("ETag", etag(o.etag)), ("Location", location)]
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect:
        sep = "&" if "?" in redirect else "?"
        from urllib.parse import quote

        target = f"{redirect}{sep}bucket={quote(call.bkt.name)}&key={quote(key)}&etag={quote(etag(o.etag))}"
        return Response(303, [result[0], ("Location", target)])
    status = fields.get("success_action_status", "204")
    if status == "201":
        inner = X.els(
            [("Location", location), ("Bucket", call.bkt.name), ("Key", key), ("ETag", etag(o.etag))]
        )
        return xml("PostResponse", inner, 201, result)
    return Response(200 if status == "200" else 204, result)
