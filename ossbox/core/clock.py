"""The time storage semantics run on: object timestamps, restores of archived objects, lifecycle rules.

Built once (ossbox/cli/runtime.py) and handed down. Production uses `SystemClock`. A server started with
OSSBOX_TEST_CLOCK=1 uses an `OffsetClock` whose offset any process on the same data directory can move
(`ossbox test-clock advance`), so that tests step a running server days ahead instead of sleeping.

Request signatures, presigned URL expiry and the Date header always use the real time: a client's clock
is real, and a test that moves the server's storage clock must still be able to sign requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

DAY_MS = 86_400_000


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class OffsetClock:
    """Real time plus an offset read on every call (cheap: `read_offset_ms` is a load from shared memory)."""

    def __init__(self, read_offset_ms: Callable[[], int]) -> None:
        self._read_offset_ms = read_offset_ms

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self._read_offset_ms()
