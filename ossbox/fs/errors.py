"""One table from OSS error codes to Python's built-in exceptions (the original stays as __cause__).

Messages carry the OSS code, its message, the request id and the path: never credentials, never the
string-to-sign (oss2's own exception text includes the whole error body).
"""

from __future__ import annotations

import errno

import oss2

# code -> (exception class, errno or None)
_BY_CODE: dict[str, tuple[type[OSError], int | None]] = {
    "NoSuchKey": (FileNotFoundError, errno.ENOENT),
    "NoSuchBucket": (FileNotFoundError, errno.ENOENT),
    "NoSuchUpload": (FileNotFoundError, errno.ENOENT),
    "AccessDenied": (PermissionError, errno.EACCES),
    "InvalidAccessKeyId": (PermissionError, errno.EACCES),
    "SignatureDoesNotMatch": (PermissionError, errno.EACCES),
    "RequestTimeTooSkewed": (PermissionError, errno.EACCES),
    "BucketNotEmpty": (OSError, errno.ENOTEMPTY),
    "BucketAlreadyExists": (FileExistsError, errno.EEXIST),
    "FileAlreadyExists": (FileExistsError, errno.EEXIST),
    "ObjectAlreadyExists": (FileExistsError, errno.EEXIST),
    "InvalidBucketName": (OSError, errno.EINVAL),
    "InvalidObjectName": (OSError, errno.EINVAL),
    "InvalidArgument": (OSError, errno.EINVAL),
    "EntityTooLarge": (OSError, errno.EFBIG),
    "NotImplemented": (OSError, errno.ENOSYS),
}
_BY_STATUS: dict[int, tuple[type[OSError], int | None]] = {
    403: (PermissionError, errno.EACCES),
    404: (FileNotFoundError, errno.ENOENT),
    409: (OSError, errno.EEXIST),
    412: (OSError, errno.EAGAIN),
}


def describe(err: oss2.exceptions.OssError) -> str:
    """A short, secret-free description of an oss2 error."""
    if isinstance(err, oss2.exceptions.RequestError):
        return f"cannot reach the OSS endpoint ({type(err.exception).__name__})"
    if isinstance(err, oss2.exceptions.ClientError):
        return "OSS client error"
    code = err.code or f"HTTP {err.status}"
    message = err.message if isinstance(err.message, str) else ""
    if message.startswith("{"):  # HEAD errors have no body; oss2 then puts its own dict text here
        message = ""
    rid = f" (request id {err.request_id})" if err.request_id else ""
    return f"{code}{': ' + message if message else ''}{rid}"


def translate(err: oss2.exceptions.OssError, path: str = "") -> OSError:
    """The built-in exception for an oss2 error on `path`; raise it `from err`."""
    if isinstance(err, oss2.exceptions.RequestError):
        return ConnectionError(errno.ECONNREFUSED, describe(err), path or None)
    kind, num = _BY_CODE.get(err.code or "") or _BY_STATUS.get(err.status, (OSError, errno.EIO))
    return kind(num, describe(err), path or None)
