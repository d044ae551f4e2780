"""Wiring of the table service into the server, and the `ossbox tables` commands."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ossbox.auth.authorizer import Authorizer
from ossbox.auth.principals import CredentialResolver, Kind, Principal
from ossbox.cli.options import data_dir_option
from ossbox.core.errors import MetaUnavailable, OSSError
from ossbox.meta.side_db import SideDb, is_postgres, open_side_db
from ossbox.meta.sql_store import SqlMeta

if TYPE_CHECKING:
    from collections.abc import Callable

    from ossbox.tables.app import TableApp
    from ossbox.tables.delivery import DeliveryApi
    from ossbox.tables.storage import TableStorage

TABLES_DB = "tables.sqlite3"  # the embedded default's file: open_tables_db's name + ".sqlite3"
# Tests: the server's test clock (cell timestamps, TTL, credentials' expiry, restores, lifecycle) starts this
# many seconds ahead; see ossbox/core/clock.py.
CLOCK_OFFSET_ENV = "OSSBOX_CLOCK_OFFSET_S"


def open_tables_db(data_dir: Path, meta_url: str) -> SideDb:
    """The table service's database: `<data_dir>/tables.sqlite3`, or schema ossbox_tables on PostgreSQL."""
    from ossbox.tables.storage import SQLITE_PRAGMAS

    return open_side_db("tables", "ossbox.tables", data_dir, meta_url, SQLITE_PRAGMAS)


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


def open_table_service(
    data_dir: Path,
    meta_url: str,
    meta: SqlMeta,
    resolve: CredentialResolver,
    authorizer: Authorizer,
    region: str,
    now_ms: Callable[[], int],
) -> TableRuntime:
    """The table service, authenticating with the server's credentials (keys and STS tokens) and checking
    each call as the RAM action ots:<Api> on acs:ots:<region>:<account>:instance/<name>[/table/<table>]."""
    # Imported here: the table service needs the `tablestore` SDK's protobuf modules.
    from ossbox.tables.app import TableApp
    from ossbox.tables.auth import Verifier
    from ossbox.tables.errors import auth_failed, no_permission
    from ossbox.tables.service import TableService
    from ossbox.tables.storage import TableStorage

    def credential(access_key_id: str, token: str | None) -> tuple[str, object]:
        try:
            cred = resolve(access_key_id, token)
        except MetaUnavailable:
            raise  # not the caller's fault: the app answers 503, which the SDK retries
        except OSSError as exc:
            raise auth_failed(exc.message) from None
        if cred.principal.kind is Kind.SERVICE:
            raise auth_failed("A service's key can only assume roles.")
        return cred.secret, cred.principal

    def authorize(caller: object, action: str, instance: str, tables: list[str]) -> None:
        assert isinstance(caller, Principal)
        if caller.is_owner:
            return
        base = f"acs:ots:{region}:{authorizer.account_id}:instance/{instance}"
        for resource in [f"{base}/table/{t}" for t in tables] or [base]:
            if not authorizer.identity_allows(caller, action, resource, {}):
                raise no_permission(action)

    from ossbox.cli.delivery import open_delivery_api

    storage = TableStorage(open_tables_db(data_dir, meta_url), now_ms)
    service = TableService(storage, now_ms, authorize)
    delivery = open_delivery_api(data_dir, meta_url, meta, service, now_ms)
    service.handlers.update(delivery.handlers())
    app = TableApp(service, Verifier(credential))
    return TableRuntime(app, storage, now_ms, delivery)


@click.group()
def tables() -> None:
    """The table service (Tablestore's API on the server's port)."""


@tables.command("list")
@data_dir_option
def tables_list(data_dir: Path) -> None:
    """List instances and their tables (instances are created by their first CreateTable); with
    OSSBOX_META_URL set, those in its PostgreSQL database."""
    from ossbox.cli.runtime import resolved_meta_url
    from ossbox.tables.changelog import ChangeLog

    url = resolved_meta_url()
    if not is_postgres(url) and not (data_dir / TABLES_DB).exists():
        return
    db = open_tables_db(data_dir, url)
    try:
        with ChangeLog(db) as log:
            for instance, name, created_ms in log.tables():
                created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created_ms / 1000))
                click.echo(f"{instance}\t{name}\t{created}")
    finally:
        db.close()
