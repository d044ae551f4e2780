"""Wiring of the table service into the server, and the `ossbox tables` commands."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ossbox.cli.options import data_dir_option
from ossbox.meta.sqlite import SqliteMeta

if TYPE_CHECKING:
    from collections.abc import Callable

    from ossbox.tables.app import TableApp
    from ossbox.tables.delivery import DeliveryApi
    from ossbox.tables.storage import TableStorage

TABLES_DB = "tables.sqlite3"
# Shifts the table service's clock (cell timestamps, TTL) by this many seconds: for tests of expiry.
CLOCK_OFFSET_ENV = "OSSBOX_CLOCK_OFFSET_S"


@dataclass
class TableRuntime:
    """The table service's parts, built for one server process."""

    app: TableApp
    storage: TableStorage
    now_ms: Callable[[], int]
    delivery: DeliveryApi

    def close(self) -> None:
        self.delivery.close()
        self.storage.close()


def open_table_service(data_dir: Path, meta: SqliteMeta) -> TableRuntime:
    # Imported here: the table service needs the `tablestore` SDK's protobuf modules.
    from ossbox.tables.app import TableApp
    from ossbox.tables.auth import Verifier
    from ossbox.tables.service import TableService, wall_clock
    from ossbox.tables.storage import TableStorage

    now_ms = wall_clock(float(os.environ.get(CLOCK_OFFSET_ENV) or 0))

    from ossbox.cli.delivery import open_delivery_api

    def secret_of(access_key_id: str) -> str | None:
        # Only the account owner's keys: ots:* actions are not checked against RAM policies yet, so a RAM
        # user's key (whose rights are whatever its policies say) is refused rather than allowed everything,
        # and so is a cloud service's key (it may only assume roles).
        key = meta.get_access_key(access_key_id)
        if key is None or key.user_name is not None or key.service is not None:
            return None
        return key.secret

    storage = TableStorage(data_dir / TABLES_DB, now_ms)
    service = TableService(storage, now_ms)
    delivery = open_delivery_api(data_dir, meta, service, now_ms)
    service.handlers.update(delivery.handlers())
    # No STS tokens exist in ossbox yet: with no token check, a request carrying one is refused.
    app = TableApp(service, Verifier(secret_of, token_check=None))
    return TableRuntime(app, storage, now_ms, delivery)


@click.group()
def tables() -> None:
    """The table service (Tablestore's API on the server's port)."""


@tables.command("list")
@data_dir_option
def tables_list(data_dir: Path) -> None:
    """List instances and their tables (instances are created by their first CreateTable)."""
    from ossbox.tables.changelog import ChangeLog

    path = data_dir / TABLES_DB
    if not path.exists():
        return
    with ChangeLog(path) as log:
        for instance, name, created_ms in log.tables():
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created_ms / 1000))
            click.echo(f"{instance}\t{name}\t{created}")
