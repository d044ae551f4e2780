"""Encryption at rest: per-blob data keys, wrapped by the master key (or by a KMS key derived from it).

Every blob of an encrypted object (a file under blobs/ or an inline row of blob_data) has its own random
data key and counter block. The data is AES-256-CTR (or SM4-CTR for SM4 objects): a counter mode, so any
byte range can be decrypted without reading what comes before it, and ciphertext is exactly as long as the
plaintext. The data key is stored in `blob_keys`, wrapped with AES-256-GCM under a key encryption key: the
master key (AES256 and SM4 objects) or the named KMS key (KMS objects). The wrapping is bound to the blob id
and cipher (GCM's associated data), so a key row cannot be moved to another blob, and a wrong master key is
detected instead of producing garbage.

ossbox has no KMS. KMS keys are derived from the master key with HKDF-SHA256, one per key id (the id named by
`x-oss-server-side-encryption-key-id` or KMSMasterKeyID, else the data directory's default key id), so data
written under two key ids is really wrapped under two different keys; there is no key lifecycle (disable,
rotate, delete) and any id is accepted. docs/encryption.md says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ossbox.meta.types import BlobKey
from ossbox.protocol import sse

_BLOCK = 16
_KEY_BYTES = {sse.AES256: 32, sse.SM4: 16}
_MASTER_KEK = ""  # BlobKey.kek of keys wrapped by the master key; "kms:<id>" for a KMS key


class BlobKeyError(Exception):
    """A blob key that cannot be used: missing, or not unwrappable with this master key. Never names a key."""


def _algorithm(cipher: str, key: bytes) -> algorithms.AES | algorithms.SM4:
    return algorithms.SM4(key) if cipher == sse.SM4 else algorithms.AES(key)


class BlobCipher:
    """One blob's data key: a CTR keystream that starts at any byte offset."""

    __slots__ = ("_cipher", "_iv", "_key")

    def __init__(self, cipher: str, key: bytes, iv: bytes) -> None:
        self._cipher = cipher
        self._key = key
        self._iv = int.from_bytes(iv, "big")

    def at(self, offset: int) -> CipherContext:
        """A context that encrypts (or, the same in CTR, decrypts) bytes starting at `offset` in the blob."""
        block, skip = divmod(offset, _BLOCK)
        counter = ((self._iv + block) % (1 << 128)).to_bytes(_BLOCK, "big")
        ctx = Cipher(_algorithm(self._cipher, self._key), modes.CTR(counter)).encryptor()
        if skip:
            ctx.update(bytes(skip))
        return ctx

    def apply(self, offset: int, data: bytes) -> bytes:
        return self.at(offset).update(data)


@dataclass(frozen=True)
class DataKey:
    """A fresh key for a new blob: the cipher to write with, and the row to store in blob_keys."""

    cipher: BlobCipher
    record: BlobKey


class KeyRing:
    """Makes and opens blob keys. One per process, built from the master key by the server's wiring."""

    def __init__(self, master_key: bytes, default_kms_key_id: str) -> None:
        self._master = AESGCM(master_key)
        self._master_key = master_key
        self.default_kms_key_id = default_kms_key_id
        self._keks: dict[str, AESGCM] = {_MASTER_KEK: self._master}

    def stored(self, spec: sse.SseSpec) -> str:
        """The stored form of a requested spec, with the default KMS key filled in."""
        if spec.algorithm == sse.KMS and not spec.kms_key_id:
            spec = sse.SseSpec(sse.KMS, spec.data_encryption, self.default_kms_key_id)
        return spec.encode()

    def _kek(self, kek: str) -> AESGCM:
        found = self._keks.get(kek)
        if found is None:
            derived = HKDF(hashes.SHA256(), 32, salt=None, info=b"ossbox kms key\x00" + kek.encode()).derive(
                self._master_key
            )
            found = self._keks[kek] = AESGCM(derived)
        return found

    def new_data_key(self, blob_id: str, stored: str) -> DataKey:
        spec = sse.decode(stored)
        assert spec is not None
        cipher = spec.data_cipher
        kek = f"kms:{spec.kms_key_id}" if spec.algorithm == sse.KMS else _MASTER_KEK
        key = os.urandom(_KEY_BYTES[cipher])
        iv = os.urandom(_BLOCK)
        nonce = os.urandom(12)
        wrapped = nonce + self._kek(kek).encrypt(nonce, key, _bound(blob_id, cipher, kek))
        return DataKey(BlobCipher(cipher, key, iv), BlobKey(cipher, kek, wrapped, iv))

    def open(self, blob_id: str, record: BlobKey) -> BlobCipher:
        wrapped = record.wrapped
        try:
            key = self._kek(record.kek).decrypt(
                wrapped[:12], wrapped[12:], _bound(blob_id, record.cipher, record.kek)
            )
        except InvalidTag as exc:
            raise BlobKeyError(
                f"the data key of blob {blob_id} does not open with this master key (wrong or damaged key)"
            ) from exc
        return BlobCipher(record.cipher, key, record.iv)


def _bound(blob_id: str, cipher: str, kek: str) -> bytes:
    return f"{blob_id}|{cipher}|{kek}".encode()
