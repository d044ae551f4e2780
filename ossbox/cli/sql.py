"""`ossbox sql`: a console in odpscmd's habits, on the project service.

    ossbox sql --config odps_config.ini                  # interactive; statements end with ';'
    ossbox sql -e "vfs -ls /; show tables;"
    ossbox sql -f script.sql

Interactive input uses prompt_toolkit (history in ~/.ossbox_sql_history, editing of multi-line statements,
the same on every platform, unlike readline); without it, plain input() lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # imported where used: every `ossbox` command loads this module
    from ossbox.volumes.client import ProjectClient
    from ossbox.volumes.console import Console

HISTORY = Path.home() / ".ossbox_sql_history"
F = TypeVar("F", bound=Callable[..., Any])


def client_options(func: F) -> F:
    for option in reversed(
        [
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="odpscmd's odps_config.ini (project_name, access_id, access_key, end_point).",
            ),
            click.option("--endpoint", help="The server, e.g. http://127.0.0.1:9000 [env ODPS_ENDPOINT]."),
            click.option("--project", help="[env ODPS_PROJECT]"),
            click.option("--access-id", help="Your access key id [env ODPS_ACCESS_ID]."),
            click.option("--access-key", help="Your access key secret [env ODPS_ACCESS_KEY]."),
        ]
    ):
        func = option(func)
    return func


def make_client(
    config_file: Path | None,
    endpoint: str | None,
    project: str | None,
    access_id: str | None,
    access_key: str | None,
) -> ProjectClient:
    from ossbox.volumes.client import ProjectClient, load_config
    from ossbox.volumes.errors import VolumeError

    try:
        return ProjectClient(load_config(endpoint, project, access_id, access_key, config_file))
    except VolumeError as exc:
        raise click.UsageError(exc.message) from None


@click.command("sql")
@client_options
@click.option("-e", "execute", help="Statements to run, then exit.")
@click.option(
    "-f",
    "script",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file of statements to run, then exit.",
)
@click.option(
    "--continue-on-error", is_flag=True, help="With -e/-f: run the remaining statements after a failure."
)
def sql(
    config_file: Path | None,
    endpoint: str | None,
    project: str | None,
    access_id: str | None,
    access_key: str | None,
    execute: str | None,
    script: Path | None,
    continue_on_error: bool,
) -> None:
    """The MaxCompute-style console: SQL, GRANT/REVOKE, vfs and Proxima CE's jar command."""
    from ossbox.volumes.console import Console

    console = Console(make_client(config_file, endpoint, project, access_id, access_key), click.echo)
    if execute is not None or script is not None:
        text = execute if execute is not None else script.read_text(encoding="utf-8")  # type: ignore[union-attr]
        ok = console.run_script(text, stop_on_error=not continue_on_error)
        sys.exit(0 if ok else 1)
    _interactive(console)


def _complete(buffer: str) -> bool:
    """A statement is complete once the text ends with ';' outside quotes and comments."""
    stripped = buffer.rstrip()
    if not stripped.endswith(";"):
        return False
    from ossbox.volumes.console import split_statements

    statements = list(split_statements(stripped + "\n--"))
    return bool(statements) and not stripped.endswith("\\;")


def _interactive(console: Console) -> None:
    prompt = f"odps@ {console.client.project}> "
    read = _prompt_toolkit_reader(prompt) if sys.stdin.isatty() else None
    buffer = ""
    while True:
        try:
            if read is not None:
                text = read()  # a whole statement: Enter inserts a line until the text ends with ';'
            else:
                text = input(prompt if not buffer else " " * (len(prompt) - 2) + "> ")
        except EOFError:
            break
        except KeyboardInterrupt:
            buffer = ""
            continue
        if not buffer and text.strip().lower().rstrip(";") in ("quit", "exit", "q"):
            break
        buffer += text + "\n"
        if _complete(buffer):
            console.run_script(buffer, stop_on_error=False)
            buffer = ""


def _prompt_toolkit_reader(prompt: str) -> Callable[[], str] | None:
    """prompt_toolkit with history of whole statements and multi-line editing, or None without it."""
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    except ImportError:
        return None
    keys = KeyBindings()

    @keys.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        text = buffer.text
        if _complete(text) or text.strip().lower().rstrip(";") in ("quit", "exit", "q", ""):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(HISTORY)),
        multiline=True,
        key_bindings=keys,
        prompt_continuation=lambda width, _line, _soft: " " * (width - 2) + "> ",
    )
    return lambda: session.prompt(prompt)


@click.group()
def job() -> None:
    """Jobs with MaxCompute's volume resources (odps.cupid.volume.files / .archives)."""


@job.command("run", context_settings={"ignore_unknown_options": True})
@client_options
@click.option(
    "--conf",
    "conf",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="spark-defaults.conf-style properties.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A new directory to run in (default: a fresh temporary one).",
)
@click.argument("program", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def job_run(
    config_file: Path | None,
    endpoint: str | None,
    project: str | None,
    access_id: str | None,
    access_key: str | None,
    conf: Path | None,
    workdir: Path | None,
    program: Path,
    args: tuple[str, ...],
) -> None:
    """Stage the job's files and archives into a fresh working directory, then run PROGRAM there."""
    import tempfile

    from ossbox.volumes import jobs
    from ossbox.volumes.errors import VolumeError

    client = make_client(config_file, endpoint, project, access_id, access_key)
    props = jobs.parse_properties(conf.read_text(encoding="utf-8")) if conf else {}
    target = workdir or Path(tempfile.mkdtemp(prefix="ossbox-job-"))
    try:
        code = jobs.run(client, props, program, list(args), target)
    except VolumeError as exc:
        raise click.ClickException(exc.describe()) from None
    sys.exit(code)
