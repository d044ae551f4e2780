"""Connection and tuning settings of the oss:// filesystem, under the names users already know.

Three sources, highest first: keyword arguments (fsspec storage options such as ossfs's `endpoint`, `key`,
`secret`), a Java-style `.properties` file (Alluxio's and Hadoop's property names), then the environment
(the same property names, or their upper-case form with `_` for `.`, or ossutil's `OSS_*` variables).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MiB = 1 << 20
GiB = 1 << 30
MIN_PART = 5 * MiB
MAX_PART = 5 * GiB
DEFAULT_PART = 64 * MiB

# property name -> OssConfig field. Several names may feed one field; the first one found wins.
PROPERTY_NAMES: dict[str, str] = {
    "fs.oss.endpoint": "endpoint",
    "fs.oss.accessKeyId": "access_key_id",
    "fs.oss.accessKeySecret": "access_key_secret",
    "fs.oss.securityToken": "security_token",
    "fs.oss.region": "region",
    "alluxio.dora.client.ufs.root": "root",
    "alluxio.underfs.oss.multipart.upload.enabled": "multipart_enabled",
    "alluxio.underfs.oss.multipart.upload.threads": "threads",
    "alluxio.underfs.oss.multipart.upload.partition.size": "partition_size",
    "alluxio.underfs.object.store.multipart.upload.timeout": "part_timeout",
}
# ossutil's and ossfs's environment variables.
ENV_NAMES: dict[str, str] = {
    "OSS_ENDPOINT": "endpoint",
    "OSS_ACCESS_KEY_ID": "access_key_id",
    "OSS_ACCESS_KEY_SECRET": "access_key_secret",
    "OSS_SECRET_ACCESS_KEY": "access_key_secret",
    "OSS_SESSION_TOKEN": "security_token",
    "OSS_REGION": "region",
}
# fsspec storage options (ossfs's names first) -> field.
OPTION_NAMES: dict[str, str] = {
    "endpoint": "endpoint",
    "key": "access_key_id",
    "secret": "access_key_secret",
    "token": "security_token",
    "region": "region",
    "root": "root",
    "multipart_enabled": "multipart_enabled",
    "threads": "threads",
    "partition_size": "partition_size",
    "part_timeout": "part_timeout",
    "read_block_size": "read_block_size",
    "read_threads": "read_threads",
    "retries": "retries",
    "connect_timeout": "connect_timeout",
    "content_md5": "content_md5",
    "copy_threshold": "copy_threshold",
}
PROPERTIES_ENV = "OSSBOX_PROPERTIES"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting, never a secret's value."""


@dataclass(frozen=True)
class OssConfig:
    endpoint: str | None = None
    access_key_id: str | None = None
    access_key_secret: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    region: str | None = None
    root: str | None = None
    multipart_enabled: bool = True
    threads: int = 8
    partition_size: int = DEFAULT_PART
    part_timeout: float | None = None
    read_block_size: int = 16 * MiB
    read_threads: int = 8
    retries: int = 3
    connect_timeout: float = 60.0
    content_md5: bool = False  # CRC-64 of every part is checked anyway; MD5 costs a client core (docs)
    copy_threshold: int = (
        GiB  # above this, a copy is parallel UploadPartCopy (OSS's CopyObject limit is 1 GiB)
    )

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ConfigError("alluxio.underfs.oss.multipart.upload.threads must be at least 1")
        if self.read_threads < 1:
            raise ConfigError("read_threads must be at least 1")
        if self.read_block_size < 1:
            raise ConfigError("read_block_size must be positive")
        if self.part_timeout is not None and self.part_timeout <= 0:
            raise ConfigError("alluxio.underfs.object.store.multipart.upload.timeout must be positive")
        # Alluxio clamps the partition size to what OSS accepts instead of failing.
        object.__setattr__(self, "partition_size", min(max(self.partition_size, MIN_PART), MAX_PART))

    @property
    def endpoint_url(self) -> str:
        if not self.endpoint:
            raise ConfigError("no OSS endpoint: set fs.oss.endpoint, OSS_ENDPOINT or the 'endpoint' option")
        ep = self.endpoint.strip().rstrip("/")
        return ep if "://" in ep else "https://" + ep

    def with_options(self, **options: Any) -> OssConfig:
        """A copy with some settings changed, named as options (`key`) or as fields (`access_key_id`)."""
        fields = {OPTION_NAMES.get(k, k): v for k, v in options.items() if v is not None}
        unknown = set(fields) - set(self.__dataclass_fields__)
        if unknown:
            raise ConfigError(
                f"unknown option {sorted(unknown)[0]!r}; known: {', '.join(sorted(OPTION_NAMES))}"
            )
        return replace(self, **_coerce(fields))


