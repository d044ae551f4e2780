"""Running a parsed statement on records: each expression is compiled once into a Python closure.

Values follow OSS's rules for CSV, where every field is a string: a string compared with (or added to) a
number is read as a number, and one that is not a number makes the comparison NULL (false in WHERE). An
empty field cast to a number is NULL, so aggregates skip it. MISSING is a column the record does not have
(a short CSV line, an absent JSON key): NULL in expressions, and what SkipPartialDataRecord looks for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ossbox.select.errors import SelectError
from ossbox.select.sql import (
    AGGREGATES,
    Between,
    Bin,
    Cast,
    Col,
    Func,
    In,
    IsNull,
    Like,
    Lit,
    Node,
    Star,
    Unary,
)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
Fn = Callable[[Any], Any]
# A format's column lookup: the path of a Col -> a function of the record.
ColumnResolver = Callable[[tuple[str | int, ...]], Fn]


def _null(v: Any) -> bool:
    return v is None or v is MISSING


def _number(v: Any) -> Any:
    """v as an int or float, None when it is not a number."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float):
        return v
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return None
            return f if math.isfinite(f) else None
    return None


def _compare(a: Any, b: Any) -> tuple[Any, Any] | None:
    """The pair made comparable, or None when either is NULL or they cannot be compared."""
    if _null(a) or _null(b):
        return None
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    if isinstance(a, bool) and isinstance(b, bool):
        return a, b
    na, nb = _number(a), _number(b)
    if na is None or nb is None:
        return (str(a), str(b)) if isinstance(a, str) or isinstance(b, str) else None
    return na, nb


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda x, y: bool(x == y),
    "!=": lambda x, y: bool(x != y),
    "<": lambda x, y: bool(x < y),
    ">": lambda x, y: bool(x > y),
    "<=": lambda x, y: bool(x <= y),
    ">=": lambda x, y: bool(x >= y),
}


def _arith(op: str, a: Any, b: Any) -> Any:
    na, nb = _number(a), _number(b)
    if na is None or nb is None:
        return None
    if op == "+":
        return na + nb
    if op == "-":
        return na - nb
    if op == "*":
        return na * nb
    if nb == 0:
        raise SelectError("DivisionByZero", "Division by zero.")
    if op == "/":
        return na // nb if isinstance(na, int) and isinstance(nb, int) else na / nb
    return na % nb


def to_text(v: Any) -> str:
    """How a value is written in CSV output and concatenated."""
    if _null(v):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return repr(v)
    return str(v)


def cast(v: Any, type_name: str) -> Any:
    if _null(v):
        return None
    if type_name == "str":
        return to_text(v)
    if type_name == "bool":
        if isinstance(v, str):
            low = v.strip().lower()
            if low in ("true", "false"):
                return low == "true"
            if low == "":
                return None
            raise SelectError("InvalidCast", f"Cannot cast {v!r} to BOOL.")
        return bool(v)
    if isinstance(v, str) and v.strip() == "":
        return None
    n = _number(v)
    if n is None:
        raise SelectError("InvalidCast", f"Cannot cast {v!r} to {type_name.upper()}.")
    if type_name == "int":
        return int(n)
    return float(n)


def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


class Accumulator:
    """One aggregate over the records that pass WHERE."""

    def __init__(self, name: str, arg: Fn | None) -> None:
        self.name = name
        self.arg = arg
        self.count = 0
        self.total: Any = 0
        self.best: Any = None

    def add(self, rec: Any) -> None:
        if self.arg is None:  # COUNT(*)
            self.count += 1
            return
        v = self.arg(rec)
        if _null(v):
            return
        self.count += 1
        if self.name == "count":
            return
        if self.name in ("sum", "avg"):
            n = _number(v)
            if n is None:
                raise SelectError("InvalidAggregate", f"{self.name.upper()} of {v!r}, which is not a number.")
            self.total += n
            return
        if self.best is None:
            self.best = v
        else:
            pair = _compare(v, self.best)
            if pair is not None and (pair[0] < pair[1] if self.name == "min" else pair[0] > pair[1]):
                self.best = v

    def result(self) -> Any:
        if self.name == "count":
            return self.count
        if self.count == 0:
            return None
        if self.name == "sum":
            return self.total
        if self.name == "avg":
            if isinstance(self.total, int) and self.total % self.count == 0:
                return self.total // self.count
            return self.total / self.count
        return self.best


