"""Column conditions and filters (table_store_filter.proto): parsed once per request, then evaluated per row.

The same tree serves a write's column condition and a read's filter. Semantics, as documented by
Tablestore: a missing column passes unless filter_if_missing; with latest_version_only false any version
may match; values of different types never compare equal (and are not ordered); a regex rule extracts
(the first group of) a match from a STRING and casts it, no match counting as a missing column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ossbox.tables.errors import TableError, parameter_invalid
from ossbox.tables.model import Columns
from ossbox.tables.plainbuffer import PlainBufferError, Value, decode_variant
from ossbox.tables.wire import filter_pb

_MAX_DEPTH = 32
_MAX_NODES = 1024


@dataclass(frozen=True)
class Single:
    compare: Callable[[Value], bool]
    column: str
    filter_if_missing: bool
    latest_only: bool
    extract: Callable[[Value], Value | None] | None


@dataclass(frozen=True)
class Composite:
    op: int  # filter_pb.LO_NOT / LO_AND / LO_OR
    subs: tuple[Node, ...]


@dataclass(frozen=True)
class Pagination:
    """Not a row condition: which columns of each row to return (by name order)."""

    offset: int
    limit: int


Node = Single | Composite


def _comparator(kind: int, ref: Value) -> Callable[[Value], bool]:
    def typed(test: Callable[[Any, Any], bool], when_mismatched: bool) -> Callable[[Value], bool]:
        ref_type = type(ref)
        return lambda v: test(v, ref) if type(v) is ref_type else when_mismatched

    if kind == filter_pb.CT_EQUAL:
        return typed(lambda a, b: a == b, False)
    if kind == filter_pb.CT_NOT_EQUAL:
        return typed(lambda a, b: a != b, True)
    if kind == filter_pb.CT_GREATER_THAN:
        return typed(lambda a, b: a > b, False)
    if kind == filter_pb.CT_GREATER_EQUAL:
        return typed(lambda a, b: a >= b, False)
    if kind == filter_pb.CT_LESS_THAN:
        return typed(lambda a, b: a < b, False)
    if kind == filter_pb.CT_LESS_EQUAL:
        return typed(lambda a, b: a <= b, False)
    raise parameter_invalid(f"Unsupported comparator: {kind}.")


def _extractor(rule: Any) -> Callable[[Value], Value | None]:
    try:
        pattern = re.compile(rule.regex)
    except re.error:
        raise parameter_invalid("Invalid regex in the value transfer rule.") from None
    cast = rule.cast_type if rule.HasField("cast_type") else filter_pb.VT_STRING
    convert: Callable[[str], Value]
    if cast == filter_pb.VT_INTEGER:
        convert = int
    elif cast == filter_pb.VT_DOUBLE:
        convert = float
    elif cast == filter_pb.VT_STRING:
        convert = str
    else:
        raise parameter_invalid("Unsupported cast type in the value transfer rule.")

    def extract(value: Value) -> Value | None:
        if not isinstance(value, str):
            return None
        m = pattern.search(value)
        if m is None:
            return None
        text = m.group(1) if pattern.groups else m.group(0)
        try:
            return convert(text)
        except ValueError:
            return None

    return extract


def _parse_single(raw: bytes) -> Single:
    msg = filter_pb.SingleColumnValueFilter()
    msg.ParseFromString(raw)
    if not msg.IsInitialized():
        raise parameter_invalid("A single column condition misses required fields.")
    extract = _extractor(msg.value_trans_rule) if msg.HasField("value_trans_rule") else None
    if msg.comparator in (filter_pb.CT_EXIST, filter_pb.CT_NOT_EXIST):
        exists = msg.comparator == filter_pb.CT_EXIST
        # Existence is decided on the column as a whole, below: compare() is never asked.
        return Single(lambda _v: exists, msg.column_name, exists, True, None)
    try:
        ref = decode_variant(msg.column_value)
    except PlainBufferError as exc:
        raise parameter_invalid(f"Invalid column value in a condition: {exc}.") from None
    return Single(
        _comparator(msg.comparator, ref),
        msg.column_name,
        msg.filter_if_missing,
        msg.latest_version_only,
        extract,
    )


def _parse(raw: bytes, depth: int, budget: list[int]) -> Node | Pagination:
    budget[0] -= 1
    if depth > _MAX_DEPTH or budget[0] < 0:
        raise parameter_invalid("The condition is nested too deeply or has too many parts.")
    msg = filter_pb.Filter()
    msg.ParseFromString(raw)
    if not msg.IsInitialized():
        raise parameter_invalid("A filter misses required fields.")
    if msg.type == filter_pb.FT_SINGLE_COLUMN_VALUE:
        return _parse_single(msg.filter)
    if msg.type == filter_pb.FT_COLUMN_PAGINATION:
        page = filter_pb.ColumnPaginationFilter()
        page.ParseFromString(msg.filter)
        if page.offset < 0 or page.limit < 0:
            raise parameter_invalid("Column pagination offset and limit must not be negative.")
        return Pagination(page.offset, page.limit)
    if msg.type != filter_pb.FT_COMPOSITE_COLUMN_VALUE:
        raise parameter_invalid(f"Unsupported filter type: {msg.type}.")
    comp = filter_pb.CompositeColumnValueFilter()
    comp.ParseFromString(msg.filter)
    if not comp.IsInitialized():
        raise parameter_invalid("A composite condition misses required fields.")
    subs = []
    for sub in comp.sub_filters:
        node = _parse(sub.SerializeToString(), depth + 1, budget)
        if isinstance(node, Pagination):
            raise parameter_invalid("Column pagination cannot be part of a composite condition.")
        subs.append(node)
    if comp.combinator == filter_pb.LO_NOT:
        if len(subs) != 1:
            raise parameter_invalid("NOT takes exactly one condition.")
    elif comp.combinator in (filter_pb.LO_AND, filter_pb.LO_OR):
        if len(subs) < 2:
            raise parameter_invalid("AND and OR take at least two conditions.")
    else:
        raise parameter_invalid(f"Unsupported logical operator: {comp.combinator}.")
    return Composite(comp.combinator, tuple(subs))


def parse(raw: bytes) -> Node | Pagination:
    """A serialized `Filter`; raises OTSParameterInvalid on anything malformed."""
    try:
        return _parse(raw, 0, [_MAX_NODES])
    except TableError:
        raise
    except Exception:  # protobuf's DecodeError and friends
        raise parameter_invalid("Failed to parse the filter.") from None


def _single(node: Single, columns: Columns) -> bool:
    versions = columns.get(node.column)
    if node.extract is not None and versions:
        values = [x for x in (node.extract(v) for _, v in versions) if x is not None]
    else:
        values = [v for _, v in versions] if versions else []
    if not values:
        return not node.filter_if_missing
    if node.latest_only:
        return node.compare(values[0])
    return any(node.compare(v) for v in values)


def matches(node: Node, columns: Columns) -> bool:
    if isinstance(node, Single):
        return _single(node, columns)
    if node.op == filter_pb.LO_NOT:
        return not matches(node.subs[0], columns)
    if node.op == filter_pb.LO_AND:
        return all(matches(sub, columns) for sub in node.subs)
    return any(matches(sub, columns) for sub in node.subs)
