"""The pure decisions behind bucket configurations: CORS rule matching, Referer patterns, PostObject policy
conditions. (The server tests drive them end to end; these pin the edge cases.)"""

from __future__ import annotations

import base64
import json

import pytest

from ossbox.core.errors import OSSError
from ossbox.protocol import post_policy
from ossbox.protocol.configs import cors, referer

CORS_DOC = (
    b"<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.com</AllowedOrigin>"
    b"<AllowedMethod>GET</AllowedMethod><AllowedHeader>x-oss-*</AllowedHeader></CORSRule>"
    b"<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod></CORSRule>"
    b"</CORSConfiguration>"
)


@pytest.mark.parametrize(
    ("origin", "method", "headers", "rule"),
    [
        ("https://a.example.com", "GET", [], 0),
        ("HTTPS://A.EXAMPLE.COM", "GET", ["x-oss-meta-a"], 0),
        ("https://example.com", "GET", [], None),  # the '*' needs at least the '.'
        ("https://a.example.com", "GET", ["authorization"], None),
        ("https://anything.org", "PUT", [], 1),
        ("https://anything.org", "PUT", ["content-type"], None),  # the PUT rule allows no headers
        ("https://a.example.com", "DELETE", [], None),
    ],
)
def test_cors_rule_matching(origin: str, method: str, headers: list[str], rule: int | None) -> None:
    config = cors.load(cors.render(cors.parse(CORS_DOC)))
    found = cors.match(config, origin, method, headers)
    assert (None if found is None else config.rules.index(found)) == rule


def test_cors_render_round_trips() -> None:
    config = cors.parse(CORS_DOC)
    assert cors.load(cors.render(config)) == config


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (None, False),
        ("", False),
        ("https://www.example.com/a", True),
        ("http://www.example.com/a", True),  # entry without a scheme matches any scheme
        ("https://www.example.com/a?x=1", True),  # query string truncated
        ("https://img.cdn.net/p", True),
        ("https://img.cdn.net.evil.org/p", False),
        ("https://www.example.com/private/x", False),  # blacklisted
        ("https://other.org/", False),
    ],
)
def test_referer_patterns(value: str | None, allowed: bool) -> None:
    config = referer.RefererConfig(
        allow_empty=False,
        allow_truncate_query=True,
        whitelist=("www.example.com/*", "https://*.cdn.net/?"),
        blacklist=("*/private/*",),
    )
    assert referer.allows(config, value) is allowed


def _policy(conditions: list[object], expiration: str = "2999-01-01T00:00:00.000Z") -> str:
    return base64.b64encode(
        json.dumps({"expiration": expiration, "conditions": conditions}).encode()
    ).decode()


def test_post_policy_conditions() -> None:
    policy = post_policy.decode(
        _policy(
            [
                {"bucket": "b"},
                ["starts-with", "$key", "u/"],
                ["in", "$Content-Type", ["image/png", "image/jpeg"]],
                ["not-in", "$cache-control", ["no-cache"]],
                ["content-length-range", 1, 10],
            ]
        )
    )
    assert policy.length_range == (1, 10)
    fields = {"bucket": "b", "key": "u/x", "content-type": "image/png"}
    post_policy.check(policy, fields)
    for bad in [
        {"key": "v/x"},
        {"bucket": "c"},
        {"content-type": "text/html"},
        {"cache-control": "no-cache"},
    ]:
        with pytest.raises(OSSError) as err:
            post_policy.check(policy, {**fields, **bad})
        assert err.value.code == "AccessDenied" and "Policy Condition failed" in err.value.message


@pytest.mark.parametrize(
    "document",
    [
        "not base64!",
        base64.b64encode(b"[]").decode(),
        base64.b64encode(b'{"conditions": []}').decode(),
        _policy([["eq", "key", "x"]]),  # field without '$'
        _policy([["content-length-range", 10, 1]]),
        _policy([{"a": "1", "b": "2"}]),
        _policy([["matches", "$key", "x"]]),
    ],
)
def test_bad_policies(document: str) -> None:
    with pytest.raises(OSSError) as err:
        post_policy.decode(document)
    assert err.value.code == "InvalidPolicyDocument"


def test_expired_policy() -> None:
    policy = post_policy.decode(_policy([], expiration="2000-01-01T00:00:00Z"))
    with pytest.raises(OSSError) as err:
        post_policy.check(policy, {})
    assert err.value.message == "Invalid according to Policy: Policy expired."
