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

ACCESS_KEY_ID = "LTAItestrootkey000000"
ACCESS_KEY_SECRET = "testrootsecret0000000000000000"
REGION = "cn-hangzhou"
_BANNER = "ossbox serving OSS at"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
