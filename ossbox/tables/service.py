"""The table operations: a protobuf request in, a protobuf answer out (table_store.proto)."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ossbox.tables import filters, keys, rows, validate
from ossbox.tables.errors import (
    TableError,
    parameter_invalid,
    quota_exhausted,
    stream_not_exist,
    table_already_exist,
    table_not_exist,
    trimmed_data_access,
    unsupported_operation,
)
from ossbox.tables.model import DEFAULT_MAX_DEVIATION_S, FOREVER, PKColumn, TableInfo
from ossbox.tables.plainbuffer import (
    AUTO_INCREMENT,
    HEADER_BYTES,
    Cell,
    PKValue,
    PlainBufferError,
    PlainRow,
    Special,
    decode_row,
    encode_row,
    join_rows,
)
from ossbox.tables.storage import TableStorage, Txn
from ossbox.tables.wire import pb

_PK_TYPES = {pb.INTEGER: keys.PK_INTEGER, pb.STRING: keys.PK_STRING, pb.BINARY: keys.PK_BINARY}
_PK_TYPES_BACK = {v: k for k, v in _PK_TYPES.items()}
_DEFINED_TYPES = {
    pb.DCT_INTEGER: "INTEGER",
    pb.DCT_DOUBLE: "DOUBLE",
    pb.DCT_BOOLEAN: "BOOLEAN",
    pb.DCT_STRING: "STRING",
    pb.DCT_BLOB: "BINARY",
}
_DEFINED_TYPES_BACK = {v: k for k, v in _DEFINED_TYPES.items()}
# A GetRange request stops scanning after this many rows that its filter left out.
_MAX_SCAN_ROWS = 50000


def _parse(message_type: Any, body: bytes) -> Any:
    msg = message_type()
    try:
        msg.ParseFromString(body)
    except Exception:
        raise parameter_invalid("Failed to parse the ProtoBuf message.") from None
    if not msg.IsInitialized():
        raise parameter_invalid(
            "Missing required fields in the request: " + ", ".join(msg.FindInitializationErrors()) + "."
        )
    return msg


def _row(data: bytes, what: str) -> PlainRow:
    try:
        return decode_row(data)
    except PlainBufferError as exc:
        raise parameter_invalid(f"Invalid {what}: {exc}.") from None


def _cu(size: int) -> int:
    return max(1, math.ceil(size / 4096))


def _consumed(msg: Any, read: int = 0, write: int = 0) -> None:
    msg.capacity_unit.read = read
    msg.capacity_unit.write = write


def _no_transactions(msg: Any) -> None:
    if msg.HasField("transaction_id"):
        raise unsupported_operation("LocalTransaction")


@dataclass(frozen=True)
class _Write:
    """A validated row write, ready for the writer thread."""

    kind: str  # "put" | "update" | "delete"
    info: TableInfo
    values: list[PKValue | Special]
    cells: list[Cell]
    condition: rows.Condition
    return_type: int
    return_columns: tuple[str, ...]


# (caller, "ots:<Api>", instance, table names the request names) -> None, or raises a TableError
# (OTSNoPermissionAccess). None lets every verified caller do everything.
Authorize = Callable[[object, str, str, list[str]], None]


def _tables_named(req: Any) -> list[str]:
    """The tables a request names (none for ListTable and the stream calls by stream id)."""
    if hasattr(req, "tables"):  # BatchGetRow, BatchWriteRow
        return [t.table_name for t in req.tables]
    if hasattr(req, "table_meta"):  # CreateTable
        return [req.table_meta.table_name]
    if req.DESCRIPTOR.fields_by_name.get("table_name") is not None and req.HasField("table_name"):
        return [req.table_name]
    return []


class TableService:
    def __init__(
        self, storage: TableStorage, now_ms: Callable[[], int], authorize: Authorize | None = None
    ) -> None:
        self._storage = storage
        self._now_ms = now_ms
        self._authorize = authorize
        self._catalog_generation = storage.catalog_generation()
        self._tables: dict[tuple[str, str], TableInfo] = {
            (t.instance, t.name): t for t in storage.load_tables()
        }
        self.handlers: dict[str, tuple[Any, Callable[[str, Any], Awaitable[Any]]]] = {
            "CreateTable": (pb.CreateTableRequest, self.create_table),
            "ListTable": (pb.ListTableRequest, self.list_table),
            "DescribeTable": (pb.DescribeTableRequest, self.describe_table),
            "UpdateTable": (pb.UpdateTableRequest, self.update_table),
            "DeleteTable": (pb.DeleteTableRequest, self.delete_table),
            "GetRow": (pb.GetRowRequest, self.get_row),
            "PutRow": (pb.PutRowRequest, self.put_row),
            "UpdateRow": (pb.UpdateRowRequest, self.update_row),
            "DeleteRow": (pb.DeleteRowRequest, self.delete_row),
            "BatchGetRow": (pb.BatchGetRowRequest, self.batch_get_row),
            "BatchWriteRow": (pb.BatchWriteRowRequest, self.batch_write_row),
            "GetRange": (pb.GetRangeRequest, self.get_range),
            "ListStream": (pb.ListStreamRequest, self.list_stream),
            "DescribeStream": (pb.DescribeStreamRequest, self.describe_stream),
            "GetShardIterator": (pb.GetShardIteratorRequest, self.get_shard_iterator),
            "GetStreamRecord": (pb.GetStreamRecordRequest, self.get_stream_record),
        }

    def _refresh_catalog(self) -> None:
        """Reload the tables when some process (maybe another worker) changed them."""
        generation = self._storage.catalog_generation()
        if generation != self._catalog_generation:
            self._catalog_generation = generation
            self._tables = {(t.instance, t.name): t for t in self._storage.load_tables()}

    async def call(self, api: str, instance: str, body: bytes, caller: object = None) -> bytes:
        self._refresh_catalog()
        entry = self.handlers.get(api)
        if entry is None:
            raise unsupported_operation(api)
        message_type, handler = entry
        req = _parse(message_type, body)
        if self._authorize is not None:
            self._authorize(caller, "ots:" + api, instance, _tables_named(req))
        answer = await handler(instance, req)
        return bytes(answer.SerializeToString())

    def table_info(self, instance: str, name: str) -> TableInfo | None:
        """A table as this process knows it (call() refreshes that first); for the delivery API."""
        return self._known(instance, name)

    def _known(self, instance: str, name: str) -> TableInfo | None:
        info = self._tables.get((instance, name))
        if info is None:
            # Made by another node a moment ago, whose notification is still on its way: ask the database
            # (only on a miss, so known tables cost no query).
            info = self._storage.load_table(instance, name)
            if info is not None:
                self._tables[(instance, name)] = info
        return info

    def _table(self, instance: str, name: str) -> TableInfo:
        info = self._known(instance, name)
        if info is None:
            raise table_not_exist()
        return info

    # ------------------------------------------------------------------------------------ table operations
    async def create_table(self, instance: str, req: Any) -> Any:
        meta = req.table_meta
        validate.check_table_name(meta.table_name)
        validate.ensure(
            1 <= len(meta.primary_key) <= validate.MAX_PK_COLUMNS,
            "The number of primary key columns must be in range: [1, 4].",
        )
        pk: list[PKColumn] = []
        for i, column in enumerate(meta.primary_key):
            validate.check_column_name(column.name)
            pk_type = _PK_TYPES.get(column.type)
            validate.ensure(pk_type is not None, f"Unsupported primary key type for column '{column.name}'.")
            assert pk_type is not None
            auto = column.HasField("option") and column.option == pb.AUTO_INCREMENT
            if auto:
                validate.ensure(pk_type == keys.PK_INTEGER, "Only an INTEGER primary key can auto-increment.")
                validate.ensure(i > 0, "The partition key (first primary key column) cannot auto-increment.")
            pk.append(PKColumn(column.name, pk_type, auto))
        names = [c.name for c in pk]
        validate.ensure(len(set(names)) == len(names), "Duplicated primary key name.")
        validate.ensure(sum(c.auto_increment for c in pk) <= 1, "At most one primary key can auto-increment.")
        validate.ensure(
            len(meta.defined_column) <= validate.MAX_DEFINED_COLUMNS,
            f"At most {validate.MAX_DEFINED_COLUMNS} predefined columns.",
        )
        defined: list[tuple[str, str]] = []
        for column in meta.defined_column:
            validate.check_column_name(column.name)
            validate.ensure(
                column.name not in names and column.name not in {d[0] for d in defined},
                f"Duplicated column name: '{column.name}'.",
            )
            defined.append((column.name, _DEFINED_TYPES[column.type]))
        if len(req.index_metas):
            raise unsupported_operation("CreateTable with secondary indexes")
        if req.HasField("sse_spec") and req.sse_spec.enable:
            raise unsupported_operation("CreateTable with server-side encryption")
        opts = req.table_options
        ttl = opts.time_to_live if opts.HasField("time_to_live") else FOREVER
        versions = opts.max_versions if opts.HasField("max_versions") else 1
        deviation = (
            opts.deviation_cell_version_in_sec
            if opts.HasField("deviation_cell_version_in_sec")
            else DEFAULT_MAX_DEVIATION_S
        )
        validate.check_options(ttl, versions, deviation)
        cu = req.reserved_throughput.capacity_unit
        validate.check_cu(cu.read, cu.write)
        retention = _retention(req, None)
        now_ms = self._now_ms()
        info = TableInfo(
            table_id=0,
            instance=instance,
            name=meta.table_name,
            pk=tuple(pk),
            defined=tuple(defined),
            ttl_s=ttl,
            max_versions=versions,
            max_deviation_s=deviation,
            allow_update=opts.allow_update if opts.HasField("allow_update") else True,
            read_cu=cu.read,
            write_cu=cu.write,
            created_ms=now_ms,
            last_increase_ms=now_ms,
        )
        if retention:
            info = info.with_options(changelog_retention_s=retention)

        def op(txn: Txn) -> TableInfo:
            if txn.c.execute(
                "SELECT 1 FROM tables WHERE instance = ? AND name = ?", (instance, info.name)
            ).fetchone():
                raise table_already_exist()
            if txn.table_count(instance) >= validate.MAX_TABLES_PER_INSTANCE:
                raise quota_exhausted("Number of tables exceeds the quota.")
            txn.ensure_instance(instance, now_ms)
            return info.with_options(table_id=txn.insert_table(info))

        created = await self._storage.run(op)
        self._tables[(instance, created.name)] = created
        return pb.CreateTableResponse()

    async def list_table(self, instance: str, req: Any) -> Any:
        answer = pb.ListTableResponse()
        answer.table_names.extend(sorted(name for inst, name in self._tables if inst == instance))
        return answer

    def _describe_into(self, info: TableInfo, details: Any, options: Any, stream: Any) -> None:
        details.capacity_unit.read = info.read_cu
        details.capacity_unit.write = info.write_cu
        details.last_increase_time = info.last_increase_ms // 1000
        if info.last_decrease_ms is not None:
            details.last_decrease_time = info.last_decrease_ms // 1000
        options.time_to_live = info.ttl_s
        options.max_versions = info.max_versions
        options.deviation_cell_version_in_sec = info.max_deviation_s
        options.allow_update = info.allow_update
        # Every table keeps a change log (docs/tables.md): reported as an enabled stream.
        stream.enable_stream = True
        stream.stream_id = stream_id(info)
        stream.expiration_time = info.changelog_retention_s // 3600
        stream.last_enable_time = info.created_ms * 1000

    async def describe_table(self, instance: str, req: Any) -> Any:
        info = self._table(instance, req.table_name)
        answer = pb.DescribeTableResponse()
        answer.table_meta.table_name = info.name
        for column in info.pk:
            schema = answer.table_meta.primary_key.add()
            schema.name = column.name
            schema.type = _PK_TYPES_BACK[column.type]
            if column.auto_increment:
                schema.option = pb.AUTO_INCREMENT
        for name, defined_type in info.defined:
            dc = answer.table_meta.defined_column.add()
            dc.name = name
            dc.type = _DEFINED_TYPES_BACK[defined_type]
        self._describe_into(
            info, answer.reserved_throughput_details, answer.table_options, answer.stream_details
        )
        return answer

    async def update_table(self, instance: str, req: Any) -> Any:
        info = self._table(instance, req.table_name)
        changes: dict[str, object] = {}
        if req.HasField("table_options"):
            opts = req.table_options
            ttl = opts.time_to_live if opts.HasField("time_to_live") else None
            versions = opts.max_versions if opts.HasField("max_versions") else None
            deviation = (
                opts.deviation_cell_version_in_sec if opts.HasField("deviation_cell_version_in_sec") else None
            )
            validate.check_options(ttl, versions, deviation)
            for key, value in (("ttl_s", ttl), ("max_versions", versions), ("max_deviation_s", deviation)):
                if value is not None:
                    changes[key] = value
            if opts.HasField("allow_update"):
                changes["allow_update"] = opts.allow_update
        now_ms = self._now_ms()
        if req.HasField("reserved_throughput"):
            cu = req.reserved_throughput.capacity_unit
            read = cu.read if cu.HasField("read") else info.read_cu
            write = cu.write if cu.HasField("write") else info.write_cu
            validate.check_cu(read, write)
            if read > info.read_cu or write > info.write_cu:
                changes["last_increase_ms"] = now_ms
            if read < info.read_cu or write < info.write_cu:
                changes["last_decrease_ms"] = now_ms
            changes.update(read_cu=read, write_cu=write)
        retention = _retention(req, info)
        if retention:
            changes["changelog_retention_s"] = retention
        updated = info.with_options(**changes)

        def op(txn: Txn) -> None:
            rows.ensure_table(txn, info)
            txn.update_table(updated)

        await self._storage.run(op)
        self._tables[(instance, info.name)] = updated
        answer = pb.UpdateTableResponse()
        self._describe_into(
            updated, answer.reserved_throughput_details, answer.table_options, answer.stream_details
        )
        return answer

    async def delete_table(self, instance: str, req: Any) -> Any:
        info = self._table(instance, req.table_name)

        def op(txn: Txn) -> None:
            rows.ensure_table(txn, info)
            txn.delete_table(info.table_id)

        await self._storage.run(op)
        self._tables.pop((instance, info.name), None)
        return pb.DeleteTableResponse()

    # -------------------------------------------------------------------------------------- single rows
    def _read_spec(self, req: Any) -> rows.ReadSpec:
        has_versions = req.HasField("max_versions")
        has_range = req.HasField("time_range")
        validate.ensure(has_versions or has_range, "Neither max_versions nor time_range is set.")
        max_versions = None
        if has_versions:
            validate.ensure(req.max_versions > 0, f"max_versions must be positive, not {req.max_versions}.")
            max_versions = req.max_versions
        time_range = None
        if has_range:
            tr = req.time_range
            if tr.HasField("specific_time"):
                time_range = (tr.specific_time, tr.specific_time + 1)
            else:
                validate.ensure(
                    tr.HasField("start_time")
                    and tr.HasField("end_time")
                    and 0 <= tr.start_time < tr.end_time,
                    "Invalid time range.",
                )
                time_range = (tr.start_time, tr.end_time)
        node = page = None
        if req.HasField("filter"):
            parsed = filters.parse(req.filter)
            if isinstance(parsed, filters.Pagination):
                page = parsed
            else:
                node = parsed
        tokens = req.token if isinstance(req.token, bytes) else b"".join(req.token)  # repeated in batches
        if tokens:
            raise parameter_invalid("Invalid token: this server never hands out column paging tokens.")
        return rows.ReadSpec(
            columns=frozenset(req.columns_to_get) if len(req.columns_to_get) else None,
            max_versions=max_versions,
            time_range=time_range,
            start_column=req.start_column if req.HasField("start_column") else None,
            end_column=req.end_column if req.HasField("end_column") else None,
            node=node,
            page=page,
        )

    def _point_key(self, info: TableInfo, data: bytes) -> bytes:
        row = _row(data, "primary key")
        return keys.encode_key(validate.pk_values(info, row.pk))

    async def get_row(self, instance: str, req: Any) -> Any:
        _no_transactions(req)
        info = self._table(instance, req.table_name)
        key = self._point_key(info, req.primary_key)
        spec = self._read_spec(req)
        answer = pb.GetRowResponse()
        rec = self._storage.get_row(info.table_id, key)
        body = rows.read_row(rec, info, spec, self._now_ms()) if rec is not None else None
        answer.row = HEADER_BYTES + body if body is not None else b""
        _consumed(answer.consumed, read=_cu(len(answer.row)))
        return answer

    def _condition(self, msg: Any) -> rows.Condition:
        node = None
        if msg.HasField("column_condition") and msg.column_condition:
            parsed = filters.parse(msg.column_condition)
            if isinstance(parsed, filters.Pagination):
                raise parameter_invalid("Column pagination is not a condition.")
            node = parsed
        return rows.Condition(msg.row_existence, node)

    def _write(self, kind: str, info: TableInfo, data: bytes, condition_msg: Any, return_msg: Any) -> _Write:
        now_ms = self._now_ms()
        row = _row(data, "row")
        if kind == "delete":
            validate.ensure(not row.cells, "A DeleteRow primary key carries no columns.")
        values = validate.pk_values(info, row.pk, auto_increment=kind == "put")
        condition = self._condition(condition_msg)
        if AUTO_INCREMENT in values and condition.existence != rows.EXPECT_IGNORE:
            raise parameter_invalid("The row existence condition must be IGNORE for auto-increment keys.")
        if kind == "update" and not info.allow_update:
            raise parameter_invalid("The table does not allow UpdateRow (allow_update is false).")
        validate.check_cells(info, row.cells, now_ms, update=kind == "update")
        return_type = pb.RT_NONE
        return_columns: tuple[str, ...] = ()
        if return_msg is not None and return_msg.HasField("return_type"):
            return_type = return_msg.return_type
            return_columns = tuple(return_msg.return_column_names)
        return _Write(kind, info, values, row.cells, condition, return_type, return_columns)

    def _apply(self, txn: Txn, w: _Write) -> rows.WriteResult:
        now_ms = self._now_ms()
        if w.kind == "put":
            return rows.put_row(txn, w.info, w.values, w.cells, w.condition, now_ms)
        if w.kind == "update":
            return rows.update_row(txn, w.info, w.values, w.cells, w.condition, now_ms)
        return rows.delete_row(txn, w.info, w.values, w.condition, now_ms)

    @staticmethod
    def _returned(w: _Write, result: rows.WriteResult) -> bytes:
        if w.return_type == pb.RT_PK:
            return encode_row(result.pk)
        if w.return_type == pb.RT_AFTER_MODIFY:
            cells = [
                Cell(n, result.columns[n][0][1], result.columns[n][0][0])
                for n in w.return_columns
                if n in result.columns
            ]
            return encode_row(result.pk, cells)
        return b""

    async def _single_write(self, kind: str, instance: str, req: Any, data: bytes, answer: Any) -> Any:
        _no_transactions(req)
        info = self._table(instance, req.table_name)
        w = self._write(
            kind, info, data, req.condition, req.return_content if req.HasField("return_content") else None
        )
        result = await self._storage.run(lambda txn: self._apply(txn, w))
        returned = self._returned(w, result)
        if returned:
            answer.row = returned
        _consumed(answer.consumed, write=_cu(result.size))
        return answer

    async def put_row(self, instance: str, req: Any) -> Any:
        return await self._single_write("put", instance, req, req.row, pb.PutRowResponse())

    async def update_row(self, instance: str, req: Any) -> Any:
        return await self._single_write("update", instance, req, req.row_change, pb.UpdateRowResponse())

    async def delete_row(self, instance: str, req: Any) -> Any:
        return await self._single_write("delete", instance, req, req.primary_key, pb.DeleteRowResponse())

    # ------------------------------------------------------------------------------------------- batches
    async def batch_get_row(self, instance: str, req: Any) -> Any:
        total = sum(len(t.primary_key) for t in req.tables)
        validate.ensure(
            total <= validate.MAX_BATCH_GET_ROWS,
            f"Rows count exceeds the upper limit: {validate.MAX_BATCH_GET_ROWS}.",
        )
        validate.ensure(
            len({t.table_name for t in req.tables}) == len(req.tables),
            "The same table appears twice in the request.",
        )
        answer = pb.BatchGetRowResponse()
        now_ms = self._now_ms()
        for table_req in req.tables:
            table_answer = answer.tables.add()
            table_answer.table_name = table_req.table_name
            try:
                info = self._table(instance, table_req.table_name)
                spec = self._read_spec(table_req)
                error: TableError | None = None
            except TableError as exc:
                error = exc
            for data in table_req.primary_key:
                item = table_answer.rows.add()
                try:
                    if error is not None:
                        raise error
                    key = self._point_key(info, data)
                    rec = self._storage.get_row(info.table_id, key)
                    body = rows.read_row(rec, info, spec, now_ms) if rec is not None else None
                    item.is_ok = True
                    item.row = HEADER_BYTES + body if body is not None else b""
                    _consumed(item.consumed, read=_cu(len(item.row)))
                except TableError as exc:
                    item.is_ok = False
                    item.error.code = exc.code
                    item.error.message = exc.message
        return answer

    async def batch_write_row(self, instance: str, req: Any) -> Any:
        if req.HasField("transaction_id"):
            raise unsupported_operation("LocalTransaction")
        total = sum(len(t.rows) for t in req.tables)
        validate.ensure(
            0 < total <= validate.MAX_BATCH_WRITE_ROWS,
            f"Rows count exceeds the upper limit: {validate.MAX_BATCH_WRITE_ROWS}.",
        )
        validate.ensure(
            len({t.table_name for t in req.tables}) == len(req.tables),
            "The same table appears twice in the request.",
        )
        kinds = {pb.PUT: "put", pb.UPDATE: "update", pb.DELETE: "delete"}
        planned: list[list[_Write | TableError]] = []
        seen: set[tuple[int, bytes]] = set()
        for table_req in req.tables:
            table_plan: list[_Write | TableError] = []
            planned.append(table_plan)
            try:
                info: TableInfo | None = self._table(instance, table_req.table_name)
                table_error: TableError | None = None
            except TableError as exc:
                info, table_error = None, exc
            for row_req in table_req.rows:
                if table_error is not None or info is None:
                    table_plan.append(table_error or parameter_invalid("No table."))
                    continue
                try:
                    w = self._write(
                        kinds[row_req.type],
                        info,
                        row_req.row_change,
                        row_req.condition,
                        row_req.return_content if row_req.HasField("return_content") else None,
                    )
                except TableError as exc:
                    table_plan.append(exc)
                    continue
                if AUTO_INCREMENT not in w.values:
                    key = (info.table_id, keys.encode_key(w.values))
                    if key in seen:
                        raise parameter_invalid(
                            "The input parameter is invalid: the same row is written twice."
                        )
                    seen.add(key)
                table_plan.append(w)

        def op(txn: Txn) -> list[list[rows.WriteResult | TableError]]:
            results: list[list[rows.WriteResult | TableError]] = []
            for table_plan in planned:
                table_results: list[rows.WriteResult | TableError] = []
                results.append(table_results)
                for w in table_plan:
                    if isinstance(w, TableError):
                        table_results.append(w)
                        continue
                    txn.c.execute("SAVEPOINT batch_row")
                    try:
                        table_results.append(self._apply(txn, w))
                    except TableError as exc:
                        txn.c.execute("ROLLBACK TO batch_row")
                        table_results.append(exc)
                    txn.c.execute("RELEASE batch_row")
            return results

        outcome = await self._storage.run(op)
        answer = pb.BatchWriteRowResponse()
        for table_req, table_plan, table_results in zip(req.tables, planned, outcome, strict=True):
            table_answer = answer.tables.add()
            table_answer.table_name = table_req.table_name
            for planned_row, result in zip(table_plan, table_results, strict=True):
                item = table_answer.rows.add()
                if isinstance(result, TableError):
                    item.is_ok = False
                    item.error.code = result.code
                    item.error.message = result.message
                    continue
                assert isinstance(planned_row, _Write)
                item.is_ok = True
                returned = self._returned(planned_row, result)
                if returned:
                    item.row = returned
                _consumed(item.consumed, write=_cu(result.size))
        return answer

    # --------------------------------------------------------------------------------------------- ranges
    async def get_range(self, instance: str, req: Any) -> Any:
        _no_transactions(req)
        info = self._table(instance, req.table_name)
        spec = self._read_spec(req)
        start = validate.pk_values(
            info, _row(req.inclusive_start_primary_key, "start primary key").pk, bounds=True
        )
        end = validate.pk_values(info, _row(req.exclusive_end_primary_key, "end primary key").pk, bounds=True)
        start_key, end_key = keys.encode_key(start), keys.encode_key(end)
        forward = req.direction == pb.FORWARD
        if forward:
            validate.ensure(start_key <= end_key, "Begin key must be less than end key in FORWARD.")
        else:
            validate.ensure(start_key >= end_key, "Begin key must be larger than end key in BACKWARD.")
        limit = validate.MAX_RANGE_ROWS
        if req.HasField("limit"):
            validate.ensure(req.limit > 0, f"The limit must be positive, not {req.limit}.")
            limit = min(req.limit, validate.MAX_RANGE_ROWS)
        now_ms = self._now_ms()
        bodies: list[bytes] = []
        size = 0
        next_key: bytes | None = None
        for scanned, rec in enumerate(self._storage.scan(info.table_id, start_key, end_key, forward)):
            if len(bodies) >= limit or size >= validate.MAX_RESPONSE_BYTES or scanned >= _MAX_SCAN_ROWS:
                next_key = rec.pk
                break
            body = rows.read_row(rec, info, spec, now_ms)
            if body is not None:
                bodies.append(body)
                size += len(body)
        answer = pb.GetRangeResponse()
        answer.rows = join_rows(bodies)
        if next_key is not None:
            names = [c.name for c in info.pk]
            answer.next_start_primary_key = encode_row(
                list(zip(names, keys.decode_key(next_key, info.pk_types), strict=True))
            )
        _consumed(answer.consumed, read=_cu(size))
        return answer

    # ----------------------------------------------------------------------------------------- streams
    # Each table's change log is one stream with one shard; an iterator is a position in the log.
    def _stream(self, instance: str, sid: str) -> TableInfo:
        for (inst, _), info in self._tables.items():
            if inst == instance and stream_id(info) == sid:
                return info
        raise stream_not_exist()

    async def list_stream(self, instance: str, req: Any) -> Any:
        answer = pb.ListStreamResponse()
        for (inst, name), info in sorted(self._tables.items()):
            if inst == instance and (not req.HasField("table_name") or req.table_name == name):
                answer.streams.add(
                    stream_id=stream_id(info), table_name=name, creation_time=info.created_ms * 1000
                )
        return answer

    async def describe_stream(self, instance: str, req: Any) -> Any:
        info = self._stream(instance, req.stream_id)
        answer = pb.DescribeStreamResponse(
            stream_id=req.stream_id,
            expiration_time=info.changelog_retention_s // 3600,
            table_name=info.name,
            creation_time=info.created_ms * 1000,
            stream_status=pb.STREAM_ACTIVE,
        )
        if not req.HasField("inclusive_start_shard_id") or req.inclusive_start_shard_id <= _SHARD:
            answer.shards.add(shard_id=_SHARD)
        return answer

    async def get_shard_iterator(self, instance: str, req: Any) -> Any:
        info = self._stream(instance, req.stream_id)
        if req.shard_id != _SHARD:
            raise stream_not_exist()
        start = self._storage.changes_trimmed_through(info.table_id)
        return pb.GetShardIteratorResponse(shard_iterator=_iterator(info, start))

    async def get_stream_record(self, instance: str, req: Any) -> Any:
        try:
            prefix, table_id, position = req.shard_iterator.split(":")
            assert prefix == _ITERATOR_PREFIX
            table_id_n, after = int(table_id), int(position)
        except (ValueError, AssertionError):
            raise parameter_invalid("Invalid shard iterator.") from None
        info = next(
            (t for (inst, _), t in self._tables.items() if inst == instance and t.table_id == table_id_n),
            None,
        )
        if info is None:
            raise stream_not_exist()
        limit = 100
        if req.HasField("limit"):
            validate.ensure(0 < req.limit <= 1000, "The limit must be within [1, 1000].")
            limit = req.limit
        if after < self._storage.changes_trimmed_through(info.table_id):
            raise trimmed_data_access()
        answer = pb.GetStreamRecordResponse()
        last = after
        for seq, action, record in self._storage.changes_after(info.table_id, after, limit):
            answer.stream_records.add(action_type=action, record=record)
            last = seq
        answer.next_shard_iterator = _iterator(info, last)
        return answer


_SHARD = "0"
_ITERATOR_PREFIX = "ossbox1"


def stream_id(info: TableInfo) -> str:
    return f"{info.name}_{info.table_id}"


def _iterator(info: TableInfo, after: int) -> str:
    return f"{_ITERATOR_PREFIX}:{info.table_id}:{after}"


def _retention(req: Any, info: TableInfo | None) -> int | None:
    """A stream specification's expiration (hours) sets how long the change log keeps records."""
    if not req.HasField("stream_spec"):
        return None
    spec = req.stream_spec
    if not spec.enable_stream:
        return None  # the change log cannot be switched off: delivery depends on it
    if spec.HasField("expiration_time"):
        validate.ensure(1 <= spec.expiration_time <= 168, "Stream expiration time must be 1 to 168 hours.")
        return int(spec.expiration_time) * 3600
    return None


def wall_clock(offset_s: float = 0.0) -> Callable[[], int]:
    """Milliseconds since the epoch, shifted by `offset_s` (OSSBOX_CLOCK_OFFSET_S, for TTL tests)."""
    offset_ms = int(offset_s * 1000)
    return lambda: int(time.time() * 1000) + offset_ms
