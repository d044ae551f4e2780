"""Volumes and vfs verbs through `ossbox sql -e` against the real server, as users with and without grants."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.volumes.conftest import Project


def test_quick_start_grants_and_volume(project: Project) -> None:
    p, alice = project, project.alice
    shown = p.owner.sql(f"SHOW GRANTS FOR {alice.name};").stdout
    assert "CreateVolume" in shown and "CreateInstance" in shown, shown
    vol = "vol_" + uuid.uuid4().hex[:6]
    out = alice.sql(
        f"vfs -create {vol} -storage_provider oss -url {p.volume_url('qs/' + vol)} -acd true -role_arn "
        f"{p.role_arn};"
        " vfs -ls /;"
    ).stdout
    assert f"/{vol}" in out, out
    assert p.bucket.object_exists(f"qs/{vol}/")  # -acd true made the directory


def test_hadoop_verbs(project: Project, tmp_path: Path) -> None:
    alice = project.alice
    vol = "vfs_" + uuid.uuid4().hex[:6]
    alice.sql(
        f"vfs -create {vol} -storage_provider oss -url {project.volume_url(vol)} -acd true -role_arn "
        f"{project.role_arn};"
    )
    local = tmp_path / "kmeans_data.txt"
    local.write_text("0.0 0.0 0.0\n0.1 0.1 0.1\n9.0 9.0 9.0\n")
    out = alice.sql(
        f"vfs -mkdir /{vol}/data/mllib; vfs -put {local} /{vol}/data/mllib/; vfs -ls /{vol}/data/mllib;"
        f" vfs -cat /{vol}/data/mllib/kmeans_data.txt; vfs -touchz /{vol}/empty; vfs -test -z /{vol}/empty;"
        f" vfs -cp /{vol}/data/mllib/kmeans_data.txt /{vol}/copy.txt; vfs -mv /{vol}/copy.txt "
        f"/{vol}/moved.txt;"
        f" vfs -du -s /{vol}/data; vfs -tail /{vol}/moved.txt; vfs -test -e /{vol}/copy.txt;",
        cwd=tmp_path,
    ).stdout
    assert "Found 1 items" in out and f"/{vol}/data/mllib/kmeans_data.txt" in out, out
    assert out.count("9.0 9.0 9.0") == 2, out  # -cat and -tail
    assert "true\n" in out and out.rstrip().endswith("false"), out
    assert f"{local.stat().st_size}  /{vol}/data" in out, out
    got = tmp_path / "got.txt"
    alice.sql(f"vfs -get odps://{project.name}/{vol}/moved.txt {got};")
    assert got.read_text() == local.read_text()
    alice.sql(f"vfs -rm -r /{vol}/data; vfs -rm /{vol}/moved.txt;")
    assert not project.bucket.object_exists(f"{vol}/data/mllib/kmeans_data.txt")
    listed = alice.sql(f"vfs -ls /{vol};").stdout
    assert "empty" in listed and "data" not in listed, listed
    again = alice.sql(f"vfs -put {local} /{vol}/empty;", check=False)
    assert again.returncode == 1 and "FileAlreadyExists" in again.stdout
    alice.sql(f"vfs -rmv {vol};")
    assert f"/{vol}" not in alice.sql("vfs -ls /;").stdout
    assert project.bucket.object_exists(f"{vol}/empty")  # removing a volume keeps its files


def test_path_rules(project: Project) -> None:
    alice = project.alice
    vol = "paths_" + uuid.uuid4().hex[:6]
    alice.sql(
        f"vfs -create {vol} -storage_provider oss -url {project.volume_url(vol)} -acd true -role_arn "
        f"{project.role_arn};"
    )
    cases = {
        f"vfs -cat /{vol}/a/../b;": "the component '..' is not allowed",
        f"vfs -cat /{vol}/./b;": "the component '.' is not allowed",
        f"vfs -cat /{vol}/~/b;": "the component '~' is not allowed",
        f"vfs -cat /{vol}/a//b;": "empty path component",
        f"vfs -cat /{vol}/a:b;": "holds ':'",
        "vfs -rm -r /;": "Root path is not supported",
        f"vfs -rm -r /{vol};": "The path is just a volume!",
        f"vfs -cat odps://other_project/{vol}/x;": "names the project 'other_project'",
        f"vfs -cat /{vol}/missing;": "No such file or directory",
    }
    for statement, message in cases.items():
        result = alice.sql(statement, check=False)
        assert result.returncode == 1 and message in result.stdout, (statement, result.stdout)


def test_create_errors(project: Project) -> None:
    alice = project.alice
    url = project.volume_url("never-made")
    no_dir = f"oss://{project.oss_endpoint}/{project.bucket.bucket_name}"
    arn = project.role_arn
    nosuch = "acs:ram::1:role/nosuch"
    cases = {
        f"vfs -create v1 -storage_provider hdfs -url {url} -role_arn {arn};": "only 'oss'",
        f"vfs -create v1 -storage_provider oss -url {url} -acd false -role_arn {arn};": "does not exist",
        f"vfs -create v1 -storage_provider oss -url {no_dir} -role_arn {arn};": "must name a directory",
        f"vfs -create v1 -storage_provider oss -url {url} -acd true -role_arn {nosuch};": "cannot assume",
        f"vfs -create 1bad -storage_provider oss -url {url} -acd true;": "not a valid volume name",
    }
    for statement, message in cases.items():
        result = alice.sql(statement, check=False)
        assert result.returncode == 1 and message in result.stdout, (statement, result.stdout)


def test_role_without_oss_rights(project: Project, tmp_path: Path) -> None:
    import json

    from tests.volumes.conftest import TRUST_ODPS, ossbox

    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(TRUST_ODPS))
    role = "norights" + uuid.uuid4().hex[:6]
    ossbox(project.server, "ram", "role", "create", role, "--trust-policy", str(trust))
    arn = f"acs:ram::{project.account_id}:role/{role}"
    result = project.alice.sql(
        f"vfs -create nor -storage_provider oss -url {project.volume_url('nor')} -acd true -role_arn {arn};",
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert f"The role {arn} may not access" in result.stdout and "give the role OSS rights" in result.stdout


def test_user_without_grants(project: Project, tmp_path: Path) -> None:
    alice, bob = project.alice, project.bob
    vol = "priv_" + uuid.uuid4().hex[:6]
    alice.sql(
        f"vfs -create {vol} -storage_provider oss -url {project.volume_url(vol)} -acd true -role_arn "
        f"{project.role_arn};"
    )
    secret = tmp_path / "secret.txt"
    secret.write_text("alice's data")
    alice.sql(f"vfs -put {secret} /{vol}/secret.txt;")
    for statement in (
        f"vfs -cat /{vol}/secret.txt;",
        f"vfs -ls /{vol};",
        "vfs -ls /;",
        f"vfs -put {secret} /{vol}/x;",
    ):
        result = bob.sql(statement, check=False)
        assert result.returncode == 1 and "AccessDenied" in result.stdout, (statement, result.stdout)
    project.owner.sql(f"GRANT Read ON VOLUME {vol} TO USER {bob.name};")
    assert "alice's data" in bob.sql(f"vfs -cat /{vol}/secret.txt;").stdout
    assert "AccessDenied" in bob.sql(f"vfs -rm /{vol}/secret.txt;", check=False).stdout
    project.owner.sql(f"REVOKE Read ON VOLUME {vol} FROM USER {bob.name};")
    assert "AccessDenied" in bob.sql(f"vfs -cat /{vol}/secret.txt;", check=False).stdout
    outsider = project.make_user("carol" + uuid.uuid4().hex[:6])
    project.owner.sql(f"REMOVE USER {outsider.name};")
    result = outsider.sql("vfs -ls /;", check=False)
    assert "You don't exist in project" in result.stdout, result.stdout


def test_quick_start_statements_verbatim(project: Project, tmp_path: Path) -> None:
    """The document's step 1 for a new user: check, grant, revoke, check again."""
    p = project
    user = p.make_user("erin" + uuid.uuid4().hex[:6])
    steps = tmp_path / "quick_start.sql"
    steps.write_text(
        f"SHOW GRANTS FOR {user.name};\n"
        f"GRANT CreateVolume ON project {p.name} TO USER {user.name};\n"
        f"SHOW GRANTS FOR {user.name};\n"
        f"REVOKE CreateVolume ON project {p.name} FROM USER {user.name};\n"
        f"SHOW GRANTS FOR {user.name};\n"
    )
    out = p.owner.sql_file(steps).stdout
    blocks = out.split("Authorization Type: ACL")[1:]
    assert len(blocks) == 3, out
    assert "CreateVolume" not in blocks[0] and f"projects/{p.name}: CreateVolume" in blocks[1], out
    assert "CreateVolume" not in blocks[2], out
    denied = user.sql(
        f"vfs -create nope -storage_provider oss -url {p.volume_url('nope')} -acd true;", check=False
    )
    assert "NO privilege 'CreateVolume'" in denied.stdout, denied.stdout
