"""Index task logs and reports in Druid's OSS layout (OssTaskLogs).

Keys are `<prefix>/<taskId>/log` and `<prefix>/<taskId>/report.json`. A stream starts at `offset` when
0 < offset < size, at `size + offset` when -size < offset < 0, and at 0 otherwise (Druid's rule, so an
offset past the end gives the whole log). The stream is pinned to the ETag seen at HEAD: it reads in ranged
pieces with If-Match, and a log replaced meanwhile raises LogChangedError instead of mixing two logs.
"""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path
from typing import BinaryIO

from ossbox.deepstorage.client import OssClients, delete_keys, list_objects
from ossbox.deepstorage.config import TaskLogsConfig
from ossbox.deepstorage.descriptor import check_name
from ossbox.deepstorage.errors import LogChangedError, ObjectNotFoundError
from ossbox.deepstorage.layout import listing_prefix
from ossbox.deepstorage.pinned import DEFAULT_CHUNK, open_pinned

log = logging.getLogger("ossbox.deepstorage")

LOG_FILE = "log"
REPORT_FILE = "report.json"


def stream_start(offset: int, size: int) -> int:
    if 0 < offset < size:
        return offset
    if offset < 0 and -offset < size:
        return size + offset
    return 0


class TaskLogs:
    def __init__(
        self, clients: OssClients, config: TaskLogsConfig, *, chunk_size: int = DEFAULT_CHUNK
    ) -> None:
        self.clients = clients
        self.config = config
        self.chunk_size = chunk_size

    def key(self, task_id: str, file_name: str) -> str:
        """Druid's getTaskLogKey: `<prefix>/<taskId>/<file>` (no leading `/` when the prefix is empty)."""
        check_name("task id", task_id)
        return (
            f"{self.config.prefix}/{task_id}/{file_name}" if self.config.prefix else f"{task_id}/{file_name}"
        )

    # -- push ------------------------------------------------------------------------------------------
    def push_log(self, task_id: str, path: Path) -> str:
        return self._push(self.key(task_id, LOG_FILE), Path(path))

    def push_report(self, task_id: str, path: Path) -> str:
        return self._push(self.key(task_id, REPORT_FILE), Path(path))

    def _push(self, key: str, path: Path) -> str:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is not a file")
        bucket = self.config.bucket
        handle = self.clients.bucket(bucket)
        log.info("pushing task file %s to oss://%s/%s", path, bucket, key)
        self.clients.call(
            f"push oss://{bucket}/{key}", lambda: handle.put_object_from_file(key, str(path)), bucket, key
        )
        return key

    # -- stream ----------------------------------------------------------------------------------------
    def stream_log(self, task_id: str, offset: int = 0) -> BinaryIO | None:
        """The log from `offset` (negative: from the end); None when the task has no log."""
        return self._stream(self.key(task_id, LOG_FILE), offset)

    def stream_report(self, task_id: str) -> BinaryIO | None:
        return self._stream(self.key(task_id, REPORT_FILE), 0)

    def _stream(self, key: str, offset: int) -> BinaryIO | None:
        bucket = self.config.bucket
        handle = self.clients.bucket(bucket)
        try:
            head = self.clients.call(
                f"head oss://{bucket}/{key}", lambda: handle.head_object(key), bucket, key
            )
        except ObjectNotFoundError:
            return None  # Druid: an absent log is "absent", not an error (a missing bucket still raises)
        size = int(head.content_length or 0)
        if size == 0:
            return io.BytesIO(b"")
        start = stream_start(offset, size)
        return open_pinned(
            self.clients,
            bucket,
            key,
            head.etag,
            start,
            size,
            chunk_size=self.chunk_size,
            changed_error=LogChangedError,
        )

    # -- kill ------------------------------------------------------------------------------------------
    def kill_older_than(self, timestamp_ms: int) -> int:
        """Delete every task file last modified before timestamp_ms (Druid's killOlderThan); return the count.

        OSS reports last-modified to the second. With an empty prefix only keys shaped `<taskId>/<file>` are
        considered, so segments sharing the bucket are never touched.
        """
        bucket = self.config.bucket
        doomed: list[str] = []
        deleted = 0
        for info in list_objects(self.clients, bucket, listing_prefix(self.config.prefix)):
            if not self.config.prefix and info.key.count("/") != 1:
                continue
            if info.last_modified_ms < timestamp_ms:
                doomed.append(info.key)
                if len(doomed) == 1000:
                    deleted += delete_keys(self.clients, bucket, doomed)
                    doomed = []
        if doomed:
            deleted += delete_keys(self.clients, bucket, doomed)
        log.info(
            "deleted %d task files older than %d from oss://%s/%s",
            deleted,
            timestamp_ms,
            bucket,
            self.config.prefix,
        )
        return deleted

    def kill_all(self) -> int:
        """Druid's killAll: kill-older-than now."""
        return self.kill_older_than(int(time.time() * 1000))
