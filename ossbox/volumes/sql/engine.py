"""Running MaxCompute statements: grants and catalog changes here, data through DuckDB (session.py).

Internal tables are Parquet files in the project's warehouse
(`<warehouse>/<table>/<partition>/<uuid>.parquet`), listed in the catalog: a write uploads its files first
and swaps the catalog's list in one transaction, so a failed LOAD or INSERT OVERWRITE leaves the table as it
was. External tables read the files below their
odps:// location as the volume's role (or the table's `odps.properties.rolearn`).
"""

from __future__ import annotations

import concurrent.futures
import math
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import oss2

from ossbox.volumes import paths
from ossbox.volumes.catalog import Column, DataFile, TableDef, now_ms
from ossbox.volumes.errors import VolumeError, access_denied, invalid
from ossbox.volumes.grants import Caller, canonical_privilege, parse_principal
from ossbox.volumes.oss import check_role_arn, oss_errors, parse_location
from ossbox.volumes.sql import parser as P
from ossbox.volumes.sql import textformat
from ossbox.volumes.sql.session import (
    Scratch,
    Session,
    check_single_select,
    duckdb_error,
    file_list,
    quote_ident,
    quote_str,
)
from ossbox.volumes.sql.types import display_type, duckdb_type

if TYPE_CHECKING:
    from ossbox.volumes.service import ProjectService

MAX_RESULT_ROWS = 10000
SPLIT_SIZE_FLAG = "odps.stage.mapper.split.size"
DEFAULT_SPLIT_MB = 256
_UPLOAD_PART = 32 << 20
OK = {"message": "OK"}

