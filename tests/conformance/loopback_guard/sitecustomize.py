"""Loopback guard: refuse every network connection and name lookup that is not loopback.

Put this directory on ``PYTHONPATH`` and every Python process started with it (and every
Python child that inherits the variable) imports this module at start-up (``site`` imports
``sitecustomize``), before any user code. From then on:

* ``socket.socket.connect`` / ``connect_ex`` / ``sendto`` / ``sendmsg`` to an AF_INET or
  AF_INET6 address that is not loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or the
  literal name ``localhost``) fail *before* the kernel is asked to send anything:
  ``connect`` raises ``ConnectionRefusedError``; ``connect_ex`` returns ``ECONNREFUSED``
  (its documented way of reporting a refused connection); a destination given as a host
  name other than ``localhost`` raises ``socket.gaierror`` (CPython would resolve it in C,
  behind ``getaddrinfo``'s back). ``socket.create_connection`` is covered through
  ``getaddrinfo`` and ``connect``; SSL sockets and asyncio through ``connect``.
* ``socket.getaddrinfo`` (and ``_socket.getaddrinfo``, which the stdlib wrapper calls),
  ``gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr`` and ``getnameinfo`` raise
  ``socket.gaierror`` / ``socket.herror`` for any name but ``localhost``, so no DNS query
  leaves the machine. ``getaddrinfo`` of an IP literal is answered numerically
  (``AI_NUMERICHOST``, no query); connecting to the result is what gets refused.
  ``getaddrinfo("localhost")`` results are filtered to loopback addresses.
* AF_UNIX sockets are allowed. Other address families (netlink, packet, ...) are refused.

Nothing is printed. If ``LOOPBACK_GUARD_LOG`` names a file, one line per refusal
(``<pid> <operation> <destination>``) is appended to it; destinations are host names, IP
addresses and ports only, never request data or credentials.

Limits (documented, not hidden): code that instantiates the C type ``_socket.socket``
directly, C extensions that open their own sockets, and non-Python child processes are not
covered. The guard is a safety net for a test run, not a sandbox.
"""

from __future__ import annotations

import _socket
import errno
import ipaddress
import os
import socket
from typing import Any

__all__ = ["GUARD_ACTIVE", "is_loopback_host"]

GUARD_ACTIVE = True

_LOCALHOST_NAMES = frozenset({"localhost"})
_LOG_PATH = os.environ.get("LOOPBACK_GUARD_LOG") or None


def _log(operation: str, destination: str) -> None:
    if not _LOG_PATH:
        return
    try:
        with open(_LOG_PATH, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {operation} {destination}\n")
    except OSError:
        pass


def _as_text(host: object) -> str | None:
    if isinstance(host, str):
        return host
    if isinstance(host, (bytes, bytearray)):
        try:
            return bytes(host).decode("ascii")
        except UnicodeDecodeError:
            return None
    return None


def _parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # IPv6 zone id
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ip_is_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if ip.is_loopback:
        return True
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped is not None and mapped.is_loopback


def is_loopback_host(host: object) -> bool:
    """True for a loopback IP literal (v4, v6, v4-mapped v6) or the name ``localhost``."""
    text = _as_text(host)
    if text is None:
        return False
    if text.lower() in _LOCALHOST_NAMES:
        return True
    ip = _parse_ip(text)
    return ip is not None and _ip_is_loopback(ip)


def _describe(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]!s}:{address[1]!s}"
    return repr(address)[:200]


