"""The table service with RAM users and STS credentials: each call is checked as ots:<Api> on the instance
and table, through the official SDK."""

from __future__ import annotations

import uuid

import pytest
from alibabacloud_sts20150401 import models as sts_models
from tablestore import CapacityUnit, OTSClient, ReservedThroughput, Row, TableMeta, TableOptions
from tablestore.credentials import StaticCredentialsProvider
from tablestore.error import OTSServiceError

from tests.iam import allow, fields, key_of, new_user, policy, ram
from tests.server import REGION, ServerProcess
from tests.tables.conftest import client, new_instance
from tests.test_sts import tea_client


def _as(
    server: ServerProcess, instance: str, key_id: str, secret: str, token: str | None = None
) -> OTSClient:
    provider = StaticCredentialsProvider(key_id, secret, token)
    return OTSClient(server.endpoint, instance_name=instance, credentials_provider=provider, region=REGION)


def _table(server: ServerProcess, instance: str) -> str:
    name = "t_" + uuid.uuid4().hex[:10]
    client(server, instance).create_table(
        TableMeta(name, [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
    )
    return name


def _no_permission(call: object) -> None:
    with pytest.raises(OTSServiceError) as err:
        call()  # type: ignore[operator]
    assert (err.value.get_http_status(), err.value.get_error_code()) == (403, "OTSNoPermissionAccess")


def test_a_ram_user_gets_exactly_its_ots_actions(server: ServerProcess) -> None:
    instance = new_instance()
    mine, other = _table(server, instance), _table(server, instance)
    rw = policy(
        allow(["ots:PutRow", "ots:GetRow"], f"acs:ots:*:*:instance/{instance}/table/{mine}"),
        allow("ots:ListTable", f"acs:ots:*:*:instance/{instance}"),
    )
    _, auth = new_user(server, rw)
    ots = _as(server, instance, *key_of(auth))
    ots.put_row(mine, Row([("id", "a")], [("v", 1)]))
    _, row, _ = ots.get_row(mine, [("id", "a")], max_version=1)
    assert row.attribute_columns[0][1] == 1
    assert set(ots.list_table()) >= {mine, other}
    _no_permission(lambda: ots.put_row(other, Row([("id", "a")], [("v", 1)])))
    _no_permission(lambda: ots.delete_row(mine, Row([("id", "a")]), None))
    _no_permission(lambda: ots.delete_table(mine))
    _, nothing = new_user(server)
    _no_permission(
        lambda: _as(server, instance, *key_of(nothing)).get_row(mine, [("id", "a")], max_version=1)
    )


def test_sts_credentials_work_with_the_sdk(server: ServerProcess) -> None:
    instance = new_instance()
    table = _table(server, instance)
    role = f"r{uuid.uuid4().hex[:8]}"
    arn = fields(ram(server, "role", "create", role))["Arn"]
    ram(
        server,
        "policy",
        "create",
        f"{role}-ots",
        "-",
        stdin='{"Version":"1","Statement":[{"Effect":"Allow","Action":"ots:*","Resource":"*"}]}',
    )
    ram(server, "policy", "attach", f"{role}-ots", "--role", role)
    _, caller = new_user(server, "AliyunSTSAssumeRoleAccess")
    request = sts_models.AssumeRoleRequest(role_arn=arn, role_session_name="tables")
    c = tea_client(server, *key_of(caller)).assume_role(request).body.credentials
    ots = _as(server, instance, c.access_key_id, c.access_key_secret, c.security_token)
    ots.put_row(table, Row([("id", "k")], [("v", "x")]))
    _, row, _ = ots.get_row(table, [("id", "k")], max_version=1)
    assert row.attribute_columns[0][1] == "x"
    forged = _as(server, instance, c.access_key_id, c.access_key_secret, c.security_token[:-3] + "AAA")
    with pytest.raises(OTSServiceError) as err:
        forged.get_row(table, [("id", "k")], max_version=1)
    assert err.value.get_error_code() == "OTSAuthFailed"
