"""Decoding `aws-chunked` request bodies incrementally, verifying chunk signatures as they pass.

    <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n ... 0[;chunk-signature=<sig>]\\r\\n
    [<trailer name>:<value>\\r\\n ... [x-amz-trailer-signature:<sig>\\r\\n]]\\r\\n

The decoder is fed the raw body as it arrives and hands back the decoded data at once: nothing is
buffered beyond one header line. A bad chunk signature raises as soon as its chunk ends; since a write
becomes visible only when it commits, bytes handed on before that are never seen by anyone.
"""

from __future__ import annotations

import hashlib

from ossbox.core.errors import OSSError
from ossbox.protocol.s3.sigv4 import ChunkSigner

_MAX_LINE = 8 << 10
_MAX_TRAILER = 16 << 10
_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)
TRAILER_SIGNATURE = "x-amz-trailer-signature"


def malformed(message: str) -> OSSError:
    return OSSError(400, "IncompleteBody", f"The aws-chunked request body is malformed: {message}")


def bad_chunk_signature() -> OSSError:
    return OSSError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided "
        "(a chunk signature of the streaming body).",
    )


class ChunkedDecoder:
    """Feed raw bytes with `feed`; call `finish` at the end of the body."""

    __slots__ = (
        "_chunk_hash",
        "_line",
        "_remaining",
        "_signature",
        "_signed_trailer",
        "_signer",
        "_state",
        "_trailer_bytes",
        "trailers",
    )

    def __init__(self, signer: ChunkSigner | None = None, trailer_signed: bool = False) -> None:
        self._signer = signer
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._signature = ""
        self._chunk_hash: hashlib._Hash | None = None
        self._trailer_bytes = 0
        self.trailers: dict[str, str] = {}
        self._signed_trailer = trailer_signed

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = data if (pos == 0 and take == end) else data[pos : pos + take]
                if self._chunk_hash is not None:
                    self._chunk_hash.update(piece)
                out.append(piece)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = _DATA_END
            elif state == _DATA_END:
                need = 2 - len(self._line)
                self._line += data[pos : pos + need]
                pos += min(need, end - pos)
                if len(self._line) == 2:
                    if self._line != b"\r\n":
                        raise malformed("a chunk is longer than its declared size")
                    self._line.clear()
                    self._end_chunk()
                    self._state = _HEADER
            elif state in (_HEADER, _TRAILER):
                nl = data.find(b"\n", pos)
                stop = end if nl < 0 else nl + 1
                self._line += data[pos:stop]
                pos = stop
                if len(self._line) > _MAX_LINE:
                    raise malformed("a chunk header or trailer line is too long")
                if nl < 0:
                    break
                if not self._line.endswith(b"\r\n"):
                    raise malformed("lines must end with CRLF")
                line = bytes(self._line[:-2])
                self._line.clear()
                if state == _HEADER:
                    self._header(line)
                else:
                    self._trailer_line(line)
            else:
                raise malformed("data after the end of the body")
        return out

    def finish(self) -> None:
        """The body ended: it must have ended where the encoding says it does."""
        if self._state == _TRAILER and not self._line:
            # Some clients end the trailer section without the final empty line.
            self._close_trailers()
        if self._state != _DONE:
            raise malformed("the body ended before its last chunk")

    # -- parts of the encoding --
    def _header(self, line: bytes) -> None:
        size_text, _, ext = line.partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError as exc:
            raise malformed("a chunk size is not hexadecimal") from exc
        if size < 0:
            raise malformed("a chunk size is negative")
        self._signature = ""
        if ext:
            name, _, value = ext.partition(b"=")
            if name.strip() == b"chunk-signature":
                self._signature = value.strip().decode("ascii", "replace")
        if self._signer is not None:
            if not self._signature:
                raise bad_chunk_signature()
            self._chunk_hash = hashlib.sha256()
        if size == 0:
            self._end_chunk()
            self._state = _TRAILER
        else:
            self._remaining = size
            self._state = _DATA

    def _end_chunk(self) -> None:
        if self._signer is not None:
            assert self._chunk_hash is not None
            if not self._signer.check_chunk(self._chunk_hash.hexdigest(), self._signature):
                raise bad_chunk_signature()
            self._chunk_hash = None

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            self._close_trailers()
            return
        self._trailer_bytes += len(line)
        if self._trailer_bytes > _MAX_TRAILER:
            raise malformed("the trailers are too large")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise malformed("a trailer line has no colon")
        self.trailers[name.strip().lower()] = value.strip()

    def _close_trailers(self) -> None:
        if self._signer is not None and self._signed_trailer:
            provided = self.trailers.pop(TRAILER_SIGNATURE, "")
            canonical = "".join(f"{k}:{v}\n" for k, v in self.trailers.items()).encode("latin-1")
            if not provided or not self._signer.check_trailer(canonical, provided):
                raise bad_chunk_signature()
        self._state = _DONE
