"""Delivery of table data to OSS: its wiring into the server, and the `ossbox delivery` commands.

In the server, every process answers the delivery API (ossbox/tables/delivery.py) and one of them, the
holder of `<data-dir>/delivery.lock`, runs the tasks (ossbox/delivery/leader.py). The tasks write through
STS with the delivery service's own key (`ossbox ram key service otsdatadelivery.ots.aliyuncs.com`) into
each task's role; without pyarrow (pip install 'ossbox[delivery]') the API refuses new tasks and nothing
runs. The commands are clients of the API over HTTP, like the Go and Java SDKs.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ossbox.core.errors import OSSError
from ossbox.meta.sql_store import SqlMeta

if TYPE_CHECKING:
    from ossbox.delivery.client import DeliveryClient
    from ossbox.delivery.leader import DeliveryLeader
    from ossbox.delivery.model import TaskConfig
    from ossbox.tables.delivery import DeliveryApi
    from ossbox.tables.service import TableService

log = logging.getLogger("ossbox.delivery")
F = TypeVar("F", bound=Callable[..., Any])

LEASE_NAME = "delivery"  # on SQLite, the flock of DATA_DIR/delivery.lock
SERVICE_NAME = "otsdatadelivery.ots.aliyuncs.com"
ROLE_POLICY = "AliyunServiceRolePolicyForOTSDataDelivery"
# What the default role may do: write and read back delivered files, nothing to buckets themselves.
ROLE_POLICY_DOCUMENT = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "oss:PutObject",
                    "oss:GetObject",
                    "oss:ListObjects",
                    "oss:GetBucketInfo",
                    "oss:AbortMultipartUpload",
                    "oss:ListParts",
                ],
                "Resource": "*",
            }
        ],
    }
)
_ENV = "OSSBOX_DELIVERY_"


def missing_dependency() -> str | None:
    """Why delivery cannot run in this installation, or None."""
    for module in ("pyarrow", "aliyunsdksts"):
        if importlib.util.find_spec(module) is None:
            return (
                f"Delivery to OSS is disabled on this server: {module} is not installed "
                "(pip install 'ossbox[delivery]')."
            )
    return None


def ensure_delivery_role(meta: SqlMeta, account_id: str) -> str:
    """The ARN of AliyunServiceRoleForOTSDataDelivery, made on first use: trusted by the delivery
    service only, allowed to write objects (ROLE_POLICY_DOCUMENT)."""
    from ossbox.cli.runtime import ROOT_OWNER_ID
    from ossbox.delivery.model import DEFAULT_ROLE_NAME
    from ossbox.service.identities import IdentityAdmin

    admin = IdentityAdmin(meta, ROOT_OWNER_ID, account_id)
    ids = meta.identities
    if ids.role(DEFAULT_ROLE_NAME) is None:
        trust = json.dumps(
            {
                "Version": "1",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": [SERVICE_NAME]}}
                ],
            }
        )
        try:
            if ids.policy(ROLE_POLICY) is None:
                admin.create_policy(ROLE_POLICY, ROLE_POLICY_DOCUMENT, "the delivery service's default role")
            admin.create_role(DEFAULT_ROLE_NAME, trust, comment="Tablestore delivery writes to OSS with it")
            admin.attach(ROLE_POLICY, "role", DEFAULT_ROLE_NAME)
        except OSSError as exc:
            if not exc.code.startswith("EntityAlreadyExists"):  # another process made it meanwhile
                raise
    return admin.role_arn(DEFAULT_ROLE_NAME)


def open_delivery_api(
    data_dir: Path, meta_url: str, meta: SqlMeta, service: TableService, now_ms: Callable[[], int]
) -> DeliveryApi:
    from ossbox.cli.runtime import ACCOUNT_ID_SETTING
    from ossbox.tables.delivery import DeliveryApi

    def default_role() -> str:
        account_id = meta.get_setting(ACCOUNT_ID_SETTING)
        assert account_id, "prepare() stores the account id"
        return ensure_delivery_role(meta, account_id)

    from ossbox.delivery.store import DeliveryStore, open_delivery_db

    store = DeliveryStore(open_delivery_db(data_dir, meta_url))
    return DeliveryApi(store, service.table_info, now_ms, default_role, missing_dependency())


def _env_number(name: str, default: float, minimum: float) -> float:
    text = os.environ.get(_ENV + name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"{_ENV}{name} must be a number, not {text!r}") from None
    if value < minimum:
        raise SystemExit(f"{_ENV}{name} must be at least {minimum}")
    return value


def _own_address(host: str, port: int) -> str:
    """host:port at which this server reaches itself."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def warn_if_disabled() -> None:
    reason = missing_dependency()
    if reason:
        log.warning("%s", reason)


