"""STS on the server's port: AssumeRole through both official STS clients, the credentials in oss2's
StsAuth (V1, V4, presigned) and in the V2 SDK, session policies, trust policies, service principals, and bad
tokens."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as openapi_models
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest
from Tea.exceptions import TeaException

from tests.conftest import empty_and_delete
from tests.iam import account_id, allow, fields, key_of, new_user, policy, ram
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

ROOT = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)


def tea_client(server: ServerProcess, key_id: str, secret: str, token: str | None = None) -> StsClient:
    host = server.endpoint.removeprefix("http://")
    config = openapi_models.Config(
        access_key_id=key_id, access_key_secret=secret, security_token=token, endpoint=host, protocol="http"
    )
    return StsClient(config)


def core_call(server: ServerProcess, key_id: str, secret: str, request: Any) -> dict[str, Any]:
    client = AcsClient(key_id, secret, REGION)
    request.set_endpoint(server.endpoint.removeprefix("http://"))
    request.set_protocol_type("http")
    request.set_accept_format("json")
    return dict(json.loads(client.do_action_with_exception(request)))


def assume(server: ServerProcess, auth: oss2.Auth, arn: str, **kwargs: Any) -> Any:
    request = sts_models.AssumeRoleRequest(
        role_arn=arn, role_session_name=kwargs.pop("name", "test"), **kwargs
    )
    return tea_client(server, *key_of(auth)).assume_role(request).body


def new_role(server: ServerProcess, *policies: str, trust: dict[str, object] | None = None) -> str:
    name = f"r{uuid.uuid4().hex[:10]}"
    args = ["role", "create", name]
    stdin = None
    if trust is not None:
        args += ["--trust-policy", "-"]
        stdin = json.dumps(trust)
    arn = fields(ram(server, *args, stdin=stdin))["Arn"]
    for p in policies:
        ram(server, "policy", "attach", p, "--role", name)
    return arn


@pytest.fixture
def bucket_name(server: ServerProcess) -> Iterator[str]:
    name = f"sts-{uuid.uuid4().hex[:12]}"
    b = oss2.Bucket(ROOT, server.endpoint, name, region=REGION)
    b.create_bucket()
    b.put_object("data/a.txt", b"A")
    yield name
    empty_and_delete(b)


def test_assume_role_with_the_tea_sdk_and_use_the_credentials_everywhere(
    server: ServerProcess, bucket_name: str
) -> None:
    arn = new_role(server, "AliyunOSSFullAccess")
    _, caller = new_user(server, "AliyunSTSAssumeRoleAccess")
    body = assume(server, caller, arn, name="alice-etl", duration_seconds=900)
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.")
    assert creds.security_token and creds.expiration.endswith("Z")
    assert body.assumed_role_user.arn == f"{arn}/alice-etl"
    for auth_version in (oss2.AUTH_VERSION_1, oss2.AUTH_VERSION_4):
        auth = oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token, auth_version)
        b = oss2.Bucket(auth, server.endpoint, bucket_name, region=REGION)
        b.put_object(f"data/{auth_version}", b"x")
        assert b.get_object("data/a.txt").read() == b"A"
        assert requests.get(b.sign_url("GET", "data/a.txt", 300), timeout=10).content == b"A"
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        creds.access_key_id, creds.access_key_secret, creds.security_token
    )
    cfg.region = REGION
    cfg.endpoint = server.endpoint
    v2 = oss.Client(cfg)
    got = v2.get_object(oss.GetObjectRequest(bucket=bucket_name, key="data/a.txt"))
    assert got.body.read() == b"A"


def test_assume_role_with_the_core_sdk(server: ServerProcess, bucket_name: str) -> None:
    arn = new_role(server, "AliyunOSSReadOnlyAccess")
    _, caller = new_user(server, "AliyunSTSAssumeRoleAccess")
    request = AssumeRoleRequest()
    request.set_RoleArn(arn)
    request.set_RoleSessionName("core-session")
    body = core_call(server, *key_of(caller), request)
    c = body["Credentials"]
    b = oss2.Bucket(
        oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]), server.endpoint, bucket_name
    )
    assert b.get_object("data/a.txt").read() == b"A"
    with pytest.raises(oss2.exceptions.AccessDenied):
        b.put_object("data/w", b"w")  # the role is read-only
    identity = core_call(
        server, c["AccessKeyId"], c["AccessKeySecret"], _with_token(GetCallerIdentityRequest(), c)
    )
    assert identity["IdentityType"] == "AssumedRoleUser"
    assert identity["AccountId"] == account_id(server)


def _with_token(request: Any, creds: dict[str, str]) -> Any:
    request.add_query_param("SecurityToken", creds["SecurityToken"])
    return request


def test_a_session_policy_narrows_the_role(server: ServerProcess, bucket_name: str) -> None:
    arn = new_role(server, "AliyunOSSFullAccess")
    narrow = policy(allow("oss:GetObject", f"acs:oss:*:*:{bucket_name}/*"))
    creds = assume(server, ROOT, arn, policy=json.dumps(narrow)).credentials
    b = oss2.Bucket(
        oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token),
        server.endpoint,
        bucket_name,
    )
    assert b.get_object("data/a.txt").read() == b"A"
    with pytest.raises(oss2.exceptions.AccessDenied):
        b.put_object("data/w", b"w")  # the role could, the session policy says no
    with pytest.raises(oss2.exceptions.AccessDenied):
        list(oss2.ObjectIterator(b))


def _sts_error(call: Any) -> TeaException:
    with pytest.raises(TeaException) as err:
        call()
    return err.value


def test_who_may_assume_a_role(server: ServerProcess) -> None:
    arn = new_role(server, "AliyunOSSFullAccess")
    _, no_right = new_user(server)  # no sts:AssumeRole in its policies
    assert _sts_error(lambda: assume(server, no_right, arn)).code == "NoPermission"
    only_root = policy(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"RAM": [f"acs:ram::{account_id(server)}:root"]},
        }
    )
    user_name, user = new_user(server, "AliyunSTSAssumeRoleAccess")
    trusts_other = new_role(
        server,
        trust=policy(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": ["acs:ram::1:root"]}}
        ),
    )
    assert _sts_error(lambda: assume(server, user, trusts_other)).code == "NoPermission"
    trusts_alice = new_role(
        server,
        trust=policy(
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"RAM": [f"acs:ram::{account_id(server)}:user/{user_name}"]},
            }
        ),
    )
    assert assume(server, user, trusts_alice).credentials.access_key_id.startswith("STS.")
    assert assume(server, user, new_role(server, trust=only_root)).credentials.access_key_id


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"role_arn": "acs:ram::1:role/x"}, "EntityNotExist.Role"),
        ({"role_arn": "not-an-arn"}, "InvalidParameter.RoleArn"),
        ({"duration_seconds": 100}, "InvalidParameter.DurationSeconds"),
        ({"duration_seconds": 50000}, "InvalidParameter.DurationSeconds"),
        ({"role_session_name": "x"}, "InvalidParameter.RoleSessionName"),
        ({"policy": "{bad"}, "InvalidParameter.PolicyGrammar"),
    ],
)
def test_bad_assume_role_requests(server: ServerProcess, kwargs: dict[str, Any], code: str) -> None:
    arn = new_role(server)
    params: dict[str, Any] = {"role_arn": arn, "role_session_name": "ok-name", **kwargs}
    request = sts_models.AssumeRoleRequest(**params)
    client = tea_client(server, ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    assert _sts_error(lambda: client.assume_role(request)).code == code


def test_wrong_secrets_and_unknown_keys(server: ServerProcess) -> None:
    arn = new_role(server)
    request = sts_models.AssumeRoleRequest(role_arn=arn, role_session_name="s")
    wrong = tea_client(server, ACCESS_KEY_ID, "not-the-secret")
    assert _sts_error(lambda: wrong.assume_role(request)).code == "SignatureDoesNotMatch"
    unknown = tea_client(server, "LTAInobodyhas", "x")
    assert _sts_error(lambda: unknown.assume_role(request)).code == "InvalidAccessKeyId.NotFound"
    core = AssumeRoleRequest()
    core.set_RoleArn(arn)
    core.set_RoleSessionName("s")
    with pytest.raises(ServerException) as err:
        core_call(server, ACCESS_KEY_ID, "not-the-secret", core)
    # The SDK finds its own string to sign in the server's message and reports the secret as wrong.
    assert err.value.get_error_code() == "InvalidAccessKeySecret"


def test_forged_tokens_and_keys_are_refused(server: ServerProcess, bucket_name: str) -> None:
    arn = new_role(server, "AliyunOSSFullAccess")
    c = assume(server, ROOT, arn).credentials
    for key_id, token in (
        (c.access_key_id, c.security_token[:-4] + "AAAA"),
        ("STS.NotIssuedByThisServer0000", c.security_token),
    ):
        b = oss2.Bucket(oss2.StsAuth(key_id, c.access_key_secret, token), server.endpoint, bucket_name)
        with pytest.raises(oss2.exceptions.ServerError) as err:
            b.get_object("data/a.txt")
        assert (err.value.status, err.value.code) == (403, "InvalidAccessKeyId")
    # The temporary key without its token, and a long-term key with a token, are refused too.
    bare = oss2.Bucket(oss2.Auth(c.access_key_id, c.access_key_secret), server.endpoint, bucket_name)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        bare.get_object("data/a.txt")
    assert err.value.code == "InvalidAccessKeyId"
    with pytest.raises(oss2.exceptions.ServerError) as err:
        oss2.Bucket(
            oss2.StsAuth(ACCESS_KEY_ID, ACCESS_KEY_SECRET, c.security_token), server.endpoint, bucket_name
        ).get_object("data/a.txt")
    assert err.value.code == "InvalidAccessKeyId"


def test_expired_credentials(tmp_path: Path) -> None:
    """The clock moved past the expiry (a restart with OSSBOX_CLOCK_OFFSET_S): SecurityTokenExpired."""
    data = tmp_path / "data"
    port = free_port()
    server = ServerProcess(data, port).start()
    try:
        arn = new_role(server, "AliyunOSSFullAccess")
        c = assume(server, ROOT, arn, duration_seconds=900).credentials
        auth = oss2.StsAuth(c.access_key_id, c.access_key_secret, c.security_token)
        b = oss2.Bucket(auth, server.endpoint, f"exp-{uuid.uuid4().hex[:10]}", region=REGION)
        b.create_bucket()
    finally:
        server.stop()
    later = ServerProcess(data, port, extra_env={"OSSBOX_CLOCK_OFFSET_S": "901"}).start()
    try:
        with pytest.raises(oss2.exceptions.ServerError) as err:
            b.get_bucket_info()
        assert (err.value.status, err.value.code) == (403, "SecurityTokenExpired")
    finally:
        later.stop()


def test_a_service_assumes_only_roles_that_trust_it(server: ServerProcess, bucket_name: str) -> None:
    service = fields(ram(server, "key", "service", "odps.aliyuncs.com"))
    again = fields(ram(server, "key", "service", "odps.aliyuncs.com"))
    assert again == service  # made once
    key_id, secret = service["AccessKeyId"], service["AccessKeySecret"]
    odps_role = new_role(
        server,
        "AliyunOSSFullAccess",
        trust=policy(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["odps.aliyuncs.com"]}}
        ),
    )
    request = sts_models.AssumeRoleRequest(role_arn=odps_role, role_session_name="volume")
    c = tea_client(server, key_id, secret).assume_role(request).body.credentials
    b = oss2.Bucket(
        oss2.StsAuth(c.access_key_id, c.access_key_secret, c.security_token), server.endpoint, bucket_name
    )
    assert b.get_object("data/a.txt").read() == b"A"
    # The service's own key reaches nothing, and it cannot assume a role that does not trust it.
    with pytest.raises(oss2.exceptions.AccessDenied):
        oss2.Bucket(oss2.Auth(key_id, secret), server.endpoint, bucket_name).get_object("data/a.txt")
    plain = new_role(server, "AliyunOSSFullAccess")
    request = sts_models.AssumeRoleRequest(role_arn=plain, role_session_name="volume")
    assert _sts_error(lambda: tea_client(server, key_id, secret).assume_role(request)).code == "NoPermission"
    # And an account identity cannot assume the service's role.
    _, user = new_user(server, "AliyunSTSAssumeRoleAccess")
    assert _sts_error(lambda: assume(server, user, odps_role)).code == "NoPermission"
