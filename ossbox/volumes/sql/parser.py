"""MaxCompute statements, parsed into small dataclasses. Queries (SELECT, VALUES) are kept as text with
their offset in the statement: DuckDB runs them, and its errors are mapped back to the statement's lines."""

from __future__ import annotations

from dataclasses import dataclass, field

from ossbox.volumes.catalog import Column
from ossbox.volumes.errors import VolumeError
from ossbox.volumes.sql.lexer import EOF, IDENT, NUMBER, OP, STRING, Token, syntax_error, tokenize
from ossbox.volumes.sql.types import normalize_type

CSV_HANDLER = "com.aliyun.odps.csvstoragehandler"
TSV_HANDLER = "com.aliyun.odps.tsvstoragehandler"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.parquethiveserde"


@dataclass(frozen=True)
class Query:
    text: str
    offset: int  # where the query starts in the statement


@dataclass(frozen=True)
class CreateTable:
    name: str
    columns: tuple[Column, ...]
    partition_columns: tuple[Column, ...] = ()
    if_not_exists: bool = False
    external: bool = False
    format: str = ""
    location: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    as_query: Query | None = None


@dataclass(frozen=True)
class DropTable:
    name: str
    if_exists: bool


@dataclass(frozen=True)
class AlterPartitions:
    table: str
    add: bool
    specs: tuple[tuple[tuple[str, str], ...], ...]
    if_flag: bool  # IF NOT EXISTS for ADD, IF EXISTS for DROP


@dataclass(frozen=True)
class Insert:
    table: str
    overwrite: bool
    partition: tuple[tuple[str, str], ...] | None
    columns: tuple[str, ...] | None
    query: Query


@dataclass(frozen=True)
class Select:
    query: Query


@dataclass(frozen=True)
class Show:
    what: str  # tables, partitions, grants, users
    target: str = ""  # the table (partitions) or the user (grants)


@dataclass(frozen=True)
class Describe:
    table: str


@dataclass(frozen=True)
class SetFlag:
    key: str
    value: str


@dataclass(frozen=True)
class GrantStatement:
    grant: bool
    privileges: tuple[str, ...]
    object_type: str
    object_name: str
    user: str


@dataclass(frozen=True)
class Membership:
    add: bool
    user: str


@dataclass(frozen=True)
class Load:
    table: str
    overwrite: bool
    partition: tuple[tuple[str, str], ...] | None
    location: str
    format: str
    properties: dict[str, str]


@dataclass(frozen=True)
class Unload:
    query: Query | None
    table: str
    partition: tuple[tuple[str, str], ...] | None
    location: str
    format: str
    properties: dict[str, str]


@dataclass(frozen=True)
class WhoAmI:
    pass


