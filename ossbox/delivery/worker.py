"""Running delivery tasks: read rows, buffer them, write Parquet files, move the checkpoint.

One `TaskRunner` per task does one small step at a time (read a page of rows, or write a batch), and
`DeliveryWorker` turns over every task in one thread. A batch is written when its rows reach the size
threshold (4 MiB of row data by default), when its oldest row has waited the time limit (2 minutes), or
when the full scan ends; while catching up it may hold up to `max_writers` times the threshold, split into
that many files by a hash of the primary key (the ConcurrentID, written in parallel).

Exactly once (store.py has the three steps): a batch is staged in the store before anything is sent, its
files are PUT under names fixed at staging, and only then does the progress move. After a crash at any
point the staged batch is sent again, byte for byte under the same names, or, if nothing was staged, the
rows are read again from the last committed position. Rows buffered in memory but not staged are simply
read again.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ossbox.delivery.destination import Destination
from ossbox.delivery.errors import DeliveryFailure
from ossbox.delivery.model import Mode, Task
from ossbox.delivery.naming import object_key
from ossbox.delivery.shaping import RowShaper, ShapedRow, initial_auto_columns
from ossbox.delivery.source import SourceRow, TableReader
from ossbox.delivery.store import DeliveryStore, Progress, StagedFile
from ossbox.tables.changelog import ChangeLogTrimmed, NoSuchTable

log = logging.getLogger("ossbox.delivery")

MIB = 1024 * 1024
# Reported and kept (until another error replaces it): changes were lost, someone should know.
TRIMMED = "ChangeLogTrimmed"


@dataclass(frozen=True)
class Settings:
    roll_bytes: int = 4 * MIB  # a file is written once its rows reach this much data ...
    roll_s: float = 120.0  # ... or its oldest row has waited this long
    max_writers: int = 4  # parallel files (ConcurrentIDs) of one batch while catching up
    page_rows: int = 1000  # rows read per step
    poll_s: float = 1.0  # pause when no task had anything to do
    retry_max_s: float = 30.0  # longest pause between attempts of a failing task
    sync_every_s: float = 1.0  # how often an idle task records that it is caught up


@dataclass
class _Buffer:
    rows: list[ShapedRow] = field(default_factory=list)
    bytes: int = 0
    since: float = 0.0  # monotonic time of its first row
    caught_up_ms: int = 0  # the source had nothing more at this time (0: not since the last row)
    last_ms: int = 0  # write time of the newest record read into it


# (task) -> where its files go
DestinationFactory = Callable[[Task], Destination]


class TaskRunner:
    def __init__(
        self,
        task: Task,
        store: DeliveryStore,
        reader: TableReader,
        destination: DestinationFactory,
        settings: Settings,
        now_ms: Callable[[], int],
        pool: ThreadPoolExecutor,
    ) -> None:
        self.task = task
        self._store = store
        self._reader = reader
        self._destination_factory = destination
        self._destination: Destination | None = None
        self._settings = settings
        self._now_ms = now_ms
        self._pool = pool
        self._committed: Progress | None = None
        self._head: Progress | None = None  # committed progress moved on by what the buffer holds
        self._shaper: RowShaper | None = None
        self._buffer = _Buffer()
        self._retry_at = 0.0
        self._failures = 0
        self._error_code = ""
        self._last_sync_save = 0.0
        self.gone = False

    # -- scheduling ------------------------------------------------------------------------------------
    def due(self) -> bool:
        return time.monotonic() >= self._retry_at

    def step(self) -> bool:
        """Do one thing; True if there was something to do."""
        try:
            worked = self._step()
        except DeliveryFailure as failure:
            self._fail(failure.code, failure.detail)
            return True
        except NoSuchTable:
            self._fail("TableNotExist", f"The table {self.task.table} does not exist.")
            return True
        except Exception as exc:
            log.exception("delivery task %s/%s failed", *self._name())
            self._fail("InternalError", f"{type(exc).__name__}: {exc}")
            return True
        if worked and self._error_code and self._error_code != TRIMMED:
            self._store.clear_error(self.task.task_id)
            self._error_code = ""
            self._failures = 0
        return worked

    def _fail(self, code: str, detail: str) -> None:
        self._reset()
        self._failures += 1
        delay = min(self._settings.retry_max_s, 0.5 * 2 ** min(self._failures, 10))
        self._retry_at = time.monotonic() + delay
        if code != self._error_code:
            log.warning("delivery task %s/%s: %s: %s", *self._name(), code, detail)
        self._error_code = code
        self._store.set_error(self.task.task_id, code, detail, self._now_ms())

    def _name(self) -> tuple[str, str]:
        return self.task.instance, self.task.name

    def _reset(self) -> None:
        """Forget what is buffered: it is read again from the committed progress."""
        self._committed = self._head = self._shaper = None
        self._buffer = _Buffer()

    # -- one step --------------------------------------------------------------------------------------
    def _step(self) -> bool:
        if self.gone:
            return False
        if self._committed is None:
            if self._retry_staged():
                return True
            if not self._load():  # deleted before it started
                return False
        head = self._head
        assert head is not None
        if head.phase == "full" and not head.base_done:
            return self._read_base(head)
        if head.log_checkpoint is not None:
            return self._read_changes(head)
        return False  # a full task that has finished

    def _retry_staged(self) -> bool:
        """Send a batch staged before a crash or a failure, then commit it."""
        staged = self._store.staged(self.task.task_id)
        if staged is None:
            return False
        _, files = staged
        self._upload(files)
        self._store.commit(self.task.task_id)
        return True

    def _load(self) -> bool:
        """The committed progress (made on the task's first step); False if the task is gone."""
        progress = self._store.progress(self.task.task_id)
        if progress is None:
            progress = self._start()
            if progress is None:
                self.gone = True
                return False
        self._committed = progress
        self._head = copy.deepcopy(progress)
        self._shaper = RowShaper(self.task, progress.auto_columns)
        self._buffer = _Buffer()
        return True

    def _start(self) -> Progress | None:
        task = self.task
        table = self._reader.schema(task.instance, task.table)
        mode = task.config.mode
        progress = Progress(
            phase="incremental" if mode is Mode.INCREMENTAL else "full",
            auto_columns=initial_auto_columns(table) if task.config.auto_schema else [],
            base_started_ms=self._now_ms(),
        )
        if mode is not Mode.FULL:
            # Changes from the task's creation on (the full part, if any, sees the rows as they are then).
            progress.log_checkpoint = self._reader.checkpoint_at(task.instance, task.table, task.created_ms)
        return progress if self._store.save_progress(task.task_id, progress) else None

    def _read_base(self, head: Progress) -> bool:
        after = bytes.fromhex(head.base_after) if head.base_after is not None else None
        # A differential task scans the table as it was at its creation: what was written since comes from
        # the change log, so no write is delivered twice. A full task takes the rows as they are.
        before = self.task.created_ms if head.log_checkpoint is not None else None
        page = self._reader.base_page(
            self.task.instance, self.task.table, after, self._settings.page_rows, self._now_ms(), before
        )
        self._take(page.rows, head)
        if page.last_key is not None:
            head.base_after = page.last_key.hex()
        if page.done:
            head.base_done = True
            head.synced_ms = max(head.synced_ms, before if before is not None else head.base_started_ms)
            if head.log_checkpoint is not None:
                head.phase = "incremental"
            self._flush()
            return True
        if self._buffer.bytes >= self._max_batch_bytes():
            self._flush()
        return True

    def _read_changes(self, head: Progress) -> bool:
        assert head.log_checkpoint is not None
        now_ms = self._now_ms()
        try:
            page = self._reader.change_page(
                self.task.instance, self.task.table, head.log_checkpoint, self._settings.page_rows
            )
        except ChangeLogTrimmed as exc:
            # Changes were dropped before they were delivered (the task could not run for longer than the
            # table's change log retention): say so, and go on rather than stop for good.
            log.warning("delivery task %s/%s: %s; going on from the oldest kept change", *self._name(), exc)
            self._store.set_error(self.task.task_id, TRIMMED, str(exc), now_ms)
            self._error_code = TRIMMED
            head.log_checkpoint = self._reader.oldest_checkpoint(self.task.instance, self.task.table)
            return True
        self._take(page.rows, head)
        head.log_checkpoint = page.next_checkpoint
        buffer = self._buffer
        if page.records:
            buffer.last_ms = page.last_ms
        caught_up = page.records < self._settings.page_rows
        buffer.caught_up_ms = now_ms if caught_up else 0
        if not buffer.rows:
            if page.records or caught_up:
                self._idle_sync(head, page.records > 0, now_ms if caught_up else buffer.last_ms)
            return page.records > 0
        age = time.monotonic() - buffer.since
        if (
            buffer.bytes >= self._max_batch_bytes()
            or age >= self._settings.roll_s
            or (caught_up and buffer.bytes >= self._settings.roll_bytes)
        ):
            self._flush()
            return True
        return page.records > 0

    def _idle_sync(self, head: Progress, moved: bool, synced_ms: int) -> None:
        """Nothing to deliver: record the position (past deletes, say) and that rows up to now are in."""
        head.synced_ms = max(head.synced_ms, synced_ms - 1000)
        due = time.monotonic() - self._last_sync_save >= self._settings.sync_every_s
        if moved or due:
            self._last_sync_save = time.monotonic()
            if not self._store.save_progress(self.task.task_id, head):
                self.gone = True
                return
            self._committed = copy.deepcopy(head)

    def _take(self, rows: list[SourceRow], head: Progress) -> None:
        shaper = self._shaper
        assert shaper is not None
        buffer = self._buffer
        for row in rows:
            shaped, dirty = shaper.shape(row)
            head.dirty += dirty
            if shaped is None:
                continue
            if not buffer.rows:
                buffer.since = time.monotonic()
            buffer.rows.append(shaped)
            buffer.bytes += shaped.size
        head.auto_columns = shaper.auto_columns

    def _max_batch_bytes(self) -> int:
        return self._settings.roll_bytes * self._settings.max_writers

    # -- writing a batch -------------------------------------------------------------------------------
    def _flush(self) -> None:
        head, shaper, buffer = self._head, self._shaper, self._buffer
        assert head is not None and shaper is not None
        if buffer.rows:
            if buffer.caught_up_ms:
                head.synced_ms = max(head.synced_ms, buffer.caught_up_ms - 1000)
            elif buffer.last_ms:
                head.synced_ms = max(head.synced_ms, buffer.last_ms)
        files = self._files(head, shaper, buffer)
        if not self._store.stage(self.task.task_id, head, files):
            self.gone = True
            return
        self._buffer = _Buffer()
        self._upload(files)
        committed = self._store.commit(self.task.task_id)
        if committed is None:  # deleted meanwhile
            self.gone = True
            return
        self._committed = committed
        self._head = copy.deepcopy(committed)

    def _files(self, head: Progress, shaper: RowShaper, buffer: _Buffer) -> list[StagedFile]:
        """Split the batch into files (ConcurrentID, partition) with their names and Parquet bytes, and
        count them into `head`."""
        if not buffer.rows:
            return []
        # As many writers as the batch fills files of the threshold's size: one at a steady rate.
        writers = max(1, min(self._settings.max_writers, buffer.bytes // self._settings.roll_bytes))
        groups: dict[tuple[int, str], list[ShapedRow]] = {}
        for row in buffer.rows:
            writer = zlib.crc32(row.key) % writers if writers > 1 else 0
            groups.setdefault((writer, row.partition), []).append(row)
        columns = list(shaper.columns)
        names = [c.name for c in columns]
        plan: list[tuple[str, list[tuple[object, ...]]]] = []
        for writer, partition in sorted(groups):
            while len(head.next_seq) <= writer:
                head.next_seq.append(1)
            sequence = head.next_seq[writer]
            head.next_seq[writer] = sequence + 1
            rows = [tuple(r.values.get(n) for n in names) for r in groups[(writer, partition)]]
            plan.append((object_key(self.task.name, writer, partition, sequence), rows))
        # pyarrow (~80 MB of memory) is loaded by the first file a task writes, not by every server process.
        from ossbox.delivery import parquet

        encoded = list(self._pool.map(lambda item: parquet.encode(columns, item[1]), plan))
        files = [StagedFile(key, data) for (key, _), data in zip(plan, encoded, strict=True)]
        head.rows += len(buffer.rows)
        head.files += len(files)
        head.bytes += sum(len(f.data) for f in files)
        return files

    def _upload(self, files: list[StagedFile]) -> None:
        if not files:
            return
        if self._destination is None:
            self._destination = self._destination_factory(self.task)
        destination = self._destination
        for future in [self._pool.submit(destination.put, f.key, f.data) for f in files]:
            future.result()  # the first failure is raised; the batch stays staged and is sent again


class DeliveryWorker:
    """Every task of the store, turned over in one thread until `stop` is set."""

    def __init__(
        self,
        store: DeliveryStore,
        reader: TableReader,
        destination: DestinationFactory,
        settings: Settings,
        now_ms: Callable[[], int],
    ) -> None:
        self._store = store
        self._reader = reader
        self._destination = destination
        self._settings = settings
        self._now_ms = now_ms
        self._runners: dict[str, TaskRunner] = {}
        self._pool = ThreadPoolExecutor(max(2, settings.max_writers), thread_name_prefix="delivery-io")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._reader.close()

    def _refresh(self) -> list[TaskRunner]:
        tasks = {t.task_id: t for t in self._store.tasks()}
        for task_id in list(self._runners):
            if task_id not in tasks or self._runners[task_id].gone:
                del self._runners[task_id]
        for task_id, task in tasks.items():
            if task_id not in self._runners:
                self._runners[task_id] = TaskRunner(
                    task,
                    self._store,
                    self._reader,
                    self._destination,
                    self._settings,
                    self._now_ms,
                    self._pool,
                )
        return list(self._runners.values())

    def run_once(self) -> bool:
        worked = False
        for runner in self._refresh():
            if runner.due():
                worked = runner.step() or worked
        return worked

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.run_once():
                stop.wait(self._settings.poll_s)
