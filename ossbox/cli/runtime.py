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
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossbox.auth.authenticator import Authenticator
from ossbox.auth.authorizer import Authorizer, Identities
from ossbox.auth.principals import CredentialResolver
from ossbox.auth.s3 import S3Authenticator
from ossbox.auth.sts import Sts
from ossbox.blobs.factory import BLOB_URL_ENV, open_blob_store
from ossbox.blobs.store import BlobConfigError, BlobStore
from ossbox.cli.delivery import start_delivery, warn_if_disabled
from ossbox.cli.projects import open_project_service
from ossbox.cli.tables import CLOCK_OFFSET_ENV, open_table_service
from ossbox.core.clock import Clock, OffsetClock, SystemClock
from ossbox.core.errors import BlobUnavailable
from ossbox.http.app import OssApp
from ossbox.http.dispatch import dispatch
from ossbox.http.rpc import RpcApi
from ossbox.http.s3.app import S3Api
from ossbox.http.server import Handler, ServerState, serve
from ossbox.http.tls import TlsConfigError, TlsFiles, server_context
from ossbox.meta.factory import META_URL_ENV, MetaConfigError, open_meta_store
from ossbox.meta.sql_store import SqlMeta
from ossbox.meta.types import AccessKey
from ossbox.service import master_key
from ossbox.service.access_log import DEFAULT_FLUSH_INTERVAL_S, AccessLogger
from ossbox.service.background import every
from ossbox.service.blob_sweep import sweep
from ossbox.service.committer import Committer
from ossbox.service.encryption import KeyRing
from ossbox.service.identities import new_key_pair
from ossbox.service.lifecycle_runner import LifecycleRunner
from ossbox.service.storage import DEFAULT_RESTORE_DELAY_MS, MAX_BUCKETS, Storage

log = logging.getLogger("ossbox")
ROOT_OWNER_ID = "ossbox-root"
ACCOUNT_ID_SETTING = "account_id"
# Which metadata store a blob store belongs to (a marker in the store holds the same value).
BLOB_OWNER_SETTING = "blob_store_owner"


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
    # Hosts whose requests are always S3 (path style on the host itself, virtual-hosted below it).
    s3_domains: tuple[str, ...] = ()
    access_log_flush_s: float = DEFAULT_FLUSH_INTERVAL_S
    # How long a RestoreObject takes before the object is readable (real OSS: minutes to hours).
    restore_delay_ms: int = DEFAULT_RESTORE_DELAY_MS
    # Seconds between lifecycle passes (run by one process of the data directory); 0: never.
    lifecycle_interval_s: float = 300.0
    # OSSBOX_TEST_CLOCK=1: the storage clock honours the offset set by `ossbox test-clock`.
    test_clock: bool = False
    # The master key of encryption at rest; None: <data_dir>/master.key.
    master_key_file: Path | None = None
    # Where the metadata lives: "" for <data_dir>/meta.sqlite3, or postgresql://... (ossbox.meta.factory).
    meta_url: str = ""
    # Where blobs live: "" for <data_dir>, file:///path or s3://bucket/prefix?... (ossbox.blobs.factory).
    blob_url: str = ""
    # The start-up sweep spares files younger than this when nodes share the data directory (PostgreSQL).
    blob_sweep_grace_s: float = 900.0
    # Buckets an owner may have (OSS: 100); 0: no limit.
    max_buckets: int = MAX_BUCKETS
    # Hosts upload callbacks may be POSTed to (shell patterns); ("*",): any, as on OSS.
    callback_hosts: tuple[str, ...] = ("*",)
    # HTTPS: the certificate to serve (None: plain HTTP only). With `https_port`, HTTPS listens there and
    # --address stays plain HTTP; without, --address itself is HTTPS.
    tls: TlsFiles | None = None
    https_port: int | None = None
    # Seconds between sweeps of orphaned blobs while serving (one process of the cluster runs them); 0: never.
    blob_sweep_interval_s: float = 3600.0

    @property
    def master_key_path(self) -> Path:
        return self.master_key_file or master_key.default_path(self.data_dir)


def storage_clock(meta: SqlMeta, test_clock: bool) -> Clock:
    """The clock storage runs on: real time, or (tests only) real time plus the shared test offset."""
    return OffsetClock(meta.clock_offset_ms) if test_clock else SystemClock()


def test_clock_requested() -> bool:
    """OSSBOX_TEST_CLOCK=1, or a start-up offset in OSSBOX_CLOCK_OFFSET_S (which implies it)."""
    return os.environ.get("OSSBOX_TEST_CLOCK", "") == "1" or bool(os.environ.get(CLOCK_OFFSET_ENV))


