"""Start and stop a real ossbox server process for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.blobfiles import on_s3_blobs, s3_prefix

ACCESS_KEY_ID = "LTAItestrootkey000000"
ACCESS_KEY_SECRET = "testrootsecret0000000000000000"
REGION = "cn-hangzhou"
_BANNER = "ossbox serving OSS at"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def on_postgres() -> bool:
    """OSSBOX_TEST_META=postgres: every server the tests start keeps its metadata on PostgreSQL."""
    return os.environ.get("OSSBOX_TEST_META", "") == "postgres"


def blob_args_for(data_dir: Path, extra_args: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """`--blob-url` of a prefix of its own in the tests' SeaweedFS, and its credentials, when the tests run
    on S3 blobs and the test did not choose a store."""
    if not on_s3_blobs() or "--blob-url" in extra_args:
        return [], {}
    from tests import seaweed

    weed = seaweed.instance()
    return ["--blob-url", weed.blob_url(s3_prefix(data_dir))], weed.env()


def meta_url_for(data_dir: Path) -> str | None:
    """On PostgreSQL, the URL of the data directory's own database (what admin commands need too)."""
    if not on_postgres():
        return None
    from tests import pg

    return pg.database_for(data_dir)


def admin_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for an admin command (`ossbox ram`, `ossbox key`, ...) on a test server's data:
    with OSSBOX_META_URL when the tests run on PostgreSQL."""
    url = meta_url_for(data_dir)
    return {**os.environ, **({"OSSBOX_META_URL": url} if url else {}), **extra}


def meta_args_for(data_dir: Path, extra_args: tuple[str, ...], extra_env: dict[str, str] | None) -> list[str]:
    """`--meta-url` of the data directory's own database when the tests run on PostgreSQL and the test
    did not choose one."""
    if "--meta-url" in extra_args or "OSSBOX_META_URL" in (extra_env or {}):
        return []
    url = meta_url_for(data_dir)
    # A test server is alone on its data directory: its start-up sweep need not spare other nodes' files.
    return [] if url is None else ["--meta-url", url, "--blob-sweep-grace-seconds", "0"]


@dataclass
class ServerProcess:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra_env: dict[str, str] | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> ServerProcess:
        env = dict(os.environ)
        env.update(
            OSSBOX_ROOT_ACCESS_KEY_ID=ACCESS_KEY_ID,
            OSSBOX_ROOT_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
            OSSBOX_REGION=REGION,
        )
        env.update(self.extra_env or {})
        meta_args = meta_args_for(self.data_dir, self.extra_args, self.extra_env)
        blob_args, blob_env = blob_args_for(self.data_dir, self.extra_args)
        env.update(blob_env)
        if blob_args and not meta_args and "--blob-sweep-grace-seconds" not in self.extra_args:
            blob_args += ["--blob-sweep-grace-seconds", "0"]  # alone on its prefix: nothing to spare
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        started_at = len(self.log())
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ossbox",
                "server",
                "--address",
                f"127.0.0.1:{self.port}",
                "--data-dir",
                str(self.data_dir),
                *meta_args,
                *blob_args,
                # Callbacks reach loopback only: no test sends traffic anywhere else.
                *(
                    []
                    if "--callback-hosts" in self.extra_args
                    else ["--callback-hosts", "127.0.0.1,localhost"]
                ),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own process group, so that kill() takes the supervisor and every worker down at once.
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        # Ready when the banner of this start is printed: the supervisor prints it once every worker listens.
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ossbox exited early:\n{self.log()}")
            if _BANNER in self.log()[started_at:]:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5):
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"ossbox did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL to every server process at once: a crash, not a shutdown."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            # Workers stuck in a system call (an fsync) die when it returns: wait until all are gone, as a
            # service manager would before starting the server again.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.killpg(self.proc.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.02)
            raise RuntimeError("server processes survived SIGKILL for 30 s")