def parse_properties(text: str) -> dict[str, str]:
    """Java .properties: `key=value`, `key: value` or `key value`; `#`/`!` comments; `\\` continues a line."""
    props: dict[str, str] = {}
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.lstrip()
        pending = ""
        if not line or line[0] in "#!":
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1]
            continue
        m = re.match(r"((?:[^\s=:\\]|\\.)+)\s*[=:\s]\s*(.*)$", line)
        if m:
            key, value = m.group(1), m.group(2)
        else:
            key, value = line, ""
        props[key.replace("\\", "")] = value.strip()
    return props


def parse_size(value: str | int, name: str) -> int:
    """Alluxio sizes: bytes, or a number with a unit (KB, MB, GB, TB: powers of 1024, as in Alluxio)."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", value, re.IGNORECASE)
    if not m:
        raise ConfigError(f"{name}: cannot read {value!r} as a size (examples: 67108864, 64MB, 1GB)")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def parse_duration(value: str | float | int | None, name: str) -> float | None:
    """Alluxio durations: `30s`, `5min`, `1500ms`, `2h`, `1d` or plain milliseconds; empty means unset."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if not value.strip():
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d|day)?\s*", value, re.IGNORECASE)
    if not m:
        raise ConfigError(f"{name}: cannot read {value!r} as a duration (examples: 30s, 5min, 1500ms)")
    unit = (m.group(2) or "ms").lower()
    scale = {
        "ms": 0.001,
        "s": 1,
        "sec": 1,
        "m": 60,
        "min": 60,
        "h": 3600,
        "hr": 3600,
        "d": 86400,
        "day": 86400,
    }
    return float(m.group(1)) * scale[unit]


def parse_bool(value: str | bool, name: str) -> bool:
    if isinstance(value, bool):
        return value
    v = value.strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {value!r}")


_SIZES = {"partition_size", "read_block_size", "copy_threshold"}
_INTS = {"threads", "read_threads", "retries"}
_BOOLS = {"multipart_enabled", "content_md5"}
_DURATIONS = {"part_timeout", "connect_timeout"}


def _coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name in _SIZES:
            out[name] = parse_size(value, name)
        elif name in _INTS:
            try:
                out[name] = int(value)
            except ValueError:
                raise ConfigError(f"{name}: expected a whole number, got {value!r}") from None
        elif name in _BOOLS:
            out[name] = parse_bool(value, name)
        elif name in _DURATIONS:
            out[name] = parse_duration(value, name)
        else:
            out[name] = str(value)
    return out


def _from_properties(props: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for prop, fieldname in PROPERTY_NAMES.items():
        if prop in props and fieldname not in found:
            found[fieldname] = props[prop]
    return found


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for prop, fieldname in PROPERTY_NAMES.items():
        for name in (prop, prop.upper().replace(".", "_")):
            if env.get(name) and fieldname not in found:
                found[fieldname] = env[name]
    for name, fieldname in ENV_NAMES.items():
        if env.get(name) and fieldname not in found:
            found[fieldname] = env[name]
    return found


def load_config(
    options: Mapping[str, Any] | None = None,
    properties: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> OssConfig:
    """Merge keyword options over a properties file over the environment (see the module docstring)."""
    env = os.environ if env is None else env
    merged = _from_environment(env)
    path = properties or env.get(PROPERTIES_ENV)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read the properties file {path}: {e.strerror}") from None
        merged.update(_from_properties(parse_properties(text)))
    for name, value in (options or {}).items():
        if name not in OPTION_NAMES:
            raise ConfigError(f"unknown option {name!r}; known: {', '.join(sorted(OPTION_NAMES))}")
        if value is not None:
            merged[OPTION_NAMES[name]] = value
    return OssConfig(**_coerce(merged))
