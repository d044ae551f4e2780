"""Put/Get/DeleteBucketLifecycleConfiguration: S3's lifecycle XML onto the rules the OSS dialect stores and
the lifecycle pass executes (ossbox/service/lifecycle.py), so that rules set through either dialect are one
set.

S3 -> rule: `Filter` (Prefix, Tag, ObjectSizeGreaterThan/LessThan, or several in `And`; a rule-level
`Prefix` as in the old form), `Expiration` (Days, Date, ExpiredObjectDeleteMarker), `Transition` (Days, or
Date as "created before that midnight"), `NoncurrentVersionExpiration` and `NoncurrentVersionTransition`
(NoncurrentDays), `AbortIncompleteMultipartUpload` (DaysAfterInitiation). S3 storage classes are OSS's as
everywhere in the dialect (STANDARD_IA -> IA, GLACIER -> Archive, DEEP_ARCHIVE -> ColdArchive).
`NewerNoncurrentVersions` is refused with 501: the pass has no such count, and ignoring it would delete more
than asked. A rule's OSS-only exclusions (Filter/Not) are not shown through S3.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from ossbox.core.errors import invalid_argument, malformed_xml, not_implemented
from ossbox.http.s3.common import S3Call, no_configuration, oss_storage_class, s3_storage_class, xml
from ossbox.http.server import Response
from ossbox.protocol import xml as X
from ossbox.protocol.configs.xmltree import midnight_ms, positive, text
from ossbox.protocol.times import iso8601
from ossbox.service.lifecycle import AbortUploads, Expiration, NoncurrentTransition, Rule, Tag, Transition


def _storage_class(node: Element) -> str:
    value = text(node, "StorageClass")
    if value is None:
        raise malformed_xml(f"{node.tag} needs a StorageClass.")
    found = oss_storage_class(value)  # STANDARD is refused with the other non-transition classes
    if found is None:
        raise invalid_argument("The storage class you specified is not valid", "StorageClass", value)
    return found


def _tag(node: Element) -> Tag:
    key, value = text(node, "Key"), text(node, "Value")
    if key is None or value is None:
        raise malformed_xml("A Tag needs a Key and a Value.")
    return key, value


def _size(node: Element, name: str) -> int | None:
    value = text(node, name)
    if value is None:
        return None
    if not value.isdigit():
        raise invalid_argument(f"{name} must be a non-negative integer.", name, value)
    return int(value)


def _filter(rule: Element) -> tuple[str, tuple[Tag, ...], int | None, int | None]:
    """(prefix, tags, size greater than, size less than)."""
    node = rule.find("Filter")
    if node is None:
        return text(rule, "Prefix") or "", (), None, None
    both = node.find("And")
    if both is not None:
        node = both
    elif len(list(node)) > 1:
        raise malformed_xml("A Filter with more than one condition needs And.")
    tags = tuple(_tag(t) for t in node.findall("Tag"))
    return (
        text(node, "Prefix") or "",
        tags,
        _size(node, "ObjectSizeGreaterThan"),
        _size(node, "ObjectSizeLessThan"),
    )


def _expiration(node: Element) -> Expiration:
    days, date, marker = text(node, "Days"), text(node, "Date"), text(node, "ExpiredObjectDeleteMarker")
    if sum(v is not None for v in (days, date, marker)) != 1:
        raise malformed_xml("Expiration takes one of Days, Date or ExpiredObjectDeleteMarker.")
    if days is not None:
        return Expiration(days=positive(days, "Days"))
    if date is not None:
        return Expiration(date_ms=midnight_ms(date, "Date"))
    if (marker or "").lower() != "true":
        raise malformed_xml("ExpiredObjectDeleteMarker must be true.")
    return Expiration(expired_delete_marker=True)


def _transition(node: Element) -> Transition:
    days, date = text(node, "Days"), text(node, "Date")
    if (days is None) == (date is None):
        raise malformed_xml("A Transition takes Days or Date.")
    if days is not None:
        return Transition(_storage_class(node), days=positive(days, "Days"))
    return Transition(_storage_class(node), created_before_ms=midnight_ms(date or "", "Date"))


def _noncurrent_days(node: Element) -> int:
    if node.find("NewerNoncurrentVersions") is not None:
        raise not_implemented("NewerNoncurrentVersions")
    days = text(node, "NoncurrentDays")
    if days is None:
        raise malformed_xml(f"{node.tag} needs NoncurrentDays.")
    return positive(days, "NoncurrentDays")


def _rule(node: Element) -> Rule:
    status = text(node, "Status")
    if status not in ("Enabled", "Disabled"):
        raise malformed_xml("A rule's Status must be Enabled or Disabled.")
    prefix, tags, size_gt, size_lt = _filter(node)
    exp = node.find("Expiration")
    ne = node.find("NoncurrentVersionExpiration")
    abort = node.find("AbortIncompleteMultipartUpload")
    abort_days = None
    if abort is not None:
        value = text(abort, "DaysAfterInitiation")
        if value is None:
            raise malformed_xml("AbortIncompleteMultipartUpload needs DaysAfterInitiation.")
        abort_days = positive(value, "DaysAfterInitiation")
    return Rule(
        id=text(node, "ID") or "",
        prefix=prefix,
        enabled=status == "Enabled",
        expiration=None if exp is None else _expiration(exp),
        transitions=tuple(_transition(t) for t in node.findall("Transition")),
        abort_uploads=None if abort_days is None else AbortUploads(days=abort_days),
        noncurrent_expiration_days=None if ne is None else _noncurrent_days(ne),
        noncurrent_transitions=tuple(
            NoncurrentTransition(_noncurrent_days(t), _storage_class(t))
            for t in node.findall("NoncurrentVersionTransition")
        ),
        tags=tags,
        size_greater_than=size_gt,
        size_less_than=size_lt,
    )


def _render_rule(r: Rule) -> str:
    sized = r.size_greater_than is not None or r.size_less_than is not None
    conditions = [X.el("Prefix", r.prefix)] if r.prefix or not (r.tags or sized) else []
    conditions += [f"<Tag>{X.els([('Key', k), ('Value', v)])}</Tag>" for k, v in r.tags]
    if r.size_greater_than is not None:
        conditions.append(X.el("ObjectSizeGreaterThan", r.size_greater_than))
    if r.size_less_than is not None:
        conditions.append(X.el("ObjectSizeLessThan", r.size_less_than))
    inner = "".join(conditions)
    out = X.el("ID", r.id) + f"<Filter>{inner if len(conditions) == 1 else f'<And>{inner}</And>'}</Filter>"
    out += X.el("Status", "Enabled" if r.enabled else "Disabled")
    e = r.expiration
    if e is not None:
        if e.days is not None:
            when = X.el("Days", e.days)
        elif e.date_ms is not None or e.created_before_ms is not None:
            when = X.el("Date", iso8601(e.date_ms or e.created_before_ms or 0))
        else:
            when = X.el("ExpiredObjectDeleteMarker", "true")
        out += f"<Expiration>{when}</Expiration>"
    for t in r.transitions:
        when = X.el("Days", t.days) if t.days is not None else X.el("Date", iso8601(t.created_before_ms or 0))
        out += f"<Transition>{when}{X.el('StorageClass', s3_storage_class(t.storage_class))}</Transition>"
    if r.noncurrent_expiration_days is not None:
        days = X.el("NoncurrentDays", r.noncurrent_expiration_days)
        out += f"<NoncurrentVersionExpiration>{days}</NoncurrentVersionExpiration>"
    for nt in r.noncurrent_transitions:
        body = X.els([("NoncurrentDays", nt.days), ("StorageClass", s3_storage_class(nt.storage_class))])
        out += f"<NoncurrentVersionTransition>{body}</NoncurrentVersionTransition>"
    if r.abort_uploads is not None and r.abort_uploads.days is not None:
        days = X.el("DaysAfterInitiation", r.abort_uploads.days)
        out += f"<AbortIncompleteMultipartUpload>{days}</AbortIncompleteMultipartUpload>"
    return f"<Rule>{out}</Rule>"


async def put_bucket_lifecycle(call: S3Call) -> Response:
    doc = await call.xml_body("LifecycleConfiguration")
    assert doc is not None
    rules = doc.findall("Rule")
    if not rules or len(list(doc)) != len(rules):
        raise malformed_xml("A LifecycleConfiguration holds one or more Rule elements.")
    await call.storage.put_lifecycle(call.bkt.name, [_rule(r) for r in rules])
    return Response(200)


async def get_bucket_lifecycle(call: S3Call) -> Response:
    rules = call.storage.lifecycle(call.bkt.name)
    if rules is None:
        raise no_configuration(
            "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", call.bkt.name
        )
    return xml("LifecycleConfiguration", "".join(_render_rule(r) for r in rules))


async def delete_bucket_lifecycle(call: S3Call) -> Response:
    await call.storage.delete_lifecycle(call.bkt.name)
    return Response(204)
