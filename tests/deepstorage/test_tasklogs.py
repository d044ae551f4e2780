"""Task logs and reports in Druid's layout, streamed with Druid's offset rule and pinned to one ETag."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import oss2
import pytest

from ossbox.deepstorage import BucketNotFoundError, LogChangedError, OssClients, TaskLogs, TaskLogsConfig
from tests.deepstorage.conftest import raw_bucket
from tests.server import ServerProcess

TASK = "index_wikipedia_2019-06-18T13:30:28.887Z"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_push_log_and_report_at_druids_keys(
    server: ServerProcess, clients: OssClients, logs_config: TaskLogsConfig, tmp_path: Path
) -> None:
    logs = TaskLogs(clients, logs_config)
    logs.push_log(TASK, _write(tmp_path / "log", b"line 1\nline 2\n"))
    logs.push_report(TASK, _write(tmp_path / "report.json", b'{"ingestionStatsAndErrors":{}}'))
    keys = sorted(o.key for o in oss2.ObjectIterator(raw_bucket(server, logs_config.bucket)))
    assert keys == [f"druid/logs/{TASK}/log", f"druid/logs/{TASK}/report.json"]
    report = logs.stream_report(TASK)
    assert report is not None and report.read() == b'{"ingestionStatsAndErrors":{}}'


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, b"0123456789"),
        (3, b"3456789"),
        (-4, b"6789"),
        (9, b"9"),
        (10, b"0123456789"),
        (-10, b"0123456789"),
        (-11, b"0123456789"),
    ],
)
def test_offset_rule(
    clients: OssClients, logs_config: TaskLogsConfig, tmp_path: Path, offset: int, expected: bytes
) -> None:
    logs = TaskLogs(clients, logs_config)
    logs.push_log(TASK, _write(tmp_path / "log", b"0123456789"))
    stream = logs.stream_log(TASK, offset)
    assert stream is not None and stream.read() == expected


def test_50_mib_log_from_a_negative_offset(
    clients: OssClients, logs_config: TaskLogsConfig, tmp_path: Path
) -> None:
    line = b"2024-03-10T01:00:00,123 INFO [task-runner] org.apache.druid.indexing: processed a row\n"
    data = (line * ((50 << 20) // len(line) + 1))[: 50 << 20]
    logs = TaskLogs(clients, logs_config)
    logs.push_log(TASK, _write(tmp_path / "log", data))
    stream = logs.stream_log(TASK, -(30 << 20))
    assert stream is not None
    digest, total = hashlib.sha256(), 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        total += len(chunk)
    assert total == 30 << 20
    assert digest.hexdigest() == hashlib.sha256(data[-(30 << 20) :]).hexdigest()


def test_log_replaced_during_a_stream_is_detected(
    server: ServerProcess, clients: OssClients, logs_config: TaskLogsConfig, tmp_path: Path
) -> None:
    old, new = os.urandom(3 << 20), os.urandom(3 << 20)
    logs = TaskLogs(clients, logs_config, chunk_size=1 << 20)
    logs.push_log(TASK, _write(tmp_path / "log", old))
    stream = logs.stream_log(TASK)
    assert stream is not None
    first = stream.read(1 << 20)
    raw_bucket(server, logs_config.bucket).put_object(f"druid/logs/{TASK}/log", new)
    with pytest.raises(LogChangedError, match="was replaced while it was being read"):
        stream.read()
    assert first == old[: 1 << 20]  # what was handed out is the old log only, never a mix


def test_missing_log_is_absent_but_missing_bucket_is_an_error(
    clients: OssClients, logs_config: TaskLogsConfig
) -> None:
    assert TaskLogs(clients, logs_config).stream_log("no-such-task") is None
    assert TaskLogs(clients, logs_config).stream_report("no-such-task") is None
    with pytest.raises(BucketNotFoundError, match="does not exist"):
        TaskLogs(clients, TaskLogsConfig("no-such-bucket-for-logs", "druid/logs")).stream_log(TASK)


def test_kill_older_than_and_kill_all(
    server: ServerProcess, clients: OssClients, logs_config: TaskLogsConfig, tmp_path: Path
) -> None:
    raw = raw_bucket(server, logs_config.bucket)
    logs = TaskLogs(clients, logs_config)
    log_file = _write(tmp_path / "log", b"x")
    logs.push_log("old-task", log_file)
    logs.push_report("old-task", log_file)
    time.sleep(1.1)  # OSS reports last-modified to the second
    logs.push_log("new-task", log_file)
    raw.put_object("druid/logs-archive/old-task/log", b"outside the prefix")
    cutoff = raw.head_object("druid/logs/new-task/log").last_modified * 1000
    assert logs.kill_older_than(cutoff) == 2
    remaining = sorted(o.key for o in oss2.ObjectIterator(raw))
    assert remaining == ["druid/logs-archive/old-task/log", "druid/logs/new-task/log"]
    assert logs.kill_all() == 1
    assert [o.key for o in oss2.ObjectIterator(raw)] == ["druid/logs-archive/old-task/log"]


def test_empty_prefix_never_touches_segments(
    server: ServerProcess, clients: OssClients, make_bucket: Callable[..., str], tmp_path: Path
) -> None:
    bucket = make_bucket("shared")
    raw = raw_bucket(server, bucket)
    segment_key = "ds/2015-01-01T00:00:00.000Z_2015-01-02T00:00:00.000Z/v1/0/index.zip"
    raw.put_object(segment_key, b"segment")
    logs = TaskLogs(clients, TaskLogsConfig(bucket, ""))
    assert logs.push_log(TASK, _write(tmp_path / "log", b"x")) == f"{TASK}/log"
    assert logs.kill_all() == 1
    assert [o.key for o in oss2.ObjectIterator(raw)] == [segment_key]