Answer = dict[str, Any]


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + (
            f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


class SqlEngine:
    def __init__(self, service: ProjectService, scratch: Path) -> None:
        self.svc = service
        self.scratch = Scratch(scratch)

    # -- entry -----------------------------------------------------------------------------------------
    def execute(self, caller: Caller, project: str, text: str, settings: dict[str, str]) -> Answer:
        stmt = P.parse(text)
        self.svc.guard.require_member(caller, project)
        if not isinstance(stmt, P.GrantStatement | P.Membership | P.Show | P.Describe | P.SetFlag | P.WhoAmI):
            self.svc.require_instance(caller, project)
        run = StatementRun(self, caller, project, text, settings)
        try:
            return run.run(stmt)
        finally:
            run.close()
            self.scratch.trim()


class StatementRun:
    """One statement: its DuckDB session (opened on first use) and the tables it made visible."""

    def __init__(
        self, engine: SqlEngine, caller: Caller, project: str, text: str, settings: dict[str, str]
    ) -> None:
        self.engine = engine
        self.svc = engine.svc
        self.catalog = engine.svc.catalog
        self.guard = engine.svc.guard
        self.caller = caller
        self.project = project
        self.text = text
        self.settings = settings
        self._session: Session | None = None
        self._dir_cm: Any = None
        self.scrub: dict[str, str] = {}  # local path -> odps path, for error messages
        self.source_bytes = 0  # bytes of table data the statement's views cover

    @property
    def session(self) -> Session:
        if self._session is None:
            self._dir_cm = self.engine.scratch.session_dir()
            directory = self._dir_cm.__enter__()
            self._session = Session(self.engine.scratch, directory)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._dir_cm is not None:
            self._dir_cm.__exit__(None, None, None)

    def run(self, stmt: P.Statement) -> Answer:
        handler: Callable[[Any], Answer] = getattr(self, "_" + type(stmt).__name__.lower())
        return handler(stmt)

    # -- names and checks ------------------------------------------------------------------------------
    def table_name(self, name: str) -> str:
        project, sep, table = name.rpartition(".")
        if sep and project != self.project:
            raise invalid(f"{name}: statements here work on the project {self.project} only.", "CrossProject")
        return table

    def table(self, name: str) -> TableDef:
        return self.catalog.require_table(self.project, self.table_name(name))

    def require_table(self, table: TableDef, needed: str) -> None:
        self.guard.require(self.caller, self.project, "table", table.name, needed, table.owner)

    def warehouse(self) -> tuple[oss2.Bucket, str, str]:
        """(bucket, key prefix, role) of the project's warehouse."""
        project = self.catalog.require_project(self.project)
        location = parse_location(project.warehouse)
        return self.svc.access.bucket(location, project.role_arn), location.prefix, project.role_arn

    def partition_spec(
        self, table: TableDef, given: tuple[tuple[str, str], ...] | None, required: bool
    ) -> str:
        if not table.partition_columns:
            if given:
                raise invalid(f"{table.name} is not partitioned.", "InvalidPartition")
            return ""
        if given is None:
            if required:
                raise invalid(
                    f"{table.name} is partitioned: name the partition, e.g. PARTITION "
                    f"({table.partition_columns[0].name}='...')"
                    " (dynamic partitions are not supported).",
                    "InvalidPartition",
                )
            return ""
        values = dict(given)
        names = [c.name for c in table.partition_columns]
        if set(values) != set(names) or len(values) != len(given):
            raise invalid(
                f"the partition of {table.name} is ({', '.join(names)}), not "
                f"({', '.join(k for k, _ in given)}).",
                "InvalidPartition",
            )
        for name in names:
            value = values[name]
            if not value or any(ch in value for ch in "/=\\\n") or value in (".", ".."):
                raise invalid(f"invalid partition value {value!r}", "InvalidPartition")
        return "/".join(f"{n}={values[n]}" for n in names)

    # -- views -----------------------------------------------------------------------------------------
    def expose(self, name: str, needed: str = "Read") -> TableDef | None:
        """Make a catalog table visible to DuckDB under its name (None when there is no such table)."""
        table = self.catalog.get_table(self.project, name)
        if table is None:
            return None
        self.require_table(table, needed)
        con = self.session.con
        select = self.external_select(table) if table.external else self.internal_select(table)
        con.execute(f"CREATE OR REPLACE VIEW {quote_ident(table.name)} AS {select}")
        return table

    def expose_query(self, query: P.Query) -> None:
        check_single_select(query.text, query.offset, self.text)
        try:
            names = duckdb.get_table_names(query.text)
        except duckdb.Error as exc:
            raise duckdb_error(exc, self.text, query.offset, self.project) from None
        for name in sorted(names):
            self.expose(self.table_name(name.lower()))

    @staticmethod
    def _typed(columns: tuple[Column, ...], source: str) -> str:
        return ", ".join(
            f"CAST({source}{quote_ident(c.name)} AS {duckdb_type(c.type)}) AS {quote_ident(c.name)}"
            for c in columns
        )

    @staticmethod
    def _partition_values(table: TableDef, spec: str) -> str:
        values = dict(part.split("=", 1) for part in spec.split("/")) if spec else {}
        return ", ".join(
            f"CAST({quote_str(values.get(c.name, ''))} AS {duckdb_type(c.type)}) AS {quote_ident(c.name)}"
            for c in table.partition_columns
        )

    def _empty(self, table: TableDef) -> str:
        cols = ", ".join(
            f"CAST(NULL AS {duckdb_type(c.type)}) AS {quote_ident(c.name)}" for c in table.all_columns
        )
        return f"SELECT {cols} WHERE false"

    def internal_select(self, table: TableDef, only_spec: str | None = None) -> str:
        files = self.catalog.files(self.project, table.name)
        bucket, _, role = self.warehouse()
        parts = []
        for spec, data in files.items():
            if only_spec is not None and spec != only_spec:
                continue
            with oss_errors(role, f"the warehouse of {self.project}"):
                local = self.session.fetch(bucket, [(f.key, f.size) for f in data], ".parquet")
            self.source_bytes += sum(f.size for f in data)
            extra = self._partition_values(table, spec)
            cols = self._typed(table.columns, "")
            parts.append(
                f"SELECT {cols}{', ' + extra if extra else ''} FROM read_parquet({file_list(local)})"
            )
        return " UNION ALL ".join(parts) if parts else self._empty(table)

    def external_select(self, table: TableDef) -> str:
        target = paths.parse(table.location, self.project)
        volume = self.catalog.require_volume(self.project, target.require_volume())
        role = table.properties.get(textformat.ROLE_ARN) or volume.role_arn
        location = parse_location(volume.url)
        bucket = self.svc.access.bucket(location, role)
        base = location.prefix + (target.key + "/" if target.key else "")
        with oss_errors(role, str(target)):
            objects = [
                (o.key, int(o.size))
                for o in oss2.ObjectIterator(bucket, prefix=base)
                if not o.key.endswith("/") and _is_data_file(o.key)
            ]
        by_spec: dict[str, list[tuple[str, int]]] = {}
        names = [c.name for c in table.partition_columns]
        for key, size in objects:
            dirs = key[len(base) :].split("/")[:-1]
            values = dict(d.split("=", 1) for d in dirs if "=" in d)
            if names and not all(n in values for n in names):
                continue
            by_spec.setdefault("/".join(f"{n}={values[n]}" for n in names), []).append((key, size))
        parts = []
        suffix = ".parquet" if table.format == "parquet" else ".csv"
        for spec, objs in sorted(by_spec.items()):
            with oss_errors(role, str(target)):
                local = self.session.download(bucket, objs, suffix)
            for (key, _), path in zip(objs, local, strict=True):
                self.scrub[str(path)] = f"odps://{self.project}/{volume.name}/{key[len(location.prefix) :]}"
            self.source_bytes += sum(s for _, s in objs)
            extra = self._partition_values(table, spec)
            extra = ", " + extra if extra else ""
            if table.format == "parquet":
                source = f"read_parquet({file_list(local)})"
            else:
                columns = (
                    "{"
                    + ", ".join(
                        f"{quote_str(c.name)}: {quote_str(duckdb_type(c.type))}" for c in table.columns
                    )
                    + "}"
                )
                source = (
                    f"read_csv({file_list(local)}, columns={columns}, "
                    f"{textformat.read_options(table.properties, table.format)})"
                )
            parts.append(f"SELECT {self._typed(table.columns, '')}{extra} FROM {source}")
        return " UNION ALL ".join(parts) if parts else self._empty(table)

    def query(self, sql: str, offset: int | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self.session.con.execute(sql)
        except duckdb.Error as exc:
            raise duckdb_error(
                exc, self.text, offset if offset is not None else 0, self.project, self.scrub
            ) from None

    # -- writing internal tables -----------------------------------------------------------------------
    def write(
        self, table: TableDef, spec: str, select_sql: str, overwrite: bool, offset: int | None = None
    ) -> int:
        """Runs `select_sql` (columns in the table's order, partition columns excluded) into a new Parquet
        file, uploads it and commits it to the catalog. Returns the rows written."""
        local = self.session.local_name(".parquet")
        typed = self._typed(table.columns, "__src.")
        cur = self.query(
            f"COPY (SELECT {typed} FROM ({select_sql}) AS __src) TO {quote_str(str(local))} "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)",
            offset,
        )
        row = cur.fetchone()
        rows = int(row[0]) if row else 0
        bucket, prefix, role = self.warehouse()
        key = f"{prefix}{table.name}/{spec or 'data'}/{uuid.uuid4().hex}.parquet"
        new = []
        if rows or overwrite:
            with oss_errors(role, f"the warehouse of {self.project}"):
                upload_file(bucket, key, local)
            self.engine.scratch.adopt(bucket, key, local)
            new = [DataFile(key, local.stat().st_size, rows)]
        if not rows and not overwrite:
            return 0
        try:
            old = self.catalog.commit_files(self.project, table.name, spec, new, overwrite, table.created_ms)
        except BaseException:
            if new:
                with oss_errors(role, "the warehouse"):
                    bucket.batch_delete_objects([f.key for f in new])
            raise
        self.delete_files(old)
        return rows

    def delete_files(self, files: list[DataFile]) -> None:
        if not files:
            return
        bucket, _, role = self.warehouse()
        keys = [f.key for f in files]
        with oss_errors(role, f"the warehouse of {self.project}"):
            for i in range(0, len(keys), 1000):
                bucket.batch_delete_objects(keys[i : i + 1000])

    def columns_of(self, sql: str, offset: int) -> list[str]:
        cur = self.query(f"SELECT * FROM ({sql}) AS __q LIMIT 0", offset)
        return [d[0] for d in cur.description]

    def positional(self, table: TableDef, sql: str, offset: int, names: tuple[str, ...] | None) -> str:
        """A query whose columns are the table's (by position, or by an INSERT's column list)."""
        produced = self.columns_of(sql, offset)
        targets = list(names) if names else [c.name for c in table.columns]
        known = {c.name for c in table.columns}
        for n in targets:
            if n not in known:
                raise invalid(f"{table.name} has no column {n}.", "NoSuchColumn")
        if len(produced) != len(targets):
            raise VolumeError(
                "SemanticError",
                f"the query gives {len(produced)} columns, {table.name} takes {len(targets)} "
                f"({', '.join(targets)})",
            )
        by_target = {t: quote_ident(p) for t, p in zip(targets, produced, strict=True)}
        cols = ", ".join(f"{by_target.get(c.name, 'NULL')} AS {quote_ident(c.name)}" for c in table.columns)
        return f"SELECT {cols} FROM ({sql}) AS __p"

    # -- statements ------------------------------------------------------------------------------------
    def _select(self, stmt: P.Select) -> Answer:
        self.expose_query(stmt.query)
        cur = self.query(stmt.query.text, stmt.query.offset)
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(MAX_RESULT_ROWS + 1)
        return {
            "columns": columns,
            "rows": [[_json_value(v) for v in r] for r in rows[:MAX_RESULT_ROWS]],
            "truncated": len(rows) > MAX_RESULT_ROWS,
        }

    def _createtable(self, stmt: P.CreateTable) -> Answer:
        self.guard.require(self.caller, self.project, "project", self.project, "CreateTable")
        name = paths.check_name("table", self.table_name(stmt.name))
        for column in (*stmt.columns, *stmt.partition_columns):
            paths.check_name("column", column.name)
        if stmt.as_query is not None:
            return self._create_as(name, stmt)
        if stmt.external:
            textformat.check_properties(stmt.properties)
            target = paths.parse(stmt.location, self.project)
            volume = self.catalog.require_volume(self.project, target.require_volume())
            self.guard.require(self.caller, self.project, "volume", volume.name, "Read", volume.owner)
            if textformat.ROLE_ARN in stmt.properties:
                check_role_arn(stmt.properties[textformat.ROLE_ARN])
        overlap = {c.name for c in stmt.columns} & {c.name for c in stmt.partition_columns}
        if overlap:
            raise invalid(f"{', '.join(sorted(overlap))} is both a column and a partition column.")
        table = TableDef(
            name,
            stmt.columns,
            stmt.partition_columns,
            stmt.external,
            stmt.format if stmt.external else "",
            stmt.location,
            stmt.properties,
            stmt.comment,
            self.caller.principal,
            now_ms(),
        )
        self.catalog.create_table(self.project, table, stmt.if_not_exists)
        return OK

    def _create_as(self, name: str, stmt: P.CreateTable) -> Answer:
        assert stmt.as_query is not None
        self.expose_query(stmt.as_query)
        cur = self.query(f"SELECT * FROM ({stmt.as_query.text}) AS __q LIMIT 0", stmt.as_query.offset)
        columns = tuple(Column(d[0].lower(), _mc_type(str(d[1]))) for d in cur.description)
        table = TableDef(name, columns, owner=self.caller.principal, created_ms=now_ms())
        if not self.catalog.create_table(self.project, table, stmt.if_not_exists):
            return OK
        try:
            self.write(table, "", stmt.as_query.text, True, stmt.as_query.offset)
        except BaseException:
            self.catalog.drop_table(self.project, name)
            raise
        return OK

    def _droptable(self, stmt: P.DropTable) -> Answer:
        name = self.table_name(stmt.name)
        if stmt.if_exists and self.catalog.get_table(self.project, name) is None:
            return OK
        table = self.catalog.require_table(self.project, name)
        self.require_table(table, "Delete")
        self.delete_files(self.catalog.drop_table(self.project, table.name))
        return OK

    def _alterpartitions(self, stmt: P.AlterPartitions) -> Answer:
        table = self.table(stmt.table)
        self.require_table(table, "Write" if stmt.add else "Delete")
        if table.external and not stmt.add:
            raise invalid("partitions of external tables are their directories: remove them with vfs -rm -r.")
        for given in stmt.specs:
            spec = self.partition_spec(table, given, True)
            if stmt.add:
                self.catalog.add_partition(self.project, table.name, spec, stmt.if_flag)
            else:
                dropped = self.catalog.drop_partition(self.project, table.name, spec)
                if dropped is None and not stmt.if_flag:
                    raise VolumeError("NoSuchPartition", f"Partition not found - '{spec}'.", 404)
                self.delete_files(dropped or [])
        return OK

    def _insert(self, stmt: P.Insert) -> Answer:
        table = self.table(stmt.table)
        if table.external:
            raise invalid(f"{table.name} is an external table: write its files with UNLOAD or vfs -put.")
        self.require_table(table, "Write")
        spec = self.partition_spec(table, stmt.partition, True)
        self.expose_query(stmt.query)  # also for VALUES: the text must be exactly one query
        select = self.positional(table, stmt.query.text, stmt.query.offset, stmt.columns)
        rows = self.write(table, spec, select, stmt.overwrite, stmt.query.offset)
        return {"message": f"OK ({rows} rows)"}

    def _show(self, stmt: P.Show) -> Answer:
        if stmt.what == "tables":
            self.guard.require(self.caller, self.project, "project", self.project, "List")
            return {"lines": [f"{t.owner}:{t.name}" for t in self.catalog.list_tables(self.project)]}
        if stmt.what == "partitions":
            table = self.table(stmt.target)
            self.require_table(table, "List")
            specs = self.catalog.partitions(self.project, table.name) if not table.external else []
            return {"lines": specs}
        if stmt.what == "users":
            self.guard.require(self.caller, self.project, "project", self.project, "List")
            owner = self.catalog.require_project(self.project).owner
            return {"lines": [owner, *self.catalog.members(self.project)]}
        return self._show_grants(stmt.target)

    def _show_grants(self, user: str) -> Answer:
        if user:
            principal, _ = parse_principal(user, self.svc.account_id)
            if principal != self.caller.principal and not self.caller.is_owner:
                raise access_denied(
                    "Authorization Failed [4019], only the project owner may see others' grants."
                )
        else:
            principal = self.caller.principal
        project = self.catalog.require_project(self.project)
        lines = ["Authorization Type: ACL", f"[user/{principal}]"]
        if principal == project.owner:
            lines.append(f"A       projects/{self.project}: All (project owner)")
        grouped: dict[str, list[str]] = {}
        for otype, oname, priv in self.catalog.grants_of(self.project, principal):
            target = f"projects/{self.project}" + ("" if otype == "project" else f"/{otype}s/{oname}")
            grouped.setdefault(target, []).append(priv)
        for target, privs in grouped.items():
            lines.append(f"A       {target}: {' | '.join(privs)}")
        return {"lines": lines}

    def _describe(self, stmt: P.Describe) -> Answer:
        table = self.table(stmt.table)
        self.require_table(table, "List")
        kind = "External Table" if table.external else "Managed Table"
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(table.created_ms / 1000))
        rows: list[list[object]] = [[c.name, display_type(c.type), "", c.comment] for c in table.columns]
        rows += [[c.name, display_type(c.type), "partition", c.comment] for c in table.partition_columns]
        lines = [
            f"Owner: {table.owner} | Project: {self.project}",
            f"TableComment: {table.comment}",
            f"CreateTime: {created}",
            f"{kind}" + (f" | Location: {table.location} | Format: {table.format}" if table.external else ""),
        ]
        return {"lines": lines, "columns": ["Field", "Type", "Label", "Comment"], "rows": rows}

    def _setflag(self, stmt: P.SetFlag) -> Answer:
        if stmt.key == SPLIT_SIZE_FLAG and not stmt.value.isdigit():
            raise invalid(f"{SPLIT_SIZE_FLAG} takes a number of MB.")
        return {"set": [stmt.key, stmt.value], "message": "OK"}

    def _whoami(self, _stmt: P.WhoAmI) -> Answer:
        return {"lines": [f"Name: {self.caller.principal}", f"Project: {self.project}"]}

    def _grantstatement(self, stmt: P.GrantStatement) -> Answer:
        principal, _ = parse_principal(stmt.user, self.svc.account_id)
        otype, oname = stmt.object_type, stmt.object_name.lower()
        if otype == "project":
            if oname != self.project:
                raise invalid(f"this session is in the project {self.project}, not {oname}.", "CrossProject")
            self.guard.require_owner(self.caller, self.project, "grant privileges on the project")
        else:
            owner = self._object_owner(otype, oname)
            if not self.caller.is_owner and owner != self.caller.principal:
                raise access_denied(
                    f"Authorization Failed [4019], only the project owner or the {otype}'s owner may grant "
                    "on it."
                )
        privileges = [canonical_privilege(p, otype) for p in stmt.privileges]
        if stmt.grant:
            if principal != self.catalog.require_project(self.project).owner and not self.catalog.is_member(
                self.project, principal
            ):
                raise VolumeError(
                    "NoSuchUser", f"{principal} is not a member of {self.project}: ADD USER first.", 404
                )
            self.catalog.grant(self.project, principal, otype, oname, privileges)
        else:
            self.catalog.revoke(self.project, principal, otype, oname, privileges)
        return OK

    def _object_owner(self, otype: str, name: str) -> str:
        if otype == "table":
            return self.catalog.require_table(self.project, self.table_name(name)).owner
        return self.catalog.require_volume(self.project, name).owner

    def _membership(self, stmt: P.Membership) -> Answer:
        self.guard.require_owner(self.caller, self.project, "add or remove users")
        principal, user = parse_principal(stmt.user, self.svc.account_id)
        if user is None:
            raise invalid("the account owner owns the project already.")
        if stmt.add:
            if not self.svc.user_exists(user):
                raise VolumeError(
                    "NoSuchUser", f"There is no RAM user {user} (ossbox ram user create {user}).", 404
                )
            if not self.catalog.add_member(self.project, principal):
                raise VolumeError(
                    "UserAlreadyExists", f"{principal} is already a member of {self.project}.", 409
                )
        elif not self.catalog.remove_member(self.project, principal):
            raise VolumeError("NoSuchUser", f"{principal} is not a member of {self.project}.", 404)
        return OK

    # -- LOAD and UNLOAD -------------------------------------------------------------------------------
    def _volume_target(self, location: str, needed: str) -> tuple[paths.VolumePath, oss2.Bucket, str, str]:
        """(path, bucket, key prefix of the location as a directory, role) of an odps:// location."""
        target = paths.parse(location, self.project)
        volume = self.catalog.require_volume(self.project, target.require_volume())
        self.guard.require(self.caller, self.project, "volume", volume.name, needed, volume.owner)
        return (
            target,
            self.svc.access.bucket(parse_location(volume.url), volume.role_arn),
            parse_location(volume.url).prefix,
            volume.role_arn,
        )

    def _load(self, stmt: P.Load) -> Answer:
        textformat.check_properties(stmt.properties)
        table = self.table(stmt.table)
        if table.external:
            raise invalid(f"{table.name} is an external table; LOAD fills internal tables.")
        self.require_table(table, "Write")
        spec = self.partition_spec(table, stmt.partition, True)
        target, bucket, root, role = self._volume_target(stmt.location, "Read")
        if textformat.ROLE_ARN in stmt.properties:
            role = check_role_arn(stmt.properties[textformat.ROLE_ARN])
            bucket = self.svc.access.bucket(
                parse_location(self.catalog.require_volume(self.project, target.volume or "").url), role
            )
        base = root + target.key
        started = time.monotonic()
        with oss_errors(role, str(target)):
            objects = self._objects_at(bucket, base)
            if not objects:
                raise VolumeError("NoSuchPath", f"{target}: no data files there.", 404)
            local = self.session.download(bucket, objects, ".parquet" if stmt.format == "parquet" else ".csv")
        for (key, _), path in zip(objects, local, strict=True):
            self.scrub[str(path)] = f"odps://{self.project}/{target.volume}/{key[len(root) :]}"
        downloaded = time.monotonic()
        if stmt.format == "parquet":
            select = (
                f"SELECT {', '.join(quote_ident(c.name) for c in table.columns)} FROM "
                f"read_parquet({file_list(local)})"
            )
        else:
            columns = (
                "{"
                + ", ".join(f"{quote_str(c.name)}: {quote_str(duckdb_type(c.type))}" for c in table.columns)
                + "}"
            )
            select = (
                f"SELECT * FROM read_csv({file_list(local)}, columns={columns}, "
                f"{textformat.read_options(stmt.properties, stmt.format)})"
            )
        try:
            rows = self.write(table, spec, select, stmt.overwrite)
        except VolumeError as exc:
            raise VolumeError(
                exc.code, f"LOAD failed, {table.name} is unchanged: {exc.message}", exc.status
            ) from None
        took = (
            f"download {downloaded - started:.1f} s, convert and upload {time.monotonic() - downloaded:.1f} s"
        )
        return {"message": f"OK ({rows} rows loaded from {len(objects)} files; {took})"}

    @staticmethod
    def _objects_at(bucket: oss2.Bucket, base: str) -> list[tuple[str, int]]:
        """The data files at a location: the object itself, or every file below the directory."""
        if base and not base.endswith("/"):
            try:
                head = bucket.head_object(base)
                return [(base, int(head.content_length or 0))]
            except oss2.exceptions.NotFound:
                base += "/"
        return [
            (o.key, int(o.size))
            for o in oss2.ObjectIterator(bucket, prefix=base)
            if not o.key.endswith("/") and _is_data_file(o.key) and o.size
        ]

    def _unload(self, stmt: P.Unload) -> Answer:
        textformat.check_properties(stmt.properties)
        if stmt.query is not None:
            self.expose_query(stmt.query)
            source, offset = stmt.query.text, stmt.query.offset
        else:
            table = self.table(stmt.table)
            self.require_table(table, "Read")
            spec = self.partition_spec(table, stmt.partition, False)
            cols = ", ".join(quote_ident(c.name) for c in table.all_columns)
            inner = (
                self.internal_select(table, spec if stmt.partition else None)
                if not table.external
                else self.external_select(table)
            )
            source, offset = f"SELECT {cols} FROM ({inner}) AS __t", None
        target, bucket, root, role = self._volume_target(stmt.location, "Write")
        if textformat.ROLE_ARN in stmt.properties:
            role = check_role_arn(stmt.properties[textformat.ROLE_ARN])
            bucket = self.svc.access.bucket(
                parse_location(self.catalog.require_volume(self.project, target.volume or "").url), role
            )
        split_mb = int(self.settings.get(SPLIT_SIZE_FLAG, DEFAULT_SPLIT_MB) or DEFAULT_SPLIT_MB)
        files = max(1, math.ceil(self.source_bytes / (max(split_mb, 1) << 20)))
        if stmt.format == "parquet":
            options, suffix = "FORMAT parquet, COMPRESSION snappy", ".parquet"
        else:
            options, suffix = (
                textformat.write_options(stmt.properties, stmt.format),
                ".csv" if stmt.format == "csv" else ".tsv",
            )
        slices = [source]
        if files > 1:
            self.query(f"CREATE TEMP TABLE __out AS {source}", offset)
            total = int(self.query("SELECT count(*) FROM __out").fetchone()[0])  # type: ignore[index]
            files = max(1, min(files, total))
            step = math.ceil(total / files) if total else 1
            slices = [
                f"SELECT * FROM __out WHERE rowid >= {i * step} AND rowid < {(i + 1) * step}"
                for i in range(files)
            ]
        started = time.monotonic()
        run_id = uuid.uuid4().hex[:16]
        prefix = root + (target.key + "/" if target.key else "")
        written, rows = [], 0
        for n, sql in enumerate(slices):
            local = self.session.local_name(suffix)
            row = self.query(f"COPY ({sql}) TO {quote_str(str(local))} ({options})", offset).fetchone()
            rows += int(row[0]) if row else 0
            key = f"{prefix}{run_id}_{n:05d}{suffix}"
            with oss_errors(role, str(target)):
                upload_file(bucket, key, local)
            written.append(key)
        took = f"{time.monotonic() - started:.1f} s after reading the source"
        return {"message": f"OK ({rows} rows in {len(written)} files under {target}; {took})"}


