"""`ossbox meta copy`: move a metadata store between engines (docs/scale-out.md, "Moving to a cluster")."""

from __future__ import annotations

from pathlib import Path

import click

from ossbox.cli.options import data_dir_option
from ossbox.meta.copy import CopyError, copy_store
from ossbox.meta.factory import MetaConfigError
from ossbox.meta.pg import redact


@click.group()
def meta() -> None:
    """The metadata store."""


@meta.command("copy")
@click.option("--from", "source", required=True, help="sqlite:///DATA/meta.sqlite3 or postgresql://...")
@click.option("--to", "target", required=True, help="postgresql://... or sqlite:///path (must be empty)")
@data_dir_option
def meta_copy(source: str, target: str, data_dir: Path) -> None:
    """Copy every bucket, object, version, upload, identity and setting from one store into an empty one,
    with the project catalog, the table service's tables and delivery's tasks, then compare both table by
    table. Stop the servers using the source first."""
    try:
        reports = copy_store(source, target, data_dir)
    except (CopyError, MetaConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    for r in reports:
        if r.rows:
            click.echo(f"{r.table}: {r.rows} rows")
    click.echo(f"copied {redact(source)} to {redact(target)}; every table compared equal")
