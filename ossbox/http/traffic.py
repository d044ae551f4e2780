"""x-oss-traffic-limit: a per-request bandwidth cap (bit/s, 819200 to 838860800) on the body of PutObject,
AppendObject, UploadPart and PostObject (as it is read) and of GetObject (as it is written).

A token bucket per request: after each chunk the request sleeps until its average rate is back under the
cap. Reads pause the socket through the body's back-pressure and responses are written in slices, so memory
stays flat whatever the size.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping

from ossbox.core.errors import invalid_argument
from ossbox.http.server import Response

HEADER = "x-oss-traffic-limit"
MIN_BITS_PER_S = 819200  # 100 KB/s
MAX_BITS_PER_S = 838860800  # 100 MB/s
# Operations whose bodies are paced.
UPLOADS = frozenset(["PutObject", "AppendObject", "UploadPart", "PostObject"])
DOWNLOADS = frozenset(["GetObject"])


def requested(headers: Mapping[str, str], query: Mapping[str, str]) -> int | None:
    """The cap in bytes per second, or None; out of range or not a number is InvalidArgument."""
    raw = headers.get(HEADER) or query.get(HEADER)
    if raw is None:
        return None
    if not raw.isdigit() or not MIN_BITS_PER_S <= int(raw) <= MAX_BITS_PER_S:
        raise invalid_argument(
            f"{HEADER} must be an integer from {MIN_BITS_PER_S} to {MAX_BITS_PER_S}.", HEADER, raw
        )
    return int(raw) // 8


class TokenBucket:
    def __init__(self, bytes_per_s: int) -> None:
        self.rate = bytes_per_s
        self._start = time.monotonic()
        self._taken = 0

    async def take(self, n: int) -> None:
        self._taken += n
        delay = self._start + self._taken / self.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


def _slice_size(bytes_per_s: int) -> int:
    return max(4096, min(1 << 20, bytes_per_s // 20))


async def _paced(body: bytes | AsyncIterator[bytes], bytes_per_s: int) -> AsyncIterator[bytes]:
    bucket = TokenBucket(bytes_per_s)
    step = _slice_size(bytes_per_s)

    async def pieces() -> AsyncIterator[bytes]:
        if isinstance(body, bytes):
            yield body
        else:
            async for chunk in body:
                yield chunk

    try:
        async for chunk in pieces():
            view = memoryview(chunk)
            for i in range(0, len(chunk), step):
                piece = bytes(view[i : i + step])
                yield piece
                await bucket.take(len(piece))
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()


def pace_response(resp: Response, bytes_per_s: int) -> Response:
    """The response with its body written at most at `bytes_per_s`."""
    if resp.head or resp.status >= 300:
        return resp
    length = len(resp.body) if isinstance(resp.body, bytes) else resp.content_length
    resp.body = _paced(resp.body, bytes_per_s)
    resp.content_length = length
    return resp
