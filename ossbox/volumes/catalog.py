"""The project service's catalog: projects, members, grants, volumes, tables, partitions and data files.

Its own database (ossbox.meta.side_db): projects.sqlite3 next to the server's metadata, or the schema
ossbox_projects in the metadata's PostgreSQL database. Nothing is cached in memory, so every process and node
sees every committed change at once. Each call is one short transaction; writes run one at a time.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TypeVar

from ossbox.meta.side_db import DbConn, SideDb
from ossbox.volumes.errors import already_exists, not_found

T = TypeVar("T")


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Project:
    name: str
    owner: str
    warehouse: str
    role_arn: str
    created_ms: int


@dataclass(frozen=True)
class Volume:
    project: str
    name: str
    url: str
    role_arn: str
    owner: str
    created_ms: int


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # MaxCompute's spelling, upper case: STRING, BIGINT, DECIMAL(10,2), ...
    comment: str = ""


@dataclass(frozen=True)
class TableDef:
    name: str
    columns: tuple[Column, ...]
    partition_columns: tuple[Column, ...] = ()
    external: bool = False
    format: str = ""  # external tables: csv, tsv or parquet
    location: str = ""  # external tables: odps://...
    properties: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    owner: str = ""
    created_ms: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "columns": [[c.name, c.type, c.comment] for c in self.columns],
                "partition_columns": [[c.name, c.type, c.comment] for c in self.partition_columns],
                "external": self.external,
                "format": self.format,
                "location": self.location,
                "properties": self.properties,
                "comment": self.comment,
            }
        )

    @staticmethod
    def from_row(name: str, definition: str, owner: str, created_ms: int) -> TableDef:
        d = json.loads(definition)
        return TableDef(
            name,
            tuple(Column(*c) for c in d["columns"]),
            tuple(Column(*c) for c in d["partition_columns"]),
            d["external"],
            d["format"],
            d["location"],
            d["properties"],
            d["comment"],
            owner,
            created_ms,
        )

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + self.partition_columns


@dataclass(frozen=True)
class DataFile:
    key: str
    size: int
    rows: int


class Catalog:
    def __init__(self, db: SideDb) -> None:
        self._db = db

    def close(self) -> None:
        self._db.close()

    def _conn(self) -> DbConn:
        return self._db.conn()

    def _write(self) -> AbstractContextManager[DbConn]:
        return self._db.write()

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return list(self._conn().execute(sql, args).fetchall())

    # -- projects --------------------------------------------------------------------------------------
    def create_project(self, project: Project) -> None:
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM projects WHERE name = ?", (project.name,)).fetchone():
                raise already_exists("ProjectAlreadyExists", f"The project {project.name} already exists.")
            conn.execute(
                "INSERT INTO projects VALUES (?, ?, ?, ?, ?)",
                (project.name, project.owner, project.warehouse, project.role_arn, project.created_ms),
            )

    def get_project(self, name: str) -> Project | None:
        rows = self._read("SELECT * FROM projects WHERE name = ?", (name,))
        return Project(*rows[0]) if rows else None  # type: ignore[arg-type]

    def require_project(self, name: str) -> Project:
        project = self.get_project(name)
        if project is None:
            raise not_found("NoSuchProject", f"Project not found - '{name}'.")
        return project

    def list_projects(self) -> list[Project]:
        return [Project(*r) for r in self._read("SELECT * FROM projects ORDER BY name")]  # type: ignore[arg-type]

    # -- members and grants ----------------------------------------------------------------------------
    def add_member(self, project: str, principal: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO members VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (project, principal, now_ms())
            )
            return cur.rowcount > 0

    def remove_member(self, project: str, principal: str) -> bool:
        with self._write() as conn:
            conn.execute("DELETE FROM grants WHERE project = ? AND principal = ?", (project, principal))
            cur = conn.execute(
                "DELETE FROM members WHERE project = ? AND principal = ?", (project, principal)
            )
            return cur.rowcount > 0

    def is_member(self, project: str, principal: str) -> bool:
        return bool(
            self._read("SELECT 1 FROM members WHERE project = ? AND principal = ?", (project, principal))
        )

    def members(self, project: str) -> list[str]:
        rows = self._read("SELECT principal FROM members WHERE project = ? ORDER BY principal", (project,))
        return [str(r[0]) for r in rows]

    def grant(self, project: str, principal: str, object_type: str, name: str, privileges: list[str]) -> None:
        with self._write() as conn:
            for p in privileges:
                conn.execute(
                    "INSERT INTO grants VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (project, principal, object_type, name, p),
                )

    def revoke(
        self, project: str, principal: str, object_type: str, name: str, privileges: list[str]
    ) -> None:
        with self._write() as conn:
            for p in privileges:
                conn.execute(
                    "DELETE FROM grants WHERE project = ? AND principal = ? AND object_type = ? AND "
                    "object_name = ? AND privilege = ?",
                    (project, principal, object_type, name, p),
                )

    def grants_of(self, project: str, principal: str) -> list[tuple[str, str, str]]:
        """(object type, object name, privilege) rows."""
        rows = self._read(
            "SELECT object_type, object_name, privilege FROM grants WHERE project = ? AND principal = ? "
            "ORDER BY object_type, object_name, privilege",
            (project, principal),
        )
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def drop_object_grants(self, conn: DbConn, project: str, object_type: str, name: str) -> None:
        conn.execute(
            "DELETE FROM grants WHERE project = ? AND object_type = ? AND object_name = ?",
            (project, object_type, name),
        )

    # -- volumes ---------------------------------------------------------------------------------------
    def create_volume(self, volume: Volume) -> None:
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM volumes WHERE project = ? AND name = ?", (volume.project, volume.name)
            ).fetchone():
                raise already_exists("VolumeAlreadyExists", f"The volume {volume.name} already exists.")
            conn.execute(
                "INSERT INTO volumes VALUES (?, ?, ?, ?, ?, ?)",
                (volume.project, volume.name, volume.url, volume.role_arn, volume.owner, volume.created_ms),
            )

    def get_volume(self, project: str, name: str) -> Volume | None:
        rows = self._read("SELECT * FROM volumes WHERE project = ? AND name = ?", (project, name))
        return Volume(*rows[0]) if rows else None  # type: ignore[arg-type]

    def require_volume(self, project: str, name: str) -> Volume:
        volume = self.get_volume(project, name)
        if volume is None:
            raise not_found("NoSuchVolume", f"Volume not found - '{project}.{name}'.")
        return volume

    def list_volumes(self, project: str) -> list[Volume]:
        rows = self._read("SELECT * FROM volumes WHERE project = ? ORDER BY name", (project,))
        return [Volume(*r) for r in rows]  # type: ignore[arg-type]

    def delete_volume(self, project: str, name: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM volumes WHERE project = ? AND name = ?", (project, name))
            self.drop_object_grants(conn, project, "volume", name)

    # -- tables, partitions, files ---------------------------------------------------------------------
    def create_table(self, project: str, table: TableDef, if_not_exists: bool = False) -> bool:
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM tables WHERE project = ? AND name = ?", (project, table.name)
            ).fetchone():
                if if_not_exists:
                    return False
                raise already_exists(
                    "TableAlreadyExists", f"Table or view already exists - '{project}.{table.name}'."
                )
            conn.execute(
                "INSERT INTO tables VALUES (?, ?, ?, ?, ?)",
                (project, table.name, table.to_json(), table.owner, table.created_ms),
            )
            return True

    def get_table(self, project: str, name: str) -> TableDef | None:
        rows = self._read(
            "SELECT name, definition, owner, created_ms FROM tables WHERE project = ? AND name = ?",
            (project, name),
        )
        return TableDef.from_row(*rows[0]) if rows else None  # type: ignore[arg-type]

    def require_table(self, project: str, name: str) -> TableDef:
        table = self.get_table(project, name)
        if table is None:
            raise not_found("NoSuchTable", f"Table not found - '{project}.{name}'.")
        return table

    def list_tables(self, project: str) -> list[TableDef]:
        rows = self._read(
            "SELECT name, definition, owner, created_ms FROM tables WHERE project = ? ORDER BY name",
            (project,),
        )
        return [TableDef.from_row(*r) for r in rows]  # type: ignore[arg-type]

    def drop_table(self, project: str, name: str) -> list[DataFile]:
        """Removes the table; returns its data files for the caller to delete."""
        with self._write() as conn:
            files = self._files(conn, project, name, None)
            conn.execute("DELETE FROM files WHERE project = ? AND table_name = ?", (project, name))
            conn.execute("DELETE FROM partitions WHERE project = ? AND table_name = ?", (project, name))
            conn.execute("DELETE FROM tables WHERE project = ? AND name = ?", (project, name))
            self.drop_object_grants(conn, project, "table", name)
            return files

    def add_partition(self, project: str, table: str, spec: str, if_not_exists: bool = False) -> bool:
        with self._write() as conn:
            return self._add_partition(conn, project, table, spec, if_not_exists)

    def _add_partition(self, conn: DbConn, project: str, table: str, spec: str, if_not_exists: bool) -> bool:
        cur = conn.execute(
            "INSERT INTO partitions VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (project, table, spec, now_ms()),
        )
        if cur.rowcount == 0 and not if_not_exists:
            raise already_exists("PartitionAlreadyExists", f"Partition already exists - '{spec}'.")
        return cur.rowcount > 0

    def partitions(self, project: str, table: str) -> list[str]:
        rows = self._read(
            "SELECT spec FROM partitions WHERE project = ? AND table_name = ? ORDER BY spec", (project, table)
        )
        return [str(r[0]) for r in rows]

    def drop_partition(self, project: str, table: str, spec: str) -> list[DataFile] | None:
        """Removes a partition; None when it did not exist, else its files for the caller to delete."""
        with self._write() as conn:
            cur = conn.execute(
                "DELETE FROM partitions WHERE project = ? AND table_name = ? AND spec = ?",
                (project, table, spec),
            )
            if cur.rowcount == 0:
                return None
            files = self._files(conn, project, table, spec)
            conn.execute(
                "DELETE FROM files WHERE project = ? AND table_name = ? AND spec = ?", (project, table, spec)
            )
            return files

    @staticmethod
    def _files(conn: DbConn, project: str, table: str, spec: str | None) -> list[DataFile]:
        if spec is None:
            rows = conn.execute(
                "SELECT object_key, size, rows FROM files WHERE project = ? AND table_name = ?",
                (project, table),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT object_key, size, rows FROM files WHERE project = ? AND table_name = ? AND spec = ?",
                (project, table, spec),
            ).fetchall()
        return [DataFile(*r) for r in rows]

    def files(self, project: str, table: str) -> dict[str, list[DataFile]]:
        """Partition spec ('' when unpartitioned) -> its files, in key order."""
        rows = self._read(
            "SELECT spec, object_key, size, rows FROM files WHERE project = ? AND table_name = ? "
            "ORDER BY spec, object_key",
            (project, table),
        )
        out: dict[str, list[DataFile]] = {}
        for spec, key, size, count in rows:
            out.setdefault(str(spec), []).append(DataFile(str(key), int(size), int(count)))  # type: ignore[call-overload]
        return out

    def commit_files(
        self, project: str, table: str, spec: str, new: list[DataFile], overwrite: bool, created_ms: int
    ) -> list[DataFile]:
        """Adds `new` to a partition (creating it), or replaces its files; returns the replaced ones.

        Fails if the table was dropped (or re-created) since the statement read its definition."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT created_ms FROM tables WHERE project = ? AND name = ?", (project, table)
            ).fetchone()
            if row is None or int(row[0]) != created_ms:
                raise not_found("NoSuchTable", f"Table not found - '{project}.{table}' (dropped meanwhile).")
            if spec:
                self._add_partition(conn, project, table, spec, True)
            old = self._files(conn, project, table, spec) if overwrite else []
            if overwrite:
                conn.execute(
                    "DELETE FROM files WHERE project = ? AND table_name = ? AND spec = ?",
                    (project, table, spec),
                )
            for f in new:
                row = (project, table, spec, f.key, f.size, f.rows)
                conn.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)", row)
            return old
