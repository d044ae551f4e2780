"""SelectObject (POST ?x-oss-process=csv/select|json/select) and CreateSelectObjectMeta (csv/meta|json/meta).

The object is read in chunks and each chunk is run through the engine (ossbox/select) on a worker thread,
so the event loop only moves bytes and memory stays flat whatever the object's size. The first chunk is
processed before the answer starts: a statement or object that fails at once gets a plain 400; an error
found later ends the 206 stream with an error frame, as OSS does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from ossbox.core.errors import invalid_argument
from ossbox.http.oss.common import Call
from ossbox.http.request_view import read_target
from ossbox.http.server import Response
from ossbox.meta.types import ObjectMeta
from ossbox.protocol.ranges import parse_range
from ossbox.select.byte_range import RecordsInBytes
from ossbox.select.engine import MetaScan, Selection
from ossbox.select.errors import SelectError
from ossbox.select.request import parse_meta, parse_select
from ossbox.service.archive import FROZEN_CLASSES

_REQUEST_LIMIT = 1 << 20
T = TypeVar("T")


def _kind(call: Call) -> str:
    return call.q["x-oss-process"].split("/", 1)[0]


def _target(call: Call) -> ObjectMeta:
    o, _ = read_target(call, False, "x-oss-")
    call.check_object_read(call.bkt, o, call.grant)
    if o.storage_class in FROZEN_CLASSES:
        call.storage.check_readable(o)
    return o


class _Worker:
    def __init__(self, call: Call) -> None:
        self._loop = asyncio.get_running_loop()
        self._executor = call.storage.executor

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        return await self._loop.run_in_executor(self._executor, fn, *args)


async def select_object(call: Call) -> Response:
    kind = _kind(call)
    spec = parse_select(await call.http.body.read_all(_REQUEST_LIMIT), kind)
    o = _target(call)
    try:
        selection = Selection(spec, o.size)
    except SelectError as exc:
        raise exc.as_oss_error() from exc
    cut: RecordsInBytes | None = None
    start = 0
    rng = parse_range(call.h.get("range"), o.size, False)
    if rng is not None:
        fmt = spec.input
        if fmt.gzip or (fmt.kind == "json" and fmt.json_type == "DOCUMENT"):
            raise invalid_argument(
                "A byte range needs an uncompressed CSV or JSON LINES object.", "Range", ""
            )
        if fmt.kind == "csv" and fmt.allow_quoted_record_delimiter:
            raise invalid_argument("A byte range needs AllowQuotedRecordDelimiter false.", "Range", "")
        delimiter = fmt.record_delimiter if fmt.kind == "csv" else "\n"
        cut = RecordsInBytes(rng[0], rng[1], delimiter.encode())
        start = cut.read_from
    chunks = call.storage.read(o, start, o.size - start)
    worker = _Worker(call)

    def step(chunk: bytes) -> bytes:
        return selection.feed(cut.feed(chunk) if cut is not None else chunk)

    def last() -> bytes:
        tail = selection.feed(cut.finish()) if cut is not None else b""
        return tail + selection.finish()

    async def next_piece() -> tuple[bytes, bool]:
        """The next bytes to send, and whether they are the last."""
        while True:
            if selection.done or (cut is not None and cut.done):
                return await worker.run(last), True
            chunk = await anext(chunks, None)
            if chunk is None:
                return await worker.run(last), True
            out = await worker.run(step, chunk)
            if out:
                return out, False

    try:
        first, finished = await next_piece()
    except SelectError as exc:
        await chunks.aclose()
        raise exc.as_oss_error() from exc

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield first
            ended = finished
            while not ended:
                try:
                    piece, ended = await next_piece()
                except SelectError as exc:
                    yield selection.error_end(exc)
                    return
                yield piece
        finally:
            await chunks.aclose()

    headers = [
        ("Content-Type", "application/octet-stream"),
        ("x-oss-select-output-raw", "true" if spec.output.raw else "false"),
    ]
    return Response(206, headers, stream(), content_length=None)


async def create_select_object_meta(call: Call) -> Response:
    kind = _kind(call)
    try:
        spec = parse_meta(await call.http.body.read_all(_REQUEST_LIMIT), kind)
    except SelectError as exc:
        raise exc.as_oss_error() from exc
    o = _target(call)
    scan = MetaScan(spec, kind)
    worker = _Worker(call)
    chunks = call.storage.read(o, 0, o.size)
    try:
        async for chunk in chunks:
            await worker.run(scan.feed, chunk)
        body = await worker.run(scan.finish)
    except SelectError as exc:
        raise exc.as_oss_error() from exc
    finally:
        await chunks.aclose()
    return Response(200, [("Content-Type", "application/octet-stream")], body)
