"""SelectObject with `Range: bytes=first-last`: the records that begin within those bytes, read whole.

The caller reads the object from first-1 (or 0), so that a record boundary at `first` is seen; the bytes
before the first record delimiter are then dropped, and the stream ends after the delimiter that ends the
record holding byte `last`. A delimiter cut between two chunks is kept back until the next one.
"""

from __future__ import annotations


class RecordsInBytes:
    def __init__(self, first: int, last: int, record_delimiter: bytes) -> None:
        self.read_from = max(first - 1, 0)
        self._pos = self.read_from  # object offset of the next byte fed
        self._last = last
        self._rd = record_delimiter
        self._skipping = first > 0
        self._carry = b""
        self.done = False

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""
        buf = self._carry + data
        base = self._pos - len(self._carry)  # object offset of buf[0]
        self._pos += len(data)
        rd = self._rd
        keep = len(rd) - 1
        start = 0
        if self._skipping:
            i = buf.find(rd)
            if i < 0:
                self._carry = buf[len(buf) - keep :] if keep else b""
                return b""
            start = i + len(rd)
            self._skipping = False
            if base + start > self._last:  # no record begins within the range
                self.done = True
                return b""
        # The delimiter that ends the record holding byte `last` is the first one ending at or after it.
        j = buf.find(rd, max(start, self._last - base - keep))
        if j >= 0:
            self.done = True
            return buf[start : j + len(rd)]
        cut = max(start, len(buf) - keep)
        self._carry = buf[cut:]
        return buf[start:cut]

    def finish(self) -> bytes:
        """The end of the object ends the last record too."""
        if self.done or self._skipping:
            return b""
        self.done = True
        return self._carry
