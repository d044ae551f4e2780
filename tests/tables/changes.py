"""The change log of a test server's tables database, wherever the server keeps it (its SQLite file, or
its PostgreSQL database when the tests run on PostgreSQL): read as a follower of the table would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ossbox.cli.tables import TABLES_DB, open_tables_db
from ossbox.tables.changelog import ChangeLog
from tests.server import ServerProcess, meta_url_for


@contextmanager
def change_log(server: ServerProcess) -> Iterator[ChangeLog]:
    url = meta_url_for(server.data_dir)
    if url is None:
        with ChangeLog(server.data_dir / TABLES_DB) as log:  # read-only, as an outside reader opens it
            yield log
        return
    db = open_tables_db(server.data_dir, url)
    try:
        with ChangeLog(db) as log:
            yield log
    finally:
        db.close()
