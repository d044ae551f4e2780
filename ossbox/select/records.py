"""Splitting an object's bytes into records as they arrive (push style: feed, then finish).

CSV: records end at the record delimiter, except inside quotes when AllowQuotedRecordDelimiter is on (a
quote count per candidate record, so a line without quotes costs one split). JSON LINES: values one after
another, separated by whitespace or commas (OSS accepts `{..},{..}` on one line). JSON DOCUMENT: ijson
streams the values under the FROM path (`objects[*]` -> `objects.item`), so a large document never sits in
memory whole, unless the statement selects the document itself.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ijson

from ossbox.select.errors import SelectError

# One record may not grow past this while its end is awaited (a file without record delimiters).
MAX_RECORD_CHARS = 16 << 20


class _Text:
    """Bytes in, text out, a UTF-8 character never cut between two chunks."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")

    def decode(self, data: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            raise SelectError("InvalidFileEncoding", "The object is not UTF-8 text.") from exc


class CsvRecords:
    def __init__(
        self,
        record_delimiter: str,
        field_delimiter: str,
        quote: str,
        comment: str,
        allow_quoted_record_delimiter: bool,
    ) -> None:
        self.rd = record_delimiter
        self.fd = field_delimiter
        self.quote = quote
        self.comment = comment
        self.quoted_rd = allow_quoted_record_delimiter and bool(quote)
        self._text = _Text()
        self._buf = ""
        self._dialect = {
            "delimiter": field_delimiter,
            "quotechar": quote or None,
            "quoting": csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
            "strict": True,
        }

    def feed(self, data: bytes) -> Iterator[list[str]]:
        self._buf += self._text.decode(data)
        yield from self._complete(final=False)

    def finish(self) -> Iterator[list[str]]:
        self._buf += self._text.decode(b"", final=True)
        yield from self._complete(final=True)

    def _complete(self, final: bool) -> Iterator[list[str]]:
        buf, rd, quote = self._buf, self.rd, self.quote
        start = 0
        search = 0
        quotes = 0
        while True:
            end = buf.find(rd, search)
            if end < 0:
                break
            if self.quoted_rd:
                quotes += buf.count(quote, search, end)
                if quotes % 2:  # the delimiter is inside a quoted field
                    search = end + len(rd)
                    continue
            yield from self._record(buf[start:end])
            start = search = end + len(rd)
            quotes = 0
        rest = buf[start:]
        if final:
            self._buf = ""
            if rest.endswith("\r") and rd == "\n":
                rest = rest[:-1]
            if rest:
                if self.quoted_rd and rest.count(quote) % 2:
                    raise SelectError(
                        "InvalidCsvLine", "A quoted field is not closed at the end of the object."
                    )
                yield from self._record(rest)
            return
        if len(rest) > MAX_RECORD_CHARS:
            raise SelectError("InvalidCsvLine", f"A record is longer than {MAX_RECORD_CHARS} characters.")
        self._buf = rest

    def _record(self, line: str) -> Iterator[list[str]]:
        if self.rd == "\n" and line.endswith("\r"):
            line = line[:-1]
        if self.comment and line.startswith(self.comment):
            return
        if not self.quote or self.quote not in line:
            yield line.split(self.fd)
            return
        try:
            rows = list(csv.reader([line], **self._dialect))  # type: ignore[arg-type]
        except csv.Error as exc:
            raise SelectError("InvalidCsvLine", f"The line {line[:60]!r} is not valid CSV: {exc}.") from exc
        yield rows[0] if rows else [""]


class JsonNumber(str):
    """A JSON number kept as written (ParseJsonNumberAsString): compared as a number, written back as is."""


def _as_written(value: Any) -> Any:
    if isinstance(value, Decimal):
        return JsonNumber(str(value))
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    return value


class JsonLines:
    def __init__(self, numbers_as_written: bool = False) -> None:
        self._text = _Text()
        self._buf = ""
        self._decoder = json.JSONDecoder(parse_float=JsonNumber) if numbers_as_written else json.JSONDecoder()

    def feed(self, data: bytes) -> Iterator[Any]:
        self._buf += self._text.decode(data)
        cut = self._buf.rfind("\n")
        if cut < 0:
            if len(self._buf) > MAX_RECORD_CHARS:
                raise SelectError("InvalidJsonData", f"A line is longer than {MAX_RECORD_CHARS} characters.")
            return
        done, self._buf = self._buf[: cut + 1], self._buf[cut + 1 :]
        yield from self._values(done)

    def finish(self) -> Iterator[Any]:
        rest = self._buf + self._text.decode(b"", final=True)
        self._buf = ""
        yield from self._values(rest)

    def _values(self, text: str) -> Iterator[Any]:
        pos, n = 0, len(text)
        decode = self._decoder.raw_decode
        while True:
            while pos < n and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= n:
                return
            try:
                value, pos = decode(text, pos)
            except json.JSONDecodeError as exc:
                raise SelectError(
                    "InvalidJsonData", f"Invalid JSON: {exc.msg} near {text[pos : pos + 40]!r}."
                ) from exc
            yield value


def _ijson_prefix(source: tuple[str | int, ...]) -> str:
    parts = []
    for p in source:
        if p == "*":
            parts.append("item")
        elif isinstance(p, int):
            raise SelectError("InvalidSqlExpression", "An array index in FROM is not supported; use [*].")
        else:
            parts.append(p)
    return ".".join(parts)


class JsonDocument:
    def __init__(self, source: tuple[str | int, ...], numbers_as_written: bool = False) -> None:
        self._events: list[Any] = ijson.sendable_list()
        self._as_written = numbers_as_written
        self._coro = ijson.items_coro(
            self._events, _ijson_prefix(source), use_float=not numbers_as_written, multiple_values=True
        )

    def _drain(self) -> Iterator[Any]:
        items = list(self._events)
        del self._events[:]
        if self._as_written:
            items = [_as_written(v) for v in items]
        yield from items

    def feed(self, data: bytes) -> Iterator[Any]:
        try:
            self._coro.send(data)
        except ijson.JSONError as exc:
            raise SelectError("InvalidJsonData", f"Invalid JSON: {exc}.") from exc
        yield from self._drain()

    def finish(self) -> Iterator[Any]:
        try:
            self._coro.close()
        except ijson.JSONError as exc:
            raise SelectError("InvalidJsonData", f"Invalid JSON: {exc}.") from exc
        yield from self._drain()
