"""Building and running the server from its configuration. The only place that wires parts together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import string
import time
from dataclasses import dataclass
from pathlib import Path

from ossbox.auth.authenticator import Authenticator
from ossbox.blobs.local import LocalBlobStore
from ossbox.cli.tables import open_table_service
from ossbox.http.app import OssApp
from ossbox.http.dispatch import dispatch
from ossbox.http.server import ServerState, serve
from ossbox.meta.sqlite import SqliteMeta
from ossbox.meta.types import AccessKey
from ossbox.service.committer import Committer
from ossbox.service.storage import Storage

log = logging.getLogger("ossbox")
ROOT_OWNER_ID = "ossbox-root"


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    data_dir: Path
    region: str
    base_domains: tuple[str, ...]
    root_key_id: str | None
    root_key_secret: str | None


def open_meta(data_dir: Path) -> SqliteMeta:
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(data_dir, 0o700)
    return SqliteMeta(data_dir / "meta.sqlite3")


def new_key_pair() -> tuple[str, str]:
    alphabet = string.ascii_letters + string.digits
    key_id = "LTAI" + "".join(secrets.choice(alphabet) for _ in range(20))
    secret = "".join(secrets.choice(alphabet) for _ in range(30))
    return key_id, secret


def ensure_root_key(meta: SqliteMeta, key_id: str | None, secret: str | None) -> tuple[AccessKey, bool]:
    """The owner's key: from the environment if given, else the stored one, else a new one (created=True)."""
    if key_id and secret:
        existing = meta.get_access_key(key_id)
        if existing is None or existing.secret != secret or not existing.is_root:

            def op(txn):  # type: ignore[no-untyped-def]
                txn.c.execute("DELETE FROM access_keys WHERE access_key_id = ?", (key_id,))
                txn.insert_access_key(AccessKey(key_id, secret, ROOT_OWNER_ID, True, int(time.time() * 1000)))

            meta.write(op)
        key = meta.get_access_key(key_id)
        assert key is not None
        return key, False
    for key in meta.list_access_keys():
        if key.is_root:
            return key, False
    new_id, new_secret = new_key_pair()
    root = AccessKey(new_id, new_secret, ROOT_OWNER_ID, True, int(time.time() * 1000), "root")
    meta.write(lambda txn: txn.insert_access_key(root))
    return root, True


async def run_server(cfg: ServerConfig) -> None:
    meta = open_meta(cfg.data_dir)
    blobs = LocalBlobStore(cfg.data_dir)
    tmp_removed, orphans = blobs.sweep(meta.all_file_blob_ids())
    if tmp_removed or orphans:
        log.info("startup sweep removed %d temporary files and %d orphaned blobs", tmp_removed, orphans)
    root, created = ensure_root_key(meta, cfg.root_key_id, cfg.root_key_secret)
    committer = Committer(meta, blobs)
    storage = Storage(meta, blobs, committer, cfg.region)
    app = OssApp(storage, Authenticator(meta.get_access_key, cfg.region), cfg.base_domains)
    tables = open_table_service(cfg.data_dir, meta)
    state = ServerState()
    server = await serve(dispatch(app, tables.app), cfg.host, cfg.port, state)
    port = server.sockets[0].getsockname()[1]
    endpoint = f"http://{cfg.host}:{port}"
    print(f"ossbox serving OSS at {endpoint} (region {cfg.region}, data in {cfg.data_dir})", flush=True)
    print(f"tables (Tablestore API) at {endpoint}: OTSClient(endpoint, key_id, secret, INSTANCE)", flush=True)
    if created:
        print(
            f"created the owner's access key: AccessKeyId={root.access_key_id} AccessKeySecret={root.secret}",
            flush=True,
        )
        print("the secret is stored in the data directory and will not be printed again", flush=True)
    else:
        print(f"owner's AccessKeyId: {root.access_key_id}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    state.stopping = True
    server.close()
    deadline = time.monotonic() + 10
    while state.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    committer.stop()
    tables.close()
    storage.close()
    meta.close()


def run(cfg: ServerConfig) -> None:
    try:
        import uvloop

        uvloop.run(run_server(cfg))
    except ImportError:
        asyncio.run(run_server(cfg))
