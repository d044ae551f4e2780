"""Background work that one process of the cluster does at a time (lifecycle passes, the blob sweep): a loop
that, every interval, does the work if this process holds the work's lease (ossbox.meta.leases)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ossbox.meta.leases import Lease

log = logging.getLogger("ossbox")


async def every(interval_s: float, role: Lease, work: Callable[[], Awaitable[object]], what: str) -> None:
    """Until cancelled: every `interval_s`, `work()` if this process holds `role` (taking it when free). A
    failure is logged and the next interval tries again; the lease goes when the loop is cancelled."""
    try:
        while True:
            await asyncio.sleep(interval_s)
            if not role.acquire():
                continue
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; the next one retries", what)
    finally:
        role.release()
