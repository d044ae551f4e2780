"""Bucket retention (WORM): while a bucket has a retention policy, an object cannot be overwritten or
deleted until `RetentionPeriodInDays` after it was last written, by anyone (the owner included), by any
path (PUT, copy, complete, append, delete, batch delete, lifecycle). Metadata-only changes (a storage class
transition, a restore, a copy onto itself) leave the data as it is and are allowed.

A policy starts InProgress: it protects at once, may be aborted, and lapses 24 hours after creation unless
completed (Locked). A Locked policy can only be extended; it is never removed while the bucket exists.
Stored as the bucket configuration "worm" (JSON).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from ossbox.core.errors import OSSError, invalid_argument
from ossbox.meta.types import ObjectMeta

CONFIG = "worm"
IN_PROGRESS = "InProgress"
LOCKED = "Locked"
MAX_DAYS = 25550  # 70 years
_PENDING_MS = 24 * 3600 * 1000
_DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Policy:
    worm_id: str
    state: str
    days: int
    created_ms: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def load(document: str | None, now_ms: int) -> Policy | None:
    """The bucket's policy in force at `now_ms` (an InProgress one lapses after 24 hours)."""
    if not document:
        return None
    policy = Policy(**json.loads(document))
    if policy.state == IN_PROGRESS and now_ms >= policy.created_ms + _PENDING_MS:
        return None
    return policy


def new_policy(days: int, now_ms: int) -> Policy:
    check_days(days)
    return Policy(secrets.token_hex(16).upper(), IN_PROGRESS, days, now_ms)


def check_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise invalid_argument(
            "RetentionPeriodInDays must be between 1 and 25550.", "RetentionPeriodInDays", str(days)
        )


def protected(policy: Policy | None, existing: ObjectMeta | None, now_ms: int) -> bool:
    """Whether `existing` is still within the policy's retention period (delete markers never are)."""
    if policy is None or existing is None or existing.delete_marker:
        return False
    return now_ms < existing.mtime_ms + policy.days * _DAY_MS


def check_mutable(policy: Policy | None, existing: ObjectMeta | None, now_ms: int) -> None:
    """409 FileImmutable when `existing` is still within the policy's retention period."""
    if protected(policy, existing, now_ms):
        raise OSSError(
            409,
            "FileImmutable",
            "The object is protected by the bucket's retention policy and cannot be deleted or overwritten.",
        )


def no_policy() -> OSSError:
    return OSSError(404, "NoSuchWORMConfiguration", "The bucket has no retention policy.")
