"""A throwaway PostgreSQL cluster for tests: initdb into a temporary directory, a loopback port, password
authentication over TCP (so a wrong password is refused as in production), stopped when the tests end.

Debian's `postgresql` package provides the binaries (.ci/run installs it). PostgreSQL refuses to run as
root, so when the tests run as root the cluster runs as the `postgres` user the package created.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.server import free_port

PASSWORD = "pg-test-secret-7d1c"
USER = "postgres"
_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _binary(name: str) -> str:
    for d in _BIN_DIRS:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def available() -> bool:
    try:
        _binary("initdb")
    except RuntimeError:
        return False
    return True


class PgCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ossbox-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD)
        if self._as_postgres:
            shutil.chown(self.root, USER)
            shutil.chown(pwfile, USER)
        self._run(
            _binary("initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                "max_connections = 300\nshared_buffers = 128MB\nlog_min_messages = warning\n"
            )
        self._pg_ctl("-w", "start")
        atexit.register(self.stop)

    def _pg_ctl(self, *args: str) -> None:
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), *args)

    def _run(self, *args: str) -> None:
        cmd = ["runuser", "-u", USER, "--", *args] if self._as_postgres else list(args)
        subprocess.run(cmd, check=True, capture_output=True)

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop fast (and forget the files); safe to call twice."""
        if self.data.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self, down_for_s: float = 0) -> None:
        """pg_ctl stop then start: every connection of every node breaks."""
        import time

        self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        time.sleep(down_for_s)
        self._pg_ctl("-w", "start")


_cluster: PgCluster | None = None


def cluster() -> PgCluster:
    """The test process's cluster, started on first use."""
    global _cluster
    if _cluster is None:
        _cluster = PgCluster()
    return _cluster


def database_for(data_dir: Path) -> str:
    """The URL of a database of its own for a server's data directory (made on first use)."""
    name = "ossbox_" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return cluster().create_database(name)
