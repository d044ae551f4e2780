"""A Python client of the delivery API, for `ossbox delivery` and for tests: what the Go and Java SDKs'
CreateDeliveryTask, ListDeliveryTask, DescribeDeliveryTask and DeleteDeliveryTask do.

The Python `tablestore` SDK has no delivery calls, but everything else about such a request is the SDK's:
requests are signed (V2, or V4 with a region; STS tokens too) and sent by an `OTSClient`'s own signer and
connection, and answers are checked as the SDK checks its own (MD5, date, response signature). Those are
the SDK's internal methods; the version is pinned in pyproject.toml.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ossbox.delivery.model import Mode, Status, TaskConfig
from ossbox.delivery.wire import (
    MODE_FROM_WIRE,
    MODE_TO_WIRE,
    config_from_wire,
    config_to_wire,
    pb,
    status_from_wire,
)


class DeliveryApiError(Exception):
    """An error answer of the server (`code` is Tablestore's, e.g. OTSParameterInvalid)."""

    def __init__(self, status: int, code: str, message: str, request_id: str) -> None:
        super().__init__(f"{code}: {message} (HTTP {status}, request {request_id})")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class TaskSummary:
    table: str
    name: str
    mode: Mode


@dataclass(frozen=True)
class TaskDescription:
    config: TaskConfig
    status: Status
    create_table_statement: str
    created_ms: int


def _sdk() -> Any:
    sdk_log = logging.getLogger("tablestore")
    level = sdk_log.level
    sdk_log.setLevel(logging.ERROR)  # its import warns about optional native codecs
    try:
        import tablestore
    finally:
        sdk_log.setLevel(level)
    return tablestore


class DeliveryClient:
    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        instance: str,
        sts_token: str | None = None,
        region: str | None = None,
    ) -> None:
        sdk = _sdk()
        options: dict[str, Any] = {"region": region} if region else {}
        self._ots = sdk.OTSClient(
            endpoint, access_key_id, access_key_secret, instance, sts_token=sts_token, **options
        )

    def close(self) -> None:
        self._ots.connection.pool.clear()

    def _call(self, api: str, request: Any, answer_type: Any) -> Any:
        from tablestore.auth import RequestContext
        from tablestore.protobuf import table_store_pb2

        ots = self._ots
        body = request.SerializeToString()
        path = "/" + api
        context = RequestContext(ots.credentials_provider.get_credentials())
        headers = ots.protocol._make_request_headers(body, path, ots._signer, context)
        status, _reason, raw_headers, answer = ots.connection.send_receive(path, headers, body)
        answer_headers = ots.protocol._convert_urllib3_headers(raw_headers)
        ots.protocol._check_headers(answer_headers, answer, status=status)
        if 200 <= status < 300:
            ots.protocol._check_authorization(path, answer_headers, status, ots._signer, context)
            message = answer_type()
            message.ParseFromString(answer)
            return message
        error = table_store_pb2.Error()
        try:
            error.ParseFromString(answer)
        except Exception:
            raise DeliveryApiError(status, "", f"HTTP {status}", "") from None
        raise DeliveryApiError(status, error.code, error.message, answer_headers.get("x-ots-requestid", ""))

    def create(self, table: str, name: str, config: TaskConfig) -> None:
        request = pb.CreateDeliveryTaskRequest(
            tableName=table, taskName=name, taskType=MODE_TO_WIRE[config.mode]
        )
        config_to_wire(config, request.taskConfig)
        self._call("CreateDeliveryTask", request, pb.CreateDeliveryTaskResponse)

    def list(self, table: str | None = None) -> list[TaskSummary]:
        request = pb.ListDeliveryTaskRequest()
        if table:
            request.tableName = table
        answer = self._call("ListDeliveryTask", request, pb.ListDeliveryTaskResponse)
        return [TaskSummary(t.tableName, t.taskName, MODE_FROM_WIRE[t.taskType]) for t in answer.tasks]

    def describe(self, table: str, name: str) -> TaskDescription:
        request = pb.DescribeDeliveryTaskRequest(tableName=table, taskName=name)
        answer = self._call("DescribeDeliveryTask", request, pb.DescribeDeliveryTaskResponse)
        return TaskDescription(
            config=config_from_wire(answer.taskConfig, answer.taskType),
            status=status_from_wire(answer.task_sync_stat),
            create_table_statement=answer.create_table_statement,
            created_ms=answer.create_time,
        )

    def delete(self, table: str, name: str) -> None:
        request = pb.DeleteDeliveryTaskRequest(tableName=table, taskName=name)
        self._call("DeleteDeliveryTask", request, pb.DeleteDeliveryTaskResponse)
