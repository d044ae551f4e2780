"""Delivery runs in exactly one process of all that share the metadata: the one holding the `delivery` lease
(ossbox.meta.leases: an flock on `<data-dir>/delivery.lock` on one machine, a session advisory lock on
PostgreSQL across nodes).

Every serving process starts a `DeliveryLeader`; one gets the lease and delivers, the others try again every
second. The kernel drops the flock of a process that dies (even of SIGKILL), PostgreSQL the advisory lock of
a node whose connection ends, so another one takes over. The holder checks the lease between passes of the
worker and stops delivering when it lost it (its database connection broke).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Protocol

from ossbox.meta.leases import Lease

log = logging.getLogger("ossbox.delivery")


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...

    def close(self) -> None: ...


class DeliveryLeader:
    def __init__(self, lease: Lease, make_worker: Callable[[], Runnable], retry_s: float = 1.0) -> None:
        self._lease = lease
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
        try:
            while not self._stop.is_set():
                if not self._lease.acquire():
                    self._stop.wait(self._retry_s)
                    continue
                try:
                    self._lead()
                finally:
                    self.leading.clear()
        finally:
            self._lease.release()

    def _lead(self) -> None:
        log.info("delivery: this process (pid %d) runs the delivery tasks", os.getpid())
        self.leading.set()
        # Set on stop() and when the lease is lost: the worker must not go on beside the next holder.
        lead_over = threading.Event()
        watch = threading.Thread(target=self._watch, args=(lead_over,), name="delivery-lease", daemon=True)
        watch.start()
        try:
            self._deliver(lead_over)
        finally:
            lead_over.set()
            watch.join()

    def _watch(self, lead_over: threading.Event) -> None:
        while not self._stop.wait(self._retry_s) and not lead_over.is_set():
            if not self._lease.acquire():
                log.warning("delivery: this process lost the delivery lease and stops delivering")
                break
        lead_over.set()

    def _deliver(self, lead_over: threading.Event) -> None:
        while not lead_over.is_set():
            try:
                worker = self._make_worker()
            except Exception:
                log.exception("delivery could not start; trying again")
                lead_over.wait(5 * self._retry_s)
                continue
            try:
                worker.run(lead_over)
            except Exception:
                log.exception("delivery stopped on an unexpected error; starting again")
                lead_over.wait(self._retry_s)
            finally:
                with contextlib.suppress(Exception):
                    worker.close()