class Compiler:
    """Compiles expressions against one record format; aggregates found are collected in `aggregates`."""

    def __init__(self, column: ColumnResolver) -> None:
        self.column = column
        self.aggregates: list[Accumulator] = []
        self.columns_used: list[Fn] = []

    def compile(self, node: Node) -> Fn:
        if isinstance(node, Lit):
            value = node.value
            return lambda rec: value
        if isinstance(node, Col):
            fn = self.column(node.path)
            self.columns_used.append(fn)
            return fn
        if isinstance(node, Unary):
            arg = self.compile(node.arg)
            if node.op == "not":

                def not_(rec: Any) -> Any:
                    v = _truth(arg(rec))
                    return None if v is None else not v

                return not_
            return lambda rec: _arith("-", 0, arg(rec))
        if isinstance(node, Bin):
            return self._binary(node)
        if isinstance(node, Like):
            return self._like(node)
        if isinstance(node, In):
            arg = self.compile(node.arg)
            items = [self.compile(i) for i in node.items]
            negated = node.negated

            def in_(rec: Any) -> Any:
                v = arg(rec)
                if _null(v):
                    return None
                for item in items:
                    pair = _compare(v, item(rec))
                    if pair is not None and pair[0] == pair[1]:
                        return not negated
                return negated

            return in_
        if isinstance(node, Between):
            arg, low, high = self.compile(node.arg), self.compile(node.low), self.compile(node.high)
            negated = node.negated

            def between(rec: Any) -> Any:
                v = arg(rec)
                a, b = _compare(v, low(rec)), _compare(v, high(rec))
                if a is None or b is None:
                    return None
                return (a[0] >= a[1] and b[0] <= b[1]) != negated

            return between
        if isinstance(node, IsNull):
            arg = self.compile(node.arg)
            negated = node.negated
            return lambda rec: _null(arg(rec)) != negated
        if isinstance(node, Cast):
            arg = self.compile(node.arg)
            type_name = node.type
            return lambda rec: cast(arg(rec), type_name)
        if isinstance(node, Func):
            return self._function(node)
        if isinstance(node, Star):
            raise SelectError("InvalidSqlExpression", "* is only allowed as SELECT * or COUNT(*).")
        raise SelectError("InvalidSqlExpression", f"Unsupported expression {node!r}.")

    def _binary(self, node: Bin) -> Fn:
        left, right = self.compile(node.left), self.compile(node.right)
        op = node.op
        if op == "and":

            def and_(rec: Any) -> Any:
                a = _truth(left(rec))
                if a is False:
                    return False
                b = _truth(right(rec))
                if b is False:
                    return False
                return None if a is None or b is None else True

            return and_
        if op == "or":

            def or_(rec: Any) -> Any:
                a = _truth(left(rec))
                if a is True:
                    return True
                b = _truth(right(rec))
                if b is True:
                    return True
                return None if a is None or b is None else False

            return or_
        if op in _COMPARISONS:
            test = _COMPARISONS[op]

            def compare(rec: Any) -> Any:
                pair = _compare(left(rec), right(rec))
                return None if pair is None else test(pair[0], pair[1])

            return compare
        if op == "||":

            def concat(rec: Any) -> Any:
                a, b = left(rec), right(rec)
                return None if _null(a) or _null(b) else to_text(a) + to_text(b)

            return concat
        return lambda rec: _arith(op, left(rec), right(rec))

    def _like(self, node: Like) -> Fn:
        arg = self.compile(node.arg)
        negated = node.negated
        if isinstance(node.pattern, Lit) and (node.escape is None or isinstance(node.escape, Lit)):
            escape = node.escape.value if isinstance(node.escape, Lit) else None
            regex = _like_regex(to_text(node.pattern.value), escape)

            def like_fixed(rec: Any) -> Any:
                v = arg(rec)
                return None if _null(v) else (regex.fullmatch(to_text(v)) is not None) != negated

            return like_fixed
        pattern = self.compile(node.pattern)
        esc = self.compile(node.escape) if node.escape is not None else None

        def like(rec: Any) -> Any:
            v, p = arg(rec), pattern(rec)
            if _null(v) or _null(p):
                return None
            rx = _like_regex(to_text(p), to_text(esc(rec)) if esc else None)
            return (rx.fullmatch(to_text(v)) is not None) != negated

        return like

    def _function(self, node: Func) -> Fn:
        name = node.name
        if name in AGGREGATES:
            arg = None if isinstance(node.args[0], Star) else self.compile(node.args[0])
            acc = Accumulator(name, arg)
            self.aggregates.append(acc)
            return lambda rec: acc.result()
        args = [self.compile(a) for a in node.args]
        impl = _SCALAR_IMPLS[name]
        arity = _ARITY[name]
        if not arity[0] <= len(args) <= arity[1]:
            raise SelectError(
                "InvalidSqlExpression", f"{name.upper()} takes {arity[0]}-{arity[1]} arguments."
            )
        return lambda rec: impl([a(rec) for a in args])


