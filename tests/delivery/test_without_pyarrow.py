"""Without pyarrow (a plain `pip install .`) the server starts and serves OSS and tables; delivery says it is
disabled, in the log and to CreateDeliveryTask."""

from __future__ import annotations

from pathlib import Path

from tablestore import Row

from ossbox.delivery.model import TaskConfig
from tests.delivery.conftest import make_env, start_server
from tests.delivery.test_api import api_error

MESSAGE = (
    "Delivery to OSS is disabled on this server: pyarrow is not installed (pip install 'ossbox[delivery]')."
)


def test_the_server_runs_without_pyarrow(tmp_path: Path) -> None:
    hide = tmp_path / "hide"
    hide.mkdir()
    # As if it were not installed: `import pyarrow` fails and importlib finds no such module.
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['pyarrow'] = None\n")
    server = start_server(tmp_path / "data", {"PYTHONPATH": str(hide)})
    try:
        env = make_env(server)  # tables and OSS work
        env.ots.put_row(env.table, Row([("id", "a")], [("v", 1)]))
        env.bucket.put_object("k", b"v")
        assert env.bucket.get_object("k").read() == b"v"
        status, code, message = api_error(
            env.delivery.create, env.table, "nope", TaskConfig(bucket=env.bucket.bucket_name, prefix="p")
        )
        assert (status, code, message) == (400, "OTSUnsupportOperation", MESSAGE)
        assert env.delivery.list() == []
        assert server.log().count(f"WARNING ossbox.delivery: {MESSAGE}") == 1  # once, not per worker
        assert "runs the delivery tasks" not in server.log()
    finally:
        server.stop()
