"""The master key: 32 random bytes in a file outside the database (default `<data-dir>/master.key`, 0600).

Created on the first start; every start (and every worker) reads it. The database keeps only a check value
(HMAC-SHA256 of a fixed string under the key), so a missing, damaged or different key file is a clear
startup error instead of unreadable data. When no encrypted blob exists yet, a missing or different key is
harmless: the file is (re)created or adopted and the check value replaced, with a warning. The key itself is
never logged nor put in an error message.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import uuid
from pathlib import Path

from ossbox.meta.sql_store import SqlMeta

log = logging.getLogger("ossbox.keys")

FILE_NAME = "master.key"
CHECK_SETTING = "master_key_check"
DEFAULT_KMS_KEY_SETTING = "kms_default_key_id"
_HEX_DIGITS = 64


class MasterKeyError(Exception):
    """Why the server cannot start with this master key file. The message never contains key material."""


def default_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def check_value(key: bytes) -> str:
    return hmac.new(key, b"ossbox master key check v1", hashlib.sha256).hexdigest()


def read_key(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise MasterKeyError(f"the master key file {path} does not exist") from exc
    except OSError as exc:
        raise MasterKeyError(f"cannot read the master key file {path}: {exc.strerror}") from exc
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii")) if len(text) == _HEX_DIGITS else b""
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != _HEX_DIGITS // 2:
        raise MasterKeyError(
            f"the master key file {path} is damaged: it must hold {_HEX_DIGITS} hexadecimal digits"
        )
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            log.warning("the master key file %s is readable by other users: chmod 600 it", path)
    return key


def _create_key(path: Path) -> bytes:
    key = secrets.token_bytes(_HEX_DIGITS // 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, key.hex().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    log.info("created the master key file %s (keep a copy: encrypted objects need it)", path)
    return key


def _has_encrypted_data(meta: SqlMeta) -> bool:
    return meta.count_blob_keys() > 0


def ensure(meta: SqlMeta, path: Path) -> None:
    """At start-up, before any worker serves: the key file exists and is the one the data was written with."""
    recorded = meta.get_setting(CHECK_SETTING)
    if path.exists():
        key = read_key(path)
        if recorded is not None and recorded != check_value(key):
            if _has_encrypted_data(meta):
                raise MasterKeyError(
                    f"the master key in {path} is not the key this data directory's encrypted objects were "
                    "written with: restore the original file (or point --master-key-file at it)"
                )
            log.warning("adopting the master key in %s (no encrypted object uses the previous key)", path)
            recorded = None
    else:
        if recorded is not None and _has_encrypted_data(meta):
            raise MasterKeyError(
                f"the master key file {path} is missing, and encrypted objects in this data directory need "
                "it: restore it (or point --master-key-file at it)"
            )
        key = _create_key(path)
        recorded = None
    if recorded is None:
        meta.write(lambda txn: txn.set_setting(CHECK_SETTING, check_value(key)))
    if meta.get_setting(DEFAULT_KMS_KEY_SETTING) is None:
        # What x-oss-server-side-encryption-key-id answers for KMS objects written without a key id (OSS: the
        # default key it manages for the account).
        key_id = str(uuid.uuid4())
        meta.write(lambda txn: txn.set_setting_if_absent(DEFAULT_KMS_KEY_SETTING, key_id))


def load(meta: SqlMeta, path: Path) -> tuple[bytes, str]:
    """The master key and the default KMS key id, for a serving process (ensure() ran at start-up)."""
    key = read_key(path)
    if meta.get_setting(CHECK_SETTING) != check_value(key):
        raise MasterKeyError(f"the master key in {path} changed while the server was starting")
    default_kms = meta.get_setting(DEFAULT_KMS_KEY_SETTING)
    assert default_kms is not None, "ensure() stores the default KMS key id"
    return key, default_kms