def _truth(v: Any) -> bool | None:
    if _null(v):
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        return None
    return bool(v)


def _text_fn(fn: Callable[[str], Any]) -> Callable[[list[Any]], Any]:
    return lambda a: None if _null(a[0]) else fn(to_text(a[0]))


def _substring(a: list[Any]) -> Any:
    if any(_null(v) for v in a):
        return None
    s = to_text(a[0])
    start = _number(a[1])
    if start is None:
        raise SelectError("InvalidSqlExpression", "SUBSTRING needs a number as its start.")
    begin = max(int(start) - 1, 0)
    if len(a) == 2:
        return s[begin:]
    length = _number(a[2])
    if length is None or length < 0:
        raise SelectError("InvalidSqlExpression", "SUBSTRING needs a length of 0 or more.")
    end = int(start) - 1 + int(length)
    return s[begin : max(end, begin)]


def _coalesce(a: list[Any]) -> Any:
    return next((v for v in a if not _null(v)), None)


def _nullif(a: list[Any]) -> Any:
    pair = _compare(a[0], a[1])
    return None if pair is not None and pair[0] == pair[1] else a[0]


def _abs(a: list[Any]) -> Any:
    n = _number(a[0])
    return None if n is None else abs(n)


_SCALAR_IMPLS: dict[str, Callable[[list[Any]], Any]] = {
    "lower": _text_fn(str.lower),
    "upper": _text_fn(str.upper),
    "trim": _text_fn(str.strip),
    "ltrim": _text_fn(str.lstrip),
    "rtrim": _text_fn(str.rstrip),
    "char_length": _text_fn(len),
    "character_length": _text_fn(len),
    "substring": _substring,
    "concat": lambda a: None if any(_null(v) for v in a) else "".join(to_text(v) for v in a),
    "coalesce": _coalesce,
    "nullif": _nullif,
    "abs": _abs,
}
_ARITY = {
    "lower": (1, 1),
    "upper": (1, 1),
    "trim": (1, 1),
    "ltrim": (1, 1),
    "rtrim": (1, 1),
    "char_length": (1, 1),
    "character_length": (1, 1),
    "substring": (2, 3),
    "concat": (1, 64),
    "coalesce": (1, 64),
    "nullif": (2, 2),
    "abs": (1, 1),
}


def is_true(v: Any) -> bool:
    return _truth(v) is True
