"""What can go wrong in deep storage, as exceptions a caller can tell apart.

Messages name the bucket, key or property involved and never carry a secret.
"""

from __future__ import annotations


class DeepStorageError(Exception):
    """Base of every error raised by ossbox.deepstorage."""


class ConfigError(DeepStorageError):
    """A Druid property is missing or has a value ossbox cannot use."""


class BucketNotFoundError(DeepStorageError):
    """The configured bucket does not exist on the endpoint."""


class ObjectNotFoundError(DeepStorageError):
    """An object that must exist (a segment to pull, a source to move) is absent."""


class SegmentFormatError(DeepStorageError):
    """A segment directory, archive or key is not in a form Druid can load."""


class OutsidePrefixError(DeepStorageError):
    """A key lies outside the configured segment location; ossbox refuses to touch it."""


class MoveRefusedError(DeepStorageError):
    """A move that Druid's rules refuse (an IA-class source) or that could not be confirmed."""


class ObjectChangedError(DeepStorageError):
    """An object was replaced while being read in pieces; the pieces read so far are from the old one."""


class LogChangedError(ObjectChangedError):
    """A task log was replaced while it was being streamed."""


class InputSourceError(DeepStorageError):
    """An input source spec Druid would reject."""


class RemoteError(DeepStorageError):
    """Any other error answered by the OSS endpoint, with its code."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
