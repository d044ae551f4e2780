"""`ossbox druid`: Druid deep storage (segments, task logs) in Druid's OSS layout, from Druid's properties.

The SDK is imported only when a druid command runs, so `ossbox server` does not pay for it.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

if TYPE_CHECKING:
    from ossbox.deepstorage import (
        DataSegment,
        DruidProperties,
        MoveOutcome,
        OssClients,
        SegmentStore,
        TaskLogs,
    )


class _DruidGroup(click.Group):
    """Turns deep-storage errors into one clear line and exit status 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        from ossbox.deepstorage import DeepStorageError

        try:
            return super().invoke(ctx)
        except DeepStorageError as e:
            raise click.ClickException(str(e)) from None


@dataclass
class _Context:
    props: DruidProperties
    _clients: OssClients | None = None

    def clients(self) -> OssClients:
        from ossbox.deepstorage import OssClients, OssCredentials

        if self._clients is None:
            self._clients = OssClients(OssCredentials.from_properties(self.props))
        return self._clients

    def segments(self) -> SegmentStore:
        from ossbox.deepstorage import SegmentStorageConfig, SegmentStore

        return SegmentStore(self.clients(), SegmentStorageConfig.from_properties(self.props))


def _overrides(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="-D")
        out[key.strip()] = value
    return out


@click.group(cls=_DruidGroup)
@click.option(
    "--config",
    "-c",
    "config_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="OSSBOX_DRUID_PROPERTIES",
    help="A Druid runtime.properties file; repeat for several, later ones win [env OSSBOX_DRUID_PROPERTIES].",
)
@click.option(
    "-D", "defines", multiple=True, metavar="KEY=VALUE", help="Set one Druid property (wins over all)."
)
@click.pass_context
def druid(ctx: click.Context, config_files: tuple[Path, ...], defines: tuple[str, ...]) -> None:
    """Druid deep storage on OSS: segments and task logs in Druid's layout.

    \b
    Configured by Druid's own keys, from runtime.properties files (-c), the environment
    (druid_storage_oss_bucket=... stands for druid.storage.oss.bucket) or -D key=value:
      druid.oss.accessKey, druid.oss.secretKey, druid.oss.endpoint,
      druid.storage.type=oss, druid.storage.oss.bucket, druid.storage.oss.prefix,
      druid.storage.oss.archiveBucket, druid.storage.oss.archiveBaseKey,
      druid.indexer.logs.type=oss, druid.indexer.logs.oss.bucket, druid.indexer.logs.oss.prefix
    """
    from ossbox.deepstorage import DruidProperties

    ctx.obj = _Context(DruidProperties.load(config_files, overrides=_overrides(defines)))


# -- segments -------------------------------------------------------------------------------------------


@druid.group()
def segments() -> None:
    """Push, pull, list, kill, move, archive and restore segments."""


def _split_ref(ref: str, default_bucket: str) -> tuple[str, str]:
    if ref.startswith("oss://"):
        bucket, _, key = ref[len("oss://") :].partition("/")
        if not bucket or not key:
            raise click.BadParameter(f"{ref!r}: expected oss://BUCKET/KEY", param_hint="SEGMENT")
        return bucket, key
    return default_bucket, ref


def _describe_ref(store: SegmentStore, ref: str, default_bucket: str) -> DataSegment:
    """The full descriptor of a managed segment key (from the object when present, else from the key)."""
    from ossbox.deepstorage import ObjectNotFoundError
    from ossbox.deepstorage.listing import describe, descriptor_from_key

    bucket, key = _split_ref(ref, default_bucket)
    location, base_key = store.locate(bucket, key)
    try:
        return describe(store.clients, bucket, key, base_key).segment
    except ObjectNotFoundError:
        return descriptor_from_key(location, bucket)


def _echo_segment(segment: DataSegment) -> None:
    click.echo(segment.to_json())


