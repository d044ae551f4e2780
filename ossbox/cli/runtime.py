"""Building and running the server from its configuration. The only place that wires parts together."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import socket
import string
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossbox.auth.authenticator import Authenticator
from ossbox.blobs.local import LocalBlobStore
from ossbox.core.clock import Clock, OffsetClock, SystemClock
from ossbox.http.app import OssApp
from ossbox.http.server import ServerState, serve
from ossbox.meta.sqlite import SqliteMeta
from ossbox.meta.types import AccessKey
from ossbox.service.committer import Committer
from ossbox.service.lifecycle_runner import LifecycleRole, LifecycleRunner, run_periodically
from ossbox.service.storage import DEFAULT_RESTORE_DELAY_MS, Storage

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
    workers: int = 1
    # How long a RestoreObject takes before the object is readable (real OSS: minutes to hours).
    restore_delay_ms: int = DEFAULT_RESTORE_DELAY_MS
    # Seconds between lifecycle passes (run by one process of the data directory); 0: never.
    lifecycle_interval_s: float = 300.0
    # OSSBOX_TEST_CLOCK=1: the storage clock honours the offset set by `ossbox test-clock`.
    test_clock: bool = False


def storage_clock(meta: SqliteMeta, test_clock: bool) -> Clock:
    """The clock storage runs on: real time, or (tests only) real time plus the shared test offset."""
    return OffsetClock(meta.clock_offset_ms) if test_clock else SystemClock()


def test_clock_requested() -> bool:
    return os.environ.get("OSSBOX_TEST_CLOCK", "") == "1"


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


def prepare(cfg: ServerConfig) -> tuple[AccessKey, bool]:
    """Once per start, before any worker serves: migrations, the sweep of leftovers, the owner's key."""
    meta = open_meta(cfg.data_dir)
    try:
        blobs = LocalBlobStore(cfg.data_dir)
        tmp_removed, orphans = blobs.sweep(meta.all_file_blob_ids())
        if tmp_removed or orphans:
            log.info("startup sweep removed %d temporary files and %d orphaned blobs", tmp_removed, orphans)
        return ensure_root_key(meta, cfg.root_key_id, cfg.root_key_secret)
    finally:
        meta.close()


def _announce(cfg: ServerConfig, port: int, root: AccessKey, created: bool) -> None:
    endpoint = f"http://{cfg.host}:{port}"
    workers = f", {cfg.workers} workers" if cfg.workers > 1 else ""
    print(
        f"ossbox serving OSS at {endpoint} (region {cfg.region}, data in {cfg.data_dir}{workers})", flush=True
    )
    if created:
        print(
            f"created the owner's access key: AccessKeyId={root.access_key_id} AccessKeySecret={root.secret}",
            flush=True,
        )
        print("the secret is stored in the data directory and will not be printed again", flush=True)
    else:
        print(f"owner's AccessKeyId: {root.access_key_id}", flush=True)


async def serve_worker(
    cfg: ServerConfig, port: int, reuse_port: bool, on_listening: Callable[[int], None]
) -> None:
    """One serving process: its own metadata connections, committer and event loop, until SIGINT/SIGTERM."""
    meta = open_meta(cfg.data_dir)
    blobs = LocalBlobStore(cfg.data_dir)
    committer = Committer(meta, blobs)
    storage = Storage(
        meta,
        blobs,
        committer,
        cfg.region,
        clock=storage_clock(meta, cfg.test_clock),
        restore_delay_ms=cfg.restore_delay_ms,
    )
    app = OssApp(storage, Authenticator(meta.get_access_key, cfg.region), cfg.base_domains)
    state = ServerState()
    server = await serve(app, cfg.host, port, state, reuse_port=reuse_port)
    on_listening(server.sockets[0].getsockname()[1])
    lifecycle = None
    if cfg.lifecycle_interval_s > 0:
        lifecycle = asyncio.create_task(
            run_periodically(LifecycleRunner(storage), LifecycleRole(cfg.data_dir), cfg.lifecycle_interval_s)
        )
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
    if lifecycle is not None:
        lifecycle.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lifecycle
    committer.stop()
    storage.close()
    meta.close()


def _event_loop_run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def run(cfg: ServerConfig) -> None:
    root, created = prepare(cfg)
    if cfg.workers <= 1:
        _event_loop_run(serve_worker(cfg, cfg.port, False, lambda port: _announce(cfg, port, root, created)))
        return
    port, placeholder = _reserve_port(cfg.host, cfg.port)
    try:
        _supervise(cfg, port, lambda: _announce(cfg, port, root, created))
    finally:
        placeholder.close()


# ---------------------------------------------------------------------------- several workers
def _reserve_port(host: str, port: int) -> tuple[int, socket.socket]:
    """Bind (without listening) a SO_REUSEPORT socket: it fixes the port for the workers' own listening
    sockets, among which the kernel spreads new connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return int(sock.getsockname()[1]), sock


def _supervise(cfg: ServerConfig, port: int, announce: Callable[[], None]) -> None:
    """Fork `cfg.workers` serving processes, restart any that dies, stop them all on SIGINT/SIGTERM."""
    if not hasattr(os, "fork"):
        raise SystemExit("--workers above 1 needs a system with fork()")
    stopping = False
    workers: dict[int, int] = {}  # pid -> worker number

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        # A stop during start-up: workers killed before they reported ready never will; release the wait.
        with contextlib.suppress(OSError):
            os.write(ready_w, b"!" * cfg.workers)

    ready_r, ready_w = os.pipe()
    for number in range(cfg.workers):
        workers[_fork_worker(cfg, port, number, ready_w)] = number
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with os.fdopen(ready_r, "rb", buffering=0) as ready:
        for _ in range(cfg.workers):
            ready.read(1)
        if not stopping:
            announce()
        while workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            if pid not in workers:
                continue
            number = workers.pop(pid)
            if stopping:
                continue
            log.error("worker %d (pid %d) exited with status %d; starting it again", number, pid, status)
            time.sleep(0.5)
            workers[_fork_worker(cfg, port, number, ready_w)] = number
    os.close(ready_w)


def _fork_worker(cfg: ServerConfig, port: int, number: int, ready_w: int) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _die_with_parent()

        def listening(_port: int) -> None:
            os.write(ready_w, b"1")

        _event_loop_run(serve_worker(cfg, port, True, listening))
    except BaseException:
        log.exception("worker %d failed", number)
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this worker if the supervisor dies (even of SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
