"""Zipping a segment directory and unpacking a pulled one, with Druid's rules.

Druid's CompressionUtils.zip puts the directory's files (sorted by name, no subdirectories) into one zip and
reports the bytes read, which becomes the segment's `size`; unzip refuses entries that would land outside
the output directory.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
import zlib
from pathlib import Path

from ossbox.deepstorage.errors import SegmentFormatError

_COPY_BUFFER = 1 << 20


def segment_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise SegmentFormatError(f"{directory} is not a directory")
    files: list[Path] = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.is_dir():
            raise SegmentFormatError(
                f"{directory} holds a subdirectory {entry.name!r}: a Druid segment directory is flat"
            )
        if not entry.is_file():
            raise SegmentFormatError(f"{entry} is not a regular file")
        files.append(entry)
    if not files:
        raise SegmentFormatError(f"{directory} is empty: nothing to push")
    return files


def zip_directory(directory: Path, zip_path: Path) -> int:
    """Write the directory's files into `zip_path`; return their total uncompressed size."""
    total = 0
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for path in segment_files(directory):
            zf.write(path, arcname=path.name)
            total += path.stat().st_size
    return total


def binary_version(directory: Path) -> int | None:
    """Druid's SegmentUtils.getVersionFromDir: the int in version.bin, else the first byte of index.drd."""
    version_file = directory / "version.bin"
    if version_file.is_file():
        data = version_file.read_bytes()
        if len(data) != 4:
            raise SegmentFormatError(f"{version_file} must hold one 4-byte big-endian integer")
        return int.from_bytes(data, "big", signed=True)
    index_file = directory / "index.drd"
    if index_file.is_file():
        with index_file.open("rb") as f:
            first = f.read(1)
        return first[0] if first else None
    return None


def _safe_target(out_dir: Path, name: str) -> Path:
    root = out_dir.resolve()
    target = (root / name).resolve()
    if target == root or root not in target.parents:
        raise SegmentFormatError(f"zip entry {name!r} would be written outside {out_dir}")
    return target


def unzip(zip_path: Path, out_dir: Path, written: list[Path]) -> int:
    """Unpack every entry into out_dir (CRC-checked); append each file created to `written`."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as e:
        raise SegmentFormatError(f"not a zip archive: {e}") from None
    total = 0
    with zf:
        for info in zf.infolist():
            target = _safe_target(out_dir, info.filename)
            if info.is_dir():
                continue
            if not target.parent.exists():
                target.parent.mkdir(parents=True)
                written.append(target.parent)
            try:
                with zf.open(info) as src, open(target, "xb") as dst:
                    written.append(target)
                    shutil.copyfileobj(src, dst, _COPY_BUFFER)
            except FileExistsError:
                raise SegmentFormatError(
                    f"zip entry {info.filename!r} is already present in {out_dir}"
                ) from None
            except (zipfile.BadZipFile, EOFError, zlib.error) as e:
                raise SegmentFormatError(f"damaged zip entry {info.filename!r}: {e}") from None
            total += info.file_size
    return total


def gunzip(gz_path: Path, target: Path, written: list[Path]) -> int:
    try:
        with gzip.open(gz_path, "rb") as src, open(target, "xb") as dst:
            written.append(target)
            shutil.copyfileobj(src, dst, _COPY_BUFFER)
            return dst.tell()
    except FileExistsError:
        raise SegmentFormatError(f"{target} is already present") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise SegmentFormatError(f"not a valid gzip file: {e}") from None
