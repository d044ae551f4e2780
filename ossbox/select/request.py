"""SelectRequest, CsvMetaRequest and JsonMetaRequest bodies, read into what the engine needs.

Delimiters, quote and comment characters and the expression are base64 in the XML, as OSS defines them.
Elements ossbox does not know are ignored, as OSS does; values it knows are checked.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from ossbox.core.errors import invalid_argument
from ossbox.protocol import xml as X
from ossbox.select.errors import SelectError

_RANGE = re.compile(r"^(line|split)-range=(\d*)-(\d*)$")


@dataclass(frozen=True)
class RecordRange:
    """Records [start, end) by number (`line-range`) or by split (`split-range`), as oss2 and OSS count."""

    unit: str  # "line" | "split"
    start: int
    end: int | None


@dataclass(frozen=True)
class InputFormat:
    kind: str  # "csv" | "json"
    gzip: bool = False
    # CSV
    header: str = "NONE"  # NONE | IGNORE | USE
    record_delimiter: str = "\n"
    field_delimiter: str = ","
    quote: str = '"'
    comment: str = ""
    allow_quoted_record_delimiter: bool = True
    # JSON
    json_type: str = "DOCUMENT"  # DOCUMENT | LINES
    parse_numbers_as_strings: bool = False
    range: RecordRange | None = None


@dataclass(frozen=True)
class OutputFormat:
    record_delimiter: str = "\n"
    field_delimiter: str = ","
    keep_all_columns: bool = False
    raw: bool = False
    payload_crc: bool = False
    header: bool = False


@dataclass(frozen=True)
class SelectSpec:
    expression: str
    input: InputFormat
    output: OutputFormat
    skip_partial: bool = False
    max_skipped: int = 0


@dataclass(frozen=True)
class MetaSpec:
    input: InputFormat
    overwrite: bool = False


def _b64(elem: Element | None, name: str, default: str, max_len: int | None = None) -> str:
    if elem is None:
        return default
    text = X.child_text(elem, name)
    if text is None:
        return default
    try:
        value = base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_argument(f"{name} must be base64-encoded UTF-8.", name, text) from exc
    if max_len is not None and len(value) > max_len:
        raise invalid_argument(f"{name} may be at most {max_len} characters.", name, text)
    return value


def _bool(elem: Element | None, name: str, default: bool) -> bool:
    text = None if elem is None else X.child_text(elem, name)
    if text is None or text.strip() == "":
        return default
    low = text.strip().lower()
    if low not in ("true", "false"):
        raise invalid_argument(f"{name} must be true or false.", name, text)
    return low == "true"


def _range(elem: Element, kind: str) -> RecordRange | None:
    text = (X.child_text(elem, "Range") or "").strip()
    if not text:
        return None
    m = _RANGE.match(text)
    if m is None:
        raise invalid_argument("Range must be line-range=start-end or split-range=start-end.", "Range", text)
    start = int(m.group(2)) if m.group(2) else 0
    end = int(m.group(3)) if m.group(3) else None
    if end is not None and end < start:
        raise invalid_argument("The range ends before it starts.", "Range", text)
    return RecordRange(m.group(1), start, end)


def _compression(input_ser: Element, base64_value: bool) -> bool:
    text = (X.child_text(input_ser, "CompressionType") or "None").strip()
    if base64_value and text not in ("None", "GZIP", ""):
        # The meta requests carry it base64-encoded (oss2 and the V2 SDK send it so).
        try:
            text = base64.b64decode(text, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise invalid_argument("CompressionType must be None or GZIP.", "CompressionType", text) from exc
    if text.upper() not in ("NONE", "GZIP", ""):
        raise invalid_argument("CompressionType must be None or GZIP.", "CompressionType", text)
    return text.upper() == "GZIP"


def _input(root: Element, kind: str, meta: bool) -> InputFormat:
    input_ser = root.find("InputSerialization")
    if input_ser is None:
        if kind == "json":
            raise invalid_argument("InputSerialization with JSON Type is required.", "InputSerialization", "")
        return InputFormat("csv")
    gzip = _compression(input_ser, meta)
    if kind == "csv":
        c = input_ser.find("CSV")
        header = "NONE"
        if c is not None:
            header = (X.child_text(c, "FileHeaderInfo") or "NONE").strip().upper()
        if header not in ("NONE", "IGNORE", "USE"):
            raise invalid_argument("FileHeaderInfo must be NONE, IGNORE or USE.", "FileHeaderInfo", header)
        fmt = InputFormat(
            "csv",
            gzip=gzip,
            header=header,
            record_delimiter=_b64(c, "RecordDelimiter", "\n", 2),
            field_delimiter=_b64(c, "FieldDelimiter", ",", 1),
            quote=_b64(c, "QuoteCharacter", '"', 1),
            comment=_b64(c, "CommentCharacter", "", 1),
            allow_quoted_record_delimiter=_bool(c, "AllowQuotedRecordDelimiter", True),
            range=_range(c, kind) if c is not None else None,
        )
        if not fmt.record_delimiter or not fmt.field_delimiter:
            raise invalid_argument("The record and field delimiters may not be empty.", "RecordDelimiter", "")
        return fmt
    j = input_ser.find("JSON")
    json_type = "" if j is None else (X.child_text(j, "Type") or "").strip().upper()
    if json_type not in ("DOCUMENT", "LINES"):
        raise invalid_argument("JSON Type must be DOCUMENT or LINES.", "Type", json_type)
    assert j is not None
    record_range = _range(j, kind)
    if record_range is not None and json_type == "DOCUMENT":
        raise invalid_argument("A range can only be given for JSON LINES.", "Range", "")
    return InputFormat(
        "json",
        gzip=gzip,
        json_type=json_type,
        parse_numbers_as_strings=_bool(j, "ParseJsonNumberAsString", False),
        range=record_range,
    )


def parse_select(body: bytes, kind: str) -> SelectSpec:
    root = X.parse(body, "SelectRequest")
    expr_text = X.child_text(root, "Expression")
    if expr_text is None:
        raise invalid_argument("Expression is required.", "Expression", "")
    try:
        expression = base64.b64decode(expr_text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_argument("Expression must be base64-encoded UTF-8.", "Expression", expr_text) from exc
    out = root.find("OutputSerialization")
    fmt_out = None if out is None else out.find("CSV" if kind == "csv" else "JSON")
    output = OutputFormat(
        record_delimiter=_b64(fmt_out, "RecordDelimiter", "\n", 2),
        field_delimiter=_b64(fmt_out, "FieldDelimiter", ",", 1) if kind == "csv" else ",",
        keep_all_columns=_bool(out, "KeepAllColumns", False),
        raw=_bool(out, "OutputRawData", False),
        payload_crc=_bool(out, "EnablePayloadCrc", False),
        header=_bool(out, "OutputHeader", False),
    )
    options = root.find("Options")
    max_text = None if options is None else X.child_text(options, "MaxSkippedRecordsAllowed")
    try:
        max_skipped = int(max_text) if max_text and max_text.strip() else 0
    except ValueError as exc:
        raise invalid_argument(
            "MaxSkippedRecordsAllowed must be a number.", "MaxSkippedRecordsAllowed", ""
        ) from exc
    return SelectSpec(
        expression,
        _input(root, kind, meta=False),
        output,
        skip_partial=_bool(options, "SkipPartialDataRecord", False),
        max_skipped=max_skipped,
    )


def parse_meta(body: bytes, kind: str) -> MetaSpec:
    root = X.parse(body, "CsvMetaRequest" if kind == "csv" else "JsonMetaRequest")
    fmt = _input(root, kind, meta=True)
    if fmt.gzip:
        raise SelectError("InvalidArgument", "CreateSelectObjectMeta does not support compressed objects.")
    if kind == "json" and fmt.json_type != "LINES":
        raise invalid_argument("CreateSelectObjectMeta needs JSON Type LINES.", "Type", fmt.json_type)
    return MetaSpec(fmt, overwrite=_bool(root, "OverwriteIfExists", False))