def start_delivery(
    data_dir: Path, meta_url: str, meta: SqlMeta, region: str, host: str, port: int, now_ms: Callable[[], int]
) -> DeliveryLeader | None:
    """Start this process's candidate for leading delivery (None: delivery is disabled, which the server
    says once at start: see `warn_if_disabled`)."""
    if missing_dependency():
        return None
    from ossbox.cli.runtime import ACCOUNT_ID_SETTING, ROOT_OWNER_ID
    from ossbox.delivery.credentials import RoleSessions, ServiceKey, StsEndpoint
    from ossbox.delivery.destination import Destination
    from ossbox.delivery.leader import DeliveryLeader
    from ossbox.delivery.model import Task
    from ossbox.delivery.source import TableReader
    from ossbox.delivery.store import DeliveryStore, open_delivery_db
    from ossbox.delivery.worker import DeliveryWorker, Settings
    from ossbox.service.identities import IdentityAdmin

    # The SDKs log every refused request themselves (aliyunsdkcore as ERROR); the task's status and one
    # warning per new error say it better.
    logging.getLogger("aliyunsdkcore").setLevel(logging.CRITICAL)
    logging.getLogger("oss2").setLevel(logging.WARNING)
    own = _own_address(host, port)
    sts_host = os.environ.get(_ENV + "STS_ENDPOINT") or own
    sts = StsEndpoint(
        host=sts_host.split("://", 1)[-1],
        protocol="https" if sts_host.startswith("https://") else "http",
        region=region,
    )
    key_id, secret = os.environ.get(_ENV + "ACCESS_KEY_ID"), os.environ.get(_ENV + "ACCESS_KEY_SECRET")
    if not (key_id and secret):
        key = IdentityAdmin(meta, ROOT_OWNER_ID, meta.get_setting(ACCOUNT_ID_SETTING) or "").service_key(
            SERVICE_NAME
        )
        key_id, secret = key.access_key_id, key.secret
    sessions = RoleSessions(sts, ServiceKey(key_id, secret))
    settings = Settings(
        roll_bytes=int(_env_number("ROLL_BYTES", Settings.roll_bytes, 1)),
        roll_s=_env_number("ROLL_S", Settings.roll_s, 0),
        max_writers=int(_env_number("MAX_WRITERS", Settings.max_writers, 1)),
        poll_s=_env_number("POLL_S", Settings.poll_s, 0.01),
        retry_max_s=_env_number("RETRY_MAX_S", Settings.retry_max_s, 0.01),
    )

    def destination(task: Task) -> Destination:
        endpoint = task.config.oss_endpoint or f"http://{own}"
        return Destination(endpoint, region, task.config.bucket, sessions.session(task.config.role_arn))

    def make_worker() -> DeliveryWorker:
        from ossbox.cli.tables import open_tables_db

        return DeliveryWorker(
            DeliveryStore(open_delivery_db(data_dir, meta_url)),
            TableReader(open_tables_db(data_dir, meta_url)),
            destination,
            settings,
            now_ms,
        )

    # One process of all that share the metadata leads (an flock next to SQLite, an advisory lock on
    # PostgreSQL).
    leader = DeliveryLeader(meta.lease(LEASE_NAME), make_worker)
    leader.start()
    return leader


