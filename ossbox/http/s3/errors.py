"""Errors in S3's words: one table from the use cases' (OSS) error codes to S3's, and the error document.

Most codes are the same in both services. The rest are renamed here, with S3's status where it differs;
an S3 error document has Code, Message, the resource, RequestId and HostId (no EC), and a HEAD error has
no body at all.
"""

from __future__ import annotations

from ossbox.core.errors import OSSError
from ossbox.http.server import Response
from ossbox.protocol.xml import document, els

XML_TYPE = ("Content-Type", "application/xml")

# OSS code -> (S3 code, S3 status or None to keep it). Codes absent here are the same in S3.
_RENAMED: dict[str, tuple[str, int | None]] = {
    "FileAlreadyExists": ("PreconditionFailed", 412),  # x-oss-forbid-overwrite <- If-None-Match: *
    "InvalidObjectName": ("InvalidArgument", 400),
    "MissingArgument": ("InvalidRequest", 400),
    "InvalidBucketName": ("InvalidBucketName", 400),
    "ObjectNotAppendable": ("InvalidRequest", 409),
    "PositionNotEqualToLength": ("InvalidRequest", 409),
    "CallbackFailed": ("InvalidRequest", 400),
    "InvalidPolicyDocument": ("MalformedPolicy", 400),
    "SecurityTokenExpired": ("ExpiredToken", 400),
}

_MESSAGES = {
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
    "NoSuchBucket": "The specified bucket does not exist",
    "NoSuchKey": "The specified key does not exist.",
    "BucketNotEmpty": "The bucket you tried to delete is not empty",
}
# Details worth keeping from the OSS error (others, like OSSAccessKeyId, are renamed or dropped).
_KEPT_DETAILS = (
    "BucketName",
    "Key",
    "UploadId",
    "PartNumber",
    "ETag",
    "ArgumentName",
    "ArgumentValue",
    "Region",
    "AWSAccessKeyId",
    "StringToSign",
    "SignatureProvided",
    "CanonicalRequest",
    "MinSizeAllowed",
    "CalculatedDigest",
)


def s3_code(exc: OSSError) -> tuple[str, int]:
    renamed = _RENAMED.get(exc.code)
    if exc.code == "InvalidDigest" and "did not match" in exc.message:
        return "BadDigest", 400
    if renamed is None:
        return exc.code, exc.status
    return renamed[0], renamed[1] or exc.status


def error_response(exc: OSSError, request_id: str, resource: str, head: bool) -> Response:
    code, status = s3_code(exc)
    details = [(k, v) for k, v in exc.details.items() if k in _KEPT_DETAILS]
    if "OSSAccessKeyId" in exc.details and "AWSAccessKeyId" not in exc.details:
        details.append(("AWSAccessKeyId", exc.details["OSSAccessKeyId"]))
    inner = els(
        [
            ("Code", code),
            ("Message", _MESSAGES.get(code, exc.message)),
            *details,
            ("Resource", resource),
            ("RequestId", request_id),
            ("HostId", request_id),
        ]
    )
    # Headers an OSS error carries for its own clients (x-oss-*) mean nothing to an S3 client.
    headers = [(k, v) for k, v in exc.headers.items() if not k.lower().startswith("x-oss-")]
    if head or status == 304:
        return Response(status, headers, b"", content_length=0, head=True)
    return Response(status, [XML_TYPE, *headers], document("Error", inner))