Statement = (
    CreateTable
    | DropTable
    | AlterPartitions
    | Insert
    | Select
    | Show
    | Describe
    | SetFlag
    | GrantStatement
    | Membership
    | Load
    | Unload
    | WhoAmI
)


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text.rstrip().rstrip(";")
        self.tokens = tokenize(self.text)
        self.i = 0

    # -- token helpers ---------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: Token | None = None) -> VolumeError:
        t = tok or self.tok
        shown = "end of statement" if t.kind == EOF else repr(self.text[t.start : t.end])
        return syntax_error(self.text, t.start, f"{message}, found {shown}")

    def advance(self) -> Token:
        t = self.tok
        if t.kind != EOF:
            self.i += 1
        return t

    def accept(self, *words: str) -> bool:
        if self.tok.is_word(*words):
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> Token:
        if not self.tok.is_word(*words):
            raise self.error("expected " + " or ".join(w.upper() for w in words))
        return self.advance()

    def accept_op(self, op: str) -> bool:
        if self.tok.kind == OP and self.tok.value == op:
            self.i += 1
            return True
        return False

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise self.error(f"expected '{op}'")

    def name(self, what: str = "a name") -> str:
        t = self.tok
        if t.kind != IDENT:
            raise self.error(f"expected {what}")
        self.advance()
        value = t.value
        # project.table: the project part must be this one (checked by the engine); keep the table
        if self.accept_op("."):
            value = value + "." + self.name(what)
        return value.lower()

    def string(self, what: str = "a quoted string") -> str:
        t = self.tok
        if t.kind != STRING:
            raise self.error(f"expected {what}")
        self.advance()
        return t.value

    def end(self) -> None:
        if self.tok.kind != EOF:
            raise self.error("expected the end of the statement")

    def rest(self) -> Query:
        """The remaining text, as a query."""
        start = self.tok.start
        if self.tok.kind == EOF:
            raise self.error("expected a query")
        self.i = len(self.tokens) - 1
        return Query(self.text[start:], start)

    # -- statements ------------------------------------------------------------------------------------
    def parse(self) -> Statement:
        t = self.tok
        if t.kind == EOF:
            raise self.error("expected a statement")
        if t.is_word("select", "with", "from", "values"):
            return Select(self.rest())
        word = t.value.lower() if t.kind == IDENT else ""
        method = getattr(self, "_" + word, None) if word and not t.quoted else None
        if method is None:
            raise self.error("expected a statement (SELECT, CREATE, INSERT, LOAD, UNLOAD, GRANT, ...)")
        self.advance()
        stmt: Statement = method()
        return stmt

    def _create(self) -> Statement:
        external = self.accept("external")
        self.expect("table")
        if_not_exists = False
        if self.accept("if"):
            self.expect("not")
            self.expect("exists")
            if_not_exists = True
        name = self.name("a table name")
        if self.accept("as"):
            return CreateTable(name, (), if_not_exists=if_not_exists, as_query=self.rest())
        columns = self.column_list()
        comment, fmt, location = "", "", ""
        partitions: tuple[Column, ...] = ()
        props: dict[str, str] = {}
        while self.tok.kind != EOF:
            if self.accept("comment"):
                comment = self.string()
            elif self.accept("partitioned"):
                self.expect("by")
                partitions = self.column_list()
            elif self.accept("stored"):
                fmt = self.storage()
            elif self.accept("with"):
                self.expect("serdeproperties")
                props.update(self.properties())
            elif self.accept("tblproperties"):
                props.update(self.properties())
            elif self.accept("location"):
                location = self.string("a location in quotes")
            elif self.accept("lifecycle"):
                if self.tok.kind != NUMBER:
                    raise self.error("expected a number of days")
                self.advance()
            else:
                raise self.error(
                    "expected PARTITIONED BY, STORED BY, WITH SERDEPROPERTIES, LOCATION or the end"
                )
        if external and not location:
            raise self.error("an external table needs LOCATION 'odps://...'")
        if not external and (location or fmt):
            raise self.error("STORED BY and LOCATION are for CREATE EXTERNAL TABLE")
        return CreateTable(
            name, columns, partitions, if_not_exists, external, fmt or "csv", location, props, comment
        )

    def column_list(self) -> tuple[Column, ...]:
        self.expect_op("(")
        cols: list[Column] = []
        while True:
            name_tok = self.tok
            name = self.name("a column name")
            type_start = self.tok
            raw = self.type_text()
            try:
                type_name = normalize_type(raw)
            except VolumeError as exc:
                raise syntax_error(self.text, type_start.start, exc.message) from None
            comment = self.string() if self.accept("comment") else ""
            if any(c.name == name for c in cols):
                raise syntax_error(self.text, name_tok.start, f"the column {name} is defined twice")
            cols.append(Column(name, type_name, comment))
            if self.accept_op(")"):
                return tuple(cols)
            self.expect_op(",")

    def type_text(self) -> str:
        """A type as written: INT, DECIMAL(10,2), ARRAY<STRING>, MAP<STRING,BIGINT>, ..."""
        t = self.tok
        if t.kind != IDENT:
            raise self.error("expected a type")
        start = t.start
        self.advance()
        depth = 0
        while True:
            tok = self.tok
            if tok.kind == OP and tok.value in "(<":
                depth += 1
            elif tok.kind == OP and tok.value in ")>" and depth:
                depth -= 1
            elif depth == 0 or tok.kind == EOF:
                break
            self.advance()
            if depth == 0:
                break
        return self.text[start : self.tokens[self.i - 1].end]

    def storage(self) -> str:
        if self.accept("by"):
            handler = self.string("a storage handler in quotes").lower()
            formats = {CSV_HANDLER: "csv", TSV_HANDLER: "tsv", PARQUET_SERDE: "parquet"}
            if handler not in formats:
                raise self.error(
                    "unsupported storage handler (com.aliyun.odps.CsvStorageHandler, TsvStorageHandler or "
                    "STORED AS PARQUET)",
                    self.tokens[self.i - 1],
                )
            return formats[handler]
        self.expect("as")
        fmt_tok = self.tok
        fmt = self.name("a file format").lower()
        if fmt not in ("parquet", "textfile", "csv"):
            raise self.error("unsupported format (PARQUET, TEXTFILE)", fmt_tok)
        return "csv" if fmt in ("textfile", "csv") else "parquet"

    def properties(self) -> dict[str, str]:
        self.expect_op("(")
        out: dict[str, str] = {}
        if self.accept_op(")"):
            return out
        while True:
            key = self.string("a 'property' name")
            self.expect_op("=")
            out[key] = self.string("a 'value'")
            if self.accept_op(")"):
                return out
            self.expect_op(",")

    def partition_spec(self) -> tuple[tuple[str, str], ...]:
        self.expect_op("(")
        spec: list[tuple[str, str]] = []
        while True:
            key = self.name("a partition column")
            self.expect_op("=")
            t = self.tok
            if t.kind not in (STRING, NUMBER):
                raise self.error("expected a partition value")
            self.advance()
            spec.append((key, t.value))
            if self.accept_op(")"):
                return tuple(spec)
            self.expect_op(",")

    def _drop(self) -> Statement:
        self.expect("table")
        if_exists = False
        if self.accept("if"):
            self.expect("exists")
            if_exists = True
        name = self.name("a table name")
        self.end()
        return DropTable(name, if_exists)

    def _alter(self) -> Statement:
        self.expect("table")
        table = self.name("a table name")
        add = self.tok.is_word("add")
        self.expect("add", "drop")
        flag = False
        if self.accept("if"):
            if add:
                self.expect("not")
            self.expect("exists")
            flag = True
        specs = []
        while self.accept("partition"):
            specs.append(self.partition_spec())
            self.accept_op(",")
        if not specs:
            raise self.error("expected PARTITION (...)")
        self.end()
        return AlterPartitions(table, add, tuple(specs), flag)

    def _insert(self) -> Statement:
        overwrite = self.tok.is_word("overwrite")
        self.expect("into", "overwrite")
        self.accept("table")
        table = self.name("a table name")
        partition = self.partition_spec() if self.accept("partition") else None
        columns = None
        if self.tok.kind == OP and self.tok.value == "(":
            self.advance()
            names = [self.name("a column name")]
            while self.accept_op(","):
                names.append(self.name("a column name"))
            self.expect_op(")")
            columns = tuple(names)
        if not self.tok.is_word("values", "select", "with", "from"):
            raise self.error("expected VALUES or SELECT")
        return Insert(table, overwrite, partition, columns, self.rest())

    def _show(self) -> Statement:
        if self.accept("tables"):
            self.end()
            return Show("tables")
        if self.accept("partitions"):
            table = self.name("a table name")
            self.end()
            return Show("partitions", table)
        if self.accept("grants"):
            user = ""
            if self.accept("for"):
                user = self.user()
            self.end()
            return Show("grants", user)
        raise self.error("expected TABLES, PARTITIONS or GRANTS")

    def _list(self) -> Statement:
        self.expect("users")
        self.end()
        return Show("users")

    def _desc(self) -> Statement:
        self.accept("table")
        table = self.name("a table name")
        self.end()
        return Describe(table)

    _describe = _desc

    def _set(self) -> Statement:
        start = self.tok.start
        eq = self.text.find("=", start)
        if eq < 0:
            raise self.error("expected key=value")
        key, value = self.text[start:eq].strip(), self.text[eq + 1 :].strip()
        if not key or " " in key:
            raise self.error("expected key=value")
        self.i = len(self.tokens) - 1
        return SetFlag(key, value)

    def user(self) -> str:
        """RAM$<account>:<user>, ALIYUN$<email> or <user>: the raw text up to blanks."""
        t = self.tok
        if t.kind not in (IDENT, STRING):
            raise self.error("expected a user")
        if t.kind == STRING:
            self.advance()
            return t.value
        end = t.end
        self.advance()
        while self.tok.kind != EOF and self.tok.start == end:  # RAM$1234:alice lexes as several tokens
            end = self.tok.end
            self.advance()
        return self.text[t.start : end]

    def _grant(self) -> Statement:
        return self.grant_body(True)

    def _revoke(self) -> Statement:
        return self.grant_body(False)

    def grant_body(self, grant: bool) -> Statement:
        privs = [self.name("a privilege")]
        while self.accept_op(","):
            privs.append(self.name("a privilege"))
        self.expect("on")
        type_tok = self.tok
        otype = self.name("PROJECT, TABLE or VOLUME")
        if otype not in ("project", "table", "volume"):
            raise self.error("expected PROJECT, TABLE or VOLUME", type_tok)
        oname = self.name(f"a {otype} name")
        self.expect("to" if grant else "from")
        self.expect("user")
        user = self.user()
        self.end()
        return GrantStatement(grant, tuple(privs), otype, oname, user)

    def _add(self) -> Statement:
        self.expect("user")
        user = self.user()
        self.end()
        return Membership(True, user)

    def _remove(self) -> Statement:
        self.expect("user")
        user = self.user()
        self.end()
        return Membership(False, user)

    def _whoami(self) -> Statement:
        self.end()
        return WhoAmI()

    def _load(self) -> Statement:
        overwrite = self.tok.is_word("overwrite")
        self.expect("overwrite", "into")
        self.expect("table")
        table = self.name("a table name")
        partition = self.partition_spec() if self.accept("partition") else None
        self.expect("from")
        self.expect("location")
        location = self.string("a location in quotes")
        fmt, props = "csv", {}
        if self.accept("stored"):
            fmt = self.storage()
        if self.accept("with"):
            self.expect("serdeproperties")
            props = self.properties()
        self.end()
        return Load(table, overwrite, partition, location, fmt, props)

    def _unload(self) -> Statement:
        self.expect("from")
        query, table, partition = None, "", None
        if self.tok.kind == OP and self.tok.value == "(":
            open_tok = self.advance()
            depth, start = 1, self.tok.start
            while depth:
                t = self.tok
                if t.kind == EOF:
                    raise self.error("unbalanced parentheses", open_tok)
                if t.kind == OP and t.value == "(":
                    depth += 1
                elif t.kind == OP and t.value == ")":
                    depth -= 1
                self.advance()
            close = self.tokens[self.i - 1]
            query = Query(self.text[start : close.start], start)
        else:
            table = self.name("a table name or (query)")
            partition = self.partition_spec() if self.accept("partition") else None
        self.expect("into")
        self.expect("location")
        location = self.string("a location in quotes")
        fmt, props = "csv", {}
        if self.accept("stored"):
            fmt = self.storage()
        while self.tok.kind != EOF:
            if self.accept("with"):
                self.expect("serdeproperties")
                props.update(self.properties())
            elif self.accept("properties"):
                props.update(self.properties())
            else:
                raise self.error("expected WITH SERDEPROPERTIES or the end")
        return Unload(query, table, partition, location, fmt, props)


def parse(text: str) -> Statement:
    return Parser(text).parse()
