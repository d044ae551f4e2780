"""Why a task cannot deliver right now: reported in its status, retried until the cause is removed."""

from __future__ import annotations

# Tablestore's error codes for a task's status, and ossbox's own for the other causes.
UNAUTHORIZED = "UnAuthorized"  # the role cannot be assumed, or may not write the bucket
INVALID_OSS_BUCKET = "InvalidOssBucket"  # the bucket does not exist


class DeliveryFailure(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