def resolved_meta_url(meta_url: str | None = None) -> str:
    """`meta_url`, else OSSBOX_META_URL, else "" (SQLite in the data directory)."""
    return meta_url or os.environ.get(META_URL_ENV) or ""


def open_meta(data_dir: Path, meta_url: str | None = None) -> SqlMeta:
    """The metadata store: `meta_url` (or OSSBOX_META_URL) when set, else SQLite in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(data_dir, 0o700)
    return open_meta_store(resolved_meta_url(meta_url), data_dir)


def ensure_root_key(meta: SqlMeta, key_id: str | None, secret: str | None) -> tuple[AccessKey, bool]:
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


def ensure_account_id(meta: SqlMeta) -> str:
    """The account's numeric id (it appears in ARNs: acs:ram::<id>:role/...), made on the first start."""
    existing = meta.get_setting(ACCOUNT_ID_SETTING)
    if existing:
        return existing
    account_id = str(secrets.randbelow(9 * 10**15) + 10**15)
    return meta.write(lambda txn: txn.set_setting_if_absent(ACCOUNT_ID_SETTING, account_id))


def open_blobs(data_dir: Path, blob_url: str | None = None) -> BlobStore:
    """The blob store: `blob_url` (or OSSBOX_BLOB_URL) when set, else the data directory."""
    try:
        return open_blob_store(blob_url or os.environ.get(BLOB_URL_ENV) or "", data_dir)
    except BlobConfigError as exc:
        raise SystemExit(f"ossbox: {exc}") from None


def claim_blob_store(meta: SqlMeta, blobs: BlobStore) -> None:
    """Tie the blob store to this metadata store, so that two of them never sweep each other's blobs."""
    owner = meta.get_setting(BLOB_OWNER_SETTING) or meta.write(
        lambda txn: txn.set_setting_if_absent(BLOB_OWNER_SETTING, secrets.token_hex(16))
    )
    try:
        blobs.claim(owner)
    except BlobConfigError as exc:
        raise SystemExit(f"ossbox: {exc}") from None


def prepare(cfg: ServerConfig) -> tuple[AccessKey, bool]:
    """Once per start, before any worker serves: migrations, the sweep of leftovers, the owner's key."""
    try:
        meta = open_meta(cfg.data_dir, cfg.meta_url)
    except MetaConfigError as exc:
        raise SystemExit(f"ossbox: {exc}") from None
    try:
        ensure_account_id(meta)
        start_offset_s = os.environ.get(CLOCK_OFFSET_ENV)
        if start_offset_s:  # tests: the test clock starts that far ahead (ossbox/core/clock.py)
            meta.set_clock_offset_ms(int(float(start_offset_s) * 1000))
        blobs = open_blobs(cfg.data_dir, cfg.blob_url)
        try:
            claim_blob_store(meta, blobs)
            # On SQLite with local blobs this process is alone on them now; with PostgreSQL or a blob
            # cluster other nodes may be writing, so only blobs older than the grace period are swept.
            alone = meta.engine == "sqlite" and not blobs.remote
            grace = 0.0 if alone else cfg.blob_sweep_grace_s
            try:
                tmp_removed, orphans = blobs.sweep(meta.all_file_blob_ids(), grace)
            except BlobUnavailable:
                raise SystemExit(
                    "ossbox: the blob store stopped answering during the start-up sweep"
                ) from None
            if tmp_removed or orphans:
                log.info("startup sweep removed %d unfinished writes and %d orphans", tmp_removed, orphans)
        finally:
            blobs.close()
        stale_keys = meta.write(lambda txn: txn.drop_orphan_blob_keys())
        if stale_keys:
            log.info("startup sweep removed %d data keys of deleted blobs", stale_keys)
        try:
            master_key.ensure(meta, cfg.master_key_path)
        except master_key.MasterKeyError as exc:
            raise SystemExit(f"ossbox: {exc}") from None
        return ensure_root_key(meta, cfg.root_key_id, cfg.root_key_secret)
    finally:
        meta.close()


