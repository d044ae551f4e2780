"""What every OSS handler uses: the call, parameter parsing and shared XML pieces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from ossbox.auth.authenticator import Authenticator
from ossbox.auth.authorizer import Authorizer, Grant, request_values
from ossbox.auth.principals import Principal
from ossbox.core.errors import access_denied, invalid_argument, malformed_xml
from ossbox.http.request_view import STORED_HEADERS, RequestView
from ossbox.http.server import BodyTooLarge, Request, Response
from ossbox.meta.types import Bucket, ObjectMeta
from ossbox.protocol import object_tags, sse
from ossbox.protocol import xml as X
from ossbox.protocol.request import Access, OssRequest
from ossbox.service.conditions import WriteCondition
from ossbox.service.storage import Storage, WriteAttrs

ACLS = ("private", "public-read", "public-read-write")
OBJECT_ACLS = (*ACLS, "default")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
MAX_XML_BODY = 2 << 20
MAX_USER_META = 8 << 10


@dataclass(slots=True)
class Call(RequestView):
    """Everything a handler needs about one request."""

    http: Request
    req: OssRequest
    principal: Principal | None
    bucket: Bucket | None
    storage: Storage
    owner_id: str
    grant: Grant
    authorizer: Authorizer
    # What handlers beyond the core need (PostObject's signature, access logs); None in a bare app.
    extras: CallExtras | None = None

    def content_length(self) -> int | None:
        value = self.h.get("content-length")
        if value is None:
            return None
        if not value.isdigit():
            raise invalid_argument("Content-Length is not a number.", "Content-Length", value)
        return int(value)

    async def raw_xml_body(self) -> bytes:
        """The request body (an XML document), its Content-MD5 checked when sent."""
        try:
            body = await self.http.body.read_all(MAX_XML_BODY)
        except BodyTooLarge as exc:
            raise malformed_xml("The XML body is too large.") from exc
        if "content-md5" in self.h:
            import hashlib

            from ossbox.service.ingest import check_content_md5

            check_content_md5(self.h["content-md5"], hashlib.md5(body).digest())
        return body

    async def xml_body(self, root: str) -> Element:
        return X.parse(await self.raw_xml_body(), root)

    def authorize(self, access: Access, action: str, bucket: Bucket, key: str | None) -> Grant:
        """A check beyond the one at the edge (a copy's source, each key of a batch delete)."""
        if self.grant is Grant.OWNER or (self.principal is not None and self.principal.is_owner):
            return Grant.OWNER
        values = request_values(self.http.client, self.req.headers, self.req.query, secure=self.http.secure)
        return self.authorizer.check(self.principal, access, action, bucket, key, values)

    def check_object_read(self, bucket: Bucket, o: ObjectMeta, grant: Grant) -> None:
        """Under an ACL grant the object's ACL (or, when it has none, its bucket's) must allow reading."""
        if grant is not Grant.ACL:
            return
        acl = o.acl if o.acl != "default" else bucket.acl
        if acl not in ("public-read", "public-read-write"):
            raise access_denied("You have no right to access this object because of object acl.")

    def encoding_url(self) -> bool:
        value = self.q.get("encoding-type", "")
        if value not in ("", "url"):
            raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", value)
        return value == "url"


@dataclass(frozen=True, slots=True)
class CallExtras:
    authenticator: Authenticator


Handler = Callable[[Call], Awaitable[Response]]


def xml_document(document: str) -> Response:
    """A stored configuration document as the answer of its Get call."""
    return Response(200, [("Content-Type", "application/xml")], document.encode("utf-8"))


def int_param(q: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(name, "")
    if raw == "":
        return default
    if not raw.lstrip("-").isdigit():
        raise invalid_argument(f"Argument {name} must be an integer.", name, raw)
    value = int(raw)
    if value < lo or value > hi:
        raise invalid_argument(f"Argument {name} must be between {lo} and {hi}.", name, raw)
    return value


def owner_xml(owner_id: str) -> str:
    return f"<Owner><ID>{owner_id}</ID><DisplayName>{owner_id}</DisplayName></Owner>"


def location(region: str) -> str:
    return f"oss-{region}"


def acl_from(headers: dict[str, str], allowed: tuple[str, ...], name: str = "x-oss-object-acl") -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise invalid_argument("no such bucket access control exists", name, value)
    return value


def storage_class_from(headers: dict[str, str]) -> str | None:
    value = headers.get("x-oss-storage-class")
    if value is None:
        return None
    for known in STORAGE_CLASSES:
        if value.lower() == known.lower():
            return known
    raise invalid_argument("Invalid storage class.", "x-oss-storage-class", value)


def write_attrs(call: Call, key: str, with_tags: bool = True) -> WriteAttrs:
    """`with_tags`: x-oss-tagging is read (a later append ignores it, as OSS does, even when invalid)."""
    h = call.h
    meta = {k[len("x-oss-meta-") :]: v for k, v in h.items() if k.startswith("x-oss-meta-")}
    if sum(len(k) + len(v) for k, v in meta.items()) > MAX_USER_META:
        raise invalid_argument("User metadata is larger than 8 KB.", "x-oss-meta-*", "")
    # No guessing from the key's extension: the SDKs do that client-side, and OSS stores exactly what it got.
    content_type = h.get("content-type") or "application/octet-stream"
    return WriteAttrs(
        content_type=content_type,
        headers={canon: h[name] for name, canon in STORED_HEADERS.items() if name in h},
        user_meta=meta,
        acl=acl_from(h, OBJECT_ACLS) or "default",
        storage_class=storage_class_from(h),
        sse=sse.from_headers(h),
        tagging=object_tags.from_oss_header(h["x-oss-tagging"])
        if with_tags and "x-oss-tagging" in h
        else None,
    )


def write_condition(call: Call) -> WriteCondition:
    """OSS's one condition on writes: x-oss-forbid-overwrite: true (ossbox/service/conditions.py)."""
    return WriteCondition(forbid_overwrite=call.h.get("x-oss-forbid-overwrite", "").lower() == "true")


def enc(value: str, url: bool) -> str:
    return X.url_encode(value) if url else value


def grant_xml(acl: str) -> str:
    return f"<AccessControlList><Grant>{acl}</Grant></AccessControlList>"
