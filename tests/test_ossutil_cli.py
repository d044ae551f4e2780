"""`ossbox ls/cp/sync/...` driven as a user drives ossutil: real processes, a real server, a terminal."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
import requests

from tests.conftest import empty_and_delete, new_bucket_name
from tests.fs.fault_proxy import FaultProxy
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess

MiB = 1 << 20


def run(
    endpoint: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OSS_")}
    full_env.update(HOME=str(cwd or Path.cwd()))  # no ~/.ossutilconfig of the machine's user
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "ossbox", *args]
    if endpoint:
        cmd += ["-e", endpoint, "-i", ACCESS_KEY_ID, "-k", ACCESS_KEY_SECRET]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd, env=full_env)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p.stdout


@pytest.fixture
def bucket(server: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name("cli"))
    b.create_bucket()
    yield b
    empty_and_delete(b)


def make_tree(root: Path, n: int, fanout: int = 100) -> dict[str, bytes]:
    files = {}
    for i in range(n):
        rel = f"d{i % fanout:03d}/sub{i % 7}/f{i:05d}.txt"
        data = f"file {i} {uuid.uuid4().hex}\n".encode() * (1 + i % 5)
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        files[rel] = data
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)).replace(os.sep, "/"): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }


@pytest.mark.slow
def test_cp_r_of_10000_small_files_and_back(
    server: ServerProcess, bucket: oss2.Bucket, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    files = make_tree(src, 10_000)
    b = bucket.bucket_name
    out = json.loads(ok(run(server.endpoint, "cp", "-r", "-j", "16", str(src), f"oss://{b}/tree/", "--json")))
    assert out["ok"] == 10_000 and out["failed"] == 0
    assert out["bytes"] == sum(len(v) for v in files.values())
    assert sum(1 for _ in oss2.ObjectIteratorV2(bucket, prefix="tree/")) == 10_000
    back = tmp_path / "back"
    ok(run(server.endpoint, "cp", "-r", "-j", "16", f"oss://{b}/tree", str(back)))
    assert read_tree(back) == files


def test_sync_twice_copies_nothing_the_second_time(
    server: ServerProcess, bucket: oss2.Bucket, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    files = make_tree(src, 300, fanout=10)
    b = bucket.bucket_name
    dst = f"oss://{b}/mirror"
    first = json.loads(ok(run(server.endpoint, "sync", str(src), dst, "--json")))
    assert (first["ok"], first["skipped"]) == (300, 0)
    second = json.loads(ok(run(server.endpoint, "sync", str(src), dst, "--json")))
    assert (second["ok"], second["skipped"], second["bytes"]) == (0, 300, 0)
    # A changed file (new size) and an extra remote object: copied, and deleted with --delete.
    changed = src / "d001/sub1/f00001.txt"
    changed.write_bytes(b"changed and longer than before " * 10)
    bucket.put_object("mirror/stray.txt", b"not in the source")
    third = json.loads(ok(run(server.endpoint, "sync", "--delete", "-f", str(src), dst, "--json")))
    assert (third["ok"], third["deleted"]) == (1, 1)
    assert bucket.get_object("mirror/d001/sub1/f00001.txt").read() == changed.read_bytes()
    assert not bucket.object_exists("mirror/stray.txt")
    # And downwards: OSS -> local, twice.
    local = tmp_path / "local"
    down1 = json.loads(ok(run(server.endpoint, "sync", dst, str(local), "--json")))
    down2 = json.loads(ok(run(server.endpoint, "sync", dst, str(local), "--json")))
    assert down1["ok"] == 300 and (down2["ok"], down2["skipped"]) == (0, 300)
    files["d001/sub1/f00001.txt"] = changed.read_bytes()
    assert read_tree(local) == files
    # OSS -> OSS, twice: same size and ETag means nothing to do.
    again = json.loads(ok(run(server.endpoint, "sync", dst, f"oss://{b}/copy", "--json")))
    assert again["ok"] == 300
    assert json.loads(ok(run(server.endpoint, "sync", dst, f"oss://{b}/copy", "--json")))["ok"] == 0


def test_progress_bar_in_a_terminal(server: ServerProcess, bucket: oss2.Bucket, tmp_path: Path) -> None:
    tmux = shutil.which("tmux")
    assert tmux, "tmux is needed for this test: .ci/run installs it (apt-get install tmux)"
    src = tmp_path / "src"
    make_tree(src, 1500, fanout=5)
    session = f"ossbox-{uuid.uuid4().hex[:8]}"
    cmd = (
        f"{sys.executable} -m ossbox cp -r -j 1 {src} oss://{bucket.bucket_name}/p/ "
        f"-e {server.endpoint} -i {ACCESS_KEY_ID} -k {ACCESS_KEY_SECRET}; echo EXIT=$?; sleep 30"
    )
    subprocess.run([tmux, "new-session", "-d", "-s", session, "-x", "150", "-y", "20", cmd], check=True)
    screens: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            screen = subprocess.run(
                [tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=True
            ).stdout
            screens.append(screen)
            if "EXIT=" in screen:
                break
            time.sleep(0.2)
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], check=False)
    final = screens[-1]
    assert "EXIT=0" in final, final
    mid = [s for s in screens if "copying" in s and "%" in s and "/1500 files" in s and "EXIT=" not in s]
    assert mid, "no progress bar seen while copying:\n" + "\n---\n".join(screens[-3:])
    assert "100%" in final and "1500/1500 files" in final


def test_errors_are_clear_and_non_zero(server: ServerProcess, bucket: oss2.Bucket, tmp_path: Path) -> None:
    p = run(server.endpoint, "ls", "oss://no-such-bucket-ossbox-cli")
    assert p.returncode == 3 and "NoSuchBucket" in p.stderr
    p = run(server.endpoint, "cp", str(tmp_path / "missing.txt"), f"oss://{bucket.bucket_name}/x")
    assert p.returncode == 3 and "no such local file" in p.stderr
    p = run(server.endpoint, "cat", f"oss://{bucket.bucket_name}/missing")
    assert p.returncode == 3
    bad = subprocess.run(
        [sys.executable, "-m", "ossbox", "ls", f"oss://{bucket.bucket_name}", "-e", server.endpoint,
         "-i", ACCESS_KEY_ID, "-k", "definitely-not-the-secret"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert bad.returncode == 4 and "SignatureDoesNotMatch" in bad.stderr
    assert "definitely-not-the-secret" not in bad.stderr + bad.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "ossbox", "ls", "-e", server.endpoint, "-i", "LTAInobody", "-k", "x"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert unknown.returncode == 4 and "InvalidAccessKeyId" in unknown.stderr
    no_endpoint = run("", "ls", env={"HOME": str(tmp_path)}, cwd=tmp_path)
    assert no_endpoint.returncode == 5 and "endpoint" in no_endpoint.stderr
    usage = run(server.endpoint, "cp", str(tmp_path), str(tmp_path))
    assert usage.returncode == 2
    down = run("http://127.0.0.1:9", "ls")  # nothing listens on the discard port
    assert down.returncode == 5 and "cannot reach" in down.stderr
    js = run(server.endpoint, "ls", "oss://no-such-bucket-ossbox-cli", "--json")
    assert json.loads(js.stdout)["exit_code"] == 3


def test_ossutil_config_file_and_environment(
    server: ServerProcess, bucket: oss2.Bucket, tmp_path: Path
) -> None:
    bucket.put_object("hello.txt", b"hi")
    cfg = tmp_path / "ossutilconfig"
    cfg.write_text(
        f"[Credentials]\nlanguage=EN\nendpoint={server.endpoint}\naccessKeyID={ACCESS_KEY_ID}\n"
        f"accessKeySecret={ACCESS_KEY_SECRET}\n"
    )
    p = run("", "cat", f"oss://{bucket.bucket_name}/hello.txt", "-c", str(cfg), cwd=tmp_path)
    assert ok(p) == "hi"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".ossutilconfig").write_text(cfg.read_text())
    assert ok(run("", "cat", f"oss://{bucket.bucket_name}/hello.txt", env={"HOME": str(home)})) == "hi"
    env = {
        "OSS_ENDPOINT": server.endpoint,
        "OSS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "OSS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
    }
    assert ok(run("", "cat", f"oss://{bucket.bucket_name}/hello.txt", env=env, cwd=tmp_path)) == "hi"


def test_everyday_commands(server: ServerProcess, tmp_path: Path) -> None:
    name = new_bucket_name("cli")
    ep = server.endpoint
    ok(run(ep, "mb", f"oss://{name}"))
    f = tmp_path / "a.bin"
    f.write_bytes(os.urandom(3000))
    ok(run(ep, "cp", str(f), f"oss://{name}/dir/"))
    again = json.loads(ok(run(ep, "cp", "-u", str(f), f"oss://{name}/dir/", "--json")))
    assert again["ok"] == 0  # -u: the object is as new as the file
    listing = json.loads(ok(run(ep, "ls", f"oss://{name}", "--json")))
    assert [o["key"] for o in listing["objects"]] == ["dir/a.bin"]
    stat = json.loads(ok(run(ep, "stat", f"oss://{name}/dir/a.bin", "--json")))
    assert stat["Content-Length"] == "3000"
    assert json.loads(ok(run(ep, "stat", f"oss://{name}", "--json")))["Name"] == name
    du = json.loads(ok(run(ep, "du", f"oss://{name}", "--json")))
    assert (du["objects"], du["bytes"]) == (1, 3000)
    url = json.loads(ok(run(ep, "presign", f"oss://{name}/dir/a.bin", "--json", "--timeout", "60")))["url"]
    assert requests.get(url, timeout=30).content == f.read_bytes()
    ok(run(ep, "mv", f"oss://{name}/dir/a.bin", f"oss://{name}/moved.bin"))
    cat = [sys.executable, "-m", "ossbox", "cat", f"oss://{name}/moved.bin", "-e", ep]
    cat += ["-i", ACCESS_KEY_ID, "-k", ACCESS_KEY_SECRET]
    got = subprocess.run(cat, capture_output=True, timeout=60, check=True).stdout
    assert got == f.read_bytes()
    p = run(ep, "rb", f"oss://{name}")
    assert p.returncode == 1 and "not empty" in p.stderr
    p = run(ep, "rm", "-r", f"oss://{name}")
    assert p.returncode == 2 and "-f" in p.stderr  # no terminal to confirm on
    ok(run(ep, "rm", "-r", "-f", f"oss://{name}"))
    ok(run(ep, "rb", f"oss://{name}"))
    assert run(ep, "ls", f"oss://{name}").returncode == 3


def test_downloads_never_escape_the_target(
    server: ServerProcess, bucket: oss2.Bucket, tmp_path: Path
) -> None:
    bucket.put_object("t/ok.txt", b"fine")
    bucket.put_object("t/../../escape.txt", b"evil")
    target = tmp_path / "a" / "b"
    p = run(server.endpoint, "cp", "-r", f"oss://{bucket.bucket_name}/t", str(target))
    assert p.returncode == 1 and "outside" in p.stderr
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "a" / "escape.txt").exists()


def test_big_file_copy_resumes_after_a_failure(
    server: ServerProcess, bucket: oss2.Bucket, tmp_path: Path
) -> None:
    state: dict[str, Any] = {"fail": True}
    proxy = FaultProxy(
        server.port,
        lambda m, t: "reset" if state["fail"] and m == "PUT" and "partNumber=6&" in t + "&" else None,
    ).start()
    try:
        data = os.urandom(40 * MiB)
        big = tmp_path / "big.bin"
        big.write_bytes(data)
        args = ["cp", str(big), f"oss://{bucket.bucket_name}/big.bin", "--bigfile-threshold", "10MB",
                "--part-size", "5MB", "--parallel", "2"]  # fmt: skip
        first = run(proxy.endpoint, *args, cwd=tmp_path)
        assert first.returncode == 1, first.stderr
        assert not bucket.object_exists("big.bin")
        assert any((tmp_path / ".ossutil_checkpoint").rglob("*"))
        parts_before = sum(1 for m, t in proxy.requests if m == "PUT" and "partNumber" in t)
        state["fail"] = False
        ok(run(proxy.endpoint, *args, cwd=tmp_path))
        parts_after = sum(1 for m, t in proxy.requests if m == "PUT" and "partNumber" in t) - parts_before
        assert parts_after < 8  # resumed: the parts uploaded before the failure were not sent again
        assert hashlib.md5(bucket.get_object("big.bin").read()).digest() == hashlib.md5(data).digest()
    finally:
        proxy.stop()


def test_cleanup_aborts_stale_uploads(server: ServerProcess, bucket: oss2.Bucket) -> None:
    stale = bucket.init_multipart_upload("stale").upload_id
    time.sleep(2.1)
    fresh = bucket.init_multipart_upload("fresh").upload_id
    out = json.loads(
        ok(run(server.endpoint, "cleanup", f"oss://{bucket.bucket_name}", "--older-than", "2s", "--json"))
    )
    assert [u["upload_id"] for u in out] == [stale]
    assert [u.upload_id for u in oss2.MultipartUploadIterator(bucket)] == [fresh]
