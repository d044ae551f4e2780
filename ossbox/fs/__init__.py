"""oss:// for Python's data tools: an fsspec filesystem on any OSS endpoint, through the oss2 SDK.

`fsspec.open("oss://bucket/key")`, `pandas.read_parquet("oss://...")` and the rest find it through the
`fsspec.specs` entry point. docs/filesystem.md describes the options and the directory rules.
The filesystem (and with it oss2 and fsspec) is imported on first use, so that `ossbox server` and the
configuration code do not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ossbox.fs.config import ConfigError, OssConfig, load_config

if TYPE_CHECKING:
    from ossbox.fs.filesystem import OssFileSystem, mount_root

__all__ = ["ConfigError", "OssConfig", "OssFileSystem", "load_config", "mount_root"]


def __getattr__(name: str) -> Any:
    if name in ("OssFileSystem", "mount_root"):
        from ossbox.fs import filesystem

        return getattr(filesystem, name)
    raise AttributeError(f"module 'ossbox.fs' has no attribute {name!r}")
