"""What the metadata code needs of a database connection: `execute` with `?` placeholders and a cursor.

sqlite3's connection is one; ossbox.meta.pg.PgConnection makes a psycopg connection another, so that the
queries of ossbox.meta.sql_store are written once for both engines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...
