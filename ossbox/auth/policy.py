"""Access policies in Alibaba Cloud's language (RAM policies, bucket policies): parsing and evaluation.

A policy is `{"Version": "1", "Statement": [...]}`; each statement has an Effect (Allow or Deny), Action (or
NotAction), Resource (or NotResource), an optional Condition and, in bucket policies, a Principal. Actions are
matched case-insensitively with `*` and `?` wildcards, resources case-sensitively. An explicit Deny in any
policy that applies wins over every Allow. Pure code: no I/O.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache

from ossbox.core.errors import OSSError

MAX_RAM_POLICY_BYTES = 6144
MAX_BUCKET_POLICY_BYTES = 16 * 1024
SERVICES = ("oss", "sts", "ram", "ots", "odps", "*")
# The principal a bucket policy statement without Principal names; every signed caller of the account has it.
ACCOUNT_IDENTITIES = "<every identity of the account>"


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"
    NONE = "none"  # no statement applies


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[str, ...] | None  # bucket policies only; None when absent
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    text: str = field(compare=False, default="")


@dataclass(frozen=True)
class RequestContext:
    """What a statement is matched against."""

    action: str  # "oss:GetObject"
    resource: str  # "acs:oss:cn-hangzhou:1234:bucket/key"
    principal_ids: tuple[str, ...] = ()  # ids a bucket policy's Principal may name
    # Condition keys, lower-cased: "acs:sourceip", "acs:securetransport", "acs:currenttime",
    # "acs:useragent", "oss:prefix", "oss:delimiter", ... Values are strings (or absent).
    values: Mapping[str, str] = field(default_factory=dict)


def policy_error(message: str, code: str = "MalformedPolicy") -> OSSError:
    """A policy document that cannot be accepted (400, with a message saying what is wrong)."""
    return OSSError(400, code, message)


# ---------------------------------------------------------------------------------------------- parsing
def parse_policy(
    text: str | bytes, *, bucket_policy: bool = False, trust: bool = False, known_actions: frozenset[str]
) -> Policy:
    """Parse and validate; raises an OSSError with a message that says what is wrong.

    `bucket_policy`: statements need a Principal. `trust` (a role's trust policy): they need a Principal and
    may leave out Resource.
    """
    raw = text.encode() if isinstance(text, str) else text
    limit = MAX_BUCKET_POLICY_BYTES if bucket_policy else MAX_RAM_POLICY_BYTES
    if len(raw) > limit:
        raise policy_error(f"The policy document is larger than {limit} bytes.", "PolicyTooLarge")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise policy_error(f"The policy document is not valid JSON: {exc}.") from exc
    if not isinstance(doc, dict):
        raise policy_error("The policy document must be a JSON object.")
    unknown = set(doc) - {"Version", "Statement", "Id"}
    if unknown:
        raise policy_error(f"Unknown policy element {sorted(unknown)[0]!r}.")
    if str(doc.get("Version")) != "1":
        raise policy_error('The policy Version must be "1".')
    raw_statements = doc.get("Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise policy_error("The policy must hold a non-empty Statement list.")
    statements = tuple(
        _statement(s, i, bucket_policy or trust, trust, known_actions)
        for i, s in enumerate(raw_statements, start=1)
    )
    return Policy(statements, raw.decode("utf-8"))


def _strings(value: object, what: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise policy_error(f"{where}: {what} must be a string or a non-empty list of strings.")


def _statement(
    raw: object, index: int, needs_principal: bool, trust: bool, known_actions: frozenset[str]
) -> Statement:
    where = f"Statement {index}"
    if not isinstance(raw, dict):
        raise policy_error(f"{where} must be a JSON object.")
    allowed = {"Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Sid", "Principal"}
    unknown = set(raw) - allowed
    if unknown:
        raise policy_error(f"{where}: unknown element {sorted(unknown)[0]!r}.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise policy_error(f'{where}: Effect must be "Allow" or "Deny".')
    if ("Action" in raw) == ("NotAction" in raw):
        raise policy_error(f"{where}: exactly one of Action and NotAction is required.")
    actions = _strings(raw["Action"], "Action", where) if "Action" in raw else ()
    not_actions = _strings(raw["NotAction"], "NotAction", where) if "NotAction" in raw else ()
    for action in (*actions, *not_actions):
        _check_action(action, where, known_actions)
    if trust and "Resource" not in raw and "NotResource" not in raw:
        raw = {**raw, "Resource": "*"}
    if ("Resource" in raw) == ("NotResource" in raw):
        raise policy_error(f"{where}: exactly one of Resource and NotResource is required.")
    resources = _strings(raw["Resource"], "Resource", where) if "Resource" in raw else ()
    not_resources = _strings(raw["NotResource"], "NotResource", where) if "NotResource" in raw else ()
    for resource in (*resources, *not_resources):
        if resource != "*" and not resource.startswith("acs:"):
            raise policy_error(f"{where}: Resource {resource!r} is not '*' or an acs: resource name.")
    principals: tuple[str, ...] | None = None
    if "Principal" in raw:
        if not needs_principal:
            raise policy_error(f"{where}: Principal belongs in bucket and trust policies only.")
        principals = _principals(raw["Principal"], where)
    elif trust:
        raise policy_error(f"{where}: a trust policy statement needs a Principal.")
    elif needs_principal:
        # OSS accepts bucket policy statements without a Principal; ossbox reads them as naming every
        # identity of the account (never anonymous callers), the narrower of the possible readings.
        principals = (ACCOUNT_IDENTITIES,)
    conditions = _conditions(raw.get("Condition", {}), where)
    return Statement(effect, actions, not_actions, resources, not_resources, principals, conditions)


_ACTION = re.compile(r"^([A-Za-z*]+):([A-Za-z0-9*?]+)$")


def _check_action(action: str, where: str, known_actions: frozenset[str]) -> None:
    if action == "*":
        return
    m = _ACTION.match(action)
    if m is None or m.group(1).lower() not in SERVICES:
        raise policy_error(f"{where}: {action!r} is not an action (service:Name).", "InvalidPolicyAction")
    literal = "*" not in action and "?" not in action
    if m.group(1).lower() == "oss" and literal and action.lower() not in known_actions:
        raise policy_error(f"{where}: unknown action {action!r}.", "InvalidPolicyAction")


def _principals(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, dict):  # {"RAM": [...]} as RAM's own resource policies write it
        items: list[str] = []
        for v in value.values():
            items += _strings(v, "Principal", where)
        return tuple(items)
    return _strings(value, "Principal", where)


_OPERATORS = frozenset(
    [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "IpAddress",
        "NotIpAddress",
    ]
)


def _conditions(raw: object, where: str) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    if not isinstance(raw, dict):
        raise policy_error(f"{where}: Condition must be a JSON object.")
    out = []
    for operator, block in raw.items():
        if operator not in _OPERATORS:
            raise policy_error(f"{where}: unknown condition operator {operator!r}.")
        if not isinstance(block, dict) or not block:
            raise policy_error(f"{where}: {operator} must map condition keys to values.")
        for key, value in block.items():
            values = (
                tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in value)
                if isinstance(value, list)
                else (str(value).lower() if isinstance(value, bool) else str(value),)
            )
            if not values:
                raise policy_error(f"{where}: {operator} {key} has no values.")
            for v in values:
                _check_condition_value(operator, v, where)
            out.append((operator, key.lower(), values))
    return tuple(out)


def _check_condition_value(operator: str, value: str, where: str) -> None:
    try:
        if operator.endswith("IpAddress"):
            ipaddress.ip_network(value, strict=False)
        elif operator.startswith("Numeric"):
            float(value)
        elif operator.startswith("Date"):
            _parse_time(value)
        elif operator == "Bool" and value not in ("true", "false"):
            raise ValueError(value)
    except ValueError as exc:
        raise policy_error(f"{where}: {value!r} is not a valid value for {operator}.") from exc


def _parse_time(value: str) -> float:
    if value.isdigit():
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()


# -------------------------------------------------------------------------------------------- evaluation
def evaluate(policies: Iterable[Policy], ctx: RequestContext) -> Decision:
    """DENY if any applicable statement denies, ALLOW if one allows, else NONE."""
    allowed = False
    for policy in policies:
        for st in policy.statements:
            if not _applies(st, ctx):
                continue
            if st.effect == "Deny":
                return Decision.DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.NONE


def _applies(st: Statement, ctx: RequestContext) -> bool:
    if st.actions and not any(_action_matches(p, ctx.action) for p in st.actions):
        return False
    if st.not_actions and any(_action_matches(p, ctx.action) for p in st.not_actions):
        return False
    if st.resources and not any(_resource_matches(p, ctx.resource) for p in st.resources):
        return False
    if st.not_resources and any(_resource_matches(p, ctx.resource) for p in st.not_resources):
        return False
    if st.principals is not None and not _principal_matches(st.principals, ctx.principal_ids):
        return False
    return all(_condition_holds(op, key, values, ctx.values) for op, key, values in st.conditions)


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE if ignore_case else 0)


def _action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, True).match(action) is not None


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    return _glob(pattern, False).match(resource) is not None


def _principal_matches(principals: Sequence[str], ids: Sequence[str]) -> bool:
    return any(p == "*" or p in ids for p in principals)


def _condition_holds(operator: str, key: str, wanted: tuple[str, ...], values: Mapping[str, str]) -> bool:
    actual = values.get(key)
    if actual is None:
        # A condition on a key the request does not have holds only for the negated operators.
        return operator.startswith(("StringNot", "NotIp")) or operator.endswith("NotEquals")
    if operator.endswith("IpAddress"):
        hit = _ip_in(actual, wanted)
        return not hit if operator == "NotIpAddress" else hit
    if operator.startswith("String"):
        if "Like" in operator:
            hit = any(_glob(w, False).match(actual) is not None for w in wanted)
        elif "IgnoreCase" in operator:
            hit = actual.lower() in {w.lower() for w in wanted}
        else:
            hit = actual in wanted
        return not hit if operator.startswith("StringNot") else hit
    if operator == "Bool":
        return actual.lower() in wanted
    try:
        number = float(actual) if operator.startswith("Numeric") else _parse_time(actual)
    except ValueError:
        return False
    limits = [float(w) if operator.startswith("Numeric") else _parse_time(w) for w in wanted]
    if operator.endswith("NotEquals"):
        return all(number != limit for limit in limits)
    return any(_compare(operator, number, limit) for limit in limits)


def _compare(operator: str, actual: float, wanted: float) -> bool:
    suffix = operator.removeprefix("Numeric").removeprefix("Date")
    return {
        "Equals": actual == wanted,
        "LessThan": actual < wanted,
        "LessThanEquals": actual <= wanted,
        "GreaterThan": actual > wanted,
        "GreaterThanEquals": actual >= wanted,
    }[suffix]


def _ip_in(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in networks:
        network = ipaddress.ip_network(net, strict=False)
        if ip.version == network.version and ip in network:
            return True
    return False
