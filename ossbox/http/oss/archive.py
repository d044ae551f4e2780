"""RestoreObject: `POST /key?restore[&versionId=]` with an optional RestoreRequest body."""

from __future__ import annotations

from ossbox.core.errors import malformed_xml
from ossbox.core.versions import wire_version_id
from ossbox.http.oss.common import MAX_XML_BODY, Call
from ossbox.http.server import BodyTooLarge, Response
from ossbox.protocol import xml as X

DEFAULT_DAYS = 1


async def _request(call: Call) -> tuple[int, str | None]:
    """(Days, Tier or None) from the body; no body means one day at the default priority."""
    try:
        body = await call.http.body.read_all(MAX_XML_BODY)
    except BodyTooLarge as exc:
        raise malformed_xml("The XML body is too large.") from exc
    if not body.strip():
        return DEFAULT_DAYS, None
    doc = X.parse(body, "RestoreRequest")
    for child in doc:
        if child.tag not in ("Days", "JobParameters"):
            raise malformed_xml(f"Unexpected element {child.tag} in RestoreRequest.")
    days_text = (X.child_text(doc, "Days") or "").strip()
    if not days_text:
        days = DEFAULT_DAYS
    elif days_text.isdigit():
        days = int(days_text)
    else:
        raise malformed_xml("Days must be an integer.")
    tier = None
    job = doc.find("JobParameters")
    if job is not None:
        tier = (X.child_text(job, "Tier") or "").strip() or "Standard"
    return days, tier


async def restore_object(call: Call) -> Response:
    days, tier = await _request(call)
    done = await call.storage.restore_object(call.bkt.name, call.key, call.q.get("versionId"), days, tier)
    headers = []
    if done.tier:
        headers.append(("x-oss-object-restore-priority", done.tier))
    if call.bkt.versioning:
        headers.append(("x-oss-version-id", wire_version_id(done.version_id)))
    return Response(202 if done.started else 200, headers)