class _Refusal(Exception):
    """Internal: carries the exception to raise for a refused destination."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc


def _check_destination(sock: socket.socket, address: object, operation: str) -> None:
    """Raise _Refusal unless ``address`` is a permitted destination for ``sock``."""
    family = sock.family
    if family == getattr(socket, "AF_UNIX", object()):
        return
    if family not in (socket.AF_INET, socket.AF_INET6):
        _log(operation, f"family={int(family)}")
        raise _Refusal(
            ConnectionRefusedError(
                errno.ECONNREFUSED, f"loopback guard: address family {int(family)} is not allowed"
            )
        )
    if not isinstance(address, tuple) or len(address) < 2:
        _log(operation, _describe(address))
        raise _Refusal(
            ConnectionRefusedError(errno.ECONNREFUSED, "loopback guard: unrecognised socket address")
        )
    host = _as_text(address[0])
    if host is not None and host.lower() in _LOCALHOST_NAMES:
        return
    ip = _parse_ip(host) if host is not None else None
    if ip is None:
        # A host name: CPython would resolve it in C (a DNS query). Refuse like a failed lookup.
        _log(operation, _describe(address))
        raise _Refusal(
            socket.gaierror(socket.EAI_NONAME, f"loopback guard: lookup of {host!r} refused (not loopback)")
        )
    if not _ip_is_loopback(ip):
        _log(operation, _describe(address))
        raise _Refusal(
            ConnectionRefusedError(
                errno.ECONNREFUSED,
                f"loopback guard: connection to {_describe(address)} refused (not loopback)",
            )
        )


_orig_connect = socket.socket.connect
_orig_connect_ex = socket.socket.connect_ex
_orig_sendto = socket.socket.sendto
_orig_sendmsg = getattr(socket.socket, "sendmsg", None)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    try:
        _check_destination(self, address, "connect")
    except _Refusal as refusal:
        raise refusal.exc from None
    return _orig_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    try:
        _check_destination(self, address, "connect_ex")
    except _Refusal as refusal:
        if isinstance(refusal.exc, ConnectionRefusedError):
            return errno.ECONNREFUSED
        raise refusal.exc from None
    return _orig_connect_ex(self, address)


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
    # sendto(data, address) or sendto(data, flags, address)
    if args:
        try:
            _check_destination(self, args[-1], "sendto")
        except _Refusal as refusal:
            raise refusal.exc from None
    return _orig_sendto(self, data, *args)


def _guarded_sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
    # sendmsg(buffers[, ancdata[, flags[, address]]])
    if len(args) >= 3 and args[2] is not None:
        try:
            _check_destination(self, args[2], "sendmsg")
        except _Refusal as refusal:
            raise refusal.exc from None
    assert _orig_sendmsg is not None
    sent: int = _orig_sendmsg(self, buffers, *args)
    return sent


setattr(socket.socket, "connect", _guarded_connect)  # noqa: B010
setattr(socket.socket, "connect_ex", _guarded_connect_ex)  # noqa: B010
setattr(socket.socket, "sendto", _guarded_sendto)  # noqa: B010
if _orig_sendmsg is not None:
    setattr(socket.socket, "sendmsg", _guarded_sendmsg)  # noqa: B010


# ---- name resolution -------------------------------------------------------------------

_orig_c_getaddrinfo = _socket.getaddrinfo
_orig_py_getaddrinfo = socket.getaddrinfo
_orig_gethostbyname = _socket.gethostbyname
_orig_gethostbyname_ex = _socket.gethostbyname_ex
_orig_gethostbyaddr = _socket.gethostbyaddr
_orig_getnameinfo = _socket.getnameinfo

_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def _refuse_lookup(operation: str, host: object) -> socket.gaierror:
    _log(operation, repr(host)[:200])
    return socket.gaierror(socket.EAI_NONAME, f"loopback guard: lookup of {host!r} refused (not loopback)")


def _loopback_results(results: list[Any]) -> list[Any]:
    kept = []
    for res in results:
        sockaddr = res[4]
        if isinstance(sockaddr, tuple) and sockaddr and is_loopback_host(sockaddr[0]):
            kept.append(res)
    return kept


def _guarded_c_getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[Any]:
    if host is None:
        return _orig_c_getaddrinfo(host, port, family, type, proto, flags)
    text = _as_text(host)
    if text is None:
        raise _refuse_lookup("getaddrinfo", host)
    if text in _WILDCARDS and flags & socket.AI_PASSIVE:
        # Wildcard for bind(): numeric, so no lookup and no destination.
        if text:
            flags |= socket.AI_NUMERICHOST
        return _orig_c_getaddrinfo(host, port, family, type, proto, flags)
    if text.lower() in _LOCALHOST_NAMES:
        results = _loopback_results(_orig_c_getaddrinfo(host, port, family, type, proto, flags))
        if not results:
            raise _refuse_lookup("getaddrinfo", host)
        return results
    ip = _parse_ip(text)
    if ip is not None:
        # An IP literal needs no lookup: resolve it numerically (no query, no reverse lookup for
        # AI_CANONNAME). A non-loopback address is then refused by connect() with
        # ConnectionRefusedError, which is what a caller of create_connection() expects.
        flags = (flags | socket.AI_NUMERICHOST) & ~socket.AI_CANONNAME
        return _orig_c_getaddrinfo(host, port, family, type, proto, flags)
    raise _refuse_lookup("getaddrinfo", host)


def _guarded_py_getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[Any]:
    # The stdlib wrapper calls _socket.getaddrinfo, which is guarded too; check first anyway so
    # the refusal happens even if some library kept a reference to the C function.
    _guarded_c_getaddrinfo(host, port, family, type, proto, flags)
    return _orig_py_getaddrinfo(host, port, family, type, proto, flags)


def _guarded_gethostbyname(hostname: Any) -> str:
    if is_loopback_host(hostname):
        result = _orig_gethostbyname(hostname)
        if is_loopback_host(result):
            return result
    raise _refuse_lookup("gethostbyname", hostname)


def _guarded_gethostbyname_ex(hostname: Any) -> tuple[str, list[str], list[str]]:
    if is_loopback_host(hostname):
        name, aliases, addrs = _orig_gethostbyname_ex(hostname)
        addrs = [a for a in addrs if is_loopback_host(a)]
        if addrs:
            return name, aliases, addrs
    raise _refuse_lookup("gethostbyname_ex", hostname)


def _guarded_gethostbyaddr(ip_address: Any) -> tuple[str, list[str], list[str]]:
    if is_loopback_host(ip_address):
        return _orig_gethostbyaddr(ip_address)
    _log("gethostbyaddr", repr(ip_address)[:200])
    raise socket.herror(errno.EHOSTUNREACH, f"loopback guard: reverse lookup of {ip_address!r} refused")


def _guarded_getnameinfo(sockaddr: Any, flags: int) -> tuple[str, str]:
    if isinstance(sockaddr, tuple) and sockaddr and is_loopback_host(sockaddr[0]):
        return _orig_getnameinfo(sockaddr, flags)
    raise _refuse_lookup("getnameinfo", sockaddr)


_socket.getaddrinfo = _guarded_c_getaddrinfo
socket.getaddrinfo = _guarded_py_getaddrinfo
for _module in (_socket, socket):
    setattr(_module, "gethostbyname", _guarded_gethostbyname)  # noqa: B010
    setattr(_module, "gethostbyname_ex", _guarded_gethostbyname_ex)  # noqa: B010
    setattr(_module, "gethostbyaddr", _guarded_gethostbyaddr)  # noqa: B010
    setattr(_module, "getnameinfo", _guarded_getnameinfo)  # noqa: B010
del _module