# ---------------------------------------------------------------------------------------------- commands
def _client_options(func: F) -> F:
    options = [
        click.option(
            "--endpoint",
            envvar="OSSBOX_ENDPOINT",
            default="http://127.0.0.1:9000",
            show_default=True,
            help="The server's URL [env OSSBOX_ENDPOINT].",
        ),
        click.option(
            "--access-key-id",
            envvar="ALIBABA_CLOUD_ACCESS_KEY_ID",
            required=True,
            help="The owner's access key [env ALIBABA_CLOUD_ACCESS_KEY_ID].",
        ),
        click.option(
            "--access-key-secret",
            envvar="ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            required=True,
            help="[env ALIBABA_CLOUD_ACCESS_KEY_SECRET]",
        ),
        click.option(
            "--instance", envvar="OSSBOX_TABLES_INSTANCE", required=True, help="[env OSSBOX_TABLES_INSTANCE]"
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _client(endpoint: str, access_key_id: str, access_key_secret: str, instance: str) -> DeliveryClient:
    from ossbox.delivery.client import DeliveryClient

    return DeliveryClient(endpoint, access_key_id, access_key_secret, instance)


def _clear_errors(func: F) -> F:
    """API errors and bad definitions become one line and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ossbox.delivery.client import DeliveryApiError
        from ossbox.delivery.model import DeliveryConfigError

        try:
            return func(*args, **kwargs)
        except DeliveryApiError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        except DeliveryConfigError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


_MODES = {"full": "full", "incremental": "incremental", "differential": "differential"}


def _parse_column(text: str) -> Any:
    """SOURCE[:NAME[:TYPE[:ENCODING[:EXTEND]]]], e.g. amount:amount:DECIMAL:PLAIN:12,2."""
    from ossbox.delivery.model import Column, DataType, DeliveryConfigError, Encoding

    parts = text.split(":")
    if not parts[0] or len(parts) > 5:
        raise DeliveryConfigError(f"--column {text!r}: expected SOURCE[:NAME[:TYPE[:ENCODING[:EXTEND]]]]")
    source = parts[0]
    name = parts[1] if len(parts) > 1 and parts[1] else source
    try:
        data_type = DataType(parts[2].upper()) if len(parts) > 2 and parts[2] else DataType.UTF8
        encoding = Encoding(parts[3].upper()) if len(parts) > 3 and parts[3] else Encoding.PLAIN
    except ValueError as exc:
        raise DeliveryConfigError(f"--column {text!r}: {exc}") from None
    return Column(source, name, data_type, encoding, parts[4] if len(parts) > 4 else "")


@click.group()
def delivery() -> None:
    """Deliver table rows to OSS as Parquet files (Tablestore's delivery tasks).

    \b
    ossbox delivery create --table orders --name orders-oss --bucket lake \\
        --prefix 'orders/year=$yyyy/month=$MM/day=$dd'      # auto schema, differential
    ossbox delivery create ... --column id --column amount::DOUBLE --column at:at:TIMESTAMP_MILLIS
    ossbox delivery describe --table orders --name orders-oss
    ossbox delivery statement --table orders --name orders-oss   # CREATE EXTERNAL TABLE ...
    """


@delivery.command("create")
@_client_options
@click.option("--table", required=True, help="The source table.")
@click.option("--name", required=True, help="Task name: 3-16 of a-z 0-9 -, starting and ending with a-z 0-9.")
@click.option("--bucket", required=True, help="The destination bucket.")
@click.option("--prefix", required=True, help="Object prefix; may hold $yyyy $MM $dd $HH $mm.")
@click.option(
    "--mode",
    type=click.Choice(list(_MODES)),
    default="differential",
    show_default=True,
    help="full: the rows as they are; incremental: changes from now on; differential: both.",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="SOURCE[:NAME[:TYPE[:ENCODING[:EXTEND]]]]",
    help="A column of a manual schema, in order (TYPE: BOOL INT64 UTF8 DOUBLE DATE DECIMAL TIME_MILLIS "
    "TIME_MICROS TIMESTAMP_MILLIS TIMESTAMP_MICROS; default UTF8). No --column: the schema is inferred.",
)
@click.option("--event-time-column", help="Partition by this column's time instead of the write time.")
@click.option(
    "--event-time-format",
    type=click.Choice(["RFC822", "RFC850", "RFC1123", "RFC3339", "Unix"]),
    default="RFC3339",
    show_default=True,
)
@click.option(
    "--role-arn",
    default="",
    help="The role the files are written with (default: the account's "
    "AliyunServiceRoleForOTSDataDelivery, made on first use).",
)
@click.option("--oss-endpoint", default="", help="Where the bucket is (default: this server).")
@_clear_errors
def create(
    endpoint: str,
    access_key_id: str,
    access_key_secret: str,
    instance: str,
    table: str,
    name: str,
    bucket: str,
    prefix: str,
    mode: str,
    columns: tuple[str, ...],
    event_time_column: str | None,
    event_time_format: str,
    role_arn: str,
    oss_endpoint: str,
) -> None:
    """Create a delivery task."""
    from ossbox.delivery.model import (
        EventTime,
        Mode,
        TaskConfig,
        TimeFormat,
        check_config,
        check_task_name,
        normalize_prefix,
    )

    config = TaskConfig(
        bucket=bucket,
        prefix=normalize_prefix(prefix),
        mode=Mode(_MODES[mode]),
        schema=tuple(_parse_column(c) for c in columns),
        event_time=EventTime(event_time_column, TimeFormat(event_time_format)) if event_time_column else None,
        role_arn=role_arn,
        oss_endpoint=oss_endpoint,
    )
    check_task_name(name)
    check_config(config)
    _client(endpoint, access_key_id, access_key_secret, instance).create(table, name, config)
    click.echo(f"created delivery task {name} of {table}")


@delivery.command("list")
@_client_options
@click.option("--table", help="Only the tasks of this table.")
@_clear_errors
def list_tasks(
    endpoint: str, access_key_id: str, access_key_secret: str, instance: str, table: str | None
) -> None:
    """List delivery tasks: table, name, mode."""
    for t in _client(endpoint, access_key_id, access_key_secret, instance).list(table):
        click.echo(f"{t.table}\t{t.name}\t{t.mode.value}")


def _describe_lines(config: TaskConfig, description: Any) -> list[str]:
    s = description.status
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s.synced_ms / 1000)) if s.synced_ms else "-"
    schema = ", ".join(f"{c.source}->{c.name}:{c.type.value}" for c in config.schema) or "auto"
    lines = [
        f"mode: {config.mode.value}",
        f"destination: oss://{config.bucket}/{config.prefix}",
        f"role: {config.role_arn}",
        f"schema: {schema}",
        f"phase: {s.phase}{' (full delivery done)' if s.full_done else ''}",
        f"delivered through: {when}",
        f"rows: {s.rows}  files: {s.files}  bytes: {s.bytes}  dirty values: {s.dirty_values}",
    ]
    if config.event_time:
        lines.insert(3, f"event time: {config.event_time.column} ({config.event_time.format.value})")
    if s.error_code:
        lines.append(f"error: {s.error_code}: {s.error_detail}")
    return lines


@delivery.command("describe")
@_client_options
@click.option("--table", required=True)
@click.option("--name", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_clear_errors
def describe(
    endpoint: str,
    access_key_id: str,
    access_key_secret: str,
    instance: str,
    table: str,
    name: str,
    as_json: bool,
) -> None:
    """A task's definition and status: phase, time delivered through, counts, last error."""
    from dataclasses import asdict

    d = _client(endpoint, access_key_id, access_key_secret, instance).describe(table, name)
    if as_json:
        status = asdict(d.status)
        del status["auto_columns"]
        click.echo(json.dumps({"config": json.loads(d.config.to_json()), "status": status}, indent=2))
        return
    for line in _describe_lines(d.config, d):
        click.echo(line)


@delivery.command("statement")
@_client_options
@click.option("--table", required=True)
@click.option("--name", required=True)
@_clear_errors
def statement(
    endpoint: str, access_key_id: str, access_key_secret: str, instance: str, table: str, name: str
) -> None:
    """Print the CREATE EXTERNAL TABLE statement for the task's files (Hive, Spark, EMR, DLA)."""
    click.echo(
        _client(endpoint, access_key_id, access_key_secret, instance)
        .describe(table, name)
        .create_table_statement
    )


@delivery.command("delete")
@_client_options
@click.option("--table", required=True)
@click.option("--name", required=True)
@_clear_errors
def delete(
    endpoint: str, access_key_id: str, access_key_secret: str, instance: str, table: str, name: str
) -> None:
    """Delete a task (its files stay in the bucket)."""
    _client(endpoint, access_key_id, access_key_secret, instance).delete(table, name)
    click.echo(f"deleted delivery task {name}")
