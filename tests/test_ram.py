"""RAM users with narrow policies, end to end through oss2: what is allowed works, every deny really denies,
on every operation, including presigned URLs, batch delete (per key), copy (source and destination) and
listing. Bucket policies, groups, conditions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import oss2
import pytest
import requests
from oss2.models import PartInfo

from tests.conftest import empty_and_delete
from tests.iam import allow, bucket_as, deny, new_user, policy, ram
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

ROOT = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)


@pytest.fixture
def shared(server: ServerProcess) -> Iterator[str]:
    """A bucket of the owner's with objects under public/ and secret/."""
    name = f"ram-{uuid.uuid4().hex[:12]}"
    b = bucket_as(server, ROOT, name)
    b.create_bucket()
    b.put_object("public/a.txt", b"A")
    b.put_object("secret/s.txt", b"S")
    yield name
    empty_and_delete(b)


def _denied(call: Callable[[], object]) -> oss2.exceptions.ServerError:
    with pytest.raises(oss2.exceptions.ServerError) as err:
        call()
    assert err.value.status == 403, err.value
    assert err.value.code == "AccessDenied", err.value
    return err.value


def test_a_user_without_policies_can_do_nothing(server: ServerProcess, shared: str) -> None:
    _, auth = new_user(server)
    b = bucket_as(server, auth, shared)
    service = oss2.Service(auth, server.endpoint)
    for call in (
        lambda: service.list_buckets(),
        lambda: b.get_object("public/a.txt"),
        lambda: b.head_object("public/a.txt"),
        lambda: b.put_object("public/x", b"x"),
        lambda: b.delete_object("public/a.txt"),
        lambda: list(oss2.ObjectIterator(b)),
        lambda: b.get_bucket_acl(),
        lambda: b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ),
        lambda: b.get_bucket_info(),
        lambda: b.delete_bucket(),
        lambda: b.init_multipart_upload("public/m"),
        lambda: b.batch_delete_objects(["public/a.txt"]),
        lambda: bucket_as(server, auth, f"new-{uuid.uuid4().hex[:10]}").create_bucket(),
    ):
        _denied(call)
    owner = bucket_as(server, ROOT, shared)
    assert owner.get_object("public/a.txt").read() == b"A"
    assert owner.get_bucket_acl().acl == "private"


READ_WRITE_PUBLIC = policy(
    allow(["oss:GetObject", "oss:PutObject", "oss:DeleteObject"], "acs:oss:*:*:*/public/*"),
    allow("oss:ListObjects", "acs:oss:*:*:*", Condition={"StringLike": {"oss:Prefix": "public/*"}}),
)


def test_a_narrow_policy_allows_exactly_what_it_says(server: ServerProcess, shared: str) -> None:
    _, auth = new_user(server, READ_WRITE_PUBLIC)
    b = bucket_as(server, auth, shared)
    assert b.get_object("public/a.txt").read() == b"A"
    assert b.head_object("public/a.txt").content_length == 1
    b.put_object("public/new.txt", b"N")
    assert [o.key for o in oss2.ObjectIterator(b, prefix="public/")] == ["public/a.txt", "public/new.txt"]
    b.delete_object("public/new.txt")
    # Multipart under the allowed prefix works (all of it is oss:PutObject).
    up = b.init_multipart_upload("public/mp")
    part = b.upload_part("public/mp", up.upload_id, 1, b"m" * 1000)
    b.complete_multipart_upload("public/mp", up.upload_id, [PartInfo(1, part.etag)])
    assert b.get_object("public/mp").read() == b"m" * 1000

    _denied(lambda: b.get_object("secret/s.txt"))
    _denied(lambda: b.head_object("secret/s.txt"))
    _denied(lambda: b.put_object("secret/x", b"x"))
    _denied(lambda: b.delete_object("secret/s.txt"))
    _denied(lambda: b.init_multipart_upload("secret/mp"))
    _denied(lambda: b.append_object("secret/ap", 0, b"x"))
    _denied(lambda: list(oss2.ObjectIterator(b)))  # no prefix: the condition does not hold
    _denied(lambda: list(oss2.ObjectIterator(b, prefix="secret/")))
    _denied(lambda: b.get_bucket_acl())
    assert bucket_as(server, ROOT, shared).get_object("secret/s.txt").read() == b"S"


def test_presigned_urls_carry_the_signers_rights(server: ServerProcess, shared: str) -> None:
    _, auth = new_user(server, READ_WRITE_PUBLIC)
    b = bucket_as(server, auth, shared)
    assert requests.get(b.sign_url("GET", "public/a.txt", 300), timeout=10).content == b"A"
    assert requests.get(b.sign_url("GET", "secret/s.txt", 300), timeout=10).status_code == 403
    put = requests.put(b.sign_url("PUT", "secret/p", 300), data=b"p", timeout=10)
    assert put.status_code == 403
    assert not bucket_as(server, ROOT, shared).object_exists("secret/p")


