"""`ossbox lifecycle run` (a lifecycle pass now) and `ossbox test-clock` (move a test server's clock)."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import asdict
from pathlib import Path

import click

from ossbox.cli.runtime import open_blobs, open_meta, storage_clock, test_clock_requested
from ossbox.meta.factory import META_URL_ENV, SQLITE_FILE, shared_state_path
from ossbox.meta.shared_state import SharedState
from ossbox.service.committer import Committer
from ossbox.service.lifecycle_runner import LifecycleRunner, PassReport
from ossbox.service.storage import Storage

_data_dir = click.option(
    "--data-dir",
    envvar="OSSBOX_DATA_DIR",
    default="./ossbox-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data directory [env OSSBOX_DATA_DIR].",
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def _existing(data_dir: Path) -> Path:
    if not os.environ.get(META_URL_ENV) and not (data_dir / SQLITE_FILE).is_file():
        raise click.ClickException(f"no ossbox data directory at {data_dir}")
    return data_dir


def parse_duration(text: str) -> int:
    """'90s', '2h', '31d', '1d12h' or plain seconds, optionally negative; returns milliseconds."""
    value = text.strip()
    sign = -1 if value.startswith("-") else 1
    value = value.lstrip("+-")
    try:
        return sign * int(float(value) * 1000)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise click.BadParameter(f"expected a duration such as 90s, 2h, 31d or 1d12h, got {text!r}")
    return sign * int(sum(float(n) * _UNITS[u] for n, u in parts) * 1000)


@click.group()
def lifecycle() -> None:
    """Lifecycle rules of the buckets in a data directory."""


@lifecycle.command("run")
@_data_dir
def lifecycle_run(data_dir: Path) -> None:
    """Run one lifecycle pass now over every bucket with rules (safe while servers run).

    With OSSBOX_TEST_CLOCK=1 the pass uses the test clock, as test servers do.
    """
    meta = open_meta(_existing(data_dir))
    blobs = open_blobs(data_dir)
    committer = Committer(meta, blobs)
    storage = Storage(meta, blobs, committer, "", clock=storage_clock(meta, test_clock_requested()))
    try:
        report: PassReport = asyncio.run(LifecycleRunner(storage).run_once())
    finally:
        committer.stop()
        storage.close()
        blobs.close()
        meta.close()
    for name, value in asdict(report).items():
        if name != "buckets":
            click.echo(f"{name.replace('_', ' ')}: {value}")
    click.echo(f"buckets with rules: {len(report.buckets)}")


@click.group("test-clock")
def test_clock() -> None:
    """Move the storage clock of test servers (started with OSSBOX_TEST_CLOCK=1) on a data directory.

    Production servers never read this offset. Signatures and presigned URLs keep using the real time.
    """


def _shared(data_dir: Path) -> SharedState:
    return SharedState(shared_state_path(os.environ.get(META_URL_ENV, ""), _existing(data_dir)))


@test_clock.command("advance")
@_data_dir
@click.argument("duration")
def test_clock_advance(data_dir: Path, duration: str) -> None:
    """Add DURATION (90s, 2h, 31d, 1d12h, or seconds) to the offset."""
    shared = _shared(data_dir)
    try:
        shared.set_clock_offset_ms(shared.clock_offset_ms() + parse_duration(duration))
        click.echo(f"offset: {shared.clock_offset_ms() / 1000:g} s")
    finally:
        shared.close()


@test_clock.command("reset")
@_data_dir
def test_clock_reset(data_dir: Path) -> None:
    """Back to the real time."""
    shared = _shared(data_dir)
    try:
        shared.set_clock_offset_ms(0)
    finally:
        shared.close()


@test_clock.command("show")
@_data_dir
def test_clock_show(data_dir: Path) -> None:
    shared = _shared(data_dir)
    try:
        click.echo(f"offset: {shared.clock_offset_ms() / 1000:g} s")
    finally:
        shared.close()
