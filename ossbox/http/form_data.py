"""A multipart/form-data request body read part by part, the file part streamed in chunks.

python-multipart does the parsing (push-style, no I/O); this wraps it so that a handler can await the next
part and then either the whole value of a small field or the chunks of a file, while the body is still
arriving. Only what one received chunk produced is held in memory at a time.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ossbox.core.errors import OSSError

ReadChunk = Callable[[], Awaitable[bytes]]


def malformed_post(
    message: str = "The body of your POST request is not well-formed multipart/form-data.",
) -> OSSError:
    return OSSError(400, "MalformedPOSTRequest", message)


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind.lower() != b"multipart/form-data" or not boundary:
        raise malformed_post("A POST upload must be multipart/form-data with a boundary.")
    return boundary


@dataclass
class FormPart:
    name: str
    filename: str | None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class FormReader:
    def __init__(self, read_chunk: ReadChunk, boundary: bytes) -> None:
        self._read = read_chunk
        self._events: collections.deque[tuple[str, object]] = collections.deque()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[str, str] = {}
        self._in_part = False
        self._ended = False
        self._eof = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
            max_header_count=16,
        )

    # -- parser callbacks (synchronous, inside write) --
    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("utf-8", "replace").strip()
        self._header_name = self._header_value = b""

    def _on_headers_finished(self) -> None:
        self._events.append(("part", self._headers))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(("data", bytes(data[start:end])))

    def _on_part_end(self) -> None:
        self._events.append(("end", None))

    def _on_end(self) -> None:
        self._ended = True

    # -- pulling events --
    async def _event(self) -> tuple[str, object] | None:
        while not self._events:
            if self._eof:
                return None
            chunk = await self._read()
            if not chunk:
                self._eof = True
                if not self._ended:
                    raise malformed_post()
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise malformed_post() from exc
        return self._events.popleft()

    async def next_part(self) -> FormPart | None:
        """The next part (the rest of the current one is skipped); None after the last."""
        while True:
            event = await self._event()
            if event is None:
                return None
            kind, value = event
            if kind == "part":
                self._in_part = True
                headers: dict[str, str] = value  # type: ignore[assignment]
                _, options = parse_options_header(headers.get("content-disposition", ""))
                name = options.get(b"name")
                if name is None:
                    raise malformed_post("A form part lacks its name.")
                filename = options.get(b"filename")
                return FormPart(
                    name.decode("utf-8", "replace"),
                    None if filename is None else filename.decode("utf-8", "replace"),
                    headers,
                )
            if kind == "end":
                self._in_part = False

    async def read_chunk(self) -> bytes:
        """The next bytes of the current part; b'' at its end. A body ending inside the part is malformed."""
        if not self._in_part:
            return b""
        event = await self._event()
        if event is None:
            raise malformed_post()
        kind, value = event
        if kind == "data":
            return value  # type: ignore[return-value]
        if kind == "end":
            self._in_part = False
            return b""
        raise malformed_post()

    async def read_value(self, limit: int) -> bytes:
        """The whole current part, at most `limit` bytes (else MalformedPOSTRequest)."""
        parts = []
        total = 0
        while chunk := await self.read_chunk():
            total += len(chunk)
            if total > limit:
                raise malformed_post("The form fields before the file field exceed the size limit.")
            parts.append(chunk)
        return b"".join(parts)

    async def drain(self, limit: int) -> None:
        """Read what follows the file part (ignored, as OSS ignores it), up to `limit` bytes."""
        total = 0
        while not self._eof and total <= limit:
            event = await self._event()
            if event is None:
                return
            if event[0] == "data":
                total += len(event[1])  # type: ignore[arg-type]


def size_checked(
    read: Callable[[], Awaitable[bytes]], length_range: tuple[int, int] | None
) -> Callable[[], Awaitable[bytes]]:
    """A form file's chunks, refused as soon as the policy's content-length-range is exceeded (or, at the
    end, not reached), so that nothing is stored."""
    if length_range is None:
        return read
    low, high = length_range
    total = 0

    async def checked() -> bytes:
        nonlocal total
        chunk = await read()
        total += len(chunk)
        if total > high:
            raise OSSError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
        if not chunk and total < low:
            raise OSSError(
                400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size."
            )
        return chunk

    return checked
