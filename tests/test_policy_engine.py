"""The policy language, as a table: (policy, request) -> decision, and documents that must be refused."""

from __future__ import annotations

import json

import pytest

from ossbox.auth.policy import ACCOUNT_IDENTITIES, Decision, RequestContext, evaluate, parse_policy
from ossbox.core.errors import OSSError
from ossbox.protocol.actions import KNOWN

OBJ = "acs:oss:cn-hangzhou:1234:logs/app/2026/x.log"
BUCKET = "acs:oss:cn-hangzhou:1234:logs"


def doc(*statements: dict[str, object], version: str = "1") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow(action: object, resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: object, resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


VALUES = {
    "acs:sourceip": "127.0.0.1",
    "acs:securetransport": "false",
    "acs:currenttime": "2026-12-01T08:00:00Z",
    "oss:prefix": "app/2026/",
}

CASES = [
    # (name, document, action, resource, expected)
    ("allow exact", doc(allow("oss:GetObject", OBJ)), "oss:GetObject", OBJ, Decision.ALLOW),
    ("other action", doc(allow("oss:GetObject", OBJ)), "oss:PutObject", OBJ, Decision.NONE),
    ("action wildcard", doc(allow("oss:Get*")), "oss:GetObject", OBJ, Decision.ALLOW),
    ("action ?", doc(allow("oss:?etObject")), "oss:GetObject", OBJ, Decision.ALLOW),
    ("action case", doc(allow("OSS:getobject")), "oss:GetObject", OBJ, Decision.ALLOW),
    ("star", doc(allow("*")), "oss:DeleteBucket", BUCKET, Decision.ALLOW),
    ("resource prefix*", doc(allow("oss:*", "acs:oss:*:*:logs/app/*")), "oss:GetObject", OBJ, Decision.ALLOW),
    (
        "resource other prefix",
        doc(allow("oss:*", "acs:oss:*:*:logs/web/*")),
        "oss:GetObject",
        OBJ,
        Decision.NONE,
    ),
    ("resource case", doc(allow("oss:*", "acs:oss:*:*:LOGS/*")), "oss:GetObject", OBJ, Decision.NONE),
    ("bucket not objects", doc(allow("oss:*", "acs:oss:*:*:logs")), "oss:GetObject", OBJ, Decision.NONE),
    (
        "list",
        doc(allow(["oss:ListObjects"], ["acs:oss:*:*:logs"])),
        "oss:ListObjects",
        BUCKET,
        Decision.ALLOW,
    ),
    ("deny wins", doc(allow("oss:*"), deny("oss:DeleteObject")), "oss:DeleteObject", OBJ, Decision.DENY),
    ("deny other", doc(allow("oss:*"), deny("oss:DeleteObject")), "oss:GetObject", OBJ, Decision.ALLOW),
    (
        "NotAction",
        doc({"Effect": "Allow", "NotAction": "oss:Delete*", "Resource": "*"}),
        "oss:DeleteObject",
        OBJ,
        Decision.NONE,
    ),
    (
        "NotResource",
        doc({"Effect": "Deny", "Action": "oss:*", "NotResource": "acs:oss:*:*:logs/app/*"}),
        "oss:GetObject",
        "acs:oss:cn-hangzhou:1234:logs/web/y",
        Decision.DENY,
    ),
    (
        "ip in",
        doc(allow("oss:*", Condition={"IpAddress": {"acs:SourceIp": ["127.0.0.0/8"]}})),
        "oss:GetObject",
        OBJ,
        Decision.ALLOW,
    ),
    (
        "ip out",
        doc(allow("oss:*", Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}})),
        "oss:GetObject",
        OBJ,
        Decision.NONE,
    ),
    (
        "not ip deny",
        doc(allow("oss:*"), deny("oss:*", Condition={"NotIpAddress": {"acs:SourceIp": "10.0.0.0/8"}})),
        "oss:GetObject",
        OBJ,
        Decision.DENY,
    ),
    (
        "secure transport",
        doc(allow("oss:*", Condition={"Bool": {"acs:SecureTransport": True}})),
        "oss:GetObject",
        OBJ,
        Decision.NONE,
    ),
    (
        "time window open",
        doc(allow("oss:*", Condition={"DateLessThan": {"acs:CurrentTime": "2027-01-01T00:00:00Z"}})),
        "oss:GetObject",
        OBJ,
        Decision.ALLOW,
    ),
    (
        "time window over",
        doc(allow("oss:*", Condition={"DateLessThan": {"acs:CurrentTime": "2026-01-01T00:00:00Z"}})),
        "oss:GetObject",
        OBJ,
        Decision.NONE,
    ),
    (
        "prefix like",
        doc(allow("oss:ListObjects", Condition={"StringLike": {"oss:Prefix": "app/*"}})),
        "oss:ListObjects",
        BUCKET,
        Decision.ALLOW,
    ),
    (
        "prefix not like",
        doc(allow("oss:ListObjects", Condition={"StringLike": {"oss:Prefix": "web/*"}})),
        "oss:ListObjects",
        BUCKET,
        Decision.NONE,
    ),
    (
        "missing key, positive operator",
        doc(allow("oss:*", Condition={"StringEquals": {"oss:Delimiter": "/"}})),
        "oss:ListObjects",
        BUCKET,
        Decision.NONE,
    ),
    (
        "missing key, negated operator",
        doc(allow("oss:*", Condition={"StringNotEquals": {"oss:Delimiter": "/"}})),
        "oss:ListObjects",
        BUCKET,
        Decision.ALLOW,
    ),
    (
        "all conditions must hold",
        doc(
            allow(
                "oss:*",
                Condition={
                    "IpAddress": {"acs:SourceIp": "127.0.0.1"},
                    "StringEquals": {"oss:Prefix": "other/"},
                },
            )
        ),
        "oss:GetObject",
        OBJ,
        Decision.NONE,
    ),
]


