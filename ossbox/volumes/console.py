"""The console's side of statements: splitting a script into statements, running vfs and jar commands,
printing answers as odpscmd prints them. Statements themselves run in the service.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossbox.volumes.client import ProjectClient
from ossbox.volumes.errors import VolumeError

Echo = Callable[[str], None]
PROXIMA_RUNNER = "com.alibaba.proxima2.ce.ProximaCERunner"


@dataclass(frozen=True)
class Statement:
    text: str
    line: int  # where the statement starts in the script (1-based)
    column: int


def split_statements(script: str) -> Iterator[Statement]:
    """Statements end with ';' outside quotes and comments; a last one without ';' counts too."""
    i, n = 0, len(script)
    start = 0
    quote: str | None = None
    while i < n:
        ch = script[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif script.startswith("--", i):
            end = script.find("\n", i)
            i = n if end < 0 else end
            continue
        elif script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif ch == ";":
            stmt = _located(script, start, i)
            if stmt:
                yield stmt
            start = i + 1
        i += 1
    stmt = _located(script, start, n)
    if stmt:
        yield stmt


def _located(script: str, start: int, end: int) -> Statement | None:
    """The statement between start and end without leading blanks and comments, with its position."""
    i = start
    while i < end:
        if script[i].isspace():
            i += 1
        elif script.startswith("--", i):
            nl = script.find("\n", i)
            i = end if nl < 0 or nl > end else nl
        elif script.startswith("/*", i):
            close = script.find("*/", i + 2)
            i = end if close < 0 else close + 2
        else:
            break
    text = script[i:end].rstrip()
    if not text:
        return None
    line = script.count("\n", 0, i) + 1
    column = i - (script.rfind("\n", 0, i) + 1) + 1
    return Statement(text, line, column)


def locate(error: VolumeError, stmt: Statement) -> VolumeError:
    """An error positioned inside a statement, positioned in the script instead."""
    if error.line is None:
        return error
    line = stmt.line + error.line - 1
    column = (error.column or 1) + (stmt.column - 1 if error.line == 1 else 0)
    return VolumeError(error.code, error.message, error.status, line, column)


# ------------------------------------------------------------------------------------------- printing
def format_value(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_table(columns: list[str], rows: list[list[object]]) -> str:
    cells = [[format_value(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [border, line(columns), border]
    out += [line(r) for r in cells]
    out.append(border)
    return "\n".join(out)


def print_answer(answer: dict[str, Any], echo: Echo) -> None:
    for line in answer.get("lines", []):
        echo(str(line))
    if "columns" in answer:
        echo(format_table(list(answer["columns"]), list(answer["rows"])))
        if answer.get("truncated"):
            echo(f"(only the first {len(answer['rows'])} rows are shown)")
    if answer.get("message"):
        echo(str(answer["message"]))


# ------------------------------------------------------------------------------------------- commands
class Console:
    """Runs statements of one session; SET flags stay in the session and go with every statement."""

    def __init__(self, client: ProjectClient, echo: Echo) -> None:
        self.client = client
        self.echo = echo
        self.settings: dict[str, str] = {}

    def run_script(self, script: str, stop_on_error: bool = True) -> bool:
        ok = True
        for stmt in split_statements(script):
            try:
                self.run(stmt)
            except VolumeError as exc:
                ok = False
                self.echo("FAILED: " + locate(exc, stmt).describe())
                if stop_on_error:
                    return False
        return ok

    def run(self, stmt: Statement) -> None:
        first = stmt.text.split(None, 1)[0].lower()
        if first == "vfs":
            Vfs(self.client, self.echo).run(stmt.text)
        elif first == "jar":
            self._jar(stmt.text)
        else:
            answer = self.client.sql(stmt.text, self.settings)
            if "set" in answer:
                key, value = answer["set"]
                self.settings[str(key)] = str(value)
            print_answer(answer, self.echo)

    def _jar(self, text: str) -> None:
        words = shlex.split(text)
        if PROXIMA_RUNNER not in words:
            raise VolumeError("NotSupported", f"jar: only {PROXIMA_RUNNER} (vector search) runs here.")
        flags = proxima_flags(words[words.index(PROXIMA_RUNNER) + 1 :])
        started = time.monotonic()
        answer = self.client.project_call("vector-search", flags)
        for line in answer.get("lines", []):
            self.echo(str(line))
        self.echo(f"OK ({time.monotonic() - started:.1f} s)")


def proxima_flags(words: list[str]) -> dict[str, str]:
    flags: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-") or i + 1 >= len(words):
            raise VolumeError("InvalidArgument", f"expected '-flag value' pairs, got {word!r}")
        flags[word.lstrip("-")] = words[i + 1]
        i += 2
    return flags


def _human(size: int) -> str:
    value = float(size)
    for unit in ("", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{value:.1f} {unit}".rstrip() if unit else str(size)
        value /= 1024
    return str(size)


def _when(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else "1970-01-01 00:00"


class Vfs:
    """`vfs -<verb> ...`: MaxCompute's volume verbs and the Hadoop-shell ones users reach for."""

    def __init__(self, client: ProjectClient, echo: Echo) -> None:
        self.client = client
        self.echo = echo

    def run(self, text: str) -> None:
        try:
            words = shlex.split(text)[1:]
        except ValueError as exc:
            raise VolumeError("InvalidArgument", f"vfs: {exc}") from None
        if not words or not words[0].startswith("-"):
            raise VolumeError("InvalidArgument", "vfs: expected a verb such as -ls, -put, -create")
        verb, args = words[0][1:].lower(), words[1:]
        handler = getattr(self, "_" + verb, None)
        if handler is None:
            raise VolumeError("InvalidArgument", f"vfs: unknown verb -{verb}")
        handler(args)

    @staticmethod
    def _options(args: list[str], flags: str) -> tuple[set[str], list[str]]:
        seen: set[str] = set()
        rest: list[str] = []
        for a in args:
            if len(a) >= 2 and a[0] == "-" and all(ch in flags for ch in a[1:]):
                seen.update(a[1:])
            else:
                rest.append(a)
        return seen, rest

    @staticmethod
    def _need(args: list[str], count: int, usage: str) -> list[str]:
        if len(args) != count:
            raise VolumeError("InvalidArgument", f"usage: vfs {usage}")
        return args

    def _create(self, args: list[str]) -> None:
        if not args or args[0].startswith("-"):
            raise VolumeError(
                "InvalidArgument",
                "usage: vfs -create <name> -storage_provider oss -url oss://<endpoint>/<bucket>/<path> "
                "[-acd true|false] [-role_arn <arn>]",
            )
        name, opts = args[0], args[1:]
        values: dict[str, str] = {}
        for i in range(0, len(opts), 2):
            if not opts[i].startswith("-") or i + 1 >= len(opts):
                raise VolumeError(
                    "InvalidArgument", f"vfs -create: expected '-option value', got {opts[i]!r}"
                )
            values[opts[i][1:].lower()] = opts[i + 1]
        unknown = set(values) - {"storage_provider", "url", "acd", "role_arn"}
        if unknown:
            raise VolumeError("InvalidArgument", "vfs -create: unknown options " + ", ".join(sorted(unknown)))
        if "url" not in values:
            raise VolumeError("InvalidArgument", "vfs -create: -url is required")
        acd = values.get("acd", "false").lower()
        if acd not in ("true", "false"):
            raise VolumeError("InvalidArgument", "vfs -create: -acd takes true or false")
        answer = self.client.vfs(
            "create",
            name=name,
            url=values["url"],
            role_arn=values.get("role_arn", ""),
            acd=acd == "true",
            storage_provider=values.get("storage_provider", "oss"),
        )
        self.echo(
            f"Volume {answer['name']} created: odps://{self.client.project}/{answer['name']} -> "
            f"{answer['url']}"
        )

    def _rmv(self, args: list[str]) -> None:
        (name,) = self._need(args, 1, "-rmv <volume>")
        self.client.vfs("rmv", name=name.strip("/"))
        self.echo(f"Volume {name.strip('/')} removed (its OSS files are kept).")

    def _ls(self, args: list[str]) -> None:
        path = args[0] if args else "/"
        answer = self.client.vfs("ls", path=path)
        if "volumes" in answer:
            vols = answer["volumes"]
            self.echo(f"Found {len(vols)} items")
            for v in vols:
                self.echo(
                    f"drwxrwxrwx   - {v['owner']} {0:>10} {_when(int(v['mtime']))} /{v['name']}\t{v['url']}"
                )
            return
        entries = answer["entries"]
        self.echo(f"Found {len(entries)} items")
        volume = _volume_of(path)
        for e in entries:
            kind = "drwxrwxrwx   -" if e["dir"] else "-rw-rw-rw-   1"
            self.echo(f"{kind} {e['size']:>10} {_when(int(e['mtime']))} /{volume}/{e['path']}")

    def _rm(self, args: list[str]) -> None:
        flags, rest = self._options(args, "rRf")
        for path in rest or self._need(rest, 1, "-rm [-r] <path>"):
            try:
                self.client.vfs("rm", path=path, recursive=bool(flags & {"r", "R"}))
            except VolumeError as exc:
                if "f" in flags and exc.code == "NoSuchPath":
                    continue
                raise
            self.echo(f"Deleted {path}")

    def _mkdir(self, args: list[str]) -> None:
        _, rest = self._options(args, "p")  # parents are always made, as -p asks
        for path in rest or self._need(rest, 1, "-mkdir [-p] <path>"):
            self.client.vfs("mkdir", path=path, parents=True)

    def _touchz(self, args: list[str]) -> None:
        for path in args or self._need(args, 1, "-touchz <path>"):
            self.client.vfs("touchz", path=path)

    def _mv(self, args: list[str]) -> None:
        src, dst = self._need(args, 2, "-mv <src> <dst>")
        self.client.vfs("mv", src=src, dst=dst)

    def _cp(self, args: list[str]) -> None:
        src, dst = self._need(args, 2, "-cp <src> <dst>")
        self.client.vfs("cp", src=src, dst=dst)

    def _du(self, args: list[str]) -> None:
        flags, rest = self._options(args, "sh")
        (path,) = self._need(rest, 1, "-du [-s] [-h] <path>")
        answer = self.client.vfs("du", path=path, summary="s" in flags)
        volume = _volume_of(path)
        for child, size in answer["usage"]:
            shown = _human(int(size)) if "h" in flags else str(size)
            self.echo(f"{shown}  /{volume}/{child}".rstrip("/"))

    def _cat(self, args: list[str]) -> None:
        for path in args or self._need(args, 1, "-cat <path>"):
            self.echo(self.client.read(path).decode("utf-8", "replace").rstrip("\n"))

    def _tail(self, args: list[str]) -> None:
        (path,) = self._need(args, 1, "-tail <path>")
        size = int(self.client.vfs("stat", path=path)["entry"]["size"])
        start = max(0, size - 1024)
        self.echo(self.client.read(path, start, size).decode("utf-8", "replace").rstrip("\n") if size else "")

    def _put(self, args: list[str]) -> None:
        flags, rest = self._options(args, "f")
        if len(rest) < 2:
            raise VolumeError("InvalidArgument", "usage: vfs -put [-f] <local file>... <dst>")
        *sources, dst = rest
        target = self.client.vfs("stat", path=dst)["entry"]
        for source in sources:
            local = Path(source)
            if not local.is_file():
                raise VolumeError("NoSuchFile", f"{source}: no such local file")
            path = (
                dst.rstrip("/") + "/" + local.name if (target and target["dir"]) or len(sources) > 1 else dst
            )
            self.client.upload(path, local, overwrite="f" in flags)

    def _get(self, args: list[str]) -> None:
        if not 1 <= len(args) <= 2:
            raise VolumeError("InvalidArgument", "usage: vfs -get <src> [<local path>]")
        src = args[0]
        local = Path(args[1]) if len(args) == 2 else Path(".")
        if local.is_dir():
            local = local / src.rstrip("/").rsplit("/", 1)[-1]
        if local.exists():
            raise VolumeError("FileAlreadyExists", f"{local}: the local file exists")
        tmp = local.with_name(local.name + "._COPYING_")
        try:
            self.client.download(src, tmp)
            tmp.rename(local)
        finally:
            tmp.unlink(missing_ok=True)

    def _test(self, args: list[str]) -> None:
        flag, path = self._need(args, 2, "-test -e|-d|-f|-z <path>")
        entry = self.client.vfs("stat", path=path)["entry"]
        checks = {
            "-e": entry is not None,
            "-d": bool(entry and entry["dir"]),
            "-f": bool(entry and not entry["dir"]),
            "-z": bool(entry and not entry["dir"] and entry["size"] == 0),
        }
        if flag not in checks:
            raise VolumeError("InvalidArgument", "usage: vfs -test -e|-d|-f|-z <path>")
        self.echo("true" if checks[flag] else "false")


def _volume_of(path: str) -> str:
    rest = path.split("://", 1)[1].split("/", 1)[1] if path.startswith("odps://") else path.lstrip("/")
    return rest.split("/", 1)[0]
