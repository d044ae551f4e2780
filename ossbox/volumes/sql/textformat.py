"""CSV and TSV options of MaxCompute's storage handlers (WITH SERDEPROPERTIES), as DuckDB reader options."""

from __future__ import annotations

from ossbox.volumes.errors import VolumeError
from ossbox.volumes.sql.session import quote_str

ROLE_ARN = "odps.properties.rolearn"
DELIMITER = "odps.text.option.delimiter"
HEADER_LINES = "odps.text.option.header.lines.count"
FLUSH_HEADER = "odps.sql.text.option.flush.header"
NULL_INDICATOR = "odps.text.option.null.indicator"
ENCODING = "odps.text.option.encoding"
KNOWN = (ROLE_ARN, DELIMITER, HEADER_LINES, FLUSH_HEADER, NULL_INDICATOR, ENCODING)


def check_properties(props: dict[str, str]) -> None:
    unknown = sorted(set(props) - set(KNOWN))
    if unknown:
        raise VolumeError(
            "InvalidProperty",
            f"unsupported property {', '.join(unknown)} (supported: {', '.join(KNOWN)})",
        )
    encoding = props.get(ENCODING, "UTF-8").upper().replace("_", "-")
    if encoding not in ("UTF-8", "UTF8"):
        raise VolumeError("InvalidProperty", f"only UTF-8 text is supported, not {props[ENCODING]}")
    if HEADER_LINES in props and not props[HEADER_LINES].isdigit():
        raise VolumeError("InvalidProperty", f"{HEADER_LINES} must be a number")


def delimiter(props: dict[str, str], fmt: str) -> str:
    value = props.get(DELIMITER, "\t" if fmt == "tsv" else ",")
    value = {"\\t": "\t", "\\001": "\x01", "\\u0001": "\x01"}.get(value, value)
    if not value or len(value) > 4 or "\n" in value:
        raise VolumeError("InvalidProperty", f"invalid delimiter {value!r}")
    return value


def read_options(props: dict[str, str], fmt: str) -> str:
    skip = int(props.get(HEADER_LINES, "0"))
    parts = [
        f"delim={quote_str(delimiter(props, fmt))}",
        "header=false",
        f"skip={skip}",
        "auto_detect=false",
        "strict_mode=true",
        "null_padding=false",
        "parallel=true",
    ]
    if fmt == "csv":
        parts += ["quote='\"'", "escape='\"'"]
    else:
        parts += ["quote=''", "escape=''"]
    if NULL_INDICATOR in props:
        parts.append(f"nullstr={quote_str(props[NULL_INDICATOR])}")
    return ", ".join(parts)


def write_options(props: dict[str, str], fmt: str) -> str:
    header = props.get(FLUSH_HEADER, "false").lower() == "true"
    parts = [f"FORMAT csv, DELIMITER {quote_str(delimiter(props, fmt))}", f"HEADER {str(header).lower()}"]
    if NULL_INDICATOR in props:
        parts.append(f"NULLSTR {quote_str(props[NULL_INDICATOR])}")
    return ", ".join(parts)
