"""Server-side encryption on the wire: the x-oss-server-side-* headers and the bucket's default rule.

Pure parsing and rendering, no keys and no I/O (the keys are ossbox/service/encryption.py's).

What OSS accepts, and so ossbox:
- `x-oss-server-side-encryption`: AES256, KMS or SM4; anything else is InvalidEncryptionAlgorithmError.
- `x-oss-server-side-data-encryption: SM4` chooses SM4 for the data of a KMS object; with AES256 or SM4 (or
  without the first header) it is ignored, as OSS ignores it.
- `x-oss-server-side-encryption-key-id` names the KMS key; with another algorithm it is InvalidArgument.

A spec is stored with each object (and upload) as `"<algorithm>|<data encryption>|<KMS key id>"`, e.g.
`"AES256||"` or `"KMS|SM4|3f1c..."`; "" means unencrypted. The key id comes last, so it may contain any
character.
"""

from __future__ import annotations

from dataclasses import dataclass

from ossbox.core.errors import OSSError, invalid_argument
from ossbox.protocol import xml as X

AES256 = "AES256"
KMS = "KMS"
SM4 = "SM4"
ALGORITHMS = (AES256, KMS, SM4)

HEADER = "x-oss-server-side-encryption"
DATA_HEADER = "x-oss-server-side-data-encryption"
KEY_ID_HEADER = "x-oss-server-side-encryption-key-id"
REQUEST_HEADERS = (HEADER, DATA_HEADER, KEY_ID_HEADER)
_MAX_KEY_ID = 256


@dataclass(frozen=True)
class SseSpec:
    """How an object's data is encrypted: the algorithm, SM4 for a KMS object's data, the KMS key."""

    algorithm: str
    data_encryption: str = ""  # "SM4" or "" (KMS only)
    kms_key_id: str = ""  # KMS only; "" names the data directory's default key

    @property
    def data_cipher(self) -> str:
        """The cipher of the data itself: SM4 (SM4, or KMS with SM4 data encryption) or AES256."""
        return SM4 if SM4 in (self.algorithm, self.data_encryption) else AES256

    def encode(self) -> str:
        return f"{self.algorithm}|{self.data_encryption}|{self.kms_key_id}"


def decode(stored: str) -> SseSpec | None:
    if not stored:
        return None
    algorithm, data, key_id = stored.split("|", 2)
    return SseSpec(algorithm, data, key_id)


def invalid_algorithm(value: str) -> OSSError:
    return OSSError(
        400,
        "InvalidEncryptionAlgorithmError",
        "The Encryption request you specified is not valid. Supported value: AES256/KMS/SM4",
        {"ArgumentName": HEADER, "ArgumentValue": value},
    )


def spec(algorithm: str, data_encryption: str | None, key_id: str | None, where: str = HEADER) -> SseSpec:
    """A checked spec from its three parts as a request gives them."""
    if algorithm not in ALGORITHMS:
        raise invalid_algorithm(algorithm)
    if algorithm != KMS:
        if key_id:
            raise invalid_argument(
                "KMSMasterKeyID is not applicable if the default sse algorithm is not KMS.", where, key_id
            )
        return SseSpec(algorithm)
    if data_encryption and data_encryption != SM4:
        raise invalid_argument(
            "The data encryption algorithm you specified is not valid. Supported value: SM4",
            DATA_HEADER,
            data_encryption,
        )
    if key_id is not None and len(key_id) > _MAX_KEY_ID:
        raise invalid_argument("The KMS key id is too long.", KEY_ID_HEADER, key_id[:64])
    return SseSpec(KMS, data_encryption or "", key_id or "")


def from_headers(headers: dict[str, str]) -> SseSpec | None:
    """The encryption a write request asks for, or None when it names none."""
    algorithm = headers.get(HEADER)
    if algorithm is None:
        if KEY_ID_HEADER in headers:
            raise invalid_argument(
                "x-oss-server-side-encryption-key-id needs x-oss-server-side-encryption: KMS.",
                KEY_ID_HEADER,
                headers[KEY_ID_HEADER],
            )
        return None
    return spec(algorithm, headers.get(DATA_HEADER), headers.get(KEY_ID_HEADER))