def test_batch_delete_is_checked_for_every_key(server: ServerProcess, shared: str) -> None:
    _, auth = new_user(server, READ_WRITE_PUBLIC)
    b = bucket_as(server, auth, shared)
    b.put_object("public/d1", b"1")
    _denied(lambda: b.batch_delete_objects(["public/d1", "secret/s.txt"]))
    owner = bucket_as(server, ROOT, shared)
    assert owner.object_exists("public/d1") and owner.object_exists("secret/s.txt"), "nothing may be deleted"
    assert b.batch_delete_objects(["public/d1"]).deleted_keys == ["public/d1"]


def test_copy_needs_read_on_the_source_and_write_on_the_destination(
    server: ServerProcess, shared: str
) -> None:
    _, auth = new_user(server, READ_WRITE_PUBLIC)
    b = bucket_as(server, auth, shared)
    b.copy_object(shared, "public/a.txt", "public/copy.txt")
    assert b.get_object("public/copy.txt").read() == b"A"
    _denied(lambda: b.copy_object(shared, "secret/s.txt", "public/stolen.txt"))  # source not readable
    _denied(lambda: b.copy_object(shared, "public/a.txt", "secret/planted.txt"))  # destination not writable
    owner = bucket_as(server, ROOT, shared)
    assert not owner.object_exists("public/stolen.txt") and not owner.object_exists("secret/planted.txt")
    # UploadPartCopy: the same two checks.
    up = b.init_multipart_upload("public/pc")
    _denied(lambda: b.upload_part_copy(shared, "secret/s.txt", (0, 0), "public/pc", up.upload_id, 1))
    _denied(lambda: b.abort_multipart_upload("public/pc", up.upload_id))  # its own action, not granted
    bucket_as(server, ROOT, shared).abort_multipart_upload("public/pc", up.upload_id)


def test_an_explicit_deny_beats_full_access(server: ServerProcess, shared: str) -> None:
    _, auth = new_user(server, "AliyunOSSFullAccess", policy(deny("oss:*", "acs:oss:*:*:*/secret/*")))
    b = bucket_as(server, auth, shared)
    assert b.get_object("public/a.txt").read() == b"A"
    b.put_object("public/full", b"f")
    _denied(lambda: b.get_object("secret/s.txt"))
    _denied(lambda: b.delete_object("secret/s.txt"))
    _denied(lambda: b.batch_delete_objects(["public/full", "secret/s.txt"]))


def test_read_only_access_and_groups(server: ServerProcess, shared: str) -> None:
    name, auth = new_user(server)
    b = bucket_as(server, auth, shared)
    _denied(lambda: b.get_object("public/a.txt"))
    group = f"g{uuid.uuid4().hex[:8]}"
    ram(server, "group", "create", group)
    ram(server, "group", "add-user", group, name)
    ram(server, "policy", "attach", "AliyunOSSReadOnlyAccess", "--group", group)
    assert b.get_object("secret/s.txt").read() == b"S"
    assert {x.name for x in oss2.BucketIterator(oss2.Service(auth, server.endpoint))} >= {shared}
    _denied(lambda: b.put_object("public/w", b"w"))
    ram(server, "group", "remove-user", group, name)
    _denied(lambda: b.get_object("public/a.txt"))


def test_conditions_on_source_ip_and_time(server: ServerProcess, shared: str) -> None:
    _, local = new_user(
        server, policy(allow("oss:GetObject", Condition={"IpAddress": {"acs:SourceIp": "127.0.0.0/8"}}))
    )
    assert bucket_as(server, local, shared).get_object("public/a.txt").read() == b"A"
    _, remote = new_user(
        server, policy(allow("oss:GetObject", Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))
    )
    _denied(lambda: bucket_as(server, remote, shared).get_object("public/a.txt"))
    expired = policy(
        allow("oss:GetObject", Condition={"DateLessThan": {"acs:CurrentTime": "2020-01-01T00:00:00Z"}})
    )
    _, late = new_user(server, expired)
    _denied(lambda: bucket_as(server, late, shared).get_object("public/a.txt"))


def test_deleting_a_user_revokes_its_keys(server: ServerProcess, shared: str) -> None:
    name, auth = new_user(server, "AliyunOSSReadOnlyAccess")
    b = bucket_as(server, auth, shared)
    assert b.get_object("public/a.txt").read() == b"A"
    ram(server, "user", "delete", name)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        b.get_object("public/a.txt")
    assert err.value.code == "InvalidAccessKeyId"


