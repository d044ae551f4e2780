"""`ossbox druid ...` as an operator runs it: Druid's properties in a file or the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import oss2

from ossbox.deepstorage import SegmentStorageConfig, TaskLogsConfig
from tests.deepstorage.conftest import raw_bucket, write_segment_dir
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess


def _env(
    server: ServerProcess, storage: SegmentStorageConfig, logs: TaskLogsConfig | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("druid")}
    env.update(
        druid_oss_accessKey=ACCESS_KEY_ID,
        druid_oss_secretKey=ACCESS_KEY_SECRET,
        druid_oss_endpoint=server.endpoint,
        druid_storage_type="oss",
        druid_storage_oss_bucket=storage.bucket,
        druid_storage_oss_prefix=storage.prefix,
        druid_storage_oss_archiveBucket=storage.archive_bucket,
        druid_storage_oss_archiveBaseKey=storage.archive_base_key,
    )
    if logs is not None:
        env.update(
            druid_indexer_logs_type="oss",
            druid_indexer_logs_oss_bucket=logs.bucket,
            druid_indexer_logs_oss_prefix=logs.prefix,
        )
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ossbox", "druid", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert ACCESS_KEY_SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_segment_commands(server: ServerProcess, storage: SegmentStorageConfig, tmp_path: Path) -> None:
    env = _env(server, storage)
    segment_dir = write_segment_dir(tmp_path / "seg", 10_000)
    flags = "--datasource wikipedia --interval 2015-09-12/2015-09-13 --version 2019-08-26T09:19:08.397Z"
    flags += " --partition 2 --partitions 4 --dimensions page,user --metrics count"
    push = _run(env, "segments", "push", str(segment_dir), *flags.split())
    assert push.returncode == 0, push.stderr
    pushed = json.loads(push.stdout)
    key = (
        "druid/segments/wikipedia/2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z/"
        "2019-08-26T09:19:08.397Z/2/index.zip"
    )
    assert pushed["loadSpec"] == {"type": "oss_zip", "bucket": storage.bucket, "key": key}
    assert (pushed["dimensions"], pushed["metrics"], pushed["binaryVersion"]) == ("page,user", "count", 9)

    listed = _run(env, "segments", "ls")
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [pushed]
    table = _run(env, "segments", "ls", "--table")
    assert (
        "wikipedia_2015-09-12T00:00:00.000Z_2015-09-13T00:00:00.000Z_2019-08-26T09:19:08.397Z_2"
        in table.stdout
    )
    assert "1 segments" in table.stderr

    pull = _run(env, "segments", "pull", key, str(tmp_path / "pulled"))
    assert pull.returncode == 0 and "pulled 4 files" in pull.stdout
    assert (tmp_path / "pulled" / "00000.smoosh").read_bytes() == (segment_dir / "00000.smoosh").read_bytes()

    archived = _run(env, "segments", "archive", key)
    assert archived.returncode == 0, archived.stderr
    archive_key = json.loads(archived.stdout)["loadSpec"]["key"]
    assert archive_key == key.replace("druid/segments/", "archive/")
    assert json.loads(_run(env, "segments", "ls", "--archive").stdout)["dimensions"] == "page,user"
    restored = _run(env, "segments", "restore", archive_key)
    assert json.loads(restored.stdout) == pushed

    moved = _run(
        env,
        "segments",
        "move",
        f"oss://{storage.bucket}/{key}",
        "--to-bucket",
        storage.archive_bucket,
        "--to-base-key",
        "elsewhere",
    )
    assert json.loads(moved.stdout)["loadSpec"]["key"] == key.replace("druid/segments/", "elsewhere/")
    again = _run(
        env, "segments", "move", key, "--to-bucket", storage.archive_bucket, "--to-base-key", "elsewhere"
    )
    assert again.returncode == 0 and "already at the target" in again.stderr

    killed = _run(env, "segments", "kill", f"oss://{storage.archive_bucket}/elsewhere/x")
    assert killed.returncode == 1 and "outside the segment locations" in killed.stderr
    assert [o.key for o in oss2.ObjectIterator(raw_bucket(server, storage.archive_bucket))] == [
        key.replace("druid/segments/", "elsewhere/")
    ]


def test_kill_and_kill_all(server: ServerProcess, storage: SegmentStorageConfig, tmp_path: Path) -> None:
    env = _env(server, storage)
    segment_dir = write_segment_dir(tmp_path / "seg", 100)
    keys = []
    for partition in ("0", "1", "2"):
        out = _run(
            env,
            "segments",
            "push",
            str(segment_dir),
            "--datasource",
            "d",
            "--interval",
            "2020/2021",
            "--version",
            "v",
            "--partition",
            partition,
        )
        keys.append(json.loads(out.stdout)["loadSpec"]["key"])
    descriptor = tmp_path / "descriptor.json"
    descriptor.write_text(
        '{"dataSource":"d","interval":"2020-01-01T00:00:00.000Z/2021-01-01T00:00:00.000Z","version":"v",'
        '"shardSpec":{"type":"hashed","partitionNum":3,"partitions":4,"partitionDimensions":["page"]},'
        '"dimensions":"page","metrics":"count"}'
    )
    from_file = json.loads(
        _run(env, "segments", "push", str(segment_dir), "--descriptor", str(descriptor)).stdout
    )
    assert from_file["shardSpec"]["type"] == "hashed" and from_file["loadSpec"]["key"].endswith(
        "/v/3/index.zip"
    )
    keys.append(from_file["loadSpec"]["key"])
    gone = _run(env, "segments", "kill", keys[0])
    assert gone.returncode == 0 and "deleted" in gone.stdout
    missing = _run(env, "segments", "kill", keys[0])
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    refused = _run(env, "segments", "kill", "--all")  # no --yes, no terminal: the prompt aborts
    assert refused.returncode != 0
    assert len(list(oss2.ObjectIterator(raw_bucket(server, storage.bucket)))) == 3
    done = _run(env, "segments", "kill", "--all", "--yes")
    assert done.returncode == 0 and "deleted 3 objects" in done.stdout


def test_log_commands(
    server: ServerProcess, storage: SegmentStorageConfig, logs_config: TaskLogsConfig, tmp_path: Path
) -> None:
    env = _env(server, storage, logs_config)
    log = tmp_path / "task.log"
    log.write_bytes(b"".join(b"line %04d\n" % i for i in range(1000)))
    pushed = _run(env, "logs", "push", "index_wiki_1", str(log))
    assert (
        pushed.returncode == 0 and f"oss://{logs_config.bucket}/druid/logs/index_wiki_1/log" in pushed.stdout
    )
    report = tmp_path / "report.json"
    report.write_text('{"ok":true}')
    _run(env, "logs", "push", "index_wiki_1", str(report), "--report")
    assert _run(env, "logs", "cat", "index_wiki_1").stdout == log.read_text()
    assert _run(env, "logs", "cat", "index_wiki_1", "--offset", "9990").stdout == "line 0999\n"
    assert _run(env, "logs", "tail", "index_wiki_1", "-c", "20").stdout == "line 0998\nline 0999\n"
    assert _run(env, "logs", "cat", "index_wiki_1", "--report").stdout == '{"ok":true}'
    absent = _run(env, "logs", "cat", "no_such_task")
    assert absent.returncode == 1 and "no log for task no_such_task" in absent.stderr
    assert "deleted 0 task files" in _run(env, "logs", "kill-older-than", "2000-01-01T00:00:00Z").stdout
    assert "deleted 2 task files" in _run(env, "logs", "kill-older-than", "now").stdout


def test_properties_file_and_missing_keys(
    server: ServerProcess, storage: SegmentStorageConfig, tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime.properties"
    runtime.write_text(
        f"druid.oss.accessKey={ACCESS_KEY_ID}\ndruid.oss.secretKey={ACCESS_KEY_SECRET}\n"
        f"druid.oss.endpoint={server.endpoint}\ndruid.storage.type=oss\n"
        f"druid.storage.oss.bucket={storage.bucket}\ndruid.storage.oss.prefix={storage.prefix}\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("druid")}
    listed = _run(clean, "-c", str(runtime), "segments", "ls")
    assert listed.returncode == 0 and "0 segments" in listed.stderr
    no_endpoint = _run(clean, "-c", str(runtime), "-D", "druid.oss.endpoint=", "segments", "ls")
    assert (
        no_endpoint.returncode == 1 and "missing required property druid.oss.endpoint" in no_endpoint.stderr
    )
    no_logs = _run(clean, "-c", str(runtime), "logs", "cat", "t")
    assert no_logs.returncode == 1 and "druid.indexer.logs.type" in no_logs.stderr
    no_archive = _run(clean, "-c", str(runtime), "segments", "archive", "druid/segments/x")
    assert no_archive.returncode == 1 and "druid.storage.oss.archiveBucket" in no_archive.stderr
