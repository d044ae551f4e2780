"""S3's additional checksums (x-amz-checksum-*): CRC32, CRC32C, CRC64NVME, SHA1, SHA256.

Values travel as base64 of the big-endian digest. The CRCs come from anycrc (13-14 GB/s each here, and
a combine for whole-object checksums of multipart uploads), the SHAs from hashlib. A multipart object's
checksum is either COMPOSITE (the checksum of the parts' checksums, written `<base64>-<parts>`) or
FULL_OBJECT (the CRCs of the parts combined into the CRC of the whole; CRC64NVME is always so).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

import anycrc

from ossbox.core.errors import OSSError

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
_CRC_MODELS = {"CRC32": "CRC32", "CRC32C": "CRC32C", "CRC64NVME": "CRC64-NVME"}
_WIDTH = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
FULL_OBJECT_CAPABLE = frozenset(["CRC32", "CRC32C", "CRC64NVME"])
_models: dict[str, anycrc.Model] = {}


def header_name(algorithm: str) -> str:
    return "x-amz-checksum-" + algorithm.lower()


def _model(algorithm: str) -> anycrc.Model:
    m = _models.get(algorithm)
    if m is None:
        m = _models[algorithm] = anycrc.Model(_CRC_MODELS[algorithm])
    return m


def normalize(algorithm: str) -> str:
    """The algorithm's canonical name; InvalidRequest for one S3 does not know."""
    name = algorithm.strip().upper()
    if name not in _WIDTH:
        raise OSSError(
            400,
            "InvalidRequest",
            f"Checksum algorithm {algorithm!r} is not supported (use one of {', '.join(ALGORITHMS)}).",
        )
    return name


class Checksum:
    """An incremental checksum of one algorithm."""

    __slots__ = ("_crc", "_hash", "algorithm")

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self._crc = 0
        self._hash = hashlib.new(algorithm.lower()) if algorithm.startswith("SHA") else None

    def update(self, data: bytes | memoryview) -> None:
        if self._hash is not None:
            self._hash.update(data)
        elif self._crc:
            self._crc = int(_model(self.algorithm).calc(data, self._crc))
        else:
            self._crc = int(_model(self.algorithm).calc(data))

    def digest(self) -> bytes:
        if self._hash is not None:
            return self._hash.digest()
        return self._crc.to_bytes(_WIDTH[self.algorithm], "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def decode(algorithm: str, value: str) -> bytes:
    """The digest in a header or trailer value; InvalidRequest when it is not base64 of the right width."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != _WIDTH[algorithm]:
        raise OSSError(400, "InvalidRequest", f"Value for {header_name(algorithm)} header is invalid.")
    return raw


def mismatch(algorithm: str) -> OSSError:
    return OSSError(400, "BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")


# -- stored form: "<ALGORITHM>:<base64>" for a whole object, "<ALGORITHM>:<base64>-<parts>" for COMPOSITE
def stored(algorithm: str, value: str) -> str:
    return f"{algorithm}:{value}" if value else ""


def parse_stored(text: str) -> tuple[str, str, str] | None:
    """(algorithm, value, type) of a stored checksum, or None."""
    if not text:
        return None
    algorithm, _, value = text.partition(":")
    return algorithm, value, ("COMPOSITE" if "-" in value else "FULL_OBJECT")


def combine_parts(algorithm: str, checksum_type: str, parts: Sequence[tuple[str, int]]) -> str:
    """The multipart object's checksum value from its parts' (base64 value, size)."""
    digests = [decode(algorithm, v) for v, _ in parts]
    if checksum_type == "FULL_OBJECT":
        m = _model(algorithm)
        crc = 0
        for (_, size), raw in zip(parts, digests, strict=True):
            part_crc = int.from_bytes(raw, "big")
            if size:
                crc = int(m.combine(crc, part_crc, size))
        return base64.b64encode(crc.to_bytes(_WIDTH[algorithm], "big")).decode("ascii")
    c = Checksum(algorithm)
    c.update(b"".join(digests))
    return f"{c.b64()}-{len(parts)}"
