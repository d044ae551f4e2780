"""oss:// for Python's data tools: an fsspec filesystem on any OSS endpoint, through the oss2 SDK.

`fsspec.open("oss://bucket/key")`, `pandas.read_parquet("oss://...")` and the rest find it through the
`fsspec.specs` entry point. docs/filesystem.md describes the options and the directory rules.
"""

from ossbox.fs.config import ConfigError, OssConfig, load_config
from ossbox.fs.filesystem import OssFileSystem, mount_root

__all__ = ["ConfigError", "OssConfig", "OssFileSystem", "load_config", "mount_root"]
