"""SelectObject's SQL: OSS's dialect parsed into a small tree. No I/O.

    SELECT <*|expr [AS name], ...> FROM ossobject[.path|[*]...] [alias] [WHERE expr] [LIMIT n]

Written by hand rather than with a general SQL parser because the dialect has forms those reject or read
differently: JSON paths in FROM (`ossobject.objects[*]`), `_1`-style column names, a name given twice
(`a as b as c`: the last one counts) and a stray quote at the very end of a statement, which OSS ignores.
GROUP BY, ORDER BY, JOIN, HAVING and UNION are refused, as OSS does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ossbox.select.errors import SelectError


class Node:
    """An expression."""


@dataclass(frozen=True)
class Lit(Node):
    value: Any


@dataclass(frozen=True)
class Col(Node):
    """A column (`_3`, `Year`) or a JSON path (`person.birthday`, `numbers[0]`), alias already removed."""

    path: tuple[str | int, ...]


@dataclass(frozen=True)
class Star(Node):
    pass


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "not" | "-"
    arg: Node


@dataclass(frozen=True)
class Bin(Node):
    op: str  # and or = != < > <= >= + - * / % ||
    left: Node
    right: Node


@dataclass(frozen=True)
class Like(Node):
    arg: Node
    pattern: Node
    escape: Node | None
    negated: bool


@dataclass(frozen=True)
class In(Node):
    arg: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    arg: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class IsNull(Node):
    arg: Node
    negated: bool


@dataclass(frozen=True)
class Func(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Cast(Node):
    arg: Node
    type: str


AGGREGATES = frozenset({"count", "sum", "avg", "min", "max"})
SCALARS = frozenset(
    {"lower", "upper", "trim", "ltrim", "rtrim", "char_length", "character_length", "substring", "concat"}
    | {"coalesce", "nullif", "abs"}
)
CAST_TYPES = {
    "int": "int",
    "integer": "int",
    "bigint": "int",
    "smallint": "int",
    "tinyint": "int",
    "double": "float",
    "float": "float",
    "real": "float",
    "decimal": "float",
    "numeric": "float",
    "string": "str",
    "varchar": "str",
    "char": "str",
    "bool": "bool",
    "boolean": "bool",
}
_REFUSED = {"group", "order", "join", "having", "union", "inner", "left", "right", "outer", "cross"}


@dataclass(frozen=True)
class Item:
    expr: Node
    alias: str | None


@dataclass(frozen=True)
class Query:
    items: tuple[Item, ...]  # empty for SELECT *
    source: tuple[str | int, ...]  # the path after `ossobject`; "*" for [*]
    where: Node | None
    limit: int | None

    @property
    def star(self) -> bool:
        return not self.items

    @property
    def aggregate(self) -> bool:
        return any(contains_aggregate(i.expr) for i in self.items)


def contains_aggregate(node: Node) -> bool:
    if isinstance(node, Func):
        return node.name in AGGREGATES or any(contains_aggregate(a) for a in node.args)
    return any(contains_aggregate(c) for c in _children(node))


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary | IsNull | Cast):
        return (node.arg,)
    if isinstance(node, Bin):
        return (node.left, node.right)
    if isinstance(node, Like):
        return (node.arg, node.pattern) + ((node.escape,) if node.escape else ())
    if isinstance(node, In):
        return (node.arg, *node.items)
    if isinstance(node, Between):
        return (node.arg, node.low, node.high)
    if isinstance(node, Func):
        return node.args
    return ()


# ---- tokens ----------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
      | (?P<str>'(?:[^']|'')*')
      | (?P<qid>"(?:[^"]|"")+")
      | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|<>|!=|\|\||[=<>+\-*/%(),.\[\]])
      | (?P<end>'\s*$)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # num str qid id op eof
    text: str

    def is_kw(self, *words: str) -> bool:
        return self.kind == "id" and self.text.lower() in words


def _tokenize(sql: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    n = len(sql)
    while pos < n:
        if sql[pos:].strip() == "":
            break
        m = _TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            raise SelectError(
                "InvalidSqlExpression", f"Unexpected character at {pos}: {sql[pos : pos + 20]!r}"
            )
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "end":  # a lone quote ending the statement, which OSS ignores
            break
        tokens.append(_Tok(kind, m.group(kind)))
    tokens.append(_Tok("eof", ""))
    return tokens


# ---- parser ----------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, sql: str) -> None:
        self.toks = _tokenize(sql)
        self.i = 0
        self.alias: str | None = None

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept_op(self, op: str) -> bool:
        if self.tok.kind == "op" and self.tok.text == op:
            self.i += 1
            return True
        return False

    def accept_kw(self, *words: str) -> bool:
        if self.tok.is_kw(*words):
            self.i += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            self.fail(f"expected {op!r}")

    def expect_kw(self, word: str) -> None:
        if not self.accept_kw(word):
            self.fail(f"expected {word.upper()}")

    def fail(self, what: str) -> None:
        near = self.tok.text or "the end"
        raise SelectError("InvalidSqlExpression", f"Syntax error near {near!r}: {what}.")

    def ident(self) -> str:
        t = self.next()
        if t.kind == "id":
            return t.text
        if t.kind == "qid":
            return t.text[1:-1].replace('""', '"')
        self.i -= 1
        self.fail("expected a name")
        raise AssertionError  # unreachable: fail raises

    # query
    def query(self) -> Query:
        if self.tok.kind == "eof":
            raise SelectError("InvalidSqlExpression", "The SQL expression is empty.")
        self.expect_kw("select")
        start = self.i
        depth = 0
        # The FROM clause names the alias that column paths may start with: read it first.
        while not (depth == 0 and self.tok.is_kw("from")) and self.tok.kind != "eof":
            if self.tok.kind == "op" and self.tok.text in "([":
                depth += 1
            elif self.tok.kind == "op" and self.tok.text in ")]":
                depth -= 1
            self.i += 1
        self.expect_kw("from")
        source = self.source()
        where_at = self.i
        self.i = start
        items = self.select_list()
        self.expect_kw("from")
        self.i = where_at
        where = None
        if self.accept_kw("where"):
            where = self.expr()
            if contains_aggregate(where):
                raise SelectError("InvalidSqlExpression", "Aggregate functions are not allowed in WHERE.")
        limit = None
        if self.accept_kw("limit"):
            t = self.next()
            if t.kind != "num" or not t.text.isdigit():
                self.i -= 1
                self.fail("LIMIT needs a whole number")
            limit = int(t.text)
        if self.tok.kind != "eof":
            if self.tok.kind == "id" and self.tok.text.lower() in _REFUSED:
                raise SelectError("InvalidSqlExpression", f"{self.tok.text.upper()} is not supported.")
            self.fail("unexpected text after the statement")
        q = Query(tuple(items), source, where, limit)
        if q.aggregate and not all(_aggregate_only(i.expr) for i in q.items):
            raise SelectError("InvalidSqlExpression", "Columns outside aggregate functions need GROUP BY.")
        return q

    def source(self) -> tuple[str | int, ...]:
        name = self.ident()
        if name.lower() != "ossobject":
            self.i -= 1
            self.fail("the source must be ossobject")
        path: list[str | int] = []
        while True:
            if self.accept_op("."):
                path.append(self.ident())
            elif self.accept_op("["):
                if self.accept_op("*"):
                    path.append("*")
                else:
                    t = self.next()
                    if t.kind != "num" or not t.text.isdigit():
                        self.fail("expected an index or *")
                    path.append(int(t.text))
                self.expect_op("]")
            else:
                break
        if self.accept_kw("as") or (self.tok.kind in ("id", "qid") and not self.tok.is_kw("where", "limit")):
            if self.tok.kind == "id" and self.tok.text.lower() in _REFUSED:
                raise SelectError("InvalidSqlExpression", f"{self.tok.text.upper()} is not supported.")
            self.alias = self.ident()
        return tuple(path)

    def select_list(self) -> list[Item]:
        if self.accept_op("*"):
            return []
        items = []
        while True:
            expr = self.expr()
            if _has_concat(expr):
                # OSS refuses || among the selected values (it is allowed in WHERE).
                raise SelectError("InvalidSqlExpression", "The || operator is not supported in SELECT.")
            alias = None
            while self.accept_kw("as"):
                alias = self.ident()
            if alias is None and self.tok.kind in ("id", "qid") and not self.tok.is_kw("from"):
                alias = self.ident()
            items.append(Item(expr, alias))
            if not self.accept_op(","):
                return items

    # expressions, lowest precedence first
    def expr(self) -> Node:
        node = self.conj()
        while self.accept_kw("or"):
            node = Bin("or", node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.neg()
        while self.accept_kw("and"):
            node = Bin("and", node, self.neg())
        return node

    def neg(self) -> Node:
        if self.accept_kw("not"):
            return Unary("not", self.neg())
        return self.predicate()

    def predicate(self) -> Node:
        left = self.concat()
        if self.tok.kind == "op" and self.tok.text in ("=", "!=", "<>", "<", ">", "<=", ">="):
            op = self.next().text
            return Bin("!=" if op == "<>" else op, left, self.concat())
        if self.accept_kw("is"):
            negated = self.accept_kw("not")
            self.expect_kw("null")
            return IsNull(left, negated)
        negated = self.accept_kw("not")
        if self.accept_kw("like"):
            pattern = self.concat()
            escape = self.concat() if self.accept_kw("escape") else None
            return Like(left, pattern, escape, negated)
        if self.accept_kw("in"):
            self.expect_op("(")
            items = [self.expr()]
            while self.accept_op(","):
                items.append(self.expr())
            self.expect_op(")")
            return In(left, tuple(items), negated)
        if self.accept_kw("between"):
            low = self.concat()
            self.expect_kw("and")
            return Between(left, low, self.concat(), negated)
        if negated:
            self.fail("expected LIKE, IN or BETWEEN after NOT")
        return left

    def concat(self) -> Node:
        node = self.additive()
        while self.accept_op("||"):
            node = Bin("||", node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.term()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            node = Bin(self.next().text, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "%"):
            node = Bin(self.next().text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept_op("-"):
            return Unary("-", self.unary())
        if self.accept_op("+"):
            return self.unary()
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.i += 1
            text = t.text
            return Lit(float(text) if any(c in text for c in ".eE") else int(text))
        if t.kind == "str":
            self.i += 1
            return Lit(t.text[1:-1].replace("''", "'"))
        if self.accept_op("("):
            node = self.expr()
            self.expect_op(")")
            return node
        if t.is_kw("true", "false"):
            self.i += 1
            return Lit(t.text.lower() == "true")
        if t.is_kw("null"):
            self.i += 1
            return Lit(None)
        if t.is_kw("cast"):
            self.i += 1
            self.expect_op("(")
            arg = self.expr()
            self.expect_kw("as")
            type_name = self.ident().lower()
            if type_name not in CAST_TYPES:
                raise SelectError("InvalidSqlExpression", f"CAST to {type_name!r} is not supported.")
            if self.accept_op("("):  # varchar(10), decimal(10,2): the size is not kept
                while not self.accept_op(")"):
                    if self.next().kind == "eof":
                        self.fail("expected ')'")
            self.expect_op(")")
            return Cast(arg, CAST_TYPES[type_name])
        if t.kind in ("id", "qid"):
            if t.kind == "id" and self.toks[self.i + 1].kind == "op" and self.toks[self.i + 1].text == "(":
                return self.call()
            return self.path()
        if t.kind == "op" and t.text == "*":
            self.fail("* is only allowed as SELECT * or COUNT(*)")
        self.fail("expected a value")
        raise AssertionError  # unreachable: fail raises

    def call(self) -> Node:
        name = self.next().text.lower()
        if name not in AGGREGATES and name not in SCALARS:
            raise SelectError("InvalidSqlExpression", f"Unknown function {name!r}.")
        self.expect_op("(")
        if name == "count" and self.accept_op("*"):
            self.expect_op(")")
            return Func(name, (Star(),))
        args: list[Node] = []
        if name == "substring":
            args.append(self.expr())
            if self.accept_kw("from"):
                args.append(self.expr())
                if self.accept_kw("for"):
                    args.append(self.expr())
                self.expect_op(")")
                return Func(name, tuple(args))
            while self.accept_op(","):
                args.append(self.expr())
            self.expect_op(")")
            return Func(name, tuple(args))
        if not self.accept_op(")"):
            args.append(self.expr())
            while self.accept_op(","):
                args.append(self.expr())
            self.expect_op(")")
        if name in AGGREGATES and (len(args) != 1 or any(contains_aggregate(a) for a in args)):
            raise SelectError("InvalidSqlExpression", f"{name.upper()} takes one value that is no aggregate.")
        return Func(name, tuple(args))

    def path(self) -> Node:
        parts: list[str | int] = [self.ident()]
        while True:
            if self.accept_op("."):
                parts.append(self.ident())
            elif self.accept_op("["):
                t = self.next()
                if t.kind != "num" or not t.text.isdigit():
                    self.fail("expected an array index")
                parts.append(int(t.text))
                self.expect_op("]")
            else:
                break
        if len(parts) > 1 and isinstance(parts[0], str) and self.alias is not None:
            if parts[0].lower() == self.alias.lower():
                parts = parts[1:]
        elif len(parts) > 1 and isinstance(parts[0], str) and parts[0].lower() == "ossobject":
            parts = parts[1:]
        return Col(tuple(parts))


def _has_concat(node: Node) -> bool:
    if isinstance(node, Bin) and node.op == "||":
        return True
    return any(_has_concat(c) for c in _children(node))


def _aggregate_only(node: Node) -> bool:
    """No column outside an aggregate."""
    if isinstance(node, Func) and node.name in AGGREGATES:
        return True
    if isinstance(node, Col):
        return False
    return all(_aggregate_only(c) for c in _children(node))


def parse(sql: str) -> Query:
    return _Parser(sql).query()
