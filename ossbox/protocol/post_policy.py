"""PostObject's policy: the base64 JSON document a form upload carries, its conditions and signatures.

The policy says until when the form may be used (`expiration`) and what its fields must hold
(`conditions`): `{"field": "value"}` and `["eq", "$field", "value"]` for equality, `["starts-with",
"$field", "prefix"]`, `["in" | "not-in", "$field", [...]]`, and `["content-length-range", min, max]` for the
file's size. A V1 form signs the base64 policy with HMAC-SHA1 (base64 signature); a V4 form with the V4
signing key (hex signature). Field names are compared case-insensitively.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ossbox.core.errors import OSSError, access_denied

_OPERATORS = ("eq", "starts-with", "in", "not-in")


def invalid_policy(why: str) -> OSSError:
    return OSSError(400, "InvalidPolicyDocument", f"Invalid Policy: {why}")


@dataclass(frozen=True)
class Condition:
    operator: str  # eq | starts-with | in | not-in
    field: str  # lower-case form field name
    value: str | tuple[str, ...]
    original: str  # as written, for the error message


@dataclass(frozen=True)
class PostPolicy:
    expiration_s: float
    conditions: tuple[Condition, ...]
    length_range: tuple[int, int] | None


def decode(policy_b64: str) -> PostPolicy:
    try:
        document = json.loads(base64.b64decode(policy_b64, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise invalid_policy("The policy is not base64-encoded JSON.") from exc
    if not isinstance(document, dict):
        raise invalid_policy("The policy must be a JSON object.")
    expiration = document.get("expiration")
    if not isinstance(expiration, str):
        raise invalid_policy("Policy missing expiration.")
    try:
        expires = datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise invalid_policy("Invalid expiration.") from exc
    raw = document.get("conditions")
    if not isinstance(raw, list):
        raise invalid_policy("Policy missing conditions.")
    conditions: list[Condition] = []
    length_range: tuple[int, int] | None = None
    for item in raw:
        if isinstance(item, dict):
            if len(item) != 1:
                raise invalid_policy(
                    "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."
                )
            ((name, simple),) = item.items()
            if not isinstance(simple, str):
                raise invalid_policy(f"Invalid Simple-Condition: the value of {name} must be a string.")
            conditions.append(Condition("eq", name.lower().lstrip("$"), simple, json.dumps(item)))
        elif isinstance(item, list) and item and isinstance(item[0], str):
            operator = item[0].lower()
            if operator == "content-length-range":
                if len(item) != 3 or not all(isinstance(v, int) and v >= 0 for v in item[1:]):
                    raise invalid_policy("Invalid content-length-range.")
                if item[1] > item[2]:
                    raise invalid_policy("Invalid content-length-range: the minimum exceeds the maximum.")
                length_range = (item[1], item[2])
                continue
            if operator not in _OPERATORS or len(item) != 3 or not isinstance(item[1], str):
                raise invalid_policy(f"Invalid condition: {json.dumps(item, ensure_ascii=False)}")
            value_raw = item[2]
            if operator in ("in", "not-in"):
                if not isinstance(value_raw, list) or not all(isinstance(v, str) for v in value_raw):
                    raise invalid_policy(f"The value of {operator} must be a list of strings.")
                value: str | tuple[str, ...] = tuple(value_raw)
            elif isinstance(value_raw, str):
                value = value_raw
            else:
                raise invalid_policy(f"The value of {operator} must be a string.")
            name = item[1].lower()
            if not name.startswith("$"):
                raise invalid_policy(f"Invalid condition field {item[1]}: it must start with '$'.")
            conditions.append(Condition(operator, name[1:], value, json.dumps(item, ensure_ascii=False)))
        else:
            raise invalid_policy("Invalid condition.")
    return PostPolicy(expires, tuple(conditions), length_range)


def check(policy: PostPolicy, fields: Mapping[str, str], now_s: float | None = None) -> None:
    """The policy must not have expired and every condition must hold for `fields` (lower-case names)."""
    if policy.expiration_s < (time.time() if now_s is None else now_s):
        raise access_denied("Invalid according to Policy: Policy expired.")
    for c in policy.conditions:
        actual = fields.get(c.field, "")
        if c.operator == "eq":
            ok = actual == c.value
        elif c.operator == "starts-with":
            ok = isinstance(c.value, str) and actual.startswith(c.value)
        elif c.operator == "in":
            ok = actual in c.value
        else:
            ok = actual not in c.value
        if not ok:
            raise access_denied(f"Invalid according to Policy: Policy Condition failed: {c.original}")


def v1_signature(secret: str, policy_b64: str) -> str:
    mac = hmac.digest(secret.encode("utf-8"), policy_b64.encode("utf-8"), "sha1")
    return base64.b64encode(mac).decode("ascii")


def v4_signature(signing_key: bytes, policy_b64: str) -> str:
    return hmac.digest(signing_key, policy_b64.encode("utf-8"), "sha256").hex()
