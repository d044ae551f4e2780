"""HTTPS for the server: the certificate it serves, from files the operator gives (`--tls-cert`, `--tls-key`),
from a certs directory (MinIO's convention: `public.crt` and `private.key`), or made on the spot for
development (`--tls-dev`: a local CA, and a certificate it signs for localhost, 127.0.0.1 and ::1, which
clients trust through SSL_CERT_FILE / REQUESTS_CA_BUNDLE / AWS_CA_BUNDLE pointing at the CA).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE = "public.crt"
KEY_FILE = "private.key"
DEV_CA_FILE = "ca.crt"
_DEV_CA_KEY_FILE = "ca.key"
_DEV_NAMES = ("localhost", "127.0.0.1", "::1")


class TlsConfigError(Exception):
    """The certificate or key cannot be used; the message says which file and why (never key material)."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    dev_ca: Path | None = None  # set when the development CA made the certificate


def resolve(cert: Path | None, key: Path | None, certs_dir: Path, dev: bool) -> TlsFiles | None:
    """Which certificate to serve, if any: the given pair, else (with `dev`) the development pair made in
    `certs_dir` on first use, else a pair already in `certs_dir`, else none (plain HTTP)."""
    if (cert is None) != (key is None):
        raise TlsConfigError("--tls-cert and --tls-key go together: give both")
    if cert is not None and key is not None:
        return TlsFiles(cert, key)
    if dev:
        return make_dev_certs(certs_dir)
    if (certs_dir / CERT_FILE).exists() and (certs_dir / KEY_FILE).exists():
        ca = certs_dir / DEV_CA_FILE
        return TlsFiles(certs_dir / CERT_FILE, certs_dir / KEY_FILE, ca if ca.exists() else None)
    return None


def server_context(files: TlsFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    for path in (files.cert, files.key):
        if not path.is_file():
            raise TlsConfigError(f"no such file: {path}")
    try:
        ctx.load_cert_chain(files.cert, files.key)
    except ssl.SSLError as exc:
        raise TlsConfigError(
            f"cannot use the certificate {files.cert} with the key {files.key}: {exc.reason or exc}"
        ) from None
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        crl_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def make_dev_certs(certs_dir: Path) -> TlsFiles:
    """A local CA and a server certificate it signs, in `certs_dir` (kept: clients trust the CA once)."""
    cert, key, ca = certs_dir / CERT_FILE, certs_dir / KEY_FILE, certs_dir / DEV_CA_FILE
    if cert.exists() and key.exists() and ca.exists():
        return TlsFiles(cert, key, ca)
    certs_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ossbox development CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for name in _DEV_NAMES:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    private = serialization.PrivateFormat.PKCS8
    plain = serialization.NoEncryption()
    _write(certs_dir / _DEV_CA_KEY_FILE, ca_key.private_bytes(pem, private, plain), secret=True)
    _write(key, server_key.private_bytes(pem, private, plain), secret=True)
    _write(ca, ca_cert.public_bytes(pem), secret=False)
    _write(cert, server_cert.public_bytes(pem), secret=False)
    return TlsFiles(cert, key, ca)


def _write(path: Path, data: bytes, secret: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
