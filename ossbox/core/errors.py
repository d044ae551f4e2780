"""Errors as values: every failure the wire can see carries its OSS code, HTTP status and EC."""

from __future__ import annotations

from dataclasses import dataclass, field

# Error-center codes (the `EC` element and `x-oss-ec` header) as real OSS sends them.
# A code missing here gets a generic EC in the same family format.
_EC: dict[str, str] = {
    "AccessDenied": "0003-00000001",
    "BucketAlreadyExists": "0015-00000104",
    "BucketNotEmpty": "0015-00000301",
    "EntityTooLarge": "0017-00000001",
    "EntityTooSmall": "0042-00000209",
    "FileAlreadyExists": "0017-00000416",
    "InvalidAccessKeyId": "0002-00000901",
    "InvalidArgument": "0016-00000001",
    "InvalidBucketName": "0015-00000101",
    "InvalidDigest": "0016-00000401",
    "InvalidObjectName": "0016-00000005",
    "InvalidPart": "0042-00000210",
    "InvalidPartOrder": "0042-00000211",
    "InvalidRange": "0016-00000219",
    "InvalidRequest": "0016-00000002",
    "MalformedXML": "0016-00000501",
    "MethodNotAllowed": "0016-00000004",
    "MissingArgument": "0016-00000003",
    "MissingContentLength": "0016-00000402",
    "NoSuchBucket": "0015-00000101",
    "NoSuchKey": "0026-00000001",
    "NoSuchUpload": "0042-00000002",
    "NotImplemented": "0016-00000007",
    "ObjectNotAppendable": "0017-00000101",
    "PositionNotEqualToLength": "0017-00000102",
    "PreconditionFailed": "0016-00000601",
    "RequestTimeTooSkewed": "0002-00000504",
    "SignatureDoesNotMatch": "0002-00000040",
    "TooManyBuckets": "0015-00000201",
    "InternalError": "0000-00000001",
    "InsufficientStorage": "0000-00000507",
    "IncompleteBody": "0016-00000403",
    "RequestTimeout": "0016-00000404",
    "KeyTooLong": "0016-00000006",
    "SymlinkTargetNotExist": "0026-00000012",
}


@dataclass
class OSSError(Exception):
    """An error that is rendered on the wire as OSS's `<Error>` document."""

    status: int
    code: str
    message: str
    # Extra elements for the error body (e.g. StringToSign, BucketName), in order.
    details: dict[str, str] = field(default_factory=dict)
    # Extra response headers (e.g. x-oss-next-append-position).
    headers: dict[str, str] = field(default_factory=dict)
    # The EC when it is specific to this case rather than to the code (e.g. a wrong signing region).
    ec_override: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.message}")

    @property
    def ec(self) -> str:
        return self.ec_override or _EC.get(self.code, "0000-00000000")


def no_such_bucket(bucket: str) -> OSSError:
    return OSSError(404, "NoSuchBucket", "The specified bucket does not exist.", {"BucketName": bucket})


def no_such_key(key: str) -> OSSError:
    return OSSError(404, "NoSuchKey", "The specified key does not exist.", {"Key": key})


def no_such_upload(upload_id: str) -> OSSError:
    return OSSError(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, "
        "or the upload may have been aborted or completed.",
        {"UploadId": upload_id},
    )


def invalid_argument(message: str, name: str = "", value: str = "") -> OSSError:
    details = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return OSSError(400, "InvalidArgument", message, details)


def malformed_xml(message: str = "The XML you provided was not well-formed or did not validate.") -> OSSError:
    return OSSError(400, "MalformedXML", message)


def access_denied(message: str = "You have no right to access this object.") -> OSSError:
    return OSSError(403, "AccessDenied", message)


def not_implemented(what: str) -> OSSError:
    return OSSError(501, "NotImplemented", f"{what} is not implemented by ossbox.")


def internal_error() -> OSSError:
    return OSSError(500, "InternalError", "We encountered an internal error. Please try again.")


def insufficient_storage() -> OSSError:
    return OSSError(507, "InsufficientStorage", "The server has no space left to store this data.")


class MetaUnavailable(OSSError):
    """The metadata database cannot be reached (or is too busy): the request fails cleanly with OSS's 503
    and may be retried; nothing acknowledged is lost. Raised by ossbox.meta.pg."""

    def __init__(self, message: str = "The metadata database is unavailable; try again.") -> None:
        super().__init__(503, "ServiceUnavailable", message)


class BlobUnavailable(OSSError):
    """The blob store (an S3-compatible cluster) cannot be reached or failed the call: the request fails
    cleanly with OSS's 503 and may be retried; nothing is acknowledged that was not stored."""

    def __init__(self, message: str = "The data store is unavailable; try again.") -> None:
        super().__init__(503, "ServiceUnavailable", message)