def _announce(cfg: ServerConfig, port: int, root: AccessKey, created: bool) -> None:
    scheme = "https" if cfg.tls is not None and cfg.https_port is None else "http"
    endpoint = f"{scheme}://{cfg.host}:{port}"
    if cfg.tls is not None and cfg.https_port is not None:
        endpoint += f" and https://{cfg.host}:{cfg.https_port}"
    workers = f", {cfg.workers} workers" if cfg.workers > 1 else ""
    print(
        f"ossbox serving OSS at {endpoint} (region {cfg.region}, data in {cfg.data_dir}{workers})", flush=True
    )
    if cfg.tls is not None and cfg.tls.dev_ca is not None:
        ca = cfg.tls.dev_ca
        print(f"HTTPS with a development certificate signed by the local CA {ca}; to trust it:", flush=True)
        print(f"  export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca} AWS_CA_BUNDLE={ca}", flush=True)
    if created:
        print(
            f"created the owner's access key: AccessKeyId={root.access_key_id} AccessKeySecret={root.secret}",
            flush=True,
        )
        print("the secret is stored in the data directory and will not be printed again", flush=True)
    else:
        print(f"owner's AccessKeyId: {root.access_key_id}", flush=True)
    print(f"tables (Tablestore API) at {endpoint}: OTSClient(endpoint, key_id, secret, INSTANCE)", flush=True)


async def serve_worker(
    cfg: ServerConfig,
    port: int,
    reuse_port: bool,
    on_listening: Callable[[int], None],
    https_port: int | None = None,
) -> None:
    """One serving process: its own metadata connections, committer and event loop, until SIGINT/SIGTERM."""
    meta = open_meta(cfg.data_dir, cfg.meta_url)
    key, default_kms_key = master_key.load(meta, cfg.master_key_path)
    blobs = open_blobs(cfg.data_dir, cfg.blob_url)
    committer = Committer(meta, blobs)
    clock = storage_clock(meta, cfg.test_clock)
    storage = Storage(
        meta,
        blobs,
        committer,
        cfg.region,
        clock=clock,
        restore_delay_ms=cfg.restore_delay_ms,
        keyring=KeyRing(key, default_kms_key),
        max_buckets=cfg.max_buckets,
        callback_hosts=cfg.callback_hosts,
    )
    del key
    account_id = meta.get_setting(ACCOUNT_ID_SETTING)
    assert account_id is not None, "prepare() stores the account id"
    ids = meta.identities
    authorizer = Authorizer(
        Identities(ids.user, ids.user_policies, ids.role_policies, ids.bucket_policy), account_id, cfg.region
    )
    # Temporary credentials expire on the storage clock, so that tests can move past an expiry.
    resolve = CredentialResolver(meta.get_access_key, ids.sts_session, ROOT_OWNER_ID, clock.now_ms)
    sts = Sts(authorizer, ids.role, storage.store_sts_session, clock.now_ms)
    access_logger = AccessLogger(storage, cfg.access_log_flush_s)
    app = OssApp(
        storage,
        Authenticator(resolve, cfg.region),
        authorizer,
        RpcApi(sts, resolve, cfg.base_domains),
        cfg.base_domains,
        access_logger,
        s3=S3Api(
            storage,
            S3Authenticator(resolve, cfg.region),
            authorizer,
            (*cfg.s3_domains, *cfg.base_domains),
            cfg.region,
        ),
        s3_domains=cfg.s3_domains,
    )
    meta_url = resolved_meta_url(cfg.meta_url)
    tables = open_table_service(cfg.data_dir, meta_url, meta, resolve, authorizer, cfg.region, clock.now_ms)
    projects = open_project_service(cfg.data_dir, meta, meta_url, account_id, ROOT_OWNER_ID, cfg.region)
    state = ServerState()
    handler = dispatch(app, tables.app, projects)
    listeners = await _listen(cfg, handler, state, port, https_port, reuse_port)
    access_logger.start()
    listening_port = listeners[0].sockets[0].getsockname()[1]
    # The project service and delivery call this server (STS, OSS) over plain HTTP on loopback: the HTTP
    # listener, or, when every public one is HTTPS, a loopback one of this process's own.
    own_host, own_port = _plain_listener(cfg, listeners)
    projects.set_own_address(own_host, own_port)
    on_listening(listening_port)
    delivery = start_delivery(cfg.data_dir, meta_url, meta, cfg.region, own_host, own_port, tables.now_ms)
    background: list[asyncio.Task[None]] = []
    if cfg.lifecycle_interval_s > 0:
        passes = every(
            cfg.lifecycle_interval_s,
            meta.lease("lifecycle"),
            LifecycleRunner(storage).run_once,
            "lifecycle pass",
        )
        background.append(asyncio.create_task(passes))
    if cfg.blob_sweep_interval_s > 0:

        def sweep_now() -> Awaitable[None]:
            return sweep(meta, blobs, storage.executor, cfg.blob_sweep_grace_s)

        sweeps = every(cfg.blob_sweep_interval_s, meta.lease("blob-sweep"), sweep_now, "blob sweep")
        background.append(asyncio.create_task(sweeps))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    if delivery is not None:  # first: a batch being written goes on through this server
        await asyncio.to_thread(delivery.stop)
    state.stopping = True
    for listener in listeners:
        listener.close()
    deadline = time.monotonic() + 10
    while state.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await access_logger.close()
    for task in background:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    committer.stop()
    tables.close()
    projects.close()
    storage.close()
    blobs.close()
    meta.close()


