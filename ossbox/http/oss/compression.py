"""gzip-compressed GET responses, as OSS gives them: to a GET whose Accept-Encoding allows gzip, of a whole
object (no Range) of at least 1 KB whose Content-Type is one of the web types below. The answer is chunked,
with `Content-Encoding: gzip` and `Vary: Accept-Encoding`, and without ETag, Content-Length and Accept-Ranges
(they describe the stored bytes); x-oss-hash-crc64ecma stays that of the object, which is what a client that
decompresses reads. HEAD answers are left as they are (their Content-Length is the object's size).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from concurrent.futures import Executor

from ossbox.meta.types import ObjectMeta

COMPRESSIBLE_TYPES = frozenset(
    [
        "text/cache-manifest",
        "text/xml",
        "text/css",
        "text/html",
        "text/plain",
        "application/javascript",
        "application/x-javascript",
        "application/rss+xml",
        "application/json",
        "text/json",
    ]
)
MIN_SIZE = 1024
_LEVEL = 1  # the fastest: the point is saving bandwidth, not storage
_DROPPED = frozenset(["etag", "accept-ranges"])


def accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def applies(headers: dict[str, str], o: ObjectMeta) -> bool:
    # Cheapest test first: most GETs (the SDKs' among them) send no Accept-Encoding at all.
    accept = headers.get("accept-encoding")
    if not accept or "range" in headers or o.size < MIN_SIZE:
        return False
    if o.content_type.partition(";")[0].strip().lower() not in COMPRESSIBLE_TYPES:
        return False
    return accepts_gzip(accept)


def response_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
    return [*kept, ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]


async def gzipped(chunks: AsyncIterator[bytes], executor: Executor) -> AsyncIterator[bytes]:
    """The gzip stream of `chunks`, compressed on a worker thread (zlib releases the GIL) in order."""
    loop = asyncio.get_running_loop()
    z = zlib.compressobj(_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    try:
        async for chunk in chunks:
            out = await loop.run_in_executor(executor, z.compress, chunk)
            if out:
                yield out
        yield z.flush()
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data
