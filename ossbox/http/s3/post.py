"""Browser-form uploads (S3 PostObject, what boto3's generate_presigned_post prepares).

The multipart/form-data body is read field by field; the fields before `file` are small and kept, the
file is streamed into the object as it arrives. The form's policy (expiration and conditions) and its
SigV4 signature are checked before a byte of the file is stored; the content-length-range condition is
checked when the file has been received, before the object is committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from ossbox.auth.principals import Principal
from ossbox.auth.s3 import S3Auth
from ossbox.core.errors import OSSError, access_denied, invalid_argument
from ossbox.core.names import validate_object_key
from ossbox.http.form_data import FormReader, boundary_of, size_checked
from ossbox.http.s3.common import CANNED_ACLS, S3Call, encode_tags, etag, xml
from ossbox.http.server import Body, Response
from ossbox.protocol import post_policy
from ossbox.protocol import xml as X
from ossbox.protocol.request import Access
from ossbox.protocol.s3 import sigv4
from ossbox.service.storage import WriteAttrs

MAX_FIELDS_BYTES = 8 << 20
_TRAILER_LIMIT = 1 << 20
_NOT_IN_POLICY = ("x-amz-signature", "file", "policy", "awsaccesskeyid", "signature")
_STORED_FIELDS = {
    "cache-control": "Cache-Control",
    "content-disposition": "Content-Disposition",
    "content-encoding": "Content-Encoding",
    "expires": "Expires",
}
# The fields that mark a form as S3's rather than OSS's (both dialects' forms put them before the file):
# SigV4's x-amz-* fields, or SigV2's AWSAccessKeyId (OSS's forms have OSSAccessKeyId).
_S3_FORM_FIELD = re.compile(
    rb'name="?(x-amz-(?:credential|signature|algorithm)|AWSAccessKeyId)"?[;\r]', re.IGNORECASE
)
_FILE_FIELD = re.compile(rb'name="?file"?[;\r]', re.IGNORECASE)
_SNIFF_LIMIT = 1 << 20


async def is_s3_form(body: Body) -> bool:
    """Whether a form upload sent to the shared endpoint is S3's: read ahead until the file part (or the
    S3 signature fields) shows, then put back what was read."""
    seen: list[bytes] = []
    buffered = b""
    try:
        while len(buffered) < _SNIFF_LIMIT:
            chunk = await body.read_chunk()
            if not chunk:
                break
            seen.append(chunk)
            buffered += chunk
            s3 = _S3_FORM_FIELD.search(buffered)
            file = _FILE_FIELD.search(buffered)
            if s3 is not None and (file is None or s3.start() < file.start()):
                return True
            if file is not None:
                return False
        return False
    finally:
        body.unread(seen)


def _check_policy(policy_b64: str, fields: dict[str, str]) -> tuple[int, int] | None:
    """The policy's conditions must hold and, as S3 requires, name every field the form has."""
    policy = post_policy.decode(policy_b64)
    post_policy.check(policy, fields)
    covered = {c.field for c in policy.conditions} | {"bucket"}
    for name in fields:
        if name not in covered and name not in _NOT_IN_POLICY and not name.startswith("x-ignore-"):
            raise access_denied(f"Invalid according to Policy: Extra input fields: {name}")
    return policy.length_range


def _signature_mismatch(access_key_id: str) -> OSSError:
    return OSSError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
        {"AWSAccessKeyId": access_key_id},
    )


def _authenticate_v2(call: S3Call, fields: dict[str, str]) -> tuple[Principal | None, tuple[int, int] | None]:
    """A SigV2 form: signature = base64(HMAC-SHA1(secret, policy)), the access key in AWSAccessKeyId."""
    access_key_id, policy_b64 = fields["awsaccesskeyid"], fields.get("policy", "")
    if not policy_b64:
        raise access_denied("A signed POST upload needs the policy field.")
    if "signature" not in fields:
        raise access_denied("The form has an AWSAccessKeyId but no signature.")
    cred = call.resolve(access_key_id, fields.get("x-amz-security-token"))
    expected = base64.b64encode(hmac.new(cred.secret.encode(), policy_b64.encode(), hashlib.sha1).digest())
    if not hmac.compare_digest(expected.decode(), fields["signature"]):
        raise _signature_mismatch(access_key_id)
    return cred.principal, _check_policy(policy_b64, fields)


def _authenticate(call: S3Call, fields: dict[str, str]) -> tuple[Principal | None, tuple[int, int] | None]:
    if "awsaccesskeyid" in fields and "x-amz-signature" not in fields:
        return _authenticate_v2(call, fields)
    if "x-amz-signature" not in fields:
        if "policy" in fields:
            raise access_denied("The form has a policy but no x-amz-signature.")
        return None, None
    if fields.get("x-amz-algorithm") != sigv4.ALGORITHM:
        raise invalid_argument("x-amz-algorithm must be AWS4-HMAC-SHA256.", "x-amz-algorithm")
    policy_b64 = fields.get("policy", "")
    if not policy_b64:
        raise access_denied("A signed POST upload needs the policy field.")
    parts = fields.get("x-amz-credential", "").split("/")
    if len(parts) != 5 or parts[3] != sigv4.SERVICE:
        raise invalid_argument("x-amz-credential is malformed.", "x-amz-credential")
    access_key_id, date, region = parts[0], parts[1], parts[2]
    cred = call.resolve(access_key_id, fields.get("x-amz-security-token"))
    key = sigv4.signing_key(cred.secret, date, region)
    if not hmac.compare_digest(sigv4.signature(key, policy_b64), fields["x-amz-signature"]):
        raise _signature_mismatch(access_key_id)
    return cred.principal, _check_policy(policy_b64, fields)


async def post_object(call: S3Call) -> Response:
    reader = FormReader(call.http.body.read_chunk, boundary_of(call.h.get("content-type", "")))
    fields: dict[str, str] = {"bucket": call.bkt.name}
    total = 0
    while (part := await reader.next_part()) is not None:
        if part.name.lower() == "file":
            file_type, filename = part.content_type or "", part.filename or ""
            break
        value = await reader.read_value(MAX_FIELDS_BYTES - total)
        total += len(value)
        fields.setdefault(part.name.lower(), value.decode("utf-8", "replace"))
    else:
        raise invalid_argument("POST requires exactly one file upload per request.", "file")
    if "key" not in fields:
        raise invalid_argument("Bucket POST must contain a field named 'key'.", "key")
    key = fields["key"].replace("${filename}", filename)
    validate_object_key(key)
    principal, length_range = _authenticate(call, fields)
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
    read = size_checked(reader.read_chunk, length_range)
    o = await call.storage.put_object(call.bkt, key, read, None, None, attrs)
    await reader.drain(_TRAILER_LIMIT)
    location = f"{call.origin}/{call.bkt.name}/{key}"
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