@segments.command("push")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--descriptor",
    "descriptor_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Take dataSource, interval, version, shardSpec, dimensions, metrics from this DataSegment JSON.",
)
@click.option("--datasource", help="Segment dataSource.")
@click.option("--interval", help="START/END in ISO-8601, e.g. 2015-01-01/2015-01-02.")
@click.option("--version", "version", help="Segment version (usually an ISO-8601 time).")
@click.option(
    "--partition",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Partition number (a numbered shard spec).",
)
@click.option(
    "--partitions",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Core partition count of the numbered shard spec.",
)
@click.option("--shard-spec", help="A shard spec as JSON (instead of --partition/--partitions).")
@click.option("--dimensions", default="", help="Comma-separated dimension names.")
@click.option("--metrics", default="", help="Comma-separated metric names.")
@click.option(
    "--unique-path", is_flag=True, help="Add a random UUID directory, as Druid's useUniquePath does."
)
@click.pass_obj
def segments_push(
    obj: _Context,
    directory: Path,
    descriptor_file: Path | None,
    datasource: str | None,
    interval: str | None,
    version: str | None,
    partition: int,
    partitions: int,
    shard_spec: str | None,
    dimensions: str,
    metrics: str,
    unique_path: bool,
) -> None:
    """Zip and push a segment directory.

    DIRECTORY becomes one index.zip at Druid's key; the segment descriptor (with its loadSpec) is printed.
    """
    from ossbox.deepstorage import DataSegment, Interval, numbered_shard_spec
    from ossbox.deepstorage.archive import binary_version

    if descriptor_file is not None:
        segment = DataSegment.from_json(descriptor_file.read_text())
    else:
        missing = [
            n
            for n, v in (("--datasource", datasource), ("--interval", interval), ("--version", version))
            if not v
        ]
        if missing:
            raise click.UsageError(f"missing {', '.join(missing)} (or give --descriptor FILE)")
        spec = json.loads(shard_spec) if shard_spec else numbered_shard_spec(partition, partitions)
        if not isinstance(spec, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--shard-spec")
        segment = DataSegment(
            data_source=str(datasource),
            interval=Interval.parse(str(interval)),
            version=str(version),
            shard_spec=spec,
            dimensions=tuple(d for d in dimensions.split(",") if d),
            metrics=tuple(m for m in metrics.split(",") if m),
        )
    if binary_version(directory) is None:
        click.echo(f"warning: {directory} has no version.bin or index.drd: Druid will not load it", err=True)
    _echo_segment(obj.segments().push(directory, segment, use_unique_path=unique_path))


@segments.command("pull")
@click.argument("segment")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def segments_pull(obj: _Context, segment: str, out_dir: Path) -> None:
    """Fetch a segment into a directory.

    SEGMENT is a key or oss://BUCKET/KEY; .zip is unzipped, .gz gunzipped into OUT_DIR.
    """
    from ossbox.deepstorage import oss_load_spec

    store = obj.segments()
    bucket, key = _split_ref(segment, store.config.bucket)
    result = store.pull(oss_load_spec(bucket, key), out_dir)
    click.echo(
        f"pulled {len(result.files)} files ({result.size} bytes) into {out_dir}; version {result.version}"
    )


@segments.command("ls")
@click.option("--datasource", help="Only this dataSource.")
@click.option("--archive", "in_archive", is_flag=True, help="List the archive location instead.")
@click.option("--keys-only", is_flag=True, help="Only what the keys say (no request per segment).")
@click.option("--table", is_flag=True, help="A human-readable table instead of one JSON descriptor per line.")
@click.pass_obj
def segments_ls(
    obj: _Context, datasource: str | None, in_archive: bool, keys_only: bool, table: bool
) -> None:
    """List segments as Druid descriptors (one JSON per line)."""
    from ossbox.deepstorage import list_segments

    store = obj.segments()
    bucket, base_key = (
        store.config.require_archive() if in_archive else (store.config.bucket, store.config.prefix)
    )
    listed = list_segments(store.clients, bucket, base_key, datasource, describe_objects=not keys_only)
    count = 0
    for item in listed:
        count += 1
        if item.problem:
            click.echo(f"warning: {item.problem}", err=True)
        if table:
            click.echo(
                f"{item.segment.id}\t{item.segment.size}\t{item.object_size}\t{item.source}\t"
                f"{item.storage_class}\t{item.segment.load_spec['key'] if item.segment.load_spec else ''}"
            )
        else:
            _echo_segment(item.segment)
    if table or count == 0:
        click.echo(f"{count} segments in oss://{bucket}/{base_key}", err=True)


@segments.command("kill")
@click.argument("segment_refs", metavar="[SEGMENT]...", nargs=-1)
@click.option("--all", "kill_all", is_flag=True, help="Delete everything under druid.storage.oss.prefix.")
@click.option("--yes", is_flag=True, help="Do not ask before --all.")
@click.pass_obj
def segments_kill(obj: _Context, segment_refs: tuple[str, ...], kill_all: bool, yes: bool) -> None:
    """Delete segments, or everything under the prefix.

    SEGMENT is a key or oss://BUCKET/KEY in the segment or archive location; others are refused.
    """
    from ossbox.deepstorage import oss_load_spec

    store = obj.segments()
    if kill_all == bool(segment_refs):
        raise click.UsageError("give SEGMENT keys or --all (not both)")
    if kill_all:
        where = f"oss://{store.config.bucket}/{store.config.prefix}/"
        if not yes:
            click.confirm(f"delete every object under {where}?", abort=True)
        click.echo(f"deleted {store.kill_all()} objects under {where}")
        return
    # Check every reference before deleting any, so one bad key leaves everything in place.
    specs = [oss_load_spec(*_split_ref(ref, store.config.bucket)) for ref in segment_refs]
    for spec in specs:
        store.locate(spec["bucket"], spec["key"])
    missing = 0
    for spec in specs:
        if store.kill(spec):
            click.echo(f"deleted oss://{spec['bucket']}/{spec['key']}")
        else:
            missing += 1
            click.echo(f"error: oss://{spec['bucket']}/{spec['key']} does not exist", err=True)
    if missing:
        sys.exit(1)


def _report_move(outcome: MoveOutcome) -> None:
    notes = {
        "already-in-place": "already in place",
        "already-moved": "already at the target; nothing to copy",
    }
    if outcome.action in notes:
        click.echo(f"note: {notes[outcome.action]}", err=True)
    if not outcome.source_deleted:
        click.echo("warning: copied and confirmed, but the source could not be deleted", err=True)
    _echo_segment(outcome.segment)


@segments.command("move")
@click.argument("segment")
@click.option("--to-bucket", required=True, help="Target bucket.")
@click.option("--to-base-key", default="", help="Target base key (the prefix in front of the storage dir).")
@click.pass_obj
def segments_move(obj: _Context, segment: str, to_bucket: str, to_base_key: str) -> None:
    """Move a segment with Druid's rules; print its new descriptor."""
    from ossbox.deepstorage import SegmentMover

    store = obj.segments()
    described = _describe_ref(store, segment, store.config.bucket)
    _report_move(SegmentMover(store.clients, store.config).move(described, to_bucket, to_base_key))


@segments.command("archive")
@click.argument("segment")
@click.pass_obj
def segments_archive(obj: _Context, segment: str) -> None:
    """Move a segment to the archive location.

    The target is druid.storage.oss.archiveBucket / archiveBaseKey; the new descriptor is printed.
    """
    from ossbox.deepstorage import SegmentMover

    store = obj.segments()
    store.config.require_archive()
    described = _describe_ref(store, segment, store.config.bucket)
    _report_move(SegmentMover(store.clients, store.config).archive(described))


@segments.command("restore")
@click.argument("segment")
@click.pass_obj
def segments_restore(obj: _Context, segment: str) -> None:
    """Move an archived segment back.

    The target is druid.storage.oss.bucket / prefix; the restored descriptor is printed.
    """
    from ossbox.deepstorage import SegmentMover

    store = obj.segments()
    archive_bucket, _ = store.config.require_archive()
    described = _describe_ref(store, segment, archive_bucket)
    _report_move(SegmentMover(store.clients, store.config).restore(described))


# -- task logs ------------------------------------------------------------------------------------------


@druid.group()
def logs() -> None:
    """Push, read and clean index task logs and reports."""


def _task_logs(obj: _Context) -> TaskLogs:
    from ossbox.deepstorage import TaskLogs, TaskLogsConfig

    return TaskLogs(obj.clients(), TaskLogsConfig.from_properties(obj.props))


@logs.command("push")
@click.argument("task_id")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--report", is_flag=True, help="FILE is the task's report.json, not its log.")
@click.pass_obj
def logs_push(obj: _Context, task_id: str, file: Path, report: bool) -> None:
    """Upload a task's log or report."""
    task_logs = _task_logs(obj)
    key = task_logs.push_report(task_id, file) if report else task_logs.push_log(task_id, file)
    click.echo(f"pushed {file} to oss://{task_logs.config.bucket}/{key}")


def _copy_out(stream: BinaryIO) -> None:
    from ossbox.deepstorage import LogChangedError

    out = sys.stdout.buffer
    try:
        shutil.copyfileobj(stream, out, 1 << 20)
    except LogChangedError as e:
        out.flush()
        raise click.ClickException(f"{e}; the output above is incomplete") from None
    finally:
        stream.close()
    out.flush()


def _require(stream: BinaryIO | None, task_logs: TaskLogs, task_id: str, what: str) -> BinaryIO:
    if stream is None:
        where = f"oss://{task_logs.config.bucket}/{task_logs.config.prefix}"
        raise click.ClickException(f"no {what} for task {task_id} in {where}")
    return stream


@logs.command("cat")
@click.argument("task_id")
@click.option(
    "--offset",
    type=int,
    default=0,
    show_default=True,
    help="Start here; negative counts from the end (Druid's rule: out of range means the start).",
)
@click.option("--report", is_flag=True, help="Print the task's report.json instead of its log.")
@click.pass_obj
def logs_cat(obj: _Context, task_id: str, offset: int, report: bool) -> None:
    """Print a task's log or report (one version of it)."""
    task_logs = _task_logs(obj)
    stream = task_logs.stream_report(task_id) if report else task_logs.stream_log(task_id, offset)
    _copy_out(_require(stream, task_logs, task_id, "report" if report else "log"))


@logs.command("tail")
@click.argument("task_id")
@click.option(
    "--bytes",
    "-c",
    "count",
    type=click.IntRange(min=1),
    default=8192,
    show_default=True,
    help="How many bytes from the end.",
)
@click.pass_obj
def logs_tail(obj: _Context, task_id: str, count: int) -> None:
    """Print the end of a task's log (offset -N)."""
    task_logs = _task_logs(obj)
    _copy_out(_require(task_logs.stream_log(task_id, -count), task_logs, task_id, "log"))


def _parse_when(value: str) -> int:
    from ossbox.deepstorage import SegmentFormatError, parse_instant

    if value == "now":
        return int(time.time() * 1000)
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        return parse_instant(value)
    except SegmentFormatError:
        raise click.BadParameter(f"{value!r}: give epoch milliseconds, an ISO-8601 time or 'now'") from None


@logs.command("kill-older-than")
@click.argument("when")
@click.pass_obj
def logs_kill_older_than(obj: _Context, when: str) -> None:
    """Delete task files last modified before WHEN.

    WHEN is epoch milliseconds, an ISO-8601 time, or 'now' (Druid's kill-all).
    """
    task_logs = _task_logs(obj)
    click.echo(f"deleted {task_logs.kill_older_than(_parse_when(when))} task files")
