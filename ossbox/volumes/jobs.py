"""`ossbox job run`: a Python program with MaxCompute's job resources.

    spark.hadoop.odps.cupid.volume.files     files copied into the job's working directory before it starts
    spark.hadoop.odps.cupid.volume.archives  .zip, .tar.gz, .tar unpacked there (each into a directory named
                                             after the archive, as Spark on MaxCompute does)

The `spark.hadoop.` prefix may be left out. Staging goes through presigned URLs the service issues after
checking Read; running needs CreateInstance on the project. The program gets the caller's endpoint, project
and key in ODPS_* variables, so `odps://` paths (fs.py) open in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from ossbox.volumes import paths
from ossbox.volumes.client import ProjectClient
from ossbox.volumes.errors import VolumeError

FILES = "odps.cupid.volume.files"
ARCHIVES = "odps.cupid.volume.archives"
_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


def parse_properties(text: str) -> dict[str, str]:
    """spark-defaults.conf style: `key=value` or `key value`; a value ending in ',' (or empty after '=')
    continues on the next lines, as the document writes its lists."""
    props: dict[str, str] = {}
    key: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "--")):
            continue
        if key is not None:
            props[key] += line
            if not line.endswith(","):
                key = None
            continue
        if "=" in line:
            k, _, v = line.partition("=")
        else:
            k, _, v = line.partition(" ")
        k, v = k.strip(), v.strip()
        props[k] = v
        if not v or v.endswith(","):
            key = k
    return props


def resource_list(props: dict[str, str], name: str) -> list[str]:
    value = props.get("spark.hadoop." + name) or props.get(name) or ""
    return [v.strip() for v in value.split(",") if v.strip()]


def _safe_zip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            resolved = (target / member).resolve()
            if not resolved.is_relative_to(target.resolve()):
                raise VolumeError(
                    "InvalidArchive",
                    f"{archive.name}: the member {member!r} would land outside the working directory",
                )
        zf.extractall(target)


def unpack(archive: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            _safe_zip(archive, target)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(target, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile) as exc:
        raise VolumeError("InvalidArchive", f"{archive.name} cannot be unpacked: {exc}") from None


def stage(client: ProjectClient, props: dict[str, str], workdir: Path) -> list[str]:
    """Downloads the job's resources; returns what was placed in the working directory."""
    placed = []
    for url in resource_list(props, FILES):
        project = paths.project_of(url)
        name = paths.parse(url, project).require_file_path().name
        client.download(url, workdir / name, project=project)
        placed.append(name)
    for url in resource_list(props, ARCHIVES):
        project = paths.project_of(url)
        name = paths.parse(url, project).require_file_path().name
        if not name.lower().endswith(_ARCHIVE_SUFFIXES):
            raise VolumeError("InvalidArchive", f"{url}: archives are .zip, .tar.gz or .tar")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / name
            client.download(url, local, project=project)
            unpack(local, workdir / name)
        placed.append(name + "/")
    return placed


def run(client: ProjectClient, props: dict[str, str], program: Path, args: list[str], workdir: Path) -> int:
    client.project_call("instances", {"kind": "job", "program": program.name})
    workdir.mkdir(parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        raise VolumeError("WorkdirNotEmpty", f"{workdir}: the working directory must be new or empty")
    stage(client, props, workdir)
    env = {**os.environ, **client.config.env()}
    return subprocess.call([sys.executable, str(program.resolve()), *args], cwd=workdir, env=env)
