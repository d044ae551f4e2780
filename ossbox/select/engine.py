"""One SelectObject (or CreateSelectObjectMeta) run: the object's bytes in, the framed answer out.

feed() takes the next chunk of the object and returns the bytes to send; finish() returns the rest and the
end frame. A SelectError raised by either before anything was sent becomes the request's 400; after that,
error_end() turns it into the end frame's status, as OSS reports errors found mid-stream. `done` turns true
once LIMIT is reached or a byte range is past, so the caller stops reading.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

from ossbox.select import frames
from ossbox.select.errors import SelectError
from ossbox.select.evaluate import MISSING, Compiler, Fn, is_true, to_text
from ossbox.select.records import CsvRecords, JsonDocument, JsonLines, JsonNumber
from ossbox.select.request import InputFormat, MetaSpec, SelectSpec
from ossbox.select.sql import Col, Query, parse

# A split, the unit of split-range and of CreateSelectObjectMeta's count: this many records in a row.
SPLIT_RECORDS = 1000
# With nothing to send for this many scanned bytes, a continuous frame tells the client the scan goes on.
_KEEPALIVE_BYTES = 8 << 20


class _Gunzip:
    """GZIP input, members one after another as gzip(1) writes them."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(31)

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            try:
                out.append(self._z.decompress(data))
            except zlib.error as exc:
                raise SelectError("InvalidCompressedData", f"The object is not valid GZIP: {exc}.") from exc
            data = self._z.unused_data
            if data:
                self._z = zlib.decompressobj(31)
        return b"".join(out)

    def finish(self) -> None:
        if not self._z.eof and self._z.unconsumed_tail == b"":
            # A stream cut short: zlib holds an incomplete member.
            try:
                self._z.flush()
            except zlib.error as exc:
                raise SelectError("InvalidCompressedData", "The GZIP data ends early.") from exc


def _reader(fmt: InputFormat, source: tuple[str | int, ...]) -> CsvRecords | JsonLines | JsonDocument:
    if fmt.kind == "csv":
        return CsvRecords(
            fmt.record_delimiter,
            fmt.field_delimiter,
            fmt.quote,
            fmt.comment,
            fmt.allow_quoted_record_delimiter,
        )
    if fmt.json_type == "LINES":
        return JsonLines(fmt.parse_numbers_as_strings)
    return JsonDocument(source, fmt.parse_numbers_as_strings)


