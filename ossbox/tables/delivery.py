"""Tablestore's delivery API in the table service: CreateDeliveryTask, ListDeliveryTask,
DescribeDeliveryTask and DeleteDeliveryTask, POSTed and signed like every other table operation (the Go and
Java SDKs' calls; ossbox.delivery.client for Python and `ossbox delivery`).

Tasks are kept in the delivery database (ossbox.delivery.store); whichever server process leads delivery
picks them up from there. Like the rest of the table service, only the account owner's keys are
accepted.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from ossbox.delivery.ddl import create_table_statement
from ossbox.delivery.model import Column, DataType, DeliveryConfigError, Task, check_config, check_task_name
from ossbox.delivery.schema import TABLE_TYPES, auto_column
from ossbox.delivery.store import DeliveryStore, TaskExists
from ossbox.delivery.wire import (
    MODE_TO_WIRE,
    WireError,
    config_from_wire,
    config_to_wire,
    pb,
    status_to_wire,
)
from ossbox.tables.errors import TableError, parameter_invalid, table_not_exist
from ossbox.tables.model import TableInfo

Handler = Callable[[str, Any], Awaitable[Any]]


def task_not_exist(name: str) -> TableError:
    return TableError(404, "OTSObjectNotExist", f"Requested delivery task {name} does not exist.")


def task_already_exist(name: str) -> TableError:
    return TableError(409, "OTSObjectAlreadyExist", f"Requested delivery task {name} already exists.")


class DeliveryApi:
    def __init__(
        self,
        store: DeliveryStore,
        table_info: Callable[[str, str], TableInfo | None],
        now_ms: Callable[[], int],
        default_role_arn: Callable[[], str],
        disabled_reason: str | None = None,
    ) -> None:
        self._store = store  # taken over: closed with the API
        self._table_info = table_info
        self._now_ms = now_ms
        self._default_role_arn = default_role_arn
        self._disabled_reason = disabled_reason

    def close(self) -> None:
        self._store.close()

    def handlers(self) -> dict[str, tuple[Any, Handler]]:
        return {
            "CreateDeliveryTask": (pb.CreateDeliveryTaskRequest, self.create),
            "ListDeliveryTask": (pb.ListDeliveryTaskRequest, self.list_tasks),
            "DescribeDeliveryTask": (pb.DescribeDeliveryTaskRequest, self.describe),
            "DeleteDeliveryTask": (pb.DeleteDeliveryTaskRequest, self.delete),
        }

    def _table_exists(self, instance: str, table: str) -> bool:
        return self._table_info(instance, table) is not None

    def _task(self, instance: str, table: str, name: str) -> Task:
        if not self._table_exists(instance, table):
            raise table_not_exist()
        task = self._store.task(instance, name)
        if task is None or task.table != table:
            raise task_not_exist(name)
        return task

    async def create(self, instance: str, req: Any) -> Any:
        if self._disabled_reason:
            raise TableError(400, "OTSUnsupportOperation", self._disabled_reason)
        try:
            check_task_name(req.taskName)
            config = config_from_wire(req.taskConfig, req.taskType if req.HasField("taskType") else None)
            check_config(config)
        except (DeliveryConfigError, WireError) as exc:
            raise parameter_invalid(str(exc)) from None
        if not self._table_exists(instance, req.tableName):
            raise table_not_exist()
        if not config.role_arn:
            config = config.with_role(self._default_role_arn())
        task = Task(secrets.token_hex(8), instance, req.tableName, req.taskName, config, self._now_ms())
        try:
            self._store.create_task(task)
        except TaskExists:
            raise task_already_exist(req.taskName) from None
        return pb.CreateDeliveryTaskResponse()

    async def list_tasks(self, instance: str, req: Any) -> Any:
        table = req.tableName if req.HasField("tableName") and req.tableName else None
        if table is not None and not self._table_exists(instance, table):
            raise table_not_exist()
        answer = pb.ListDeliveryTaskResponse()
        for task in self._store.tasks(instance, table):
            answer.tasks.add(
                tableName=task.table, taskName=task.name, taskType=MODE_TO_WIRE[task.config.mode]
            )
        return answer

    async def describe(self, instance: str, req: Any) -> Any:
        task = self._task(instance, req.tableName, req.taskName)
        status = self._store.status(task)
        answer = pb.DescribeDeliveryTaskResponse(taskType=MODE_TO_WIRE[task.config.mode])
        config_to_wire(task.config, answer.taskConfig)
        status_to_wire(status, answer.task_sync_stat)
        answer.create_table_statement = create_table_statement(task, self._columns(task, status.auto_columns))
        answer.create_time = task.created_ms
        return answer

    def _columns(self, task: Task, inferred: list[tuple[str, str]]) -> list[Column]:
        """The schema's columns; for an auto schema those inferred so far, or (before the task started)
        the table's primary key and predefined columns."""
        if task.config.schema:
            return list(task.config.schema)
        if inferred:
            return [auto_column(n, DataType(t)) for n, t in inferred]
        info = self._table_info(task.instance, task.table)
        known = [(c.name, c.type) for c in info.pk] + list(info.defined) if info else []
        return [auto_column(n, TABLE_TYPES[t]) for n, t in known if t in TABLE_TYPES]

    async def delete(self, instance: str, req: Any) -> Any:
        task = self._task(instance, req.tableName, req.taskName)
        self._store.delete_task(task.task_id)
        return pb.DeleteDeliveryTaskResponse()
