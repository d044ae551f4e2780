"""The one error of SelectObject: a 400 before the answer starts, or the end frame's status afterwards."""

from __future__ import annotations

from ossbox.core.errors import OSSError


class SelectError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def as_oss_error(self) -> OSSError:
        return OSSError(400, self.code, self.message)
