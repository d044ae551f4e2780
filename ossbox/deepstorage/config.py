"""Druid's own configuration keys, from runtime.properties files, the environment and overrides.

The keys are the ones Druid's aliyun-oss extension binds (`druid.oss.*`, `druid.storage.oss.*`,
`druid.indexer.logs.oss.*`). Environment variables follow the convention of Druid's Docker image:
`druid_storage_oss_bucket` stands for `druid.storage.oss.bucket` (every `_` becomes `.`, case kept).
Precedence, lowest first: files in the order given, the environment, explicit overrides.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ossbox.deepstorage.errors import ConfigError
from ossbox.deepstorage.properties import parse_properties

ACCESS_KEY = "druid.oss.accessKey"
SECRET_KEY = "druid.oss.secretKey"
ENDPOINT = "druid.oss.endpoint"
STORAGE_TYPE = "druid.storage.type"
STORAGE_BUCKET = "druid.storage.oss.bucket"
STORAGE_PREFIX = "druid.storage.oss.prefix"
ARCHIVE_BUCKET = "druid.storage.oss.archiveBucket"
ARCHIVE_BASE_KEY = "druid.storage.oss.archiveBaseKey"
LOGS_TYPE = "druid.indexer.logs.type"
LOGS_BUCKET = "druid.indexer.logs.oss.bucket"
LOGS_PREFIX = "druid.indexer.logs.oss.prefix"

# Druid's input-data config caps listings and delete batches at 1000 keys (OssUtils.MAX_LISTING_LENGTH).
MAX_LISTING_LENGTH = 1000


@dataclass(frozen=True)
class DruidProperties:
    """The merged properties, remembering where each value came from (for error messages)."""

    values: Mapping[str, str]
    origins: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        files: Iterable[Path] = (),
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> DruidProperties:
        values: dict[str, str] = {}
        origins: dict[str, str] = {}
        for path in files:
            try:
                text = Path(path).read_text(encoding="latin-1")  # java.util.Properties reads ISO-8859-1
            except OSError as e:
                raise ConfigError(f"cannot read properties file {path}: {e.strerror}") from None
            for k, v in parse_properties(text, str(path)).items():
                values[k], origins[k] = v, str(path)
        for name, v in (os.environ if environ is None else environ).items():
            key = _env_to_key(name)
            if key is not None:
                values[key], origins[key] = v, f"environment variable {name}"
        for k, v in (overrides or {}).items():
            values[k], origins[k] = v, "command line"
        return cls(values, origins)

    def __repr__(self) -> str:
        shown = {k: ("***" if _is_secret(k) else v) for k, v in self.values.items()}
        return f"DruidProperties({shown!r})"

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)

    def require(self, key: str, why: str) -> str:
        value = self.values.get(key)
        if value is None or value.strip() == "":
            raise ConfigError(f"missing required property {key} ({why})")
        return value.strip()


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return "secret" in lowered or "password" in lowered


def _env_to_key(name: str) -> str | None:
    if name.startswith("druid."):
        return name
    if name.startswith("druid_"):
        return name.replace("_", ".")
    return None


def _password(props: DruidProperties, key: str) -> str:
    """A Druid PasswordProvider: a plain string, or JSON {"type":"default"|"environment", ...}."""
    raw = props.require(key, "Druid's aliyun-oss extension requires it")
    if not raw.startswith("{"):
        return raw
    try:
        spec = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{key} starts with '{{' but is not a JSON password provider") from None
    kind = spec.get("type", "default") if isinstance(spec, dict) else None
    if kind == "default" and isinstance(spec.get("password"), str):
        return str(spec["password"])
    if kind == "environment" and isinstance(spec.get("variable"), str):
        value = os.environ.get(spec["variable"])
        if not value:
            raise ConfigError(f"{key} names environment variable {spec['variable']}, which is not set")
        return value
    raise ConfigError(f"{key}: unsupported password provider (use a string, type 'default' or 'environment')")


def _checked_prefix(props: DruidProperties, key: str, required: bool) -> str:
    value = props.require(key, "Druid requires it") if required else (props.get(key) or "").strip()
    if value.startswith("/"):
        raise ConfigError(f"{key} must not start with '/': OSS object keys cannot")
    return value


def _require_type(props: DruidProperties, key: str) -> None:
    value = props.require(key, "it must be 'oss' for this layout")
    if value != "oss":
        raise ConfigError(f"{key} is {value!r}; ossbox's Druid layout needs {key}=oss")


@dataclass(frozen=True)
class OssCredentials:
    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)

    @classmethod
    def from_properties(cls, props: DruidProperties) -> OssCredentials:
        return cls(
            endpoint=props.require(ENDPOINT, "the OSS endpoint Druid talks to"),
            access_key=_password(props, ACCESS_KEY),
            secret_key=_password(props, SECRET_KEY),
        )


@dataclass(frozen=True)
class SegmentStorageConfig:
    """Where segments live (`druid.storage.oss.*`); the archive location is optional until used."""

    bucket: str
    prefix: str = ""
    archive_bucket: str = ""
    archive_base_key: str = ""

    @classmethod
    def from_properties(cls, props: DruidProperties) -> SegmentStorageConfig:
        _require_type(props, STORAGE_TYPE)
        return cls(
            bucket=props.require(STORAGE_BUCKET, "the bucket holding segments"),
            prefix=_checked_prefix(props, STORAGE_PREFIX, required=False),
            archive_bucket=(props.get(ARCHIVE_BUCKET) or "").strip(),
            archive_base_key=_checked_prefix(props, ARCHIVE_BASE_KEY, required=False),
        )

    def require_archive(self) -> tuple[str, str]:
        if not self.archive_bucket:
            raise ConfigError(f"missing required property {ARCHIVE_BUCKET} (needed to archive or restore)")
        return self.archive_bucket, self.archive_base_key


@dataclass(frozen=True)
class TaskLogsConfig:
    """Where task logs live (`druid.indexer.logs.oss.*`); Druid requires both bucket and prefix."""

    bucket: str
    prefix: str

    @classmethod
    def from_properties(cls, props: DruidProperties) -> TaskLogsConfig:
        _require_type(props, LOGS_TYPE)
        bucket = props.require(LOGS_BUCKET, "the bucket holding task logs")
        if props.get(LOGS_PREFIX) is None:
            raise ConfigError(f"missing required property {LOGS_PREFIX} (Druid requires it; it may be empty)")
        return cls(bucket=bucket, prefix=_checked_prefix(props, LOGS_PREFIX, required=False))
