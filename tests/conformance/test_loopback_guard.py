"""The loopback guard refuses off-machine connections and lookups at once, and lets loopback through.

Each check runs in a child interpreter with the guard directory on PYTHONPATH, exactly as the
oss2 suite harness runs it. The child first proves the guard is loaded and exits before touching
the network if it is not, so a broken guard can never turn this test into real traffic.
203.0.113.0/24 is TEST-NET-3 (RFC 5737): not routable, and refused before any packet anyway.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

GUARD_DIR = Path(__file__).resolve().parent / "loopback_guard"

CHILD = textwrap.dedent(
    r"""
    import errno, json, os, socket, sys, tempfile, threading, time

    import sitecustomize
    if not getattr(sitecustomize, "GUARD_ACTIVE", False) or sitecustomize.__file__ is None \
            or os.path.dirname(os.path.abspath(sitecustomize.__file__)) != os.environ["EXPECTED_GUARD_DIR"]:
        print(json.dumps({"guard": False}))
        sys.exit(3)   # never attempt anything below without the guard

    out = {"guard": True}

    def timed(name, fn):
        t0 = time.monotonic()
        try:
            value = fn()
            out[name] = {"ok": True, "value": value}
        except BaseException as exc:
            out[name] = {"ok": False, "exc": type(exc).__name__,
                         "errno": getattr(exc, "errno", None), "msg": str(exc)}
        out[name]["seconds"] = time.monotonic() - t0

    # --- loopback is allowed -------------------------------------------------------------
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]

    def accept_loop():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.sendall(b"hi")
            conn.close()

    threading.Thread(target=accept_loop, daemon=True).start()

    def via_connect():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        data = s.recv(2)
        s.close()
        return data.decode()

    def via_create_connection_localhost():
        s = socket.create_connection(("localhost", port), timeout=5)
        data = s.recv(2)
        s.close()
        return data.decode()

    def via_connect_ex():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        rc = s.connect_ex(("127.0.0.1", port))
        s.close()
        return rc

    timed("loopback_connect", via_connect)
    timed("loopback_create_connection_localhost", via_create_connection_localhost)
    timed("loopback_connect_ex", via_connect_ex)
    timed("loopback_getaddrinfo", lambda: sorted({ai[4][0] for ai in socket.getaddrinfo("localhost", port)}))

    def unix_socket():
        path = os.path.join(tempfile.mkdtemp(), "s")
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.bind(path)
        u.listen(1)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        peer, _ = u.accept()
        c.sendall(b"ux")
        data = peer.recv(2)
        for s in (c, peer, u):
            s.close()
        return data.decode()

    timed("unix_socket", unix_socket)

    # --- everything else is refused, immediately --------------------------------------------
    def raw_connect():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(30)
        try:
            s.connect(("203.0.113.1", 80))
        finally:
            s.close()

    def raw_connect_ex():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(30)
        try:
            return s.connect_ex(("203.0.113.1", 80))
        finally:
            s.close()

    def connect_hostname():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(30)
        try:
            s.connect(("oss-cn-hangzhou.aliyuncs.com", 80))
        finally:
            s.close()

    def udp_sendto():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(b"x", ("203.0.113.1", 53))
        finally:
            s.close()

    def v6_connect():
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(30)
        try:
            s.connect(("2001:db8::1", 80, 0, 0))
        finally:
            s.close()

    timed("create_connection", lambda: socket.create_connection(("203.0.113.1", 80), timeout=30))
    timed("raw_connect", raw_connect)
    timed("raw_connect_ex", raw_connect_ex)
    timed("connect_hostname", connect_hostname)
    timed("udp_sendto", udp_sendto)
    timed("v6_connect", v6_connect)
    timed("getaddrinfo", lambda: socket.getaddrinfo("oss-cn-hangzhou.aliyuncs.com", 443))
    timed("getaddrinfo_ip", lambda: sorted({ai[4][0] for ai in socket.getaddrinfo("203.0.113.1", 80)}))
    timed("gethostbyname", lambda: socket.gethostbyname("oss-cn-hangzhou.aliyuncs.com"))
    timed("gethostbyaddr", lambda: socket.gethostbyaddr("203.0.113.1"))

    try:
        import requests
    except ImportError:
        requests = None
    if requests is not None:
        def fetch(url):
            return requests.get(url, timeout=30).status_code

        timed("requests_hostname", lambda: fetch("http://oss-cn-hangzhou.aliyuncs.com/"))
        timed("requests_ip", lambda: fetch("http://203.0.113.1/"))

    srv.close()
    print(json.dumps(out))
    """
)


def _run_child(
    tmp_path: Path, extra_env: dict[str, str] | None = None
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = str(GUARD_DIR)
    env["EXPECTED_GUARD_DIR"] = str(GUARD_DIR)
    env.pop("LOOPBACK_GUARD_LOG", None)
    env.update(extra_env or {})
    proc = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc


def test_guard_allows_loopback_and_refuses_the_rest(tmp_path: Path) -> None:
    out, proc = _run_child(tmp_path)
    assert out["guard"] is True
    assert proc.stderr == ""  # the guard prints nothing

    assert out["loopback_connect"] == {
        "ok": True,
        "value": "hi",
        "seconds": out["loopback_connect"]["seconds"],
    }
    assert out["loopback_create_connection_localhost"]["value"] == "hi"
    assert out["loopback_connect_ex"]["value"] == 0
    assert out["loopback_getaddrinfo"]["ok"]
    assert all(a.startswith("127.") or a == "::1" for a in out["loopback_getaddrinfo"]["value"])
    assert out["unix_socket"]["value"] == "ux"

    refused = {
        "create_connection": "ConnectionRefusedError",
        "raw_connect": "ConnectionRefusedError",
        "connect_hostname": "gaierror",
        "udp_sendto": "ConnectionRefusedError",
        "v6_connect": "ConnectionRefusedError",
        "getaddrinfo": "gaierror",
        "gethostbyname": "gaierror",
        "gethostbyaddr": "herror",
    }
    for name, exc in refused.items():
        assert out[name]["ok"] is False, (name, out[name])
        assert out[name]["exc"] == exc, (name, out[name])
        assert "loopback guard" in out[name]["msg"], (name, out[name])
        assert out[name]["seconds"] < 0.5, (name, out[name])  # at once, no timeout waited for

    # connect_ex reports a refusal the way it always does: by returning the errno.
    assert out["raw_connect_ex"]["ok"] is True
    assert out["raw_connect_ex"]["value"] == errno.ECONNREFUSED
    assert out["raw_connect_ex"]["seconds"] < 0.5

    # An IP literal needs no DNS query: it is answered numerically, and connecting is refused.
    assert out["getaddrinfo_ip"]["ok"] is True
    assert {ai for ai in out["getaddrinfo_ip"]["value"]} == {"203.0.113.1"}

    if "requests_hostname" in out:
        for name in ("requests_hostname", "requests_ip"):
            assert out[name]["ok"] is False, (name, out[name])
            assert out[name]["exc"] == "ConnectionError", (name, out[name])
            assert out[name]["seconds"] < 1.0, (name, out[name])


def test_guard_log_records_refusals_only(tmp_path: Path) -> None:
    log = tmp_path / "refusals.log"
    _run_child(tmp_path, {"LOOPBACK_GUARD_LOG": str(log)})
    lines = log.read_text(encoding="utf-8").splitlines()
    ops = [line.split(" ", 2)[1] for line in lines]
    assert "connect" in ops and "getaddrinfo" in ops and "sendto" in ops
    joined = "\n".join(lines)
    assert "203.0.113.1" in joined and "oss-cn-hangzhou.aliyuncs.com" in joined
    assert "127.0.0.1" not in joined  # loopback traffic is not logged as a refusal
