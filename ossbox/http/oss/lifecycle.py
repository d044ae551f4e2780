"""PutBucketLifecycle, GetBucketLifecycle, DeleteBucketLifecycle: the XML of lifecycle rules.

Structure errors (not XML, wrong root, unknown elements, a missing Status, a rule without any action)
are MalformedXML; values that are well placed but wrong (days, dates, storage classes, the order of
transitions, conflicting rules) are InvalidArgument, as OSS answers them. Rule semantics and the checks
across rules live in ossbox/service/lifecycle.py.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.http.oss.common import Call
from ossbox.http.responses import xml
from ossbox.http.server import Response
from ossbox.protocol import xml as X
from ossbox.protocol.configs.xmltree import midnight_ms, positive
from ossbox.protocol.times import iso8601
from ossbox.service.lifecycle import (
    AbortUploads,
    Exclusion,
    Expiration,
    NoncurrentTransition,
    Rule,
    Tag,
    Transition,
)

_RULE_CHILDREN = frozenset(
    [
        "ID",
        "Prefix",
        "Status",
        "Expiration",
        "Transition",
        "AbortMultipartUpload",
        "Tag",
        "NoncurrentVersionExpiration",
        "NoncurrentVersionTransition",
        "Filter",
        "AtimeBase",
    ]
)


# ---------------------------------------------------------------------------------------------- parsing
def _text(parent: Element, name: str) -> str | None:
    found = parent.find(name)
    if found is None:
        return None
    return (found.text or "").strip()


def _only(parent: Element, allowed: set[str]) -> None:
    for child in parent:
        if child.tag not in allowed:
            raise malformed_xml(f"Unexpected element {child.tag} in {parent.tag}.")


def _bool(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise invalid_argument(f"{name} must be true or false.", name, value)
    return lowered == "true"


def _when(node: Element) -> tuple[int | None, int | None]:
    """(Days, CreatedBeforeDate) of an action: exactly one of them."""
    days, before = _text(node, "Days"), _text(node, "CreatedBeforeDate")
    if days is not None and before is not None:
        raise invalid_argument(f"{node.tag} takes Days or CreatedBeforeDate, not both.", node.tag, "")
    if days is None and before is None:
        raise malformed_xml(f"{node.tag} needs Days or CreatedBeforeDate.")
    return (
        None if days is None else positive(days, "Days"),
        None if before is None else midnight_ms(before, "CreatedBeforeDate"),
    )


def _no_access_time(node: Element) -> None:
    """Rules on the last access time need access tracking (OSS: the bucket's access monitor), which
    ossbox does not keep; ReturnToStdWhenVisit and AllowSmallFile only go with them."""
    is_access_time = _text(node, "IsAccessTime")
    if is_access_time is not None and _bool(is_access_time, "IsAccessTime"):
        raise invalid_argument(
            "Lifecycle rules on the last access time need access tracking, which ossbox does not keep "
            "(the bucket's access monitor is disabled).",
            "IsAccessTime",
            is_access_time,
        )
    for name in ("ReturnToStdWhenVisit", "AllowSmallFile"):
        if node.find(name) is not None:
            raise invalid_argument(
                f"{name} is only valid with IsAccessTime=true.", name, _text(node, name) or ""
            )


def _storage_class(node: Element) -> str:
    value = _text(node, "StorageClass")
    if value is None:
        raise malformed_xml(f"{node.tag} needs a StorageClass.")
    return value  # checked by validate_rules


def _expiration(node: Element) -> Expiration | None:
    _only(node, {"Days", "CreatedBeforeDate", "Date", "ExpiredObjectDeleteMarker"})
    present = [child.tag for child in node]
    if len(present) > 1:
        raise invalid_argument(
            "Expiration takes one of Days, CreatedBeforeDate, Date or ExpiredObjectDeleteMarker.",
            "Expiration",
            ",".join(present),
        )
    days, before, date = _text(node, "Days"), _text(node, "CreatedBeforeDate"), _text(node, "Date")
    marker = _text(node, "ExpiredObjectDeleteMarker")
    if days is not None:
        return Expiration(days=positive(days, "Days"))
    if before is not None:
        return Expiration(created_before_ms=midnight_ms(before, "CreatedBeforeDate"))
    if date is not None:
        return Expiration(date_ms=midnight_ms(date, "Date"))
    if marker is not None and _bool(marker, "ExpiredObjectDeleteMarker"):
        return Expiration(expired_delete_marker=True)
    raise malformed_xml("Expiration needs Days, CreatedBeforeDate or ExpiredObjectDeleteMarker=true.")


def _tag(node: Element) -> Tag:
    key, value = _text(node, "Key"), _text(node, "Value")
    if key is None:
        raise malformed_xml("A Tag needs a Key.")
    return key, value or ""


def _filter(node: Element) -> tuple[tuple[Exclusion, ...], int | None, int | None]:
    _only(node, {"Not", "ObjectSizeGreaterThan", "ObjectSizeLessThan"})
    exclusions = []
    for not_node in node.findall("Not"):
        _only(not_node, {"Prefix", "Tag"})
        tag_node = not_node.find("Tag")
        exclusions.append(
            Exclusion(_text(not_node, "Prefix") or "", None if tag_node is None else _tag(tag_node))
        )
    sizes = []
    for name in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        value = _text(node, name)
        if value is not None and not value.isdigit():
            raise invalid_argument(f"{name} must be a non-negative integer.", name, value)
        sizes.append(None if value is None else int(value))
    return tuple(exclusions), sizes[0], sizes[1]


def _rule(node: Element) -> Rule:
    _only(node, set(_RULE_CHILDREN))
    status = _text(node, "Status")
    if status not in ("Enabled", "Disabled"):
        raise malformed_xml("A rule's Status must be Enabled or Disabled.")
    exp_node = node.find("Expiration")
    abort_node = node.find("AbortMultipartUpload")
    transitions = []
    for t in node.findall("Transition"):
        _only(
            t,
            {
                "Days",
                "CreatedBeforeDate",
                "StorageClass",
                "IsAccessTime",
                "ReturnToStdWhenVisit",
                "AllowSmallFile",
            },
        )
        _no_access_time(t)
        days, before = _when(t)
        transitions.append(Transition(_storage_class(t), days, before))
    noncurrent_transitions = []
    for t in node.findall("NoncurrentVersionTransition"):
        _only(t, {"NoncurrentDays", "StorageClass", "IsAccessTime", "ReturnToStdWhenVisit", "AllowSmallFile"})
        _no_access_time(t)
        days_text = _text(t, "NoncurrentDays")
        if days_text is None:
            raise malformed_xml("NoncurrentVersionTransition needs NoncurrentDays.")
        noncurrent_transitions.append(
            NoncurrentTransition(positive(days_text, "NoncurrentDays"), _storage_class(t))
        )
    noncurrent_days = None
    ne_node = node.find("NoncurrentVersionExpiration")
    if ne_node is not None:
        _only(ne_node, {"NoncurrentDays"})
        days_text = _text(ne_node, "NoncurrentDays")
        if days_text is None:
            raise malformed_xml("NoncurrentVersionExpiration needs NoncurrentDays.")
        noncurrent_days = positive(days_text, "NoncurrentDays")
    abort = None
    if abort_node is not None:
        _only(abort_node, {"Days", "CreatedBeforeDate"})
        days, before = _when(abort_node)
        abort = AbortUploads(days, before)
    filter_node = node.find("Filter")
    exclusions, size_gt, size_lt = _filter(filter_node) if filter_node is not None else ((), None, None)
    return Rule(
        id=_text(node, "ID") or "",
        prefix=_text(node, "Prefix") or "",
        enabled=status == "Enabled",
        expiration=None if exp_node is None else _expiration(exp_node),
        transitions=tuple(transitions),
        abort_uploads=abort,
        noncurrent_expiration_days=noncurrent_days,
        noncurrent_transitions=tuple(noncurrent_transitions),
        tags=tuple(_tag(t) for t in node.findall("Tag")),
        exclusions=exclusions,
        size_greater_than=size_gt,
        size_less_than=size_lt,
    )


def parse_lifecycle(doc: Element) -> list[Rule]:
    _only(doc, {"Rule"})
    return [_rule(r) for r in doc.findall("Rule")]


# ---------------------------------------------------------------------------------------------- rendering
def _date(ms: int) -> str:
    return iso8601(ms)


def _when_xml(days: int | None, before_ms: int | None) -> str:
    return X.el("Days", days) if days is not None else X.el("CreatedBeforeDate", _date(before_ms or 0))


def _tag_xml(tag: Tag) -> str:
    return f"<Tag>{X.els([('Key', tag[0]), ('Value', tag[1])])}</Tag>"


def render_rule(r: Rule) -> str:
    out = X.els([("ID", r.id), ("Prefix", r.prefix), ("Status", "Enabled" if r.enabled else "Disabled")])
    e = r.expiration
    if e is not None:
        if e.days is not None:
            inner = X.el("Days", e.days)
        elif e.created_before_ms is not None:
            inner = X.el("CreatedBeforeDate", _date(e.created_before_ms))
        elif e.date_ms is not None:
            inner = X.el("Date", _date(e.date_ms))
        else:
            inner = X.el("ExpiredObjectDeleteMarker", "true")
        out += f"<Expiration>{inner}</Expiration>"
    for t in r.transitions:
        when = _when_xml(t.days, t.created_before_ms)
        out += f"<Transition>{when}{X.el('StorageClass', t.storage_class)}</Transition>"
    if r.abort_uploads is not None:
        a = r.abort_uploads
        out += f"<AbortMultipartUpload>{_when_xml(a.days, a.created_before_ms)}</AbortMultipartUpload>"
    out += "".join(_tag_xml(t) for t in r.tags)
    if r.noncurrent_expiration_days is not None:
        out += (
            "<NoncurrentVersionExpiration>"
            f"{X.el('NoncurrentDays', r.noncurrent_expiration_days)}</NoncurrentVersionExpiration>"
        )
    for nt in r.noncurrent_transitions:
        out += (
            "<NoncurrentVersionTransition>"
            f"{X.els([('NoncurrentDays', nt.days), ('StorageClass', nt.storage_class)])}"
            "</NoncurrentVersionTransition>"
        )
    if r.exclusions or r.size_greater_than is not None or r.size_less_than is not None:
        f = ""
        if r.size_greater_than is not None:
            f += X.el("ObjectSizeGreaterThan", r.size_greater_than)
        if r.size_less_than is not None:
            f += X.el("ObjectSizeLessThan", r.size_less_than)
        for ex in r.exclusions:
            f += f"<Not>{X.el('Prefix', ex.prefix)}{_tag_xml(ex.tag) if ex.tag else ''}</Not>"
        out += f"<Filter>{f}</Filter>"
    return f"<Rule>{out}</Rule>"


# ---------------------------------------------------------------------------------------------- handlers
def no_such_lifecycle(bucket: str) -> OSSError:
    return OSSError(404, "NoSuchLifecycle", "No Row found in Lifecycle Table.", {"BucketName": bucket})


async def put_bucket_lifecycle(call: Call) -> Response:
    doc = await call.xml_body("LifecycleConfiguration")
    await call.storage.put_lifecycle(call.bkt.name, parse_lifecycle(doc))
    return Response(200)


async def get_bucket_lifecycle(call: Call) -> Response:
    rules = call.storage.lifecycle(call.bkt.name)
    if rules is None:
        raise no_such_lifecycle(call.bkt.name)
    return xml("LifecycleConfiguration", "".join(render_rule(r) for r in rules))


async def delete_bucket_lifecycle(call: Call) -> Response:
    await call.storage.delete_lifecycle(call.bkt.name)
    return Response(204)
