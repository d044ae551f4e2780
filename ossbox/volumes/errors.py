"""Errors of the project service: a code, a message, an HTTP status, and for SQL a position (line, column)."""

from __future__ import annotations


class VolumeError(Exception):
    def __init__(
        self, code: str, message: str, status: int = 400, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.line = line
        self.column = column

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"Code": self.code, "Message": self.message}
        if self.line is not None:
            body["Line"] = self.line
            body["Column"] = self.column
        return body

    def describe(self) -> str:
        where = f" at line {self.line}, column {self.column}" if self.line is not None else ""
        return f"{self.code}{where}: {self.message}"


def access_denied(message: str) -> VolumeError:
    return VolumeError("AccessDenied", message, 403)


def not_found(code: str, message: str) -> VolumeError:
    return VolumeError(code, message, 404)


def invalid(message: str, code: str = "InvalidArgument") -> VolumeError:
    return VolumeError(code, message, 400)


def already_exists(code: str, message: str) -> VolumeError:
    return VolumeError(code, message, 409)


def not_installed(what: str) -> VolumeError:
    return VolumeError(
        "NotInstalled",
        f"{what} needs the optional dependencies of the project service: pip install 'ossbox[volumes]'",
        501,
    )
