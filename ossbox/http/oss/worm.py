"""The bucket retention policy API (InitiateBucketWorm, AbortBucketWorm, CompleteBucketWorm,
ExtendBucketWorm, GetBucketWorm). What a policy does: ossbox/service/worm.py."""

from __future__ import annotations

from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.http.oss.common import Call
from ossbox.http.responses import xml
from ossbox.http.server import Response
from ossbox.protocol import xml as X
from ossbox.protocol.times import iso8601
from ossbox.service import bucket_configs, worm
from ossbox.service.worm import Policy


def _current(call: Call) -> Policy | None:
    return worm.load(call.storage.meta.bucket_configs.get(call.bkt.name, worm.CONFIG), call.storage.now_ms())


async def _days(call: Call, root: str) -> int:
    text = (await call.xml_body(root)).findtext("RetentionPeriodInDays")
    if text is None or not text.strip().isdigit():
        raise malformed_xml("RetentionPeriodInDays must be a positive integer.")
    days = int(text)
    worm.check_days(days)
    return days


def _matching(call: Call) -> Policy:
    policy = _current(call)
    if policy is None or policy.worm_id != call.q.get("wormId", ""):
        raise worm.no_policy()
    return policy


async def initiate(call: Call) -> Response:
    days = await _days(call, "InitiateWormConfiguration")
    if _current(call) is not None:
        raise OSSError(409, "WORMConfigurationAlreadyExist", "The bucket already has a retention policy.")
    if call.bkt.versioning == "Suspended":
        raise OSSError(409, "InvalidBucketState", "A retention policy needs versioning Enabled or never set.")
    policy = worm.new_policy(days, call.storage.now_ms())
    await bucket_configs.put(call.storage, call.bkt.name, worm.CONFIG, policy.to_json())
    return Response(200, [("x-oss-worm-id", policy.worm_id)])


async def abort(call: Call) -> Response:
    policy = _current(call)
    if policy is None:
        raise worm.no_policy()
    if policy.state == worm.LOCKED:
        raise OSSError(409, "WORMConfigurationLocked", "A locked retention policy cannot be removed.")
    await bucket_configs.delete(call.storage, call.bkt.name, worm.CONFIG)
    return Response(204)


async def complete(call: Call) -> Response:
    policy = _matching(call)
    if policy.state != worm.IN_PROGRESS:
        raise OSSError(409, "WORMConfigurationLocked", "The retention policy is already locked.")
    locked = Policy(policy.worm_id, worm.LOCKED, policy.days, policy.created_ms)
    await bucket_configs.put(call.storage, call.bkt.name, worm.CONFIG, locked.to_json())
    return Response(200)


async def extend(call: Call) -> Response:
    policy = _matching(call)
    days = await _days(call, "ExtendWormConfiguration")
    if policy.state != worm.LOCKED:
        raise OSSError(409, "InvalidWORMState", "Only a locked retention policy can be extended.")
    if days <= policy.days:
        raise invalid_argument(
            "An extension must be longer than the current period.", "RetentionPeriodInDays", str(days)
        )
    longer = Policy(policy.worm_id, worm.LOCKED, days, policy.created_ms)
    await bucket_configs.put(call.storage, call.bkt.name, worm.CONFIG, longer.to_json())
    return Response(200)


async def get(call: Call) -> Response:
    policy = _current(call)
    if policy is None:
        raise worm.no_policy()
    inner = X.els(
        [
            ("WormId", policy.worm_id),
            ("State", policy.state),
            ("RetentionPeriodInDays", policy.days),
            ("CreationDate", iso8601(policy.created_ms)),
        ]
    )
    return xml("WormConfiguration", inner)