def refuse_headers(headers: dict[str, str], operation: str) -> None:
    """UploadPart and CompleteMultipartUpload take the upload's encryption: naming one is refused."""
    for name in REQUEST_HEADERS:
        if name in headers:
            raise invalid_argument(
                f"{operation} does not take {name}: the upload's encryption is chosen when it is initiated.",
                name,
                headers[name],
            )


def response_headers(stored: str) -> list[tuple[str, str]]:
    """What GET, HEAD and the write operations answer about an object's (or upload's) encryption."""
    s = decode(stored)
    if s is None:
        return []
    out = [("x-oss-server-side-encryption", s.algorithm)]
    if s.algorithm == KMS:
        if s.data_encryption:
            out.append(("x-oss-server-side-data-encryption", s.data_encryption))
        out.append(("x-oss-server-side-encryption-key-id", s.kms_key_id))
    return out


# ---------------------------------------------------------------- the S3 dialect's headers
# SSE-S3 (AES256) and SSE-KMS (aws:kms) map onto AES256 and KMS; SSE-C (customer keys) is not served.
S3_HEADER = "x-amz-server-side-encryption"
S3_KEY_ID_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"
_S3_KMS = "aws:kms"


def from_s3_headers(headers: dict[str, str]) -> SseSpec | None:
    value = headers.get(S3_HEADER)
    key_id = headers.get(S3_KEY_ID_HEADER)
    if value is None:
        if key_id is not None:
            raise invalid_argument(
                "x-amz-server-side-encryption-aws-kms-key-id needs x-amz-server-side-encryption: aws:kms.",
                S3_KEY_ID_HEADER,
                key_id,
            )
        return None
    if value == AES256:
        return spec(AES256, None, key_id, S3_KEY_ID_HEADER)
    if value == _S3_KMS:
        return spec(KMS, None, key_id, S3_KEY_ID_HEADER)
    raise invalid_argument("The encryption method specified is not supported", S3_HEADER, value)


def s3_response_headers(stored: str) -> list[tuple[str, str]]:
    s = decode(stored)
    if s is None:
        return []
    if s.algorithm != KMS:
        return [(S3_HEADER, s.algorithm)]  # AES256, or SM4 (set through the OSS dialect), as it is
    return [(S3_HEADER, _S3_KMS), (S3_KEY_ID_HEADER, s.kms_key_id)]


# ---------------------------------------------------------------- the bucket's default rule
def parse_rule(body: bytes) -> SseSpec:
    """PutBucketEncryption's ServerSideEncryptionRule document."""
    doc = X.parse(body, "ServerSideEncryptionRule")
    apply = doc.find("ApplyServerSideEncryptionByDefault")
    if apply is None:
        raise OSSError(400, "MalformedXML", "ApplyServerSideEncryptionByDefault is missing.")
    algorithm = (X.child_text(apply, "SSEAlgorithm") or "").strip()
    if not algorithm:
        raise OSSError(400, "MalformedXML", "SSEAlgorithm is missing.")
    key_id = (X.child_text(apply, "KMSMasterKeyID") or "").strip()
    data = (X.child_text(apply, "KMSDataEncryption") or "").strip()
    return spec(algorithm, data or None, key_id or None, "KMSMasterKeyID")


def rule_fields(s: SseSpec | None) -> str:
    """The elements of a rule, as GetBucketEncryption's ApplyServerSideEncryptionByDefault and
    GetBucketInfo's ServerSideEncryptionRule carry them (`None` when there is no rule)."""
    if s is None:
        return X.el("SSEAlgorithm", "None")
    out = X.el("SSEAlgorithm", s.algorithm)
    if s.kms_key_id:
        out += X.el("KMSMasterKeyID", s.kms_key_id)
    if s.data_encryption:
        out += X.el("KMSDataEncryption", s.data_encryption)
    return out


def no_rule(bucket: str) -> OSSError:
    return OSSError(
        404,
        "NoSuchServerSideEncryptionRule",
        "The server side encryption configuration was not found.",
        {"BucketName": bucket},
    )
