"""Settings under Alluxio's, Hadoop's, ossfs's and ossutil's names; bad values rejected clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from ossbox.fs import OssFileSystem, load_config
from ossbox.fs.config import MAX_PART, MIN_PART, ConfigError, parse_properties
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess

MiB = 1 << 20

SEED_PROPERTIES = """\
# conf/alluxio-site.properties, as in the Alluxio OSS guide
alluxio.dora.client.ufs.root=oss://alluxio-bucket/alluxio/data
fs.oss.accessKeyId=AKID
fs.oss.accessKeySecret=THE-SECRET
fs.oss.endpoint=oss-cn-hangzhou.aliyuncs.com
alluxio.underfs.oss.multipart.upload.enabled=true
alluxio.underfs.oss.multipart.upload.threads : 12
alluxio.underfs.oss.multipart.upload.partition.size 32MB
alluxio.underfs.object.store.multipart.upload.timeout=30s
"""


def test_seed_properties_file(tmp_path: Path) -> None:
    p = tmp_path / "alluxio-site.properties"
    p.write_text(SEED_PROPERTIES)
    cfg = load_config(properties=p, env={})
    assert cfg.endpoint_url == "https://oss-cn-hangzhou.aliyuncs.com"
    assert (cfg.access_key_id, cfg.access_key_secret) == ("AKID", "THE-SECRET")
    assert cfg.root == "oss://alluxio-bucket/alluxio/data"
    assert cfg.multipart_enabled and cfg.threads == 12
    assert cfg.partition_size == 32 * MiB and cfg.part_timeout == 30.0
    assert "THE-SECRET" not in repr(cfg)


def test_environment_and_precedence(tmp_path: Path) -> None:
    env = {
        "fs.oss.endpoint": "http://env-dotted:1",
        "ALLUXIO_UNDERFS_OSS_MULTIPART_UPLOAD_THREADS": "3",
        "OSS_ACCESS_KEY_ID": "envkey",
        "OSS_ACCESS_KEY_SECRET": "envsecret",
    }
    cfg = load_config(env=env)
    assert cfg.endpoint == "http://env-dotted:1" and cfg.threads == 3 and cfg.access_key_id == "envkey"
    p = tmp_path / "x.properties"
    p.write_text("fs.oss.endpoint=http://file:2\n")
    env["OSSBOX_PROPERTIES"] = str(p)
    assert load_config(env=env).endpoint == "http://file:2"  # the file over the environment
    assert load_config({"endpoint": "http://option:3"}, env=env).endpoint == "http://option:3"


def test_partition_size_is_clamped_and_bad_values_are_named() -> None:
    assert load_config({"partition_size": "1MB"}, env={}).partition_size == MIN_PART
    assert load_config({"partition_size": "9GB"}, env={}).partition_size == MAX_PART
    assert load_config(env={}).partition_size == 64 * MiB
    with pytest.raises(ConfigError, match="partition_size"):
        load_config({"partition_size": "lots"}, env={})
    with pytest.raises(ConfigError, match="threads"):
        load_config({"threads": 0}, env={})
    with pytest.raises(ConfigError, match="timeout"):
        load_config(env={"alluxio.underfs.object.store.multipart.upload.timeout": "soon"})
    with pytest.raises(ConfigError, match="unknown option 'bogus'"):
        load_config({"bogus": 1}, env={})
    with pytest.raises(ConfigError, match="endpoint"):
        _ = load_config(env={}).endpoint_url
    with pytest.raises(ConfigError, match="properties file"):
        load_config(properties="/nonexistent/alluxio-site.properties", env={})


def test_properties_syntax() -> None:
    props = parse_properties("a=1\n! comment\nb : two words\nc\\\n  ontinued=3\nd\n")
    assert props == {"a": "1", "b": "two words", "continued": "3", "d": ""}


def test_filesystem_from_properties_file(server: ServerProcess, tmp_path: Path) -> None:
    p = tmp_path / "alluxio-site.properties"
    p.write_text(
        f"fs.oss.endpoint={server.endpoint}\nfs.oss.accessKeyId={ACCESS_KEY_ID}\n"
        f"fs.oss.accessKeySecret={ACCESS_KEY_SECRET}\n"
    )
    fs = OssFileSystem(properties=str(p), skip_instance_cache=True)
    fs.mkdir("cfg-bucket-from-properties")
    try:
        assert fs.isdir("cfg-bucket-from-properties")
    finally:
        fs.rmdir("cfg-bucket-from-properties")


def test_bad_secret_is_a_permission_error_without_the_secret(server: ServerProcess) -> None:
    fs = OssFileSystem(
        endpoint=server.endpoint, key=ACCESS_KEY_ID, secret="wrong-secret-value", skip_instance_cache=True
    )
    with pytest.raises(PermissionError) as e:
        fs.ls("")
    assert "SignatureDoesNotMatch" in str(e.value)
    assert "wrong-secret-value" not in str(e.value) and ACCESS_KEY_SECRET not in str(e.value)


def test_ufs_root_mount(server: ServerProcess, oss_bucket: object, tmp_path: Path) -> None:
    from ossbox.fs import mount_root

    name = oss_bucket.bucket_name  # type: ignore[attr-defined]
    p = tmp_path / "alluxio-site.properties"
    p.write_text(
        f"alluxio.dora.client.ufs.root=oss://{name}/alluxio/data\nfs.oss.endpoint={server.endpoint}\n"
        f"fs.oss.accessKeyId={ACCESS_KEY_ID}\nfs.oss.accessKeySecret={ACCESS_KEY_SECRET}\n"
    )
    root = mount_root(str(p), skip_instance_cache=True)
    root.pipe_file("x/y.txt", b"under the root")
    assert oss_bucket.get_object("alluxio/data/x/y.txt").read() == b"under the root"  # type: ignore[attr-defined]
    assert root.ls("x", detail=False) == ["x/y.txt"]
    p.write_text(f"fs.oss.endpoint={server.endpoint}\n")
    with pytest.raises(ConfigError, match=r"ufs\.root"):
        mount_root(str(p))


def test_filesystem_pickles_for_distributed_workers(server: ServerProcess, oss_bucket: object) -> None:
    import pickle

    fs = OssFileSystem(endpoint=server.endpoint, key=ACCESS_KEY_ID, secret=ACCESS_KEY_SECRET, threads=3)
    clone = pickle.loads(pickle.dumps(fs))
    assert clone.config == fs.config
    name = oss_bucket.bucket_name  # type: ignore[attr-defined]
    clone.pipe_file(f"{name}/p", b"from a worker")
    assert fs.cat_file(f"{name}/p") == b"from a worker"


def test_config_object_with_overrides() -> None:
    base = load_config({"endpoint": "http://a:1", "threads": 2}, env={})
    cfg = base.with_options(key="k", secret="s", threads=None, partition_size="8MB")
    assert (cfg.access_key_id, cfg.access_key_secret, cfg.threads, cfg.partition_size) == (
        "k",
        "s",
        2,
        8 << 20,
    )
    with pytest.raises(ConfigError, match="unknown option"):
        base.with_options(nonsense=1)
    fs = OssFileSystem(config=base, key="k2", secret="s2", skip_instance_cache=True)
    assert fs.config.access_key_id == "k2" and fs.config.endpoint == "http://a:1"


def test_v4_signing_with_region_and_anonymous_reads(server: ServerProcess, oss_bucket: object) -> None:
    import oss2

    b: oss2.Bucket = oss_bucket  # type: ignore[assignment]
    v4 = OssFileSystem(
        endpoint=server.endpoint, key=ACCESS_KEY_ID, secret=ACCESS_KEY_SECRET, region="cn-hangzhou",
        skip_instance_cache=True,
    )  # fmt: skip
    assert isinstance(v4._auth, oss2.AuthV4)
    v4.pipe_file(f"{b.bucket_name}/v4.txt", b"signed with V4")
    assert v4.cat_file(f"{b.bucket_name}/v4.txt") == b"signed with V4"
    anon = OssFileSystem(config=load_config({"endpoint": server.endpoint}, env={}), skip_instance_cache=True)
    with pytest.raises(PermissionError):
        anon.cat_file(f"{b.bucket_name}/v4.txt")
    b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert anon.cat_file(f"{b.bucket_name}/v4.txt") == b"signed with V4"
