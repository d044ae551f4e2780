"""Tablestore's error codes, with the HTTP statuses the SDK expects (Tablestore's "Error codes" page)."""

from __future__ import annotations


class TableError(Exception):
    """An error answered to the client as Tablestore's `Error` message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def parameter_invalid(message: str) -> TableError:
    return TableError(400, "OTSParameterInvalid", message)


def invalid_pk(message: str = "Validate PK name fail.") -> TableError:
    return TableError(400, "OTSInvalidPK", message)


def condition_check_fail() -> TableError:
    return TableError(403, "OTSConditionCheckFail", "Condition check failed.")


def table_not_exist() -> TableError:
    return TableError(404, "OTSObjectNotExist", "Requested table does not exist.")


def table_already_exist() -> TableError:
    return TableError(409, "OTSObjectAlreadyExist", "Requested table already exists.")


def auth_failed(message: str) -> TableError:
    return TableError(403, "OTSAuthFailed", message)


def no_permission(action: str) -> TableError:
    return TableError(
        403,
        "OTSNoPermissionAccess",
        f"You have no permission to access the requested resource ({action}), "
        "please contact the resource owner.",
    )


def body_too_large() -> TableError:
    return TableError(413, "OTSRequestBodyTooLarge", "The size of POST data is too large.")


def method_not_allowed() -> TableError:
    return TableError(405, "OTSMethodNotAllowed", "Only POST method for requests is supported.")


def unsupported_operation(api: str) -> TableError:
    return TableError(400, "OTSUnsupportOperation", f"Unsupported operation: '{api}'.")


def out_of_row_size_limit(message: str) -> TableError:
    return TableError(400, "OTSOutOfRowSizeLimit", message)


def out_of_column_count_limit(message: str) -> TableError:
    return TableError(400, "OTSOutOfColumnCountLimit", message)


def quota_exhausted(message: str) -> TableError:
    return TableError(403, "OTSQuotaExhausted", message)


def internal_error() -> TableError:
    return TableError(500, "OTSInternalServerError", "Internal server error.")


def storage_full() -> TableError:
    # Not retried by the SDK's default policy for writes, which is right: nothing was written.
    return TableError(503, "OTSServerUnavailable", "The server has no space left to store this write.")


def unavailable() -> TableError:
    return TableError(503, "OTSServerUnavailable", "The table service's database is unreachable; try again.")


def trimmed_data_access() -> TableError:
    return TableError(
        400, "OTSTrimmedDataAccess", "Requested stream data is already trimmed or does not exist."
    )


def stream_not_exist() -> TableError:
    return TableError(404, "OTSObjectNotExist", "Requested stream does not exist.")
