"""Access logging: lines buffered per process, delivered as objects into the target buckets.

Each server process keeps the lines of the requests it served, grouped by (target bucket, prefix, source
bucket), and writes each group as a new object every `flush_interval_s` seconds, as soon as a group reaches
`max_lines`, and once more when the process stops. A log object is written like any PutObject (durable
when the write returns); lines still buffered when a process is killed are lost. Recording a line never
fails the request it describes: any error is logged and the line dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from ossbox.protocol.configs.logging_status import LoggingStatus, object_name
from ossbox.service.storage import Storage, WriteAttrs

log = logging.getLogger("ossbox.access_log")

DEFAULT_FLUSH_INTERVAL_S = 60.0
DEFAULT_MAX_LINES = 10000
_LOG_ATTRS = WriteAttrs(content_type="text/plain")

_Group = tuple[str, str, str]  # (target bucket, target prefix, source bucket)


def _body_reader(body: bytes) -> Callable[[], Awaitable[bytes]]:
    sent = False

    async def read() -> bytes:
        nonlocal sent
        if sent:
            return b""
        sent = True
        return body

    return read


class AccessLogger:
    def __init__(
        self,
        storage: Storage,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        max_lines: int = DEFAULT_MAX_LINES,
    ) -> None:
        self._storage = storage
        self.flush_interval_s = flush_interval_s
        self._max_lines = max_lines
        self._groups: dict[_Group, list[str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._flushing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the timer and deliver whatever is buffered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        await self.flush()

    def record(self, status: LoggingStatus, source_bucket: str, line: str) -> None:
        try:
            group = (status.target_bucket, status.target_prefix, source_bucket)
            lines = self._groups.setdefault(group, [])
            lines.append(line)
            if len(lines) >= self._max_lines:
                self._flush_soon(group)
        except Exception:
            log.exception("could not buffer an access log line for bucket %s", source_bucket)

    def _flush_soon(self, group: _Group) -> None:
        lines = self._groups.pop(group, [])
        task = asyncio.get_running_loop().create_task(self._deliver(group, lines))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_s)
            await self.flush()

    async def flush(self) -> None:
        groups, self._groups = self._groups, {}
        for group, lines in groups.items():
            await self._deliver(group, lines)

    async def _deliver(self, group: _Group, lines: list[str]) -> None:
        if not lines:
            return
        target_name, prefix, source = group
        target = self._storage.meta.get_bucket(target_name)
        if target is None:
            log.warning(
                "dropped %d access log lines of %s: bucket %s is gone", len(lines), source, target_name
            )
            return
        key = object_name(prefix, source, time.time(), secrets.token_hex(8).upper())
        body = ("\n".join(lines) + "\n").encode("utf-8")
        try:
            await self._storage.put_object(target, key, _body_reader(body), len(body), None, _LOG_ATTRS)
        except Exception as exc:
            log.warning("could not write access log %s/%s (%d lines): %s", target_name, key, len(lines), exc)
