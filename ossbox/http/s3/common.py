"""What every S3 handler uses: the call, S3's XML envelope, names of ACLs and storage classes, headers."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote
from xml.etree.ElementTree import Element

from ossbox.auth.authenticator import ResolveCredential
from ossbox.auth.authorizer import Authorizer, Grant, request_values
from ossbox.auth.principals import Principal
from ossbox.auth.s3 import S3Auth
from ossbox.core.errors import OSSError, access_denied, invalid_argument, malformed_xml
from ossbox.core.versions import wire_version_id
from ossbox.http import request_view
from ossbox.http.request_view import STORED_HEADERS, RequestView
from ossbox.http.responses import restore_header
from ossbox.http.s3.body import S3Body
from ossbox.http.server import BodyTooLarge, Request, Response
from ossbox.meta.types import Bucket, ObjectMeta
from ossbox.protocol import object_tags, sse
from ossbox.protocol import xml as X
from ossbox.protocol.request import Access
from ossbox.protocol.s3 import checksums
from ossbox.protocol.s3.request import S3Request
from ossbox.protocol.times import http_date
from ossbox.service.storage import Storage, WriteAttrs

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_TYPE = ("Content-Type", "application/xml")
MAX_XML_BODY = 2 << 20
MAX_USER_META = 8 << 10
CANNED_ACLS = ("private", "public-read", "public-read-write")
# S3 storage class <-> OSS storage class (the same data; each dialect says it in its own words).
_FROM_S3 = {
    "STANDARD": "Standard",
    "STANDARD_IA": "IA",
    "ONEZONE_IA": "IA",
    "INTELLIGENT_TIERING": "Standard",
    "GLACIER_IR": "Archive",
    "GLACIER": "Archive",
    "DEEP_ARCHIVE": "ColdArchive",
}
_TO_S3 = {
    "Standard": "STANDARD",
    "IA": "STANDARD_IA",
    "Archive": "GLACIER",
    "ColdArchive": "DEEP_ARCHIVE",
    "DeepColdArchive": "DEEP_ARCHIVE",  # S3 has nothing colder
}
MAX_TAGS = 10


@dataclass(slots=True)
class S3Call(RequestView):
    """Everything an S3 handler needs about one request."""

    http: Request
    req: S3Request
    auth: S3Auth
    bucket: Bucket | None
    storage: Storage
    grant: Grant
    authorizer: Authorizer
    region: str
    resolve: ResolveCredential

    @property
    def principal(self) -> Principal | None:
        return self.auth.principal

    def body(self) -> S3Body:
        return S3Body(self.http.body, self.h, self.auth)

    async def xml_body(self, root: str, required: bool = True) -> Element | None:
        body = self.body()
        try:
            data = await body.read_all(MAX_XML_BODY)
        except BodyTooLarge as exc:
            raise malformed_xml("The XML body is too large.") from exc
        if "content-md5" in self.h:
            import hashlib

            from ossbox.service.ingest import check_content_md5

            check_content_md5(self.h["content-md5"], hashlib.md5(data).digest())
        if not data.strip() and not required:
            return None
        return X.parse(strip_namespace(data), root)

    def authorize(self, access: Access, action: str, bucket: Bucket, key: str | None) -> Grant:
        """A check beyond the one at the edge (a copy's source, each key of a batch delete)."""
        if self.grant is Grant.OWNER or (self.principal is not None and self.principal.is_owner):
            if self.principal is not None and bucket.owner_id != self.principal.owner_id:
                raise access_denied("You have no right to access this bucket.")
            return Grant.OWNER
        values = request_values(self.http.client, self.h, self.q, secure=self.http.secure)
        return self.authorizer.check(self.principal, access, action, bucket, key, values)

    def check_object_read(self, bucket: Bucket, o: ObjectMeta, grant: Grant) -> None:
        if grant is not Grant.ACL:
            return
        acl = o.acl if o.acl != "default" else bucket.acl
        if acl not in ("public-read", "public-read-write"):
            raise access_denied("Access Denied")

    def encoding_url(self) -> bool:
        value = self.q.get("encoding-type", "")
        if value not in ("", "url"):
            raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", value)
        return value == "url"

    def owner_id(self) -> str:
        return (
            self.bkt.owner_id
            if self.bucket is not None
            else (self.principal.owner_id if self.principal else "")
        )


S3Handler = Callable[[S3Call], Awaitable[Response]]


def strip_namespace(data: bytes) -> bytes:
    """Request documents come with S3's namespace (or none): parse them the same way."""
    return data.replace(f' xmlns="{NS}"'.encode(), b"", 1)


def document(root: str, inner: str) -> bytes:
    return f'{X.XML_DECL}<{root} xmlns="{NS}">{inner}</{root}>'.encode()


def xml(root: str, inner: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [XML_TYPE, *(headers or [])], document(root, inner))


def etag(value: str) -> str:
    """S3 writes the MD5 in lower-case hex (OSS in upper case): the same value, each dialect's spelling."""
    return f'"{value.lower()}"'


def owner_xml(owner_id: str, tag: str = "Owner") -> str:
    return f"<{tag}><ID>{X.esc(owner_id)}</ID><DisplayName>{X.esc(owner_id)}</DisplayName></{tag}>"


def s3_storage_class(oss_class: str) -> str:
    return _TO_S3.get(oss_class, "STANDARD")


def no_configuration(code: str, message: str, bucket: str) -> OSSError:
    """404 for a bucket configuration that was never set (NoSuchCORSConfiguration and the like)."""
    return OSSError(404, code, message, {"BucketName": bucket})


def oss_storage_class(s3_class: str) -> str | None:
    """The OSS storage class an S3 one names (None: not a class S3 has)."""
    return _FROM_S3.get(s3_class.upper())


def storage_class_from(h: dict[str, str]) -> str | None:
    value = h.get("x-amz-storage-class")
    if value is None:
        return None
    found = oss_storage_class(value)
    if found is None:
        raise OSSError(400, "InvalidStorageClass", "The storage class you specified is not valid")
    return found


def acl_from(h: dict[str, str]) -> str | None:
    value = h.get("x-amz-acl")
    if value is None:
        return None
    if value not in CANNED_ACLS:
        raise OSSError(501, "NotImplemented", f"The canned ACL {value!r} is not supported by ossbox.")
    return value


def enc(value: str, url: bool) -> str:
    return quote(value, safe="/-_.~") if url else value


def int_param(q: dict[str, str], name: str, default: int, hi: int) -> int:
    """A non-negative integer parameter; values above `hi` are clamped, as S3 does."""
    raw = q.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit():
        raise invalid_argument(f"Provided {name} not an integer or within integer range", name, raw)
    return min(int(raw), hi)


def parse_tagging(text: str) -> str:
    """Validate tags in x-amz-tagging form ("k=v&k2=v2"); returns them re-encoded canonically."""
    if not text:
        return ""
    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    return encode_tags(pairs)


def encode_tags(pairs: list[tuple[str, str]]) -> str:
    if len(pairs) > MAX_TAGS:
        raise OSSError(400, "BadRequest", "Object tags cannot be greater than 10")
    seen = set()
    for k, v in pairs:
        if not k or len(k) > 128 or len(v) > 256:
            raise OSSError(400, "InvalidTag", "The TagKey or TagValue you have provided is invalid.")
        if k in seen:
            raise OSSError(400, "InvalidTag", "Cannot provide multiple Tags with the same key")
        seen.add(k)
    return object_tags.encode(pairs)


def decode_tags(tagging: str) -> list[tuple[str, str]]:
    return object_tags.decode(tagging)


# Write options ossbox does not implement: refused rather than silently not applied.
_UNSUPPORTED_WRITE_HEADERS = (
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)


def read_target(call: S3Call, with_body: bool = False) -> tuple[ObjectMeta, bytes | None]:
    return request_view.read_target(call, with_body, "x-amz-")


def version_headers(call: S3Call, o: ObjectMeta) -> list[tuple[str, str]]:
    """x-amz-version-id (in buckets whose versioning was ever configured, as S3 answers) and
    x-amz-restore for an archived object being or having been restored."""
    out = [("x-amz-version-id", wire_version_id(o.version_id))] if call.bkt.versioning else []
    if o.restore is not None:
        value = restore_header(o.restore, call.storage.now_ms())
        if value:
            out.append(("x-amz-restore", value))
    return out


def write_attrs(call: S3Call) -> WriteAttrs:
    h = call.h
    for name in _UNSUPPORTED_WRITE_HEADERS:
        if name in h:
            raise OSSError(501, "NotImplemented", f"The {name} header is not implemented by ossbox.")
    meta = {k[len("x-amz-meta-") :]: v for k, v in h.items() if k.startswith("x-amz-meta-")}
    if sum(len(k) + len(v) for k, v in meta.items()) > MAX_USER_META:
        raise OSSError(
            400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size"
        )
    return WriteAttrs(
        content_type=h.get("content-type") or "application/octet-stream",
        headers={canon: h[name] for name, canon in STORED_HEADERS.items() if name in h},
        user_meta=meta,
        acl=acl_from(h) or "default",
        storage_class=storage_class_from(h),
        tagging=parse_tagging(h["x-amz-tagging"]) if "x-amz-tagging" in h else None,
        sse=sse.from_s3_headers(h),
    )


def checksum_headers(stored: str, prefix: str = "x-amz-checksum-") -> list[tuple[str, str]]:
    parsed = checksums.parse_stored(stored)
    if parsed is None:
        return []
    algorithm, value, kind = parsed
    return [(prefix + algorithm.lower(), value), ("x-amz-checksum-type", kind)]


def checksum_xml(stored: str, with_type: bool = True) -> str:
    parsed = checksums.parse_stored(stored)
    if parsed is None:
        return ""
    algorithm, value, kind = parsed
    out = X.el(f"Checksum{algorithm}", value)
    return out + (X.el("ChecksumType", kind) if with_type else "")


@functools.lru_cache(maxsize=4096)
def last_modified(epoch_s: int) -> str:
    return http_date(epoch_s)


def object_headers(o: ObjectMeta) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", o.content_type),
        ("ETag", etag(o.etag)),
        ("Last-Modified", last_modified(o.mtime_ms // 1000)),
        ("Accept-Ranges", "bytes"),
    ]
    if o.storage_class != "Standard":
        headers.append(("x-amz-storage-class", s3_storage_class(o.storage_class)))
    if o.tagging:
        headers.append(("x-amz-tagging-count", str(len(decode_tags(o.tagging)))))
    if o.sse:
        headers += sse.s3_response_headers(o.sse)
    headers += list(o.headers.items())
    headers += [(f"x-amz-meta-{k}", v) for k, v in o.user_meta.items()]
    return headers
