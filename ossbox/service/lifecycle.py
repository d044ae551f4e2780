"""Lifecycle rules: what they say, whether they make sense, and what they want done to an object now.

Dialect-free: the OSS handlers parse and render the XML (ossbox/http/oss/lifecycle.py); the rules are stored
as JSON (`rules_to_json`) and executed by ossbox/service/lifecycle_runner.py.

Time semantics: `Days` counts from the object's last modification (for noncurrent versions: from the
moment they stopped being current) in whole 24-hour periods of the storage clock, exactly, rather than
rounding to the next midnight as OSS does. `CreatedBeforeDate` applies to objects last modified before that
midnight (UTC). The deprecated `Date` applies to every matching object once that date has come.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from ossbox.core.clock import DAY_MS
from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.service.archive import COLDNESS

MAX_RULES = 1000
MAX_RULE_ID = 255
TRANSITION_CLASSES = ("IA", "Archive", "ColdArchive", "DeepColdArchive")
_TAG_TEXT = re.compile(r"^[\w\s+\-=.:/@]*$")

Tag = tuple[str, str]


@dataclass(frozen=True)
class Expiration:
    days: int | None = None
    created_before_ms: int | None = None
    date_ms: int | None = None
    expired_delete_marker: bool = False


@dataclass(frozen=True)
class Transition:
    storage_class: str
    days: int | None = None
    created_before_ms: int | None = None


@dataclass(frozen=True)
class AbortUploads:
    days: int | None = None
    created_before_ms: int | None = None


@dataclass(frozen=True)
class NoncurrentTransition:
    days: int
    storage_class: str


@dataclass(frozen=True)
class Exclusion:
    """Filter/Not: objects under `prefix` (and carrying `tag`, when given) are left alone."""

    prefix: str
    tag: Tag | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    prefix: str
    enabled: bool
    expiration: Expiration | None = None
    transitions: tuple[Transition, ...] = ()
    abort_uploads: AbortUploads | None = None
    noncurrent_expiration_days: int | None = None
    noncurrent_transitions: tuple[NoncurrentTransition, ...] = ()
    tags: tuple[Tag, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None

    @property
    def has_action(self) -> bool:
        return bool(
            self.expiration
            or self.transitions
            or self.abort_uploads
            or self.noncurrent_expiration_days is not None
            or self.noncurrent_transitions
        )


# ---------------------------------------------------------------------------------------------- storage
def rules_to_json(rules: Sequence[Rule]) -> str:
    return json.dumps([asdict(r) for r in rules], separators=(",", ":"), ensure_ascii=False)


def rules_from_json(text: str) -> list[Rule]:
    out = []
    for d in json.loads(text):
        exp = d.get("expiration")
        abort = d.get("abort_uploads")
        out.append(
            Rule(
                id=d["id"],
                prefix=d["prefix"],
                enabled=d["enabled"],
                expiration=Expiration(**exp) if exp else None,
                transitions=tuple(Transition(**t) for t in d["transitions"]),
                abort_uploads=AbortUploads(**abort) if abort else None,
                noncurrent_expiration_days=d["noncurrent_expiration_days"],
                noncurrent_transitions=tuple(NoncurrentTransition(**t) for t in d["noncurrent_transitions"]),
                tags=tuple((k, v) for k, v in d["tags"]),
                exclusions=tuple(
                    Exclusion(e["prefix"], None if e["tag"] is None else (e["tag"][0], e["tag"][1]))
                    for e in d["exclusions"]
                ),
                size_greater_than=d["size_greater_than"],
                size_less_than=d["size_less_than"],
            )
        )
    return out


# ---------------------------------------------------------------------------------------------- validation
def _timed(action: Expiration | Transition) -> bool:
    """Whether the action is set by age (Days) or by a creation date (not an expiry date or marker only)."""
    return action.days is not None or action.created_before_ms is not None


def _lifecycle_error(message: str) -> OSSError:
    return invalid_argument(message, "LifecycleConfiguration", "")


@dataclass
class _Timeline:
    """Days-based (or date-based) actions on one kind of version, to check that they come in order."""

    transitions: list[tuple[str, int]] = field(default_factory=list)  # (storage class, days)
    expiration: int | None = None
    dated_transitions: list[tuple[str, int]] = field(default_factory=list)  # (class, created-before ms)
    dated_expiration: int | None = None


def _check_timeline(t: _Timeline, what: str) -> None:
    by_days = sorted(t.transitions, key=lambda x: COLDNESS[x[0]])
    for (c1, d1), (c2, d2) in itertools.pairwise(by_days):
        if c1 != c2 and d1 >= d2:
            raise _lifecycle_error(
                f"The {what}transition to {c2} ({d2} days) must come later than the one to {c1} ({d1} days)."
            )
    if t.expiration is not None and any(t.expiration <= d for _, d in t.transitions):
        raise _lifecycle_error(f"The {what}expiration must come later than every {what}transition.")
    by_date = sorted(t.dated_transitions, key=lambda x: COLDNESS[x[0]])
    for (c1, d1), (c2, d2) in itertools.pairwise(by_date):
        if c1 != c2 and d1 <= d2:
            raise _lifecycle_error(
                f"The transition to {c2} must apply to older objects (an earlier CreatedBeforeDate) than "
                f"the one to {c1}."
            )
    if t.dated_expiration is not None and any(t.dated_expiration >= d for _, d in t.dated_transitions):
        raise _lifecycle_error("The expiration must apply to older objects than every transition.")


def _timelines(rules: Sequence[Rule]) -> tuple[_Timeline, _Timeline]:
    current, noncurrent = _Timeline(), _Timeline()
    for r in rules:
        for t in r.transitions:
            if t.days is not None:
                current.transitions.append((t.storage_class, t.days))
            if t.created_before_ms is not None:
                current.dated_transitions.append((t.storage_class, t.created_before_ms))
        if r.expiration is not None:
            if r.expiration.days is not None:
                current.expiration = min(r.expiration.days, current.expiration or r.expiration.days)
            if r.expiration.created_before_ms is not None:
                before = r.expiration.created_before_ms
                current.dated_expiration = max(before, current.dated_expiration or before)
        noncurrent.transitions += [(t.storage_class, t.days) for t in r.noncurrent_transitions]
        if r.noncurrent_expiration_days is not None:
            days = r.noncurrent_expiration_days
            noncurrent.expiration = min(days, noncurrent.expiration or days)
    return current, noncurrent


def _check_rule(r: Rule) -> None:
    if len(r.id) > MAX_RULE_ID:
        raise _lifecycle_error(f"A rule ID is at most {MAX_RULE_ID} characters.")
    if not r.has_action:
        raise malformed_xml("A lifecycle rule needs at least one action (Expiration, Transition, ...).")
    classes = [t.storage_class for t in r.transitions]
    if len(set(classes)) != len(classes):
        raise _lifecycle_error("A rule may transition to each storage class only once.")
    classes = [t.storage_class for t in r.noncurrent_transitions]
    if len(set(classes)) != len(classes):
        raise _lifecycle_error("A rule may transition noncurrent versions to each storage class only once.")
    for t in r.transitions:
        if t.storage_class not in TRANSITION_CLASSES:
            raise _lifecycle_error(f"Invalid transition storage class {t.storage_class!r}.")
    for nt in r.noncurrent_transitions:
        if nt.storage_class not in TRANSITION_CLASSES:
            raise _lifecycle_error(f"Invalid transition storage class {nt.storage_class!r}.")
    if r.tags and r.abort_uploads is not None:
        raise _lifecycle_error(
            "A rule with Tag filters cannot abort multipart uploads (uploads carry no tags)."
        )
    # OSS takes a rule's Tag filters past the limits of object tags (more than 10, keys over 128 bytes):
    # such a rule just never matches. It refuses characters a tag may not hold, and so does ossbox.
    keys = [k for k, _ in r.tags]
    if len(set(keys)) != len(keys):
        raise _lifecycle_error("The tag keys of a rule must be unique.")
    for k, v in (*r.tags, *(e.tag for e in r.exclusions if e.tag)):
        if not k or not _TAG_TEXT.match(k) or not _TAG_TEXT.match(v):
            raise _lifecycle_error(
                "Tag keys and values may hold letters, digits, spaces and + - = . _ : / @."
            )
    by_days = [a.days is not None for a in (r.expiration, *r.transitions) if a is not None and _timed(a)]
    if by_days and len(set(by_days)) > 1:
        raise OSSError(
            400,
            "InvalidRequest",
            "Found mixed CreatedBeforeDate and Days based Expiration and Transition actions in the rule.",
        )
    for e in r.exclusions:
        if not e.prefix.startswith(r.prefix) or (e.prefix == r.prefix and e.tag is None):
            raise _lifecycle_error("Filter/Not/Prefix must extend the rule's Prefix.")
    gt, lt = r.size_greater_than, r.size_less_than
    if gt is not None and lt is not None and gt >= lt:
        raise _lifecycle_error("ObjectSizeGreaterThan must be less than ObjectSizeLessThan.")
    current, noncurrent = _timelines([r])
    _check_timeline(current, "")
    _check_timeline(noncurrent, "noncurrent ")


def _overlap(a: Rule, b: Rule) -> bool:
    """Rules that can apply to the same object (tags could set them apart, so rules with tags never do)."""
    if a.tags or b.tags:
        return False
    return a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)


def validate_rules(rules: Sequence[Rule]) -> list[Rule]:
    """Check a whole configuration; returns it with generated IDs for rules that had none."""
    if not rules:
        raise malformed_xml("A lifecycle configuration needs at least one Rule.")
    if len(rules) > MAX_RULES:
        raise _lifecycle_error(f"A bucket has at most {MAX_RULES} lifecycle rules.")
    out = [r if r.id else _with_id(r) for r in rules]
    ids = [r.id for r in out]
    if len(set(ids)) != len(ids):
        raise _lifecycle_error("The IDs of lifecycle rules must be unique.")
    for r in out:
        _check_rule(r)
    enabled = [r for r in out if r.enabled]
    for i, a in enumerate(enabled):
        for b in enabled[i + 1 :]:
            if _overlap(a, b):
                current, noncurrent = _timelines([a, b])
                try:
                    _check_timeline(current, "")
                    _check_timeline(noncurrent, "noncurrent ")
                except OSSError as exc:
                    raise _lifecycle_error(
                        f"Rules {a.id!r} and {b.id!r} have overlapping prefixes and conflicting actions: "
                        + exc.message
                    ) from exc
    return out


def _with_id(r: Rule) -> Rule:
    from dataclasses import replace

    return replace(r, id=secrets.token_hex(16))


# ---------------------------------------------------------------------------------------------- evaluation
def matches(rule: Rule, key: str, size: int, tags: Mapping[str, str]) -> bool:
    if not rule.enabled or not key.startswith(rule.prefix):
        return False
    if any(tags.get(k) != v for k, v in rule.tags):
        return False
    for e in rule.exclusions:
        if key.startswith(e.prefix) and (e.tag is None or tags.get(e.tag[0]) == e.tag[1]):
            return False
    if rule.size_greater_than is not None and not size > rule.size_greater_than:
        return False
    return not (rule.size_less_than is not None and not size < rule.size_less_than)


def _due(days: int | None, created_before_ms: int | None, since_ms: int, now_ms: int) -> bool:
    if days is not None:
        return since_ms + days * DAY_MS <= now_ms
    return created_before_ms is not None and since_ms < created_before_ms


@dataclass(frozen=True)
class Action:
    """What lifecycle wants done to one version: delete it (expire) or move it to `storage_class`."""

    expire: bool
    storage_class: str = ""


def _coldest(targets: list[str], current_class: str) -> Action | None:
    if not targets:
        return None
    coldest = max(targets, key=lambda c: COLDNESS[c])
    if COLDNESS[coldest] <= COLDNESS.get(current_class, 0):
        return None
    return Action(False, coldest)


def current_action(
    rules: Sequence[Rule],
    key: str,
    size: int,
    mtime_ms: int,
    storage_class: str,
    tags: Mapping[str, str],
    now_ms: int,
) -> Action | None:
    """For the current version of a key."""
    targets = []
    for r in rules:
        if not matches(r, key, size, tags):
            continue
        e = r.expiration
        if e is not None and (
            _due(e.days, e.created_before_ms, mtime_ms, now_ms)
            or (e.date_ms is not None and now_ms >= e.date_ms)
        ):
            return Action(True)
        targets += [
            t.storage_class for t in r.transitions if _due(t.days, t.created_before_ms, mtime_ms, now_ms)
        ]
    return _coldest(targets, storage_class)


def noncurrent_action(
    rules: Sequence[Rule],
    key: str,
    size: int,
    noncurrent_ms: int,
    storage_class: str,
    tags: Mapping[str, str],
    now_ms: int,
    delete_marker: bool,
) -> Action | None:
    """For a version that is no longer current (delete markers included, which can only expire)."""
    targets = []
    for r in rules:
        if not matches(r, key, size, tags):
            continue
        if r.noncurrent_expiration_days is not None and _due(
            r.noncurrent_expiration_days, None, noncurrent_ms, now_ms
        ):
            return Action(True)
        if not delete_marker:
            targets += [
                t.storage_class for t in r.noncurrent_transitions if _due(t.days, None, noncurrent_ms, now_ms)
            ]
    return _coldest(targets, storage_class)


def removes_expired_delete_markers(rules: Sequence[Rule], key: str) -> bool:
    """Whether a delete marker that is all that is left of `key` is removed (ExpiredObjectDeleteMarker)."""
    return any(
        r.expiration is not None and r.expiration.expired_delete_marker and matches(r, key, 0, {})
        for r in rules
    )


def abort_due(rules: Sequence[Rule], key: str, initiated_ms: int, now_ms: int) -> bool:
    for r in rules:
        a = r.abort_uploads
        if (
            a is not None
            and r.enabled
            and key.startswith(r.prefix)
            and _due(a.days, a.created_before_ms, initiated_ms, now_ms)
        ) and not any(key.startswith(e.prefix) and e.tag is None for e in r.exclusions):
            return True
    return False