def _is_data_file(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith((".", "_")) and not name.endswith("_$folder$")


def _mc_type(duck: str) -> str:
    upper = duck.upper()
    mapping = {
        "VARCHAR": "STRING",
        "INTEGER": "INT",
        "BIGINT": "BIGINT",
        "DOUBLE": "DOUBLE",
        "FLOAT": "FLOAT",
        "BOOLEAN": "BOOLEAN",
        "TIMESTAMP": "DATETIME",
        "DATE": "DATE",
        "SMALLINT": "SMALLINT",
        "TINYINT": "TINYINT",
        "BLOB": "BINARY",
        "HUGEINT": "DECIMAL(38,0)",
    }
    if upper in mapping:
        return mapping[upper]
    if upper.startswith("DECIMAL"):
        return upper.replace(" ", "")
    return "STRING"


def upload_file(bucket: oss2.Bucket, key: str, local: Path) -> None:
    size = local.stat().st_size
    if size <= _UPLOAD_PART * 2:
        bucket.put_object_from_file(key, str(local))
        return
    upload_id = bucket.init_multipart_upload(key).upload_id
    try:

        def part(n: int) -> oss2.models.PartInfo:
            start = (n - 1) * _UPLOAD_PART
            with open(local, "rb") as f:
                f.seek(start)
                data = f.read(_UPLOAD_PART)
            return oss2.models.PartInfo(n, bucket.upload_part(key, upload_id, n, data).etag)

        count = math.ceil(size / _UPLOAD_PART)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            parts = list(pool.map(part, range(1, count + 1)))
        bucket.complete_multipart_upload(key, upload_id, parts)
    except BaseException:
        bucket.abort_multipart_upload(key, upload_id)
        raise
