"""`ossbox job run`: resources staged before the program starts, odps:// read and written in its code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import uuid
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import requests

from tests.volumes.conftest import Project, User

KMEANS_DATA = "0.0 0.0 0.0\n0.1 0.1 0.1\n0.2 0.2 0.2\n9.0 9.0 9.0\n9.1 9.1 9.1\n9.2 9.2 9.2\n"

TRAIN = """
import json, os, sys
import fsspec
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import dask.dataframe as dd

project, volume = sys.argv[1], sys.argv[2]
base = f"odps://{project}/{volume}"
staged = sorted(os.listdir("."))
params = json.load(open("bundle.zip/params.json"))
with open("tools.tar.gz/tools/version.txt") as f:
    tools = f.read().strip()
# K-means on odps:// data with numpy (the document's example, without Spark)
with fsspec.open(f"{base}/kmeans_data.txt", "rt") as f:
    points = np.loadtxt(f)
centers = points[[0, -1]].copy()
for _ in range(params["iterations"]):
    labels = np.argmin(((points[:, None, :] - centers[None, :, :]) ** 2).sum(-1), axis=1)
    centers = np.stack([points[labels == k].mean(0) for k in range(len(centers))])
with fsspec.open(f"{base}/target/PythonKMeansExample/KMeansModel/centers.npy", "wb") as f:
    np.save(f, centers)
with fsspec.open(f"{base}/target/PythonKMeansExample/KMeansModel/centers.npy", "rb") as f:
    same = np.load(f)
frame = pd.read_csv(f"{base}/tables/points.csv")
parquet = pd.read_parquet(f"{base}/tables/points.parquet")
fs = fsspec.filesystem("odps")
arrow = pq.read_table(f"{project}/{volume}/tables/points.parquet", filesystem=fs)
total = dd.read_csv(f"{base}/parts/*.csv")["x"].sum().compute()
print(json.dumps({
    "staged": staged,
    "tools": tools,
    "centers": same.round(3).tolist(),
    "csv_sum": int(frame["x"].sum()),
    "parquet_rows": len(parquet),
    "arrow_rows": arrow.num_rows,
    "dask_sum": int(total),
    "listing": sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{base}/parts", detail=False)),
}))
"""


def job(user: User, tmp_path: Path, conf: str, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "spark-defaults.conf").write_text(conf)
    (tmp_path / "main.py").write_text(program)
    workdir = tmp_path / f"work-{uuid.uuid4().hex[:6]}"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ossbox",
            "job",
            "run",
            "--conf",
            str(tmp_path / "spark-defaults.conf"),
            "--workdir",
            str(workdir),
            str(tmp_path / "main.py"),
            *args,
        ],
        capture_output=True,
        text=True,
        env={**user.env, "PATH": "/usr/bin:/bin"},
        timeout=600,
    )


def _volume_with_resources(project: Project, vol: str) -> None:
    b, d = project.bucket, vol
    b.put_object(f"{d}/data/mllib/kmeans_data.txt", KMEANS_DATA)
    b.put_object(f"{d}/kmeans_data.txt", KMEANS_DATA)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("params.json", json.dumps({"iterations": 5}))
    b.put_object(f"{d}/bundle.zip", zbuf.getvalue())
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as tf:
        data = b"1.2.3\n"
        info = tarfile.TarInfo("tools/version.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    b.put_object(f"{d}/tools.tar.gz", tbuf.getvalue())
    b.put_object(f"{d}/tables/points.csv", "x,y\n1,2\n3,4\n")
    pbuf = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 2, 3]}), pbuf)
    b.put_object(f"{d}/tables/points.parquet", pbuf.getvalue())
    b.put_object(f"{d}/parts/a.csv", "x\n10\n20\n")
    b.put_object(f"{d}/parts/b.csv", "x\n30\n")
    project.alice.sql(
        f"vfs -create {vol} -storage_provider oss -url {project.volume_url(d)} -role_arn {project.role_arn};"
    )


def test_job_trains_on_volume_data_and_saves_model(project: Project, tmp_path: Path) -> None:
    vol = "jobs_" + uuid.uuid4().hex[:6]
    _volume_with_resources(project, vol)
    base = f"odps://{project.name}/{vol}"
    conf = f"""\
spark.hadoop.odps.cupid.volume.files=
{base}/data/mllib/kmeans_data.txt,
{base}/tables/points.csv
spark.hadoop.odps.cupid.volume.archives=
{base}/bundle.zip,
{base}/tools.tar.gz
"""
    result = job(project.alice, tmp_path, conf, TRAIN, project.name, vol)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["staged"] == ["bundle.zip", "kmeans_data.txt", "points.csv", "tools.tar.gz"]
    assert answer["tools"] == "1.2.3"
    assert answer["centers"] == [[0.1, 0.1, 0.1], [9.1, 9.1, 9.1]]
    assert (answer["csv_sum"], answer["parquet_rows"], answer["arrow_rows"], answer["dask_sum"]) == (
        4,
        3,
        3,
        60,
    )
    assert answer["listing"] == ["a.csv", "b.csv"]
    model = f"{vol}/target/PythonKMeansExample/KMeansModel/centers.npy"
    assert project.bucket.object_exists(model)  # saved back to the volume's OSS directory


def test_job_without_read_grant_cannot_start_or_read(project: Project, tmp_path: Path) -> None:
    vol = "jobsno_" + uuid.uuid4().hex[:6]
    _volume_with_resources(project, vol)
    base = f"odps://{project.name}/{vol}"
    bob = project.bob
    project.owner.sql(f"GRANT CreateInstance ON PROJECT {project.name} TO USER {bob.name};")
    result = job(bob, tmp_path, f"odps.cupid.volume.files={base}/kmeans_data.txt\n", "print('ran')\n")
    assert result.returncode == 1 and "AccessDenied" in result.stderr and "ran" not in result.stdout, (
        result.stderr
    )
    project.alice.sql(f"GRANT List ON VOLUME {vol} TO USER {bob.name};")  # he may see the file, not read it
    reader = (
        "import fsspec, sys\ntry:\n    fsspec.open(sys.argv[1]).open().read()\nexcept PermissionError "
        "as e:\n    print('denied', e)\n"
    )
    result = job(bob, tmp_path, "", reader, f"{base}/kmeans_data.txt")
    assert result.returncode == 0 and "denied" in result.stdout and "NO privilege 'Read'" in result.stdout, (
        result.stdout
    )
    # nor a presigned URL, the way the filesystem reads
    from ossbox.volumes.client import ProjectClient, load_config
    from ossbox.volumes.errors import VolumeError

    as_bob = ProjectClient(load_config(project.server.endpoint, project.name, bob.key_id, bob.secret))
    try:
        as_bob.presign(f"/{vol}/kmeans_data.txt")
        raise AssertionError("bob got a presigned URL")
    except VolumeError as exc:
        assert exc.code == "AccessDenied"
    as_alice = ProjectClient(
        load_config(project.server.endpoint, project.name, project.alice.key_id, project.alice.secret)
    )
    url = as_alice.presign(f"/{vol}/kmeans_data.txt")
    assert requests.get(url, timeout=10).text == KMEANS_DATA
    other = url.replace("kmeans_data.txt", "bundle.zip")
    assert requests.get(other, timeout=10).status_code == 403  # a URL opens the one object it was signed for


def test_job_without_create_instance(project: Project, tmp_path: Path) -> None:
    outsider = project.make_user("dave" + uuid.uuid4().hex[:6])
    result = job(outsider, tmp_path, "", "print('ran')\n")
    assert result.returncode == 1 and "CreateInstance" in result.stderr, result.stderr
