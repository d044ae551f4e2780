"""odps:// volume paths: `odps://<project>/<volume>/<path>`, or `/<volume>/<path>` inside a project.

MaxCompute's rules: the components `~`, `.` and `..` are invalid, so is any component holding `:`, `\\` or
NUL, and so is an inner `//`. A file operation on `/` is refused ("Root path is not supported"), one on
`/<volume>` alone too ("The path is just a volume!"); listing either is fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ossbox.volumes.errors import VolumeError

SCHEME = "odps://"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_BAD_COMPONENTS = ("~", ".", "..")
_BAD_CHARS = (":", "\\", "\x00")


def invalid_path(path: str, why: str) -> VolumeError:
    return VolumeError("InvalidPath", f"Invalid path {path!r}: {why}", 400)


def check_name(kind: str, name: str) -> str:
    """Project and volume names: a letter, then letters, digits or underscores; compared lower-cased."""
    if not _NAME.match(name):
        raise VolumeError(
            f"Invalid{kind.title()}Name",
            f"{name!r} is not a valid {kind} name (a letter, then letters, digits or '_', at most 128).",
        )
    return name.lower()


@dataclass(frozen=True)
class VolumePath:
    """A path in a project: `volume` is None for `/`, `key` is "" for a volume's root."""

    project: str
    volume: str | None
    key: str  # the path below the volume, no leading '/', no trailing '/'
    directory_hint: bool = False  # written with a trailing '/'

    def __str__(self) -> str:
        return SCHEME + self.project + self.display()

    def display(self) -> str:
        if self.volume is None:
            return "/"
        return f"/{self.volume}" + (f"/{self.key}" if self.key else "")

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1] if self.key else (self.volume or "")

    def require_file_path(self) -> VolumePath:
        """For operations on files and directories inside a volume."""
        if self.volume is None:
            raise VolumeError("InvalidPath", "Root path is not supported", 400)
        if not self.key:
            raise VolumeError("InvalidPath", "The path is just a volume!", 400)
        return self

    def require_volume(self) -> str:
        if self.volume is None:
            raise VolumeError("InvalidPath", "Root path is not supported", 400)
        return self.volume


def parse(path: str, project: str) -> VolumePath:
    """An odps:// URL (whose project must be `project`) or a project-relative path starting with '/'."""
    original = path
    if path.startswith(SCHEME):
        rest = path[len(SCHEME) :]
        named, sep, tail = rest.partition("/")
        if not named:
            raise invalid_path(original, "no project after odps://")
        if check_name("project", named) != project.lower():
            raise VolumeError(
                "InvalidPath",
                f"{original!r} names the project {named!r}, but this call is in the project {project!r}",
                400,
            )
        path = "/" + tail if sep else "/"
    elif not path.startswith("/"):
        raise invalid_path(original, "a volume path starts with '/' or odps://<project>/")
    return _split(original, project.lower(), path)


def project_of(url: str) -> str:
    """The project an odps:// URL names."""
    if not url.startswith(SCHEME):
        raise invalid_path(url, "expected odps://<project>/<volume>/<path>")
    named = url[len(SCHEME) :].split("/", 1)[0]
    if not named:
        raise invalid_path(url, "no project after odps://")
    return check_name("project", named)


def _split(original: str, project: str, path: str) -> VolumePath:
    trailing = path.endswith("/") and path != "/"
    body = path[1:-1] if trailing else path[1:]
    if not body:
        return VolumePath(project, None, "")
    if "//" in path:
        raise invalid_path(original, "empty path component ('//')")
    parts = body.split("/")
    for part in parts:
        if part in _BAD_COMPONENTS:
            raise invalid_path(original, f"the component {part!r} is not allowed")
        if any(ch in part for ch in _BAD_CHARS):
            raise invalid_path(original, f"the component {part!r} holds ':', '\\' or NUL")
    volume = check_name("volume", parts[0])
    return VolumePath(project, volume, "/".join(parts[1:]), trailing)
