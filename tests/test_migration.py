"""A data directory written before versioning (schema version 2) upgrades in place on the next start."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from importlib import resources
from pathlib import Path

import oss2
import pytest
from oss2.models import BucketVersioningConfig

from tests.clocked import delete_everything, owner_bucket
from tests.server import ServerProcess, free_port


def _old_schema(db_path: Path) -> None:
    """What ossbox created before migration 3: the SQL of migrations 1 and 2, then one bucket and object
    written the way that version wrote them (the body inline)."""
    migrations = resources.files("ossbox.meta").joinpath("migrations", "sqlite")
    body = b"written before versioning"
    etag = hashlib.md5(body).hexdigest().upper()
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER)")
        for version, name in ((1, "0001_initial.sql"), (2, "0002_inline_blobs.sql")):
            db.executescript(migrations.joinpath(name).read_text(encoding="utf-8"))
            db.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
        db.execute(
            "INSERT INTO buckets VALUES ('old', 'ossbox-root', 0, 'cn-hangzhou', 'private', 'Standard')"
        )
        db.execute("INSERT INTO blobs VALUES ('i-old', ?, 1)", (len(body),))
        db.execute("INSERT INTO blob_data VALUES ('i-old', ?)", (body,))
        db.execute(
            "INSERT INTO objects VALUES ('old', 'k', ?, ?, 0, 1700000000000, 'Normal', 'Archive', 'default', "
            "'text/plain', '{}', '{}', ?)",
            (len(body), etag, json.dumps([["i-old", 0, len(body)]])),
        )


def test_schema_2_upgrades(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _old_schema(data_dir / "meta.sqlite3")
    srv = ServerProcess(data_dir, free_port()).start()
    try:
        b = owner_bucket(srv.endpoint, "old")
        head = b.head_object("k")
        assert head.content_length == len(b"written before versioning")
        assert head.headers["x-oss-storage-class"] == "Archive"
        assert "x-oss-restore" not in head.headers
        with pytest.raises(oss2.exceptions.ServerError) as exc:
            b.get_object("k")
        assert exc.value.code == "InvalidObjectState"  # the old Archive object is frozen now
        b.put_bucket_versioning(BucketVersioningConfig("Enabled"))
        b.put_object("k", b"new")
        versions = b.list_object_versions().versions
        assert [(v.versionid, v.is_latest) for v in versions][1] == ("null", False)
        assert b.head_object("k", params={"versionId": "null"}).content_length == 25
        delete_everything(b)
    finally:
        srv.stop()
    with sqlite3.connect(data_dir / "meta.sqlite3") as db:
        applied = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    migrations = resources.files("ossbox.meta").joinpath("migrations", "sqlite")
    shipped = sorted(int(m.name.split("_", 1)[0]) for m in migrations.iterdir() if m.name.endswith(".sql"))
    assert applied == shipped and applied[:3] == [1, 2, 3]


def test_both_engines_have_the_same_migrations() -> None:
    """PostgreSQL's migrations mirror SQLite's, number for number (ossbox/meta/migrations/)."""
    root = resources.files("ossbox.meta").joinpath("migrations")
    numbers = {
        engine: sorted(
            int(m.name.split("_", 1)[0]) for m in root.joinpath(engine).iterdir() if m.name.endswith(".sql")
        )
        for engine in ("sqlite", "postgres")
    }
    assert numbers["sqlite"] == numbers["postgres"] and numbers["sqlite"][0] == 1
