"""Delivery runs in exactly one process of a server: the one holding an flock on `<data-dir>/delivery.lock`.

Every serving process starts a `DeliveryLeader`; one gets the lock and delivers, the others try again every
second. The kernel drops the lock of a process that dies (even of SIGKILL), so another one takes over.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

log = logging.getLogger("ossbox.delivery")


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


class DeliveryLeader:
    def __init__(self, lock_path: Path, make_worker: Callable[[], Runnable], retry_s: float = 1.0) -> None:
        self._lock_path = lock_path
        self._make_worker = make_worker
        self._retry_s = retry_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)
        self.leading = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while not self._stop.is_set():
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._stop.wait(self._retry_s)
                    continue
                try:
                    self._lead()
                finally:
                    self.leading.clear()
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _lead(self) -> None:
        log.info("delivery: this process (pid %d) runs the delivery tasks", os.getpid())
        self.leading.set()
        while not self._stop.is_set():
            try:
                worker = self._make_worker()
            except Exception:
                log.exception("delivery could not start; trying again")
                self._stop.wait(5 * self._retry_s)
                continue
            try:
                worker.run(self._stop)
            except Exception:
                log.exception("delivery stopped on an unexpected error; starting again")
                self._stop.wait(self._retry_s)
            finally:
                with contextlib.suppress(Exception):
                    worker.close()
