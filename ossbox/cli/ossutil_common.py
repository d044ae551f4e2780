"""What the ossutil-style commands share: connection flags, the session, failures as exit codes, output.

Exit codes: 0 success, 1 an operation failed (for batches: at least one file), 2 bad usage,
3 not found (bucket, object or local file), 4 access denied or bad keys, 5 configuration or connection.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ossbox.cli.oss_target import OssUrl, connection_options, parse_oss
from ossbox.fs.config import ConfigError, parse_size

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_DENIED, EXIT_CONFIG = 1, 2, 3, 4, 5


class CommandError(Exception):
    """A failure with its exit code; the message is for people and names no secret."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def connection_flags(f: F) -> F:
    options = [
        click.option("-e", "--endpoint", help="OSS endpoint, e.g. http://127.0.0.1:9000 [env OSS_ENDPOINT]."),
        click.option("-i", "--access-key-id", help="AccessKeyId [env OSS_ACCESS_KEY_ID]."),
        click.option("-k", "--access-key-secret", help="AccessKeySecret [env OSS_ACCESS_KEY_SECRET]."),
        click.option(
            "-c",
            "--config-file",
            help="ossutil config file ([Credentials] endpoint, accessKeyID, accessKeySecret).",
        ),
        click.option("--region", help="Region; signs requests with V4 when given (V1 otherwise)."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


class Session:
    def __init__(self, kw: dict[str, Any]) -> None:
        self.as_json: bool = kw.pop("as_json", False)
        conn = connection_options(
            kw.pop("endpoint", None),
            kw.pop("access_key_id", None),
            kw.pop("access_key_secret", None),
            kw.pop("config_file", None),
            kw.pop("region", None),
        )
        if not conn.get("endpoint"):
            raise CommandError(
                "no endpoint: give -e/--endpoint, set OSS_ENDPOINT, or write ~/.ossutilconfig", EXIT_CONFIG
            )
        from ossbox.fs import OssFileSystem

        self.fs = OssFileSystem(skip_instance_cache=True, **conn)

    def emit(self, data: Any, text: str | None = None) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=None, default=str))
        elif text is not None:
            click.echo(text)


def command(f: F) -> F:
    """Build the session from the connection flags and turn failures into messages and exit codes."""

    @functools.wraps(f)
    def wrapper(**kw: Any) -> Any:
        as_json = kw.get("as_json", False)
        try:
            session = Session(kw)
            return f(session, **kw)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:  # one mapping from failures to exit codes
            code, message = (e.code, str(e)) if isinstance(e, CommandError) else _classify(e)
            if as_json:
                click.echo(json.dumps({"error": message, "exit_code": code}))
            click.echo(f"ossbox: error: {message}", err=True)
            raise click.exceptions.Exit(code) from e

    return wrapper  # type: ignore[return-value]


def _classify(e: BaseException) -> tuple[int, str]:
    from ossbox.cli.copying import error_text

    text = error_text(e)
    if isinstance(e, ConfigError):
        return EXIT_CONFIG, str(e)
    if isinstance(e, FileNotFoundError):
        return EXIT_NOT_FOUND, text
    if isinstance(e, PermissionError):
        return EXIT_DENIED, text + " (check the AccessKeyId/AccessKeySecret and the bucket's ACL)"
    if isinstance(e, ConnectionError):
        return EXIT_CONFIG, text
    return EXIT_FAILED, text


def oss_url(arg: str) -> OssUrl:
    try:
        return parse_oss(arg)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(ts))


def transfer_flags(f: F) -> F:
    options = [
        click.option("-j", "--jobs", default=10, show_default=True, help="Files transferred at once."),
        click.option("--parallel", default=5, show_default=True, help="Parts of one big file at once."),
        click.option("--part-size", default="16MB", show_default=True, help="Part size for big files."),
        click.option(
            "--bigfile-threshold", default="100MB", show_default=True, help="From this size on: resumable."
        ),
        click.option(
            "--checkpoint-dir",
            default=".ossutil_checkpoint",
            show_default=True,
            help="Where resumable transfers keep their checkpoints.",
        ),
        click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def transfer_settings(s: Session, kw: dict[str, Any]) -> Any:
    from ossbox.cli.copying import Settings

    progress = kw.pop("progress")
    return Settings(
        jobs=max(1, kw.pop("jobs")),
        parallel=max(1, kw.pop("parallel")),
        part_size=parse_size(kw.pop("part_size"), "--part-size"),
        bigfile_threshold=parse_size(kw.pop("bigfile_threshold"), "--bigfile-threshold"),
        checkpoint_dir=kw.pop("checkpoint_dir"),
        progress=(sys.stderr.isatty() if progress is None else progress) and not s.as_json,
    )


def report(s: Session, outcome: Any, verb: str, extra: dict[str, Any] | None = None) -> None:
    extra = extra or {}
    failed = [{"src": j.src or j.dst, "error": msg} for j, msg in outcome.failed]
    data = {
        "ok": outcome.done,
        "failed": len(failed),
        "bytes": outcome.bytes,
        "seconds": round(outcome.elapsed, 3),
    }
    data.update(extra)
    if s.as_json:
        click.echo(json.dumps({**data, "errors": failed}))
    else:
        for f in failed:
            click.echo(f"ossbox: error: {f['src']}: {f['error']}", err=True)
        more = "".join(f", {k}: {v}" for k, v in extra.items())
        click.echo(
            f"Succeed: {verb} num: {outcome.done}, size: {outcome.bytes:,}. Failed num: {len(failed)}{more}\n"
            f"{outcome.elapsed:.3f}(s) elapsed"
        )
    if failed:
        raise click.exceptions.Exit(EXIT_FAILED)
