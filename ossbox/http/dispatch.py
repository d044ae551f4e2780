"""One port, three APIs: a request carrying Tablestore's headers goes to the table service, one signed for the
project service (ossbox.volumes) to it, any other to OSS.

The `tablestore` SDK sends x-ots-apiversion, x-ots-date, x-ots-accesskeyid and x-ots-instancename on every
request; no OSS client sends x-ots-* headers.
"""

from __future__ import annotations

from ossbox.http.server import Handler, Request, Response


def is_table_request(headers: dict[str, str]) -> bool:
    return (
        "x-ots-apiversion" in headers
        or "x-ots-instancename" in headers
        or "x-ots-accesskeyid" in headers
        or "x-ots-date" in headers
    )


def is_project_request(headers: dict[str, str]) -> bool:
    """The project service's clients sign with `Authorization: ODPS id:sig`; no OSS client does."""
    return headers.get("authorization", "").startswith("ODPS ")


def dispatch(oss: Handler, tables: Handler, projects: Handler | None = None) -> Handler:
    async def handle(request: Request) -> Response:
        if is_table_request(request.headers):
            return await tables(request)
        if projects is not None and is_project_request(request.headers):
            return await projects(request)
        return await oss(request)

    return handle