def test_bucket_policy_for_anonymous_readers_and_named_users(server: ServerProcess, shared: str) -> None:
    owner = bucket_as(server, ROOT, shared)
    url = f"{server.endpoint}/{shared}/public/a.txt"
    assert requests.get(url, timeout=10).status_code == 403
    user_name, auth = new_user(server)
    user_id = ram(server, "user", "list").split(user_name + "\t", 1)[1].split("\t", 1)[0]
    document = policy(
        allow("oss:GetObject", f"acs:oss:*:*:{shared}/public/*", Principal=["*"]),
        allow(["oss:PutObject", "oss:GetObject"], f"acs:oss:*:*:{shared}/secret/*", Principal=[user_id]),
    )
    owner.put_bucket_policy(json.dumps(document))
    assert json.loads(owner.get_bucket_policy().policy) == document
    assert requests.get(url, timeout=10).content == b"A"
    assert requests.get(f"{server.endpoint}/{shared}/secret/s.txt", timeout=10).status_code == 403
    b = bucket_as(server, auth, shared)
    b.put_object("secret/by-user", b"u")  # allowed by the bucket policy alone
    assert b.get_object("secret/s.txt").read() == b"S"
    _denied(lambda: b.delete_object("secret/by-user"))
    # A Deny in the bucket policy beats the user's own full access.
    _, full = new_user(server, "AliyunOSSFullAccess")
    owner.put_bucket_policy(
        json.dumps(policy(deny("oss:*", f"acs:oss:*:*:{shared}/secret/*", Principal=["*"])))
    )
    _denied(lambda: bucket_as(server, full, shared).get_object("secret/s.txt"))
    assert owner.get_object("secret/s.txt").read() == b"S"  # the owner is not bound by it
    owner.delete_bucket_policy()
    with pytest.raises(oss2.exceptions.ServerError) as err:
        owner.get_bucket_policy()
    assert (err.value.status, err.value.code) == (404, "NoSuchBucketPolicy")
    assert requests.get(url, timeout=10).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        json.dumps(policy(allow("oss:GetObjekt", Principal=["*"]))),
        json.dumps({"Version": "1", "Statement": [allow("*", Principal=["*"])], "Extra": 1}),
        json.dumps(
            policy(*[allow("oss:GetObject", f"acs:oss:*:*:b/{i:08d}", Principal=["*"]) for i in range(400)])
        ),
    ],
)
def test_malformed_bucket_policies_are_refused_and_change_nothing(
    server: ServerProcess, shared: str, body: str
) -> None:
    owner = bucket_as(server, ROOT, shared)
    good = json.dumps(policy(allow("oss:GetObject", f"acs:oss:*:*:{shared}/public/*", Principal=["*"])))
    owner.put_bucket_policy(good)
    with pytest.raises(oss2.exceptions.ServerError) as err:
        owner.put_bucket_policy(body)
    assert (err.value.status, err.value.code) == (400, "InvalidPolicyDocument")
    assert owner.get_bucket_policy().policy == good


def test_bucket_configuration_needs_the_matching_actions(server: ServerProcess, shared: str) -> None:
    _, auth = new_user(
        server, policy(allow(["oss:GetBucketAcl", "oss:GetBucketInfo"], f"acs:oss:*:*:{shared}"))
    )
    b = bucket_as(server, auth, shared)
    assert b.get_bucket_acl().acl == "private"
    assert b.get_bucket_info().name == shared
    _denied(lambda: b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ))
    _denied(lambda: b.put_bucket_policy(json.dumps(policy(allow("oss:*", Principal=["*"])))))
    _denied(lambda: b.delete_bucket())
    assert oss2.Bucket(ROOT, server.endpoint, shared, region=REGION).get_bucket_acl().acl == "private"


def test_the_ram_command_line_refuses_bad_input(server: ServerProcess) -> None:
    with pytest.raises(RuntimeError, match="InvalidPolicyAction"):
        ram(
            server,
            "policy",
            "create",
            f"p{uuid.uuid4().hex[:8]}",
            "-",
            stdin=json.dumps(policy(allow("oss:Nope"))),
        )
    with pytest.raises(RuntimeError, match="MalformedPolicy"):
        ram(server, "policy", "create", f"p{uuid.uuid4().hex[:8]}", "-", stdin="{")
    with pytest.raises(RuntimeError, match="EntityNotExist"):
        ram(server, "policy", "attach", "AliyunOSSFullAccess", "--user", "nobody-here")
    with pytest.raises(RuntimeError, match=r"InvalidParameter\.UserName"):
        ram(server, "user", "create", "bad name!")
