"""AWS bucket policies in RAM's words (pure): what maps, and what is refused rather than dropped."""

from __future__ import annotations

import json

import pytest

from ossbox.auth.authorizer import parse_new
from ossbox.core.errors import OSSError
from ossbox.protocol.s3.policy import to_ram


def test_a_typical_policy_translates_and_parses() -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "read",
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::1234:user/alice", "arn:aws:sts::1234:assumed-role/r/s"]},
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:Get*"],
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {
                    "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                    "StringLike": {"s3:prefix": "a/*"},
                },
            },
            {"Effect": "Deny", "Principal": "*", "NotAction": "s3:*", "Resource": "*"},
        ],
    }
    ram = json.loads(to_ram(json.dumps(doc).encode()))
    first, second = ram["Statement"]
    assert ram["Version"] == "1"
    assert first["Principal"] == ["acs:ram::1234:user/alice", "arn:sts::1234:assumed-role/r/s"]
    assert first["Action"] == ["oss:GetObject", "oss:ListObjects", "oss:Get*"]
    assert first["Resource"] == ["acs:oss:*:*:b", "acs:oss:*:*:b/*"]
    assert first["Condition"] == {
        "IpAddress": {"acs:SourceIp": "10.0.0.0/8"},
        "StringLike": {"oss:Prefix": "a/*"},
    }
    assert second == {"Effect": "Deny", "Principal": ["*"], "NotAction": ["oss:*"], "Resource": ["*"]}
    parse_new(to_ram(json.dumps(doc).encode()), bucket_policy=True)


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutBucketWebsiteTeleport", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:sqs:::q"},
        {"Effect": "Allow", "Principal": {"Service": "x"}, "Action": "s3:GetObject", "Resource": "*"},
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o"}},
        },
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    ],
    ids=["action", "resource", "principal", "condition-key", "no-principal"],
)
def test_what_has_no_equivalent_is_refused(statement: dict[str, object]) -> None:
    with pytest.raises(OSSError) as err:
        to_ram(json.dumps({"Statement": [statement]}).encode())
    assert err.value.code == "MalformedPolicy"


def test_not_json() -> None:
    with pytest.raises(OSSError) as err:
        to_ram(b"{not json")
    assert err.value.code == "MalformedPolicy"