def _csv_quote(value: str, fd: str, rd: str) -> str:
    if value and (fd in value or '"' in value or "\n" in value or "\r" in value or rd in value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _json_path(path: tuple[str | int, ...]) -> Fn:
    def get(rec: Any) -> Any:
        v = rec
        for p in path:
            if isinstance(p, int):
                if not isinstance(v, list) or p >= len(v):
                    return MISSING
                v = v[p]
            else:
                if not isinstance(v, dict) or p not in v:
                    return MISSING
                v = v[p]
        return v

    return get


def _json_text(value: Any) -> str:
    """Compact JSON, numbers kept as written (JsonNumber) written bare."""
    if isinstance(value, JsonNumber):
        return str.__str__(value)
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _json_text(v) for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class Selection:
    def __init__(self, spec: SelectSpec, object_size: int) -> None:
        self.spec = spec
        self.query: Query = parse(spec.expression)
        fmt = spec.input
        if fmt.kind == "csv" and self.query.source:
            raise SelectError("InvalidSqlExpression", "A CSV object has no path: select from ossobject.")
        self.object_size = object_size
        self.scanned = 0
        self.started = False  # bytes have been returned: errors now go in the end frame
        self.done = False
        self._gunzip = _Gunzip() if fmt.gzip else None
        self._records = _reader(fmt, self.query.source)
        self._header: list[str] | None = None
        self._header_pending = fmt.kind == "csv" and fmt.header in ("USE", "IGNORE")
        self._plan: tuple[Fn | None, list[tuple[str, Fn]], Compiler] | None = None
        self._index = 0  # data records seen, for the ranges
        self._emitted = 0
        self._skipped = 0
        self._out: list[str] = []
        self._since_frame = 0
        self._header_written = False
        self._failed: SelectError | None = None

    # ---- compiling, once the header (if any) is known ----
    def _column(self, path: tuple[str | int, ...]) -> Fn:
        if self.spec.input.kind == "json":
            return _json_path(path)
        i = self._csv_index(path)
        return lambda rec: rec[i] if i < len(rec) else MISSING

    def _csv_index(self, path: tuple[str | int, ...]) -> int:
        """A CSV column's position: its header name (exact, else in any case) or `_N`."""
        if len(path) != 1 or not isinstance(path[0], str):
            raise SelectError(
                "InvalidSqlExpression", f"A CSV column has no path: {'.'.join(map(str, path))}."
            )
        name = path[0]
        if self._header is not None:
            if name in self._header:
                return self._header.index(name)
            folded = [h.lower() for h in self._header]
            if name.lower() in folded:
                return folded.index(name.lower())
        if name.startswith("_") and name[1:].isdigit() and int(name[1:]) > 0:
            return int(name[1:]) - 1
        raise SelectError("InvalidSqlExpression", f"The column {name!r} is not in the object.")

    def _compile(self) -> tuple[Fn | None, list[tuple[str, Fn]], Compiler]:
        if self._plan is None:
            where_c = Compiler(self._column)
            where = where_c.compile(self.query.where) if self.query.where is not None else None
            items = Compiler(self._column)
            compiled = []
            for n, item in enumerate(self.query.items):
                fn = items.compile(item.expr)
                compiled.append((self._item_name(n, item.expr, item.alias), fn))
            self._plan = (where, compiled, items)
        return self._plan

    def _item_name(self, n: int, expr: Any, alias: str | None) -> str:
        if alias is not None:
            return alias
        if isinstance(expr, Col) and isinstance(expr.path[-1], str):
            return expr.path[-1]
        return f"_{n + 1}"

    # ---- records ----
    def _in_range(self) -> bool | None:
        """Whether the current record is in the requested range, None once past it. Both kinds of range
        are [start, end), counted from 0 after any header line, as oss2's own tests read them."""
        r = self.spec.input.range
        if r is None:
            return True
        pos = self._index if r.unit == "line" else self._index // SPLIT_RECORDS
        if r.end is not None and pos >= r.end:
            return None
        return pos >= r.start

    def _take(self, rec: Any) -> None:
        if self._header_pending:
            self._header_pending = False
            if self.spec.input.header == "USE":
                self._header = [h.strip() for h in rec]
            return
        where, items, compiler = self._compile()
        in_range = self._in_range()
        self._index += 1
        if in_range is None:
            self.done = True
            return
        if not in_range:
            return
        if where is not None and not is_true(where(rec)):
            return
        if self.query.aggregate:
            for acc in compiler.aggregates:
                acc.add(rec)
            return
        if self.spec.skip_partial and any(col(rec) is MISSING for col in compiler.columns_used):
            self._skipped += 1
            if self._skipped > self.spec.max_skipped:
                raise SelectError(
                    "SkippedRecordsExceeded",
                    f"More than {self.spec.max_skipped} records lack a selected column.",
                )
            return
        self._write(rec, items)
        self._emitted += 1
        if self.query.limit is not None and self._emitted >= self.query.limit:
            self.done = True

    def _write(self, rec: Any, items: list[tuple[str, Fn]]) -> None:
        out = self.spec.output
        if self.spec.input.kind == "json":
            if self.query.star:
                value = rec
            else:
                value = {name: v for name, fn in items if (v := fn(rec)) is not MISSING}
            line = self._json(value) + out.record_delimiter
        else:
            if self.query.star:
                fields = list(rec)
            elif out.keep_all_columns and all(isinstance(i.expr, Col) for i in self.query.items):
                fields = [""] * len(rec)
                for (_, fn), item in zip(items, self.query.items, strict=True):
                    v = fn(rec)
                    assert isinstance(item.expr, Col)
                    i = self._csv_index(item.expr.path)
                    while len(fields) <= i:
                        fields.append("")
                    fields[i] = to_text(v)
            else:
                fields = [to_text(fn(rec)) for _, fn in items]
            self._write_header(items)
            fd, rd = out.field_delimiter, out.record_delimiter
            line = fd.join(_csv_quote(f, fd, rd) for f in fields) + rd
        self._out.append(line)

    def _json(self, value: Any) -> str:
        if self.spec.input.parse_numbers_as_strings:
            return _json_text(value)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def _write_header(self, items: list[tuple[str, Fn]]) -> None:
        out = self.spec.output
        if self._header_written or not out.header:
            return
        self._header_written = True
        names = self._header if self.query.star and self._header is not None else [n for n, _ in items]
        if names:
            fd, rd = out.field_delimiter, out.record_delimiter
            line = fd.join(_csv_quote(n, fd, rd) for n in names) + rd
            self._out.append(line)

    def _consume(self, records: Iterator[Any]) -> None:
        for rec in records:
            if self.done:
                return
            self._take(rec)

    # ---- the stream ----
    def _frames(self) -> bytes:
        """What is ready to send: the output so far as one data frame, or a keepalive."""
        parts = []
        if self._out:
            body = "".join(self._out).encode()
            self._out = []
            parts.append(body if self.spec.output.raw else frames.data(self.scanned, body))
            self._since_frame = 0
        elif self._since_frame >= _KEEPALIVE_BYTES and not self.spec.output.raw:
            parts.append(frames.continuous(self.scanned))
            self._since_frame = 0
        out = b"".join(parts)
        if out:
            self.started = True
        return out

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return b""
        self.scanned += len(data)
        self._since_frame += len(data)
        try:
            text = self._gunzip.feed(data) if self._gunzip else data
            self._consume(self._records.feed(text))
        except SelectError as exc:
            self._fail(exc)
        return self._frames()

    def _fail(self, exc: SelectError) -> None:
        """An error with nothing produced yet is the request's 400; after output, the end frame's."""
        if not self._out and not self.started:
            raise exc
        self._failed = exc
        self.done = True

    def finish(self) -> bytes:
        if self._failed is None:
            try:
                self._finish_records()
            except SelectError as exc:
                self._fail(exc)
        body = self._frames()
        if self._failed is not None:
            return body + self.error_end(self._failed)
        if self.spec.output.raw:
            return body
        return body + frames.end(self.scanned, self.scanned, 206)

    def _finish_records(self) -> None:
        if not self.done:
            if self._gunzip:
                self._gunzip.finish()
            self._consume(self._records.finish())
        if self.query.aggregate:
            _, items, _ = self._compile()
            values = [fn(None) for _, fn in items]
            if self.spec.input.kind == "json":
                names = [n for n, _ in items]
                line = self._json(dict(zip(names, values, strict=True)))
                self._out.append(line + self.spec.output.record_delimiter)
            else:
                fd, rd = self.spec.output.field_delimiter, self.spec.output.record_delimiter
                self._out.append(fd.join(_csv_quote(to_text(v), fd, rd) for v in values) + rd)
        elif self._plan is None:
            self._compile()  # a statement naming unknown columns fails even on an empty object

    def error_end(self, err: SelectError) -> bytes:
        if self.spec.output.raw:
            return b""
        return frames.end(self.scanned, self.scanned, 400, err.code, err.message)


class MetaScan:
    """CreateSelectObjectMeta: counts records, splits and (for CSV) columns."""

    def __init__(self, spec: MetaSpec, kind: str) -> None:
        self.kind = kind
        self._records = _reader(spec.input, ())
        self.rows = 0
        self.columns = 0
        self.scanned = 0
        self.started = False
        self.done = False

    def _count(self, records: Iterator[Any]) -> None:
        for rec in records:
            self.rows += 1
            if self.kind == "csv":
                self.columns = max(self.columns, len(rec))

    def feed(self, data: bytes) -> bytes:
        self.scanned += len(data)
        self._count(self._records.feed(data))
        return b""

    def finish(self) -> bytes:
        self._count(self._records.finish())
        splits = (self.rows + SPLIT_RECORDS - 1) // SPLIT_RECORDS
        return frames.meta_end(
            self.kind, self.scanned, self.scanned, 200, splits, self.rows, self.columns, "", ""
        )

    def error_end(self, err: SelectError) -> bytes:
        return frames.meta_end(self.kind, self.scanned, self.scanned, 400, 0, 0, 0, err.code, err.message)