async def _listen(
    cfg: ServerConfig,
    handler: Handler,
    state: ServerState,
    port: int,
    https_port: int | None,
    reuse_port: bool,
) -> list[asyncio.Server]:
    """The public listener (HTTP, or HTTPS when TLS is on without a port of its own), the HTTPS one on its
    own port, and with every public listener on HTTPS a plain loopback one for this process's own calls."""
    tls = server_context(cfg.tls) if cfg.tls is not None else None
    if tls is None:
        return [await serve(handler, cfg.host, port, state, reuse_port=reuse_port)]
    if cfg.https_port is None:
        public = await serve(handler, cfg.host, port, state, reuse_port=reuse_port, tls=tls)
        internal = await serve(handler, "127.0.0.1", 0, state)
        return [public, internal]
    plain = await serve(handler, cfg.host, port, state, reuse_port=reuse_port)
    assert https_port is not None
    secure = await serve(handler, cfg.host, https_port, state, reuse_port=reuse_port, tls=tls)
    return [plain, secure]


def _plain_listener(cfg: ServerConfig, listeners: list[asyncio.Server]) -> tuple[str, int]:
    if cfg.tls is not None and cfg.https_port is None:
        return "127.0.0.1", int(listeners[1].sockets[0].getsockname()[1])
    return cfg.host, int(listeners[0].sockets[0].getsockname()[1])


def _event_loop_run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def run(cfg: ServerConfig) -> None:
    if cfg.tls is not None:
        try:
            server_context(cfg.tls)  # a bad certificate stops the start here, with one line
        except TlsConfigError as exc:
            raise SystemExit(f"ossbox: {exc}") from None
    root, created = prepare(cfg)
    warn_if_disabled()  # once, not once per worker
    if cfg.workers <= 1:

        def announce(port: int) -> None:
            _announce(cfg, port, root, created)

        _event_loop_run(serve_worker(cfg, cfg.port, False, announce, cfg.https_port))
        return
    port, placeholder = _reserve_port(cfg.host, cfg.port)
    https_port, https_placeholder = (None, None)
    if cfg.https_port is not None:
        https_port, https_placeholder = _reserve_port(cfg.host, cfg.https_port)
    try:
        _supervise(cfg, port, https_port, lambda: _announce(cfg, port, root, created))
    finally:
        placeholder.close()
        if https_placeholder is not None:
            https_placeholder.close()


# ---------------------------------------------------------------------------- several workers
def _reserve_port(host: str, port: int) -> tuple[int, socket.socket]:
    """Bind (without listening) a SO_REUSEPORT socket: it fixes the port for the workers' own listening
    sockets, among which the kernel spreads new connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return int(sock.getsockname()[1]), sock


def _supervise(cfg: ServerConfig, port: int, https_port: int | None, announce: Callable[[], None]) -> None:
    """Fork `cfg.workers` serving processes, restart any that dies, stop them all on SIGINT/SIGTERM."""
    if not hasattr(os, "fork"):
        raise SystemExit("--workers above 1 needs a system with fork()")
    stopping = False
    workers: dict[int, int] = {}  # pid -> worker number

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ready_r, ready_w = os.pipe()
    for number in range(cfg.workers):
        workers[_fork_worker(cfg, port, https_port, number, ready_w)] = number
    # Only the workers hold the write end now: a worker that dies before it listens closes its copy, so the
    # wait below ends (at EOF) instead of hanging when a worker fails to start or a stop comes first.
    os.close(ready_w)
    with os.fdopen(ready_r, "rb", buffering=0) as ready:
        listening = 0
        while listening < cfg.workers and ready.read(1):
            listening += 1
    if listening == cfg.workers and not stopping:
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
        if not stopping:  # a stop may have come during the pause: its SIGTERM went to the others only
            workers[_fork_worker(cfg, port, https_port, number, None)] = number


def _fork_worker(
    cfg: ServerConfig, port: int, https_port: int | None, number: int, ready_w: int | None
) -> int:
    """Start worker `number`; it writes a byte to `ready_w` (if given) once it listens."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _die_with_parent()

        def listening(_port: int) -> None:
            if ready_w is not None:
                os.write(ready_w, b"1")
                os.close(ready_w)

        _event_loop_run(serve_worker(cfg, port, True, listening, https_port))
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
