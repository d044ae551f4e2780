"""An S3 request body: aws-chunked decoding, the signed payload hash and x-amz-checksum-*, all streamed.

`read_chunk` hands the decoded bytes to the use case; `digest` is handed along with it and sees every byte
(on the worker threads that hash the body), then checks at the end, before anything is committed, that
the payload's SHA-256 is the one signed, that the checksum the client sent (as a header or a trailer) is
the checksum of what arrived, and that a streamed body ended where its encoding says.
"""

from __future__ import annotations

import hashlib
import hmac

from ossbox.auth.s3 import S3Auth
from ossbox.core.errors import OSSError, invalid_argument
from ossbox.http.server import Body, BodyTooLarge
from ossbox.protocol.s3 import checksums, sigv4
from ossbox.protocol.s3.chunked import ChunkedDecoder


def _sha256_mismatch() -> OSSError:
    return OSSError(
        400,
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )


class S3Body:
    """The body of one S3 request as a stream of decoded chunks, and the checks it must pass."""

    def __init__(self, body: Body, headers: dict[str, str], auth: S3Auth) -> None:
        self._body = body
        self._headers = headers
        payload = auth.payload
        encoding = headers.get("content-encoding", "")
        self.chunked = payload in sigv4.STREAMING or "aws-chunked" in encoding
        self._decoder: ChunkedDecoder | None = None
        self._pending: list[bytes] = []
        if self.chunked:
            signed_trailer = payload == sigv4.STREAMING_SIGNED_TRAILER
            self._decoder = ChunkedDecoder(auth.signer, trailer_signed=signed_trailer)
        self._sha256 = hashlib.sha256() if sigv4.is_payload_hash(payload) else None
        self._payload = payload
        self._algorithm, self._expected, self._trailer_name = self._checksum_request()
        self._checksum = checksums.Checksum(self._algorithm) if self._algorithm else None
        self._computed_only = False
        self.content_length = self._decoded_length()

    # -- what the request says --
    def _checksum_request(self) -> tuple[str, str, str]:
        """(algorithm, expected base64 value or '' when it comes as a trailer, trailer name)."""
        h = self._headers
        trailer = h.get("x-amz-trailer", "").strip().lower()
        if trailer:
            if not trailer.startswith("x-amz-checksum-"):
                raise invalid_argument(f"The trailer {trailer!r} is not supported.", "x-amz-trailer", trailer)
            if not self.chunked:
                raise OSSError(400, "InvalidRequest", "x-amz-trailer needs an aws-chunked body.")
            return checksums.normalize(trailer[len("x-amz-checksum-") :]), "", trailer
        found = [
            (a, h[checksums.header_name(a)]) for a in checksums.ALGORITHMS if checksums.header_name(a) in h
        ]
        if len(found) > 1:
            raise OSSError(400, "InvalidRequest", "Expecting a single x-amz-checksum- header.")
        if found:
            algorithm, value = found[0]
            checksums.decode(algorithm, value)
            return algorithm, value, ""
        # x-amz-sdk-checksum-algorithm alone asks for nothing to verify.
        return "", "", ""

    def _decoded_length(self) -> int | None:
        h = self._headers
        name = "x-amz-decoded-content-length" if self.chunked else "content-length"
        value = h.get(name)
        if value is None:
            if self.chunked:
                return None  # streamed without a declared length: accepted, the encoding says where it ends
            return None
        if not value.isdigit():
            raise invalid_argument(f"{name} is not a number.", name, value)
        return int(value)

    @property
    def checksum_algorithm(self) -> str:
        return self._algorithm

    def compute(self, algorithm: str) -> None:
        """Compute (and store) `algorithm`'s checksum even when the client sent none to verify."""
        if not self._algorithm:
            self._algorithm = algorithm
            self._checksum = checksums.Checksum(algorithm)
            self._computed_only = True

    # -- the stream --
    async def read_chunk(self) -> bytes:
        if self._decoder is None:
            return await self._body.read_chunk()
        while not self._pending:
            raw = await self._body.read_chunk()
            if not raw:
                self._decoder.finish()
                return b""
            self._pending = self._decoder.feed(raw)
            self._pending.reverse()
        return self._pending.pop()

    async def read_all(self, limit: int) -> bytes:
        """The whole (small) body, checked."""
        parts = []
        total = 0
        while chunk := await self.read_chunk():
            total += len(chunk)
            if total > limit:
                raise BodyTooLarge()
            parts.append(chunk)
        data = b"".join(parts)
        self.update(data)
        self.finish()
        return data

    # -- BodyDigest (see ossbox.service.ingest) --
    def wants_digest(self) -> bool:
        return self._sha256 is not None or self._checksum is not None or self._decoder is not None

    def update(self, data: bytes) -> None:
        if self._sha256 is not None:
            self._sha256.update(data)
        if self._checksum is not None:
            self._checksum.update(data)

    def finish(self) -> str:
        if self._decoder is not None and not self._decoder.done:
            self._decoder.finish()
        if self._sha256 is not None and not hmac.compare_digest(self._sha256.hexdigest(), self._payload):
            raise _sha256_mismatch()
        if self._checksum is None:
            return ""
        actual = self._checksum.b64()
        if self._computed_only:
            return checksums.stored(self._algorithm, actual)
        expected = self._expected
        if self._trailer_name:
            assert self._decoder is not None
            expected = self._decoder.trailers.get(self._trailer_name, "")
            if not expected:
                raise OSSError(400, "InvalidRequest", f"The trailer {self._trailer_name} was not sent.")
            checksums.decode(self._algorithm, expected)
        if actual != expected:
            raise checksums.mismatch(self._algorithm)
        return checksums.stored(self._algorithm, actual)
