"""The `ossbox` command."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from ossbox.cli.delivery import delivery
from ossbox.cli.druid import druid
from ossbox.cli.lifecycle import lifecycle, test_clock
from ossbox.cli.meta import meta
from ossbox.cli.options import data_dir_option
from ossbox.cli.projects import project
from ossbox.cli.ram import ram
from ossbox.cli.runtime import ROOT_OWNER_ID, ServerConfig, open_meta, run, test_clock_requested
from ossbox.cli.sql import job, sql
from ossbox.cli.tables import tables
from ossbox.http import tls
from ossbox.http.tls import TlsFiles
from ossbox.meta.types import AccessKey
from ossbox.service.identities import new_key_pair


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter("expected HOST:PORT, for example 127.0.0.1:9000", param_hint="--address")
    return host.strip("[]") or "127.0.0.1", int(port)


def _tls_options(
    data_dir: Path,
    host: str,
    cert: Path | None,
    key: Path | None,
    certs_dir: Path | None,
    dev: bool,
    https_address: str,
) -> tuple[TlsFiles | None, int | None]:
    try:
        files = tls.resolve(cert, key, certs_dir or data_dir / "certs", dev)
    except tls.TlsConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if not https_address:
        return files, None
    if files is None:
        raise click.UsageError("--https-address needs a certificate: --tls-cert/--tls-key, or --tls-dev")
    https_host, https_port = _split_address(https_address)
    if https_host != host:
        raise click.UsageError(f"--https-address must use --address's host ({host}), not {https_host}")
    return files, https_port


MAX_AUTO_WORKERS = 8


def _worker_count(value: str) -> int:
    if value == "auto":
        import os

        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, min(usable, MAX_AUTO_WORKERS)) if hasattr(os, "fork") else 1
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise click.BadParameter("expected 'auto' or a number from 1 to 64", param_hint="--workers")
    return int(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """ossbox: Alibaba Cloud OSS that you can run yourself.

    \b
    Start a server on local disk and SQLite:
      ossbox server                       # http://127.0.0.1:9000, data in ./ossbox-data
    Point any OSS client at it (oss2, alibabacloud-oss-v2, ali-oss, ossutil) with the
    printed AccessKeyId/AccessKeySecret and region cn-hangzhou.

    \b
    Manage extra access keys of the owner:
      ossbox key create | list | delete KEY_ID

    \b
    The same port serves Tablestore's API (the `tablestore` SDK works unchanged):
      ossbox tables list                  # instances and their tables
    """


@main.command()
@click.option(
    "--address",
    envvar="OSSBOX_ADDRESS",
    default="127.0.0.1:9000",
    show_default=True,
    help="HOST:PORT to listen on [env OSSBOX_ADDRESS].",
)
@data_dir_option
@click.option(
    "--region",
    envvar="OSSBOX_REGION",
    default="cn-hangzhou",
    show_default=True,
    help="Region the server answers for; V4 signatures must name it [env OSSBOX_REGION].",
)
@click.option(
    "--base-domain",
    "base_domains",
    envvar="OSSBOX_BASE_DOMAIN",
    multiple=True,
    help="Domain for virtual-hosted style (BUCKET.DOMAIN); repeatable. 'localhost' always works "
    "[env OSSBOX_BASE_DOMAIN].",
)
@click.option(
    "--s3-domain",
    "s3_domains",
    envvar="OSSBOX_S3_DOMAIN",
    multiple=True,
    help="Host name that speaks only S3, even to unsigned requests (HOST path style, BUCKET.HOST "
    "virtual-hosted); repeatable. Signed S3 requests are recognised on any host (docs/s3.md) "
    "[env OSSBOX_S3_DOMAIN].",
)
@click.option(
    "--workers",
    envvar="OSSBOX_WORKERS",
    default="auto",
    show_default=True,
    help="Serving processes sharing the port and the data directory: a number, or 'auto' for one per "
    f"core this process may use (at most {MAX_AUTO_WORKERS}) [env OSSBOX_WORKERS].",
)
@click.option(
    "--access-log-flush-interval",
    "access_log_flush_s",
    envvar="OSSBOX_ACCESS_LOG_FLUSH_INTERVAL",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between deliveries of buffered access log lines (PutBucketLogging) into their target "
    "buckets [env OSSBOX_ACCESS_LOG_FLUSH_INTERVAL].",
)
@click.option(
    "--restore-delay-seconds",
    envvar="OSSBOX_RESTORE_DELAY_SECONDS",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Time a RestoreObject takes before an archived object is readable "
    "[env OSSBOX_RESTORE_DELAY_SECONDS].",
)
@click.option(
    "--lifecycle-interval-seconds",
    envvar="OSSBOX_LIFECYCLE_INTERVAL_SECONDS",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between lifecycle passes (one process runs them); 0 turns them off; "
    "`ossbox lifecycle run` runs one now [env OSSBOX_LIFECYCLE_INTERVAL_SECONDS].",
)
@click.option(
    "--master-key-file",
    envvar="OSSBOX_MASTER_KEY_FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The key that wraps encrypted objects' data keys; default DATA_DIR/master.key, created on the "
    "first start. Keep a copy: encrypted objects cannot be read without it [env OSSBOX_MASTER_KEY_FILE].",
)
@click.option(
    "--meta-url",
    envvar="OSSBOX_META_URL",
    default="",
    help="Metadata database: postgresql://USER:PASSWORD@HOST:PORT/DB to share it among several nodes "
    "(docs/scale-out.md); default DATA_DIR/meta.sqlite3. Admin commands read OSSBOX_META_URL "
    "[env OSSBOX_META_URL].",
)
@click.option(
    "--blob-url",
    envvar="OSSBOX_BLOB_URL",
    default="",
    help="Where object data lives: file:///PATH (a directory every node mounts) or "
    "s3://BUCKET/PREFIX?endpoint=http://HOST:PORT&region=R (an S3-compatible cluster; credentials from "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); default DATA_DIR (docs/scale-out.md) [env OSSBOX_BLOB_URL].",
)
@click.option(
    "--blob-sweep-grace-seconds",
    envvar="OSSBOX_BLOB_SWEEP_GRACE_SECONDS",
    default=900.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="The sweep of unreferenced blobs spares those younger than this, which other requests may be "
    "committing (at start on SQLite with local blobs, where nothing else runs, it spares none) "
    "[env OSSBOX_BLOB_SWEEP_GRACE_SECONDS].",
)
@click.option(
    "--blob-sweep-interval-seconds",
    envvar="OSSBOX_BLOB_SWEEP_INTERVAL_SECONDS",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between sweeps of orphaned blobs while serving (one process of the cluster runs them; "
    "blobs younger than the grace period are spared); 0 turns them off "
    "[env OSSBOX_BLOB_SWEEP_INTERVAL_SECONDS].",
)
@click.option(
    "--max-buckets",
    envvar="OSSBOX_MAX_BUCKETS",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="Buckets an owner may have, as OSS's per-account limit (TooManyBuckets past it); 0: no limit "
    "[env OSSBOX_MAX_BUCKETS].",
)
@click.option(
    "--callback-hosts",
    envvar="OSSBOX_CALLBACK_HOSTS",
    default="*",
    show_default=True,
    help="Comma-separated host patterns (shell-style: *.corp.example, 10.0.*) that upload callbacks may be "
    "sent to; a callback to any other host fails with 203 CallbackFailed without being sent "
    "[env OSSBOX_CALLBACK_HOSTS].",
)
@click.option(
    "--tls-cert",
    envvar="OSSBOX_TLS_CERT",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serve HTTPS with this certificate (PEM, with its chain) [env OSSBOX_TLS_CERT].",
)
@click.option(
    "--tls-key",
    envvar="OSSBOX_TLS_KEY",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The certificate's private key (PEM) [env OSSBOX_TLS_KEY].",
)
@click.option(
    "--certs-dir",
    envvar="OSSBOX_CERTS_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Without --tls-cert: serve HTTPS when this directory holds public.crt and private.key "
    "(MinIO's convention); default DATA_DIR/certs [env OSSBOX_CERTS_DIR].",
)
@click.option(
    "--tls-dev",
    is_flag=True,
    envvar="OSSBOX_TLS_DEV",
    help="Serve HTTPS with a development certificate for localhost/127.0.0.1/::1, signed by a local CA made "
    "in the certs directory on first use; prints how to trust it [env OSSBOX_TLS_DEV].",
)
@click.option(
    "--https-address",
    envvar="OSSBOX_HTTPS_ADDRESS",
    default="",
    help="With a certificate: HTTPS on this HOST:PORT and plain HTTP on --address (the host must be "
    "--address's); without it, --address itself serves HTTPS [env OSSBOX_HTTPS_ADDRESS].",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def server(
    address: str,
    data_dir: Path,
    region: str,
    base_domains: tuple[str, ...],
    s3_domains: tuple[str, ...],
    workers: str,
    access_log_flush_s: float,
    restore_delay_seconds: float,
    lifecycle_interval_seconds: float,
    master_key_file: Path | None,
    meta_url: str,
    blob_url: str,
    blob_sweep_grace_seconds: float,
    blob_sweep_interval_seconds: float,
    max_buckets: int,
    callback_hosts: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    certs_dir: Path | None,
    tls_dev: bool,
    https_address: str,
    log_level: str,
) -> None:
    """Run the OSS server.

    The owner's key comes from OSSBOX_ROOT_ACCESS_KEY_ID and OSSBOX_ROOT_ACCESS_KEY_SECRET when both are
    set; otherwise the first start creates one and prints it once.
    """
    import os

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, port = _split_address(address)
    tls, https_port = _tls_options(
        data_dir.resolve(), host, tls_cert, tls_key, certs_dir, tls_dev, https_address
    )
    domains = (*(d.lower().strip(".") for d in base_domains if d), "localhost")
    run(
        ServerConfig(
            host=host,
            port=port,
            data_dir=data_dir.resolve(),
            region=region,
            base_domains=domains,
            root_key_id=os.environ.get("OSSBOX_ROOT_ACCESS_KEY_ID") or None,
            root_key_secret=os.environ.get("OSSBOX_ROOT_ACCESS_KEY_SECRET") or None,
            workers=_worker_count(workers),
            s3_domains=tuple(d.lower().strip(".") for d in s3_domains if d),
            access_log_flush_s=access_log_flush_s,
            restore_delay_ms=int(restore_delay_seconds * 1000),
            lifecycle_interval_s=lifecycle_interval_seconds,
            test_clock=test_clock_requested(),
            master_key_file=master_key_file.resolve() if master_key_file else None,
            meta_url=meta_url,
            blob_url=blob_url,
            blob_sweep_grace_s=blob_sweep_grace_seconds,
            blob_sweep_interval_s=blob_sweep_interval_seconds,
            tls=tls,
            https_port=https_port,
            max_buckets=max_buckets,
            callback_hosts=tuple(h.strip() for h in callback_hosts.split(",") if h.strip()),
        )
    )


@main.group()
def key() -> None:
    """Manage the owner's access keys (stored in the data directory)."""


