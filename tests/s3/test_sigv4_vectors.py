"""SigV4 and aws-chunked against the examples AWS publishes (S3 API reference, "Signature Calculations")."""

from __future__ import annotations

import hashlib

import pytest

from ossbox.core.errors import OSSError
from ossbox.protocol.s3 import sigv4
from ossbox.protocol.s3.chunked import ChunkedDecoder

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE, AMZ_DATE, REGION = "20130524", "20130524T000000Z", "us-east-1"
SCOPE = sigv4.scope(DATE, REGION)


def test_get_object_header_signature() -> None:
    headers = {
        "host": "examplebucket.s3.amazonaws.com",
        "range": "bytes=0-9",
        "x-amz-content-sha256": sigv4.EMPTY_SHA256,
        "x-amz-date": AMZ_DATE,
    }
    signed = ["host", "range", "x-amz-content-sha256", "x-amz-date"]
    canonical = sigv4.canonical_request("GET", "/test.txt", "", headers, signed, sigv4.EMPTY_SHA256)
    sts = sigv4.string_to_sign(AMZ_DATE, SCOPE, canonical)
    key = sigv4.signing_key(SECRET, DATE, REGION)
    assert sigv4.signature(key, sts) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


def test_presigned_get_signature() -> None:
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3"
        "%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    canonical = sigv4.canonical_request(
        "GET",
        "/test.txt",
        sigv4.canonical_query(query, exclude="X-Amz-Signature"),
        {"host": "examplebucket.s3.amazonaws.com"},
        ["host"],
        sigv4.UNSIGNED_PAYLOAD,
    )
    key = sigv4.signing_key(SECRET, DATE, REGION)
    sts = sigv4.string_to_sign(AMZ_DATE, SCOPE, canonical)
    assert sigv4.signature(key, sts) == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"


def _chunked_example() -> tuple[bytes, sigv4.ChunkSigner]:
    """AWS's STREAMING-AWS4-HMAC-SHA256-PAYLOAD example: 65536 + 1024 bytes of 'a', then the final chunk."""
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": AMZ_DATE,
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": sigv4.STREAMING_SIGNED,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
    }
    signed = sorted(headers)
    canonical = sigv4.canonical_request(
        "PUT", "/examplebucket/chunkObject.txt", "", headers, signed, sigv4.STREAMING_SIGNED
    )
    key = sigv4.signing_key(SECRET, DATE, REGION)
    seed = sigv4.signature(key, sigv4.string_to_sign(AMZ_DATE, SCOPE, canonical))
    assert seed == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    sigs = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    body = (
        b"10000;chunk-signature=" + sigs[0].encode() + b"\r\n" + b"a" * 65536 + b"\r\n"
        b"400;chunk-signature=" + sigs[1].encode() + b"\r\n" + b"a" * 1024 + b"\r\n"
        b"0;chunk-signature=" + sigs[2].encode() + b"\r\n\r\n"
    )
    assert len(body) == 66824
    return body, sigv4.ChunkSigner(key, AMZ_DATE, SCOPE, seed)


@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
def test_signed_chunks_decode_in_any_pieces(piece: int) -> None:
    body, signer = _chunked_example()
    decoder = ChunkedDecoder(signer)
    out = []
    for i in range(0, len(body), piece):
        out += decoder.feed(body[i : i + piece])
    decoder.finish()
    assert b"".join(out) == b"a" * 66560


def test_a_changed_byte_fails_its_chunk_signature() -> None:
    body, signer = _chunked_example()
    tampered = body.replace(b"a" * 10, b"a" * 9 + b"b", 1)
    decoder = ChunkedDecoder(signer)
    with pytest.raises(OSSError) as err:
        decoder.feed(tampered)
    assert err.value.code == "SignatureDoesNotMatch"


def test_a_truncated_body_is_refused() -> None:
    body, signer = _chunked_example()
    decoder = ChunkedDecoder(signer)
    decoder.feed(body[:-40])
    with pytest.raises(OSSError) as err:
        decoder.finish()
    assert err.value.code == "IncompleteBody"


def test_unsigned_trailer() -> None:
    decoder = ChunkedDecoder()
    out = decoder.feed(b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n")
    decoder.finish()
    assert out == [b"hello"] and decoder.trailers == {"x-amz-checksum-crc32": "NhCmhg=="}


def test_signed_trailer() -> None:
    key = sigv4.signing_key(SECRET, DATE, REGION)
    seed = "0" * 64
    data = b"hello"
    chunk_sig = sigv4.signature(
        key, sigv4.chunk_string_to_sign(AMZ_DATE, SCOPE, seed, hashlib.sha256(data).hexdigest())
    )
    final_sig = sigv4.signature(
        key, sigv4.chunk_string_to_sign(AMZ_DATE, SCOPE, chunk_sig, sigv4.EMPTY_SHA256)
    )
    trailer = b"x-amz-checksum-crc32:NhCmhg==\n"
    trailer_sig = sigv4.signature(key, sigv4.trailer_string_to_sign(AMZ_DATE, SCOPE, final_sig, trailer))
    body = (
        f"5;chunk-signature={chunk_sig}\r\nhello\r\n0;chunk-signature={final_sig}\r\n"
        f"x-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:{trailer_sig}\r\n\r\n"
    ).encode()
    decoder = ChunkedDecoder(sigv4.ChunkSigner(key, AMZ_DATE, SCOPE, seed), trailer_signed=True)
    assert decoder.feed(body) == [b"hello"]
    decoder.finish()
    bad = ChunkedDecoder(sigv4.ChunkSigner(key, AMZ_DATE, SCOPE, seed), trailer_signed=True)
    with pytest.raises(OSSError):
        bad.feed(body.replace(b"NhCmhg==", b"AAAAAA=="))
