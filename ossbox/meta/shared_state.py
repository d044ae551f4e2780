"""State shared by every process that opens one data directory: a change counter, a write lock and the
test clock's offset.

Several server processes (`ossbox server --workers N`) and the `ossbox key ...` commands may use the same
SQLite database at once.

- The change counter lets each process cache buckets and access keys (asked on nearly every request) with
  no expiry: a process that commits a change to them bumps the counter after the commit, and every process
  drops its caches when it sees the counter move. Reading it is a load from a shared memory map, far
  cheaper than the query it saves. A request that starts after another's change was acknowledged sees it.
- The write lock (an flock) serialises write transactions across processes. SQLite would serialise them too,
  but its busy handler sleeps in steps of milliseconds; a blocked flock wakes as soon as it is released.
- The test clock's offset (ossbox/core/clock.py): milliseconds added to the real time by servers started with
  OSSBOX_TEST_CLOCK=1, set by `ossbox test-clock`. Production servers never read it.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_COUNTER = struct.Struct("<Q")
_CLOCK_OFFSET = struct.Struct("<q")
_CLOCK_OFFSET_AT = 8


class SharedState:
    def __init__(self, path: Path) -> None:
        """`path` is a small file next to the database (created if missing)."""
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if os.fstat(self._fd).st_size < mmap.PAGESIZE:
            os.ftruncate(self._fd, mmap.PAGESIZE)
        self._map = mmap.mmap(self._fd, mmap.PAGESIZE)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)

    def generation(self) -> int:
        """The change counter. A torn read can only look like a change: it never hides one."""
        return int(_COUNTER.unpack_from(self._map, 0)[0])

    def bump(self) -> None:
        """Announce a committed change to buckets or access keys. Only while holding `write_lock`."""
        _COUNTER.pack_into(self._map, 0, self.generation() + 1)

    def clock_offset_ms(self) -> int:
        return int(_CLOCK_OFFSET.unpack_from(self._map, _CLOCK_OFFSET_AT)[0])

    def set_clock_offset_ms(self, offset_ms: int) -> None:
        """Tests set it between steps, while no request that depends on the time is in flight."""
        _CLOCK_OFFSET.pack_into(self._map, _CLOCK_OFFSET_AT, offset_ms)

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive across processes. Not across threads of one process: callers hold a thread lock too."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
