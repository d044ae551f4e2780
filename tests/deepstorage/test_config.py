"""Druid's keys from runtime.properties, the environment and overrides; clear errors naming the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ossbox.deepstorage import (
    ConfigError,
    DruidProperties,
    OssCredentials,
    SegmentStorageConfig,
    TaskLogsConfig,
)
from ossbox.deepstorage.properties import parse_properties

RUNTIME = """\
# Druid's common.runtime.properties, OSS part
druid.extensions.loadList=["aliyun-oss-extensions"]
druid.oss.accessKey=LTAIexample
druid.oss.secretKey = s3cr3t-value
druid.oss.endpoint: oss-cn-hangzhou.aliyuncs.com

druid.storage.type=oss
druid.storage.oss.bucket=segments-bucket
druid.storage.oss.prefix=druid/segments
druid.storage.oss.archiveBucket=archive-bucket
druid.storage.oss.archiveBaseKey=druid/archive
   ! another comment style
druid.indexer.logs.type=oss
druid.indexer.logs.oss.bucket=logs-bucket
druid.indexer.logs.oss.prefix=druid/\\
    logs
"""


def test_java_properties_syntax() -> None:
    props = parse_properties("a=1\nb : 2\nc 3\nd=x\\\n   y\ne\\=f=g\nh=\\u00e9\\t\n#i=no\nj\n")
    assert props == {"a": "1", "b": "2", "c": "3", "d": "xy", "e=f": "g", "h": "é\t", "j": ""}


def test_runtime_properties_file(tmp_path: Path) -> None:
    path = tmp_path / "runtime.properties"
    path.write_text(RUNTIME)
    props = DruidProperties.load([path], environ={})
    creds = OssCredentials.from_properties(props)
    assert (creds.endpoint, creds.access_key, creds.secret_key) == (
        "oss-cn-hangzhou.aliyuncs.com",
        "LTAIexample",
        "s3cr3t-value",
    )
    assert SegmentStorageConfig.from_properties(props) == SegmentStorageConfig(
        "segments-bucket", "druid/segments", "archive-bucket", "druid/archive"
    )
    assert TaskLogsConfig.from_properties(props) == TaskLogsConfig("logs-bucket", "druid/logs")


def test_environment_and_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "runtime.properties"
    path.write_text(RUNTIME)
    env = {
        "druid_storage_oss_bucket": "from-env",
        "druid_storage_oss_archiveBaseKey": "env/archive",
        "HOME": "/x",
    }
    props = DruidProperties.load([path], environ=env, overrides={"druid.storage.oss.prefix": "cli/prefix"})
    cfg = SegmentStorageConfig.from_properties(props)
    assert (cfg.bucket, cfg.prefix, cfg.archive_base_key) == ("from-env", "cli/prefix", "env/archive")


def test_later_files_win(tmp_path: Path) -> None:
    common, service = tmp_path / "common.properties", tmp_path / "service.properties"
    common.write_text(RUNTIME)
    service.write_text("druid.storage.oss.prefix=overlord/segments\n")
    props = DruidProperties.load([common, service], environ={})
    assert SegmentStorageConfig.from_properties(props).prefix == "overlord/segments"


@pytest.mark.parametrize(
    ("missing", "build"),
    [
        ("druid.oss.accessKey", OssCredentials.from_properties),
        ("druid.oss.secretKey", OssCredentials.from_properties),
        ("druid.oss.endpoint", OssCredentials.from_properties),
        ("druid.storage.type", SegmentStorageConfig.from_properties),
        ("druid.storage.oss.bucket", SegmentStorageConfig.from_properties),
        ("druid.indexer.logs.type", TaskLogsConfig.from_properties),
        ("druid.indexer.logs.oss.bucket", TaskLogsConfig.from_properties),
        ("druid.indexer.logs.oss.prefix", TaskLogsConfig.from_properties),
    ],
)
def test_missing_required_key_is_named(tmp_path: Path, missing: str, build: object) -> None:
    path = tmp_path / "runtime.properties"
    kept = [
        line
        for line in RUNTIME.replace("\\\n    ", "").splitlines()
        if not re.match(rf"{re.escape(missing)}\s*[=:]", line)
    ]
    path.write_text("\n".join(kept) + "\n")
    props = DruidProperties.load([path], environ={})
    with pytest.raises(ConfigError) as e:
        build(props)  # type: ignore[operator]
    assert missing in str(e.value)
    assert "s3cr3t-value" not in str(e.value)


def test_optional_keys_default_like_druid() -> None:
    props = DruidProperties.load(
        environ={}, overrides={"druid.storage.type": "oss", "druid.storage.oss.bucket": "b"}
    )
    cfg = SegmentStorageConfig.from_properties(props)
    assert (cfg.prefix, cfg.archive_bucket, cfg.archive_base_key) == ("", "", "")
    with pytest.raises(ConfigError, match=r"druid\.storage\.oss\.archiveBucket"):
        cfg.require_archive()


def test_wrong_storage_type_and_bad_prefix() -> None:
    props = DruidProperties.load(
        environ={}, overrides={"druid.storage.type": "s3", "druid.storage.oss.bucket": "b"}
    )
    with pytest.raises(ConfigError, match=r"druid\.storage\.type is 's3'"):
        SegmentStorageConfig.from_properties(props)
    props = DruidProperties.load(
        environ={},
        overrides={
            "druid.storage.type": "oss",
            "druid.storage.oss.bucket": "b",
            "druid.storage.oss.prefix": "/x",
        },
    )
    with pytest.raises(ConfigError, match="must not start with '/'"):
        SegmentStorageConfig.from_properties(props)


def test_password_providers_and_secret_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSS_SECRET_FOR_TEST", "from-the-environment")
    props = DruidProperties.load(
        environ={},
        overrides={
            "druid.oss.endpoint": "http://127.0.0.1:1",
            "druid.oss.accessKey": '{"type":"default","password":"AK"}',
            "druid.oss.secretKey": '{"type":"environment","variable":"OSS_SECRET_FOR_TEST"}',
        },
    )
    creds = OssCredentials.from_properties(props)
    assert (creds.access_key, creds.secret_key) == ("AK", "from-the-environment")
    assert "from-the-environment" not in repr(creds)
    assert "OSS_SECRET_FOR_TEST" not in repr(props) and "druid.oss.secretKey" in repr(props)
    monkeypatch.delenv("OSS_SECRET_FOR_TEST")
    with pytest.raises(ConfigError, match="OSS_SECRET_FOR_TEST, which is not set"):
        OssCredentials.from_properties(props)


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read properties file"):
        DruidProperties.load([tmp_path / "absent.properties"], environ={})