@pytest.mark.parametrize(
    ("name", "document", "action", "resource", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_decision_table(name: str, document: str, action: str, resource: str, expected: Decision) -> None:
    policy = parse_policy(document, known_actions=KNOWN)
    assert evaluate([policy], RequestContext(action, resource, (), VALUES)) is expected


def test_an_explicit_deny_in_any_policy_wins() -> None:
    everything = parse_policy(doc(allow("*")), known_actions=KNOWN)
    no_delete = parse_policy(doc(deny("oss:DeleteObject", "acs:oss:*:*:logs/*")), known_actions=KNOWN)
    ctx = RequestContext("oss:DeleteObject", OBJ, (), VALUES)
    assert evaluate([everything, no_delete], ctx) is Decision.DENY
    assert evaluate([no_delete, everything], ctx) is Decision.DENY


@pytest.mark.parametrize(
    ("principals", "ids", "expected"),
    [
        (["*"], (), Decision.ALLOW),
        (["2001"], ("2001", "acs:ram::1234:user/alice"), Decision.ALLOW),
        (["2002"], ("2001", "acs:ram::1234:user/alice"), Decision.NONE),
        ({"RAM": ["acs:ram::1234:user/alice"]}, ("2001", "acs:ram::1234:user/alice"), Decision.ALLOW),
    ],
)
def test_bucket_policy_principals(principals: object, ids: tuple[str, ...], expected: Decision) -> None:
    policy = parse_policy(
        doc(allow("oss:GetObject", Principal=principals)), bucket_policy=True, known_actions=KNOWN
    )
    assert evaluate([policy], RequestContext("oss:GetObject", OBJ, ids, VALUES)) is expected


BAD = [
    ("not json", "{", "MalformedPolicy"),
    ("not an object", "[]", "MalformedPolicy"),
    ("bad version", doc(allow("oss:GetObject"), version="2"), "MalformedPolicy"),
    ("no statements", json.dumps({"Version": "1", "Statement": []}), "MalformedPolicy"),
    ("unknown element", json.dumps({"Version": "1", "Statement": [allow("*")], "X": 1}), "MalformedPolicy"),
    ("bad effect", doc({"Effect": "Maybe", "Action": "oss:GetObject", "Resource": "*"}), "MalformedPolicy"),
    ("no action", doc({"Effect": "Allow", "Resource": "*"}), "MalformedPolicy"),
    ("unknown action", doc(allow("oss:GetObjekt")), "InvalidPolicyAction"),
    ("not an action", doc(allow("GetObject")), "InvalidPolicyAction"),
    ("no resource", doc({"Effect": "Allow", "Action": "oss:GetObject"}), "MalformedPolicy"),
    ("bad resource", doc(allow("oss:GetObject", "mybucket/*")), "MalformedPolicy"),
    (
        "unknown operator",
        doc(allow("*", Condition={"Sorta": {"acs:SourceIp": "1.2.3.4"}})),
        "MalformedPolicy",
    ),
    ("bad ip", doc(allow("*", Condition={"IpAddress": {"acs:SourceIp": "1.2.3.400"}})), "MalformedPolicy"),
    ("bad date", doc(allow("*", Condition={"DateLessThan": {"acs:CurrentTime": "soon"}})), "MalformedPolicy"),
    ("principal in RAM policy", doc(allow("*", Principal="*")), "MalformedPolicy"),
    (
        "oversized",
        doc(*[allow("oss:GetObject", f"acs:oss:*:*:b/{i:06d}") for i in range(200)]),
        "PolicyTooLarge",
    ),
]


@pytest.mark.parametrize(("name", "document", "code"), BAD, ids=[b[0] for b in BAD])
def test_bad_documents_are_refused_with_a_reason(name: str, document: str, code: str) -> None:
    with pytest.raises(OSSError) as err:
        parse_policy(document, known_actions=KNOWN)
    assert (err.value.status, err.value.code) == (400, code)
    assert err.value.message


def test_a_bucket_policy_statement_without_principal_names_the_account_not_anonymous() -> None:
    policy = parse_policy(doc(allow("oss:GetObject")), bucket_policy=True, known_actions=KNOWN)
    signed = RequestContext("oss:GetObject", OBJ, ("2001", ACCOUNT_IDENTITIES), VALUES)
    assert evaluate([policy], signed) is Decision.ALLOW
    assert evaluate([policy], RequestContext("oss:GetObject", OBJ, (), VALUES)) is Decision.NONE


def test_trust_policy_statements_need_a_principal() -> None:
    with pytest.raises(OSSError):
        parse_policy(doc(allow("sts:AssumeRole")), trust=True, known_actions=KNOWN)


def test_every_operation_is_checked_as_a_known_action() -> None:
    from ossbox.protocol.request import _BY_COMP, _ROUTES

    chosen_by_comp = [route for routes in _BY_COMP.values() for route in routes.values()]
    for route in [*_ROUTES.values(), *chosen_by_comp]:
        assert route.action.lower() in KNOWN, route
