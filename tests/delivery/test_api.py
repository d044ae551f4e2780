"""The delivery API (CreateDeliveryTask, ListDeliveryTask, DescribeDeliveryTask, DeleteDeliveryTask) signed
as the tablestore SDK signs, and `ossbox delivery` over it: round trips, bad input refused with nothing
stored, only the owner's keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tablestore import CapacityUnit, ReservedThroughput, TableMeta, TableOptions

from ossbox.delivery.client import DeliveryApiError, DeliveryClient
from ossbox.delivery.model import Column, DataType, EventTime, Mode, TaskConfig, TimeFormat
from ossbox.delivery.wire import pb
from tests.delivery.conftest import Env, make_env
from tests.delivery.test_failures import SERVICE, ram
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


def api_error(call: object, *args: object) -> tuple[int, str, str]:
    with pytest.raises(DeliveryApiError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.status, info.value.code, info.value.message


def test_create_list_describe_delete(env: Env) -> None:
    config = TaskConfig(
        bucket=env.bucket.bucket_name,
        prefix="orders/year=$yyyy/month=$MM",
        mode=Mode.INCREMENTAL,
        schema=(Column("id", "order_id", DataType.UTF8), Column("n", "n", DataType.INT64)),
        event_time=EventTime("at", TimeFormat.UNIX),
    )
    env.delivery.create(env.table, "first", config)
    env.delivery.create(env.table, "second", TaskConfig(bucket=env.bucket.bucket_name, prefix="all"))
    listed = env.delivery.list()
    assert [(t.table, t.name, t.mode) for t in listed] == [
        (env.table, "first", Mode.INCREMENTAL),
        (env.table, "second", Mode.DIFFERENTIAL),
    ]
    assert [t.name for t in env.delivery.list(env.table)] == ["first", "second"]
    d = env.describe("first")
    account = ram(env.server, "account").strip()
    assert d.config.role_arn == f"acs:ram::{account}:role/aliyunserviceroleforotsdatadelivery"
    assert d.config.schema == config.schema and d.config.event_time == config.event_time
    assert (d.config.prefix, d.config.mode, d.config.bucket) == (config.prefix, config.mode, config.bucket)
    assert d.created_ms > 0
    assert "PARTITIONED BY (`year` STRING, `month` STRING)" in d.create_table_statement
    assert "`order_id` STRING,\n  `n` BIGINT" in d.create_table_statement
    env.delivery.delete(env.table, "first")
    assert [t.name for t in env.delivery.list()] == ["second"]
    assert api_error(env.describe, "first")[:2] == (404, "OTSObjectNotExist")


def test_the_default_role_is_made_once_and_trusts_only_the_delivery_service(env: Env) -> None:
    env.delivery.create(env.table, "roles", TaskConfig(bucket=env.bucket.bucket_name, prefix="r"))
    roles = ram(env.server, "role", "list")
    (line,) = [r for r in roles.splitlines() if r.startswith("AliyunServiceRoleForOTSDataDelivery\t")]
    assert "policies=AliyunServiceRolePolicyForOTSDataDelivery" in line
    policy = json.loads(ram(env.server, "policy", "show", "AliyunServiceRolePolicyForOTSDataDelivery"))
    assert "oss:PutObject" in policy["Statement"][0]["Action"]
    assert "oss:DeleteBucket" not in policy["Statement"][0]["Action"]
    env.delivery.create(env.table, "roles-2", TaskConfig(bucket=env.bucket.bucket_name, prefix="r2"))
    assert ram(env.server, "role", "list").count("AliyunServiceRoleForOTSDataDelivery\t") == 1


def test_bad_definitions_are_refused_and_nothing_is_stored(env: Env) -> None:
    bucket = env.bucket.bucket_name
    create = env.delivery.create
    assert api_error(create, env.table, "Bad_Name", TaskConfig(bucket=bucket, prefix="p")) == (
        400,
        "OTSParameterInvalid",
        "Invalid task name 'Bad_Name': 3 to 16 characters of lower-case letters, digits and hyphens, "
        "starting and ending with a letter or digit.",
    )
    for config in [
        TaskConfig(bucket=bucket, prefix="/abs"),
        TaskConfig(bucket=bucket, prefix="p/$ss"),
        TaskConfig(bucket="No_Such", prefix="p"),
        TaskConfig(bucket=bucket, prefix="p", schema=(Column("a", "a", DataType.BOOL, type_extend="1,1"),)),
        TaskConfig(bucket=bucket, prefix="p", role_arn="not-an-arn"),
    ]:
        assert api_error(create, env.table, "good", config)[:2] == (400, "OTSParameterInvalid")
    assert api_error(create, "no_such_table", "good", TaskConfig(bucket=bucket, prefix="p"))[:2] == (
        404,
        "OTSObjectNotExist",
    )
    raw = pb.CreateDeliveryTaskRequest(tableName=env.table, taskName="good", taskType=2)
    raw.taskConfig.ossBucket, raw.taskConfig.ossPrefix = bucket, "p"
    with_list = pb.CreateDeliveryTaskRequest()
    with_list.CopyFrom(raw)
    with_list.taskConfig.schema.add(columnName="a", ossColumnName="a", type=10)  # LIST
    untyped = pb.CreateDeliveryTaskRequest()
    untyped.CopyFrom(raw)
    untyped.taskConfig.schema.add(columnName="a", ossColumnName="a")
    dirty_prefix = pb.CreateDeliveryTaskRequest()
    dirty_prefix.CopyFrom(raw)
    dirty_prefix.taskConfig.ossDirtyPrefix = "dirty"
    for request, message in [
        (with_list, "Parquet type 10 is not supported"),
        (untyped, "a Parquet type is required"),
        (dirty_prefix, "ossDirtyPrefix is not supported"),
    ]:
        status, code, text = api_error(
            env.delivery._call, "CreateDeliveryTask", request, pb.CreateDeliveryTaskResponse
        )
        assert (status, code) == (400, "OTSParameterInvalid") and message in text
    assert env.delivery.list() == []
    env.delivery.create(env.table, "good", TaskConfig(bucket=bucket, prefix="p"))
    assert api_error(create, env.table, "good", TaskConfig(bucket=bucket, prefix="other"))[:2] == (
        409,
        "OTSObjectAlreadyExist",
    )
    assert env.describe("good").config.prefix == "p"


def test_tasks_belong_to_their_table_and_instance(dserver: ServerProcess) -> None:
    a, b = make_env(dserver), make_env(dserver)
    a.delivery.create(a.table, "mine", TaskConfig(bucket=a.bucket.bucket_name, prefix="p"))
    assert b.delivery.list() == []
    assert api_error(b.delivery.describe, a.table, "mine")[:2] == (404, "OTSObjectNotExist")  # other instance
    other_table = "t_other"
    a.ots.create_table(
        TableMeta(other_table, [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
    )
    assert api_error(a.delivery.describe, other_table, "mine")[:2] == (404, "OTSObjectNotExist")
    assert api_error(a.delivery.delete, other_table, "mine")[:2] == (404, "OTSObjectNotExist")
    assert [t.name for t in a.delivery.list(a.table)] == ["mine"]
    assert a.delivery.list(other_table) == []
    a.delivery.delete(a.table, "mine")


def _client(env: Env, key_output: str) -> DeliveryClient:
    key_id = key_output.split("AccessKeyId=")[1].split()[0]
    secret = key_output.split("AccessKeySecret=")[1].split()[0]
    return DeliveryClient(env.server.endpoint, key_id, secret, env.instance)


def test_who_manages_tasks(env: Env) -> None:
    """The owner; RAM users whose policies allow ots:<Api>; never a cloud service's key or a wrong secret."""
    server = env.server
    admin, nobody = "delivery-admin-" + env.instance, "delivery-nobody-" + env.instance
    for user in (admin, nobody):
        ram(server, "user", "create", user)
    ram(server, "policy", "attach", "AdministratorAccess", "--user", admin)
    assert _client(env, ram(server, "key", "create", admin)).list() == []
    assert api_error(_client(env, ram(server, "key", "create", nobody)).list)[:2] == (
        403,
        "OTSNoPermissionAccess",
    )
    assert api_error(_client(env, ram(server, "key", "service", SERVICE)).list)[:2] == (403, "OTSAuthFailed")
    wrong = DeliveryClient(server.endpoint, ACCESS_KEY_ID, "not-the-secret", env.instance)
    assert api_error(wrong.list)[:2] == (403, "OTSAuthFailed")
    v4 = DeliveryClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, env.instance, region=REGION)
    v4.create(env.table, "signed-v4", TaskConfig(bucket=env.bucket.bucket_name, prefix="v4"))
    assert [t.name for t in env.delivery.list()] == ["signed-v4"]


