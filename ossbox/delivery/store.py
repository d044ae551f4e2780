"""Delivery tasks, their progress and their staged files: `<data-dir>/delivery.sqlite3`, or schema
`ossbox_delivery` in the metadata's PostgreSQL database when nodes share one (ossbox.meta.side_db).

SQLite in WAL mode with synchronous=FULL, like the table service's database, and a database of its own so
that delivery never waits behind table writes. The server's API processes write `tasks`; only the process
that leads delivery writes the rest.

Exactly-once files rest on three steps (ossbox/delivery/worker.py):
1. stage: the batch's Parquet files (bytes and object names) and the progress they lead to are committed
   here, in one transaction, before anything is sent;
2. upload: every staged file is PUT under its name (again, after a crash: same name, same bytes);
3. commit: the staged progress becomes the task's progress and the files are dropped, in one transaction.
So the checkpoint moves only after the files exist, and a file is never written twice under two names.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

from ossbox.delivery.model import Status, Task, TaskConfig
from ossbox.meta.side_db import DbConn, SideDb, open_side_db


def open_delivery_db(data_dir: Path, meta_url: str) -> SideDb:
    return open_side_db("delivery", "ossbox.delivery", data_dir, meta_url)


_PUT_PROGRESS = (
    "INSERT INTO progress (task_id, state) VALUES (?, ?) "
    "ON CONFLICT (task_id) DO UPDATE SET state = excluded.state"
)


class TaskExists(Exception):
    pass


@dataclass
class Progress:
    """How far a task got; its counters count only committed files, so they are exact."""

    phase: str  # "full" | "incremental"
    base_after: str | None = None  # hex of the last scanned row key delivered; None: from the start
    base_done: bool = False
    base_started_ms: int = 0
    log_checkpoint: int | None = None  # change log position delivered through (None: no incremental part)
    next_seq: list[int] = field(default_factory=list)  # next SequenceID of each ConcurrentID
    auto_columns: list[list[str]] = field(default_factory=list)  # [name, DataType] inferred so far
    synced_ms: int = 0
    rows: int = 0
    files: int = 0
    bytes: int = 0
    dirty: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> Progress:
        return Progress(**json.loads(text))

    def sequence(self, concurrent_id: int) -> int:
        return self.next_seq[concurrent_id] if concurrent_id < len(self.next_seq) else 1


@dataclass(frozen=True)
class StagedFile:
    key: str
    data: bytes


def _task(row: tuple[str, str, str, str, str, int]) -> Task:
    return Task(row[0], row[1], row[2], row[3], TaskConfig.from_json(row[4]), int(row[5]))


_TASK_COLUMNS = "task_id, instance, table_name, name, config, created_ms"


class DeliveryStore:
    """Takes over `db` (closed with the store); any thread may use it (each has its own connection)."""

    def __init__(self, db: SideDb) -> None:
        self._db = db

    @property
    def _conn(self) -> DbConn:
        return self._db.conn()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DeliveryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[DbConn]:
        return self._db.write()

    # -- tasks (the API) -------------------------------------------------------------------------------
    def create_task(self, task: Task) -> None:
        with self._write() as c:
            if c.execute(
                "SELECT 1 FROM tasks WHERE instance = ? AND name = ?", (task.instance, task.name)
            ).fetchone():
                raise TaskExists(task.name)
            c.execute(
                f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    task.task_id,
                    task.instance,
                    task.table,
                    task.name,
                    task.config.to_json(),
                    task.created_ms,
                ),
            )

    def task(self, instance: str, name: str) -> Task | None:
        row = self._conn.execute(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE instance = ? AND name = ?", (instance, name)
        ).fetchone()
        return _task(row) if row else None

    def tasks(self, instance: str | None = None, table: str | None = None) -> list[Task]:
        query, args = f"SELECT {_TASK_COLUMNS} FROM tasks", []
        where = []
        if instance is not None:
            where.append("instance = ?")
            args.append(instance)
        if table is not None:
            where.append("table_name = ?")
            args.append(table)
        if where:
            query += " WHERE " + " AND ".join(where)
        return [_task(r) for r in self._conn.execute(query + " ORDER BY instance, name", args).fetchall()]

    def delete_task(self, task_id: str) -> None:
        with self._write() as c:
            for table in ("tasks", "progress", "errors", "staged", "staged_files"):
                c.execute(f"DELETE FROM {table} WHERE task_id = ?", (task_id,))

    def exists(self, task_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM tasks WHERE task_id = ?", (task_id,)).fetchone() is not None

    # -- progress (the delivering process) -------------------------------------------------------------
    def progress(self, task_id: str) -> Progress | None:
        row = self._conn.execute("SELECT state FROM progress WHERE task_id = ?", (task_id,)).fetchone()
        return Progress.from_json(row[0]) if row else None

    def save_progress(self, task_id: str, progress: Progress) -> bool:
        """Progress without files (a task's start, a sync time moving on); False if the task is gone."""
        with self._write() as c:
            if not c.execute("SELECT 1 FROM tasks WHERE task_id = ?", (task_id,)).fetchone():
                return False
            c.execute(
                _PUT_PROGRESS,
                (task_id, progress.to_json()),
            )
            return True

    def stage(self, task_id: str, progress: Progress, files: list[StagedFile]) -> bool:
        """Step 1: the batch's files and the progress they lead to; False if the task is gone."""
        with self._write() as c:
            if not c.execute("SELECT 1 FROM tasks WHERE task_id = ?", (task_id,)).fetchone():
                return False
            c.execute("DELETE FROM staged_files WHERE task_id = ?", (task_id,))
            c.execute(
                "INSERT INTO staged (task_id, state) VALUES (?, ?) "
                "ON CONFLICT (task_id) DO UPDATE SET state = excluded.state",
                (task_id, progress.to_json()),
            )
            for f in files:
                c.execute(
                    "INSERT INTO staged_files (task_id, object_key, data) VALUES (?, ?, ?)",
                    (task_id, f.key, f.data),
                )
            return True

    def staged(self, task_id: str) -> tuple[Progress, list[StagedFile]] | None:
        row = self._conn.execute("SELECT state FROM staged WHERE task_id = ?", (task_id,)).fetchone()
        if row is None:
            return None
        files = [
            StagedFile(k, bytes(d))
            for k, d in self._conn.execute(
                "SELECT object_key, data FROM staged_files WHERE task_id = ? ORDER BY object_key", (task_id,)
            ).fetchall()
        ]
        return Progress.from_json(row[0]), files

    def commit(self, task_id: str) -> Progress | None:
        """Step 3: the staged progress becomes the task's (its files are in the bucket)."""
        with self._write() as c:
            row = c.execute("SELECT state FROM staged WHERE task_id = ?", (task_id,)).fetchone()
            if row is None:
                return None
            c.execute(_PUT_PROGRESS, (task_id, row[0]))
            c.execute("DELETE FROM staged WHERE task_id = ?", (task_id,))
            c.execute("DELETE FROM staged_files WHERE task_id = ?", (task_id,))
            return Progress.from_json(row[0])

    # -- errors ----------------------------------------------------------------------------------------
    def set_error(self, task_id: str, code: str, detail: str, now_ms: int) -> None:
        with self._write() as c:
            old = c.execute("SELECT code, since_ms FROM errors WHERE task_id = ?", (task_id,)).fetchone()
            since = int(old[1]) if old and old[0] == code else now_ms
            c.execute(
                "INSERT INTO errors (task_id, code, detail, since_ms) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tasks WHERE task_id = ?) "
                "ON CONFLICT (task_id) DO UPDATE SET code = excluded.code, detail = excluded.detail, "
                "since_ms = excluded.since_ms",
                (task_id, code, detail[:2000], since, task_id),
            )

    def clear_error(self, task_id: str) -> None:
        with self._write() as c:
            c.execute("DELETE FROM errors WHERE task_id = ?", (task_id,))

    def status(self, task: Task) -> Status:
        progress = self.progress(task.task_id)
        status = Status()
        if progress is not None:
            status = Status(
                phase=progress.phase,
                synced_ms=progress.synced_ms,
                rows=progress.rows,
                files=progress.files,
                bytes=progress.bytes,
                dirty_values=progress.dirty,
                full_done=progress.base_done,
                auto_columns=[(n, t) for n, t in progress.auto_columns],
            )
        row = self._conn.execute(
            "SELECT code, detail, since_ms FROM errors WHERE task_id = ?", (task.task_id,)
        ).fetchone()
        if row:
            status.error_code, status.error_detail, status.error_ms = row[0], row[1], int(row[2])
        return status