@key.command("create")
@data_dir_option
@click.option("--description", default="", help="A note to tell keys apart.")
def key_create(data_dir: Path, description: str) -> None:
    """Create a key pair and print it (the secret is shown only now)."""
    meta = open_meta(data_dir)
    key_id, secret = new_key_pair()
    ak = AccessKey(key_id, secret, ROOT_OWNER_ID, False, int(time.time() * 1000), description)
    meta.write(lambda txn: txn.insert_access_key(ak))
    click.echo(f"AccessKeyId={key_id}\nAccessKeySecret={secret}")


@key.command("list")
@data_dir_option
def key_list(data_dir: Path) -> None:
    """List key ids (never secrets)."""
    meta = open_meta(data_dir)
    for ak in meta.list_access_keys():
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ak.created_ms / 1000))
        role = "root" if ak.is_root else "key"
        click.echo(f"{ak.access_key_id}\t{role}\t{created}\t{ak.description}")


@key.command("delete")
@data_dir_option
@click.argument("access_key_id")
def key_delete(data_dir: Path, access_key_id: str) -> None:
    """Delete a key. The root key cannot be deleted."""
    meta = open_meta(data_dir)
    ak = meta.get_access_key(access_key_id)
    if ak is None:
        raise click.ClickException(f"no such key: {access_key_id}")
    if ak.is_root:
        raise click.ClickException("the root key cannot be deleted")
    meta.write(lambda txn: txn.delete_access_key(access_key_id))
    click.echo(f"deleted {access_key_id}")


main.add_command(delivery)
main.add_command(meta)
main.add_command(druid)
main.add_command(ram)
main.add_command(tables)
main.add_command(project)
main.add_command(sql)
main.add_command(job)

from ossbox.cli.ossutil import register as _register_ossutil  # noqa: E402 - ossutil's habits: ls, cp, sync, ...

_register_ossutil(main)
main.add_command(lifecycle)
main.add_command(test_clock)

if __name__ == "__main__":
    main()