def cli(server: ServerProcess, env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    environment = dict(
        os.environ,
        OSSBOX_ENDPOINT=server.endpoint,
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        OSSBOX_TABLES_INSTANCE=env.instance,
    )
    return subprocess.run(
        [sys.executable, "-m", "ossbox", "delivery", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


def test_the_command_line(env: Env) -> None:
    server = env.server
    created = cli(
        server,
        env,
        "create",
        "--table",
        env.table,
        "--name",
        "cli-task",
        "--bucket",
        env.bucket.bucket_name,
        "--prefix",
        "cli/ds=$yyyy$MM$dd/",
        "--mode",
        "incremental",
        "--column",
        "id",
        "--column",
        "amount:amount:DECIMAL:PLAIN:12,2",
        "--column",
        "at:at:TIMESTAMP_MILLIS:DELTA_BINARY_PACKED",
        "--event-time-column",
        "at",
        "--event-time-format",
        "RFC3339",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"created delivery task cli-task of {env.table}"
    listed = cli(server, env, "list")
    assert listed.stdout.strip() == f"{env.table}\tcli-task\tincremental"
    described = cli(server, env, "describe", "--table", env.table, "--name", "cli-task")
    assert described.returncode == 0, described.stderr
    assert f"destination: oss://{env.bucket.bucket_name}/cli/ds=$yyyy$MM$dd" in described.stdout
    assert "schema: id->id:UTF8, amount->amount:DECIMAL, at->at:TIMESTAMP_MILLIS" in described.stdout
    assert "event time: at (RFC3339)" in described.stdout
    as_json = json.loads(
        cli(server, env, "describe", "--table", env.table, "--name", "cli-task", "--json").stdout
    )
    assert as_json["config"]["schema"][1] == ["amount", "amount", "DECIMAL", "PLAIN", "12,2"]
    assert as_json["status"]["phase"] in ("init", "incremental")
    statement = cli(server, env, "statement", "--table", env.table, "--name", "cli-task").stdout
    assert "`amount` DECIMAL(12,2)" in statement and "PARTITIONED BY (`ds` STRING)" in statement

    bad_column = cli(
        server,
        env,
        "create",
        "--table",
        env.table,
        "--name",
        "bad",
        "--bucket",
        "b-x",
        "--prefix",
        "p",
        "--column",
        "a:a:WHAT",
    )
    assert bad_column.returncode == 1 and "'WHAT' is not a valid DataType" in bad_column.stderr
    duplicate = cli(
        server, env, "create", "--table", env.table, "--name", "cli-task", "--bucket", "b-x", "--prefix", "p"
    )
    assert duplicate.returncode == 1
    assert (
        duplicate.stderr.strip()
        == "Error: OTSObjectAlreadyExist: Requested delivery task cli-task already exists."
    )
    assert "Traceback" not in bad_column.stderr + duplicate.stderr
    deleted = cli(server, env, "delete", "--table", env.table, "--name", "cli-task")
    assert deleted.returncode == 0 and cli(server, env, "list").stdout == ""
