"""Wiring of the project service (ossbox.volumes) into the server, and the `ossbox project` commands.

The service runs in each server process on the same port: requests signed `Authorization: ODPS ...` go to
it (ossbox/http/dispatch.py). It reaches OSS as the volumes' roles, assuming them through STS with the key of
the cloud-service principal odps.aliyuncs.com. By default STS is the server's own; to run the service against
real OSS set OSSBOX_PROJECTS_STS_ENDPOINT and OSSBOX_PROJECTS_SERVICE_KEY_ID / _SECRET.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ossbox.http.server import BodyTooLarge, Request, Response
from ossbox.meta.side_db import open_side_db
from ossbox.meta.sql_store import SqlMeta

if TYPE_CHECKING:
    from ossbox.volumes.api import KeyInfo, ProjectApi
    from ossbox.volumes.catalog import Catalog

SERVICE_NAME = "odps.aliyuncs.com"
ENV_STS = "OSSBOX_PROJECTS_STS_ENDPOINT"
ENV_KEY_ID = "OSSBOX_PROJECTS_SERVICE_KEY_ID"
ENV_KEY_SECRET = "OSSBOX_PROJECTS_SERVICE_KEY_SECRET"


class _Identities:
    """What the service asks of the server's identities. The metadata store's read connection belongs to the
    event loop's thread, so a worker thread asks through the loop."""

    def __init__(self, meta: SqlMeta) -> None:
        self.meta = meta
        self.loop: asyncio.AbstractEventLoop | None = None

    def user_exists(self, name: str) -> bool:
        assert self.loop is not None, "set by the first request"

        async def ask() -> bool:
            return self.meta.identities.user(name) is not None

        return asyncio.run_coroutine_threadsafe(ask(), self.loop).result(30)


class ProjectRuntime:
    """The project service of one server process, built on its first request: a worker that never serves
    one pays nothing at start-up (no oss2 import, no catalog)."""

    def __init__(
        self, data_dir: Path, meta: SqlMeta, meta_url: str, account_id: str, owner_id: str, region: str
    ) -> None:
        self._args = (data_dir, account_id, owner_id, region)
        self._meta_url = meta_url  # the catalog lives beside the metadata: in its PostgreSQL, if that is one
        self.identities = _Identities(meta)
        self._sts_endpoint = os.environ.get(ENV_STS, "")
        self._api: ProjectApi | None = None
        self._catalog: Catalog | None = None

    def set_own_address(self, host: str, port: int) -> None:
        """STS is the server itself unless configured otherwise: known once the server listens."""
        if not self._sts_endpoint:
            reachable = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
            self._sts_endpoint = f"{reachable}:{port}"

    def _build(self) -> ProjectApi:
        from ossbox.service.identities import IdentityAdmin
        from ossbox.volumes.api import ProjectApi
        from ossbox.volumes.catalog import Catalog
        from ossbox.volumes.oss import OssAccess
        from ossbox.volumes.service import ProjectService

        data_dir, account_id, owner_id, region = self._args
        # The SDKs log every refused call (a 404 HEAD is how a directory is told from a file): the service
        # turns them into its own errors instead.
        logging.getLogger("oss2").setLevel(logging.WARNING)
        logging.getLogger("aliyunsdkcore").setLevel(logging.CRITICAL)
        key_id, secret = os.environ.get(ENV_KEY_ID), os.environ.get(ENV_KEY_SECRET)
        if not key_id or not secret:
            service_key = IdentityAdmin(self.identities.meta, owner_id, account_id).service_key(SERVICE_NAME)
            key_id, secret = service_key.access_key_id, service_key.secret
        access = OssAccess(self._sts_endpoint, key_id, secret, region)
        self._catalog = Catalog(open_side_db("projects", "ossbox.volumes", data_dir, self._meta_url))
        scratch = data_dir / "projects-scratch"
        scratch.mkdir(exist_ok=True)
        service = ProjectService(self._catalog, access, account_id, self.identities.user_exists, scratch)
        return ProjectApi(service)

    async def __call__(self, http: Request) -> Response:
        from ossbox.volumes.api import MAX_BODY, ApiRequest, access_key_of

        if self._api is None:
            self.identities.loop = asyncio.get_running_loop()
            self._api = self._build()
        try:
            body = await http.body.read_all(MAX_BODY)
        except BodyTooLarge:
            return Response(
                413,
                [("Content-Type", "application/json")],
                b'{"Code":"BodyTooLarge","Message":"at most 4 MiB"}',
            )
        headers = dict(http.headers)
        req = ApiRequest(
            http.method, http.raw_path.decode("latin-1"), http.raw_query.decode("latin-1"), headers, body
        )
        key_id = access_key_of(headers)
        key = self._key_info(key_id) if key_id else None
        answer = await asyncio.to_thread(self._api.handle, req, key)
        return Response(answer.status, answer.headers, answer.body)

    def _key_info(self, key_id: str) -> KeyInfo | None:
        """Long-term keys of the owner and of RAM users; service keys and STS credentials are not users."""
        from ossbox.volumes.api import KeyInfo

        key = self.identities.meta.get_access_key(key_id)
        if key is None or key.service is not None:
            return None
        return KeyInfo(key.secret, key.user_name)

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()


def open_project_service(
    data_dir: Path, meta: SqlMeta, meta_url: str, account_id: str, owner_id: str, region: str
) -> ProjectRuntime:
    return ProjectRuntime(data_dir, meta, meta_url, account_id, owner_id, region)


@click.group()
def project() -> None:
    """MaxCompute-style projects (the account owner's keys): create, list.

    \b
    ossbox project create myproj --warehouse oss://127.0.0.1:9000/warehouse/myproj \\
        --role-arn acs:ram::<account>:role/aliyunodpsdefaultrole
    """


def _client(endpoint: str, access_id: str, access_key: str, project_name: str = "-"):  # type: ignore[no-untyped-def]
    from ossbox.volumes.client import ProjectClient, load_config

    return ProjectClient(load_config(endpoint, project_name, access_id, access_key))


_endpoint = click.option(
    "--endpoint",
    envvar="ODPS_ENDPOINT",
    required=True,
    help="The server, e.g. http://127.0.0.1:9000 [env ODPS_ENDPOINT].",
)
_access_id = click.option("--access-id", envvar="ODPS_ACCESS_ID", required=True, help="[env ODPS_ACCESS_ID]")
_access_key = click.option(
    "--access-key", envvar="ODPS_ACCESS_KEY", required=True, help="[env ODPS_ACCESS_KEY]"
)


@project.command("create")
@_endpoint
@_access_id
@_access_key
@click.argument("name")
@click.option(
    "--warehouse", required=True, help="oss://<endpoint>/<bucket>/<dir> holding the internal tables."
)
@click.option("--role-arn", required=True, help="The role the service assumes to reach the warehouse.")
def project_create(
    endpoint: str, access_id: str, access_key: str, name: str, warehouse: str, role_arn: str
) -> None:
    """Create a project owned by the account owner."""
    from ossbox.volumes.errors import VolumeError

    try:
        p = _client(endpoint, access_id, access_key).call(
            "POST", "projects", {"name": name, "warehouse": warehouse, "role_arn": role_arn}
        )
    except VolumeError as exc:
        raise click.ClickException(exc.describe()) from None
    click.echo(f"created project {p['name']} (warehouse {p['warehouse']})")


@project.command("list")
@_endpoint
@_access_id
@_access_key
def project_list(endpoint: str, access_id: str, access_key: str) -> None:
    """Projects the caller owns or was added to."""
    from ossbox.volumes.errors import VolumeError

    try:
        answer = _client(endpoint, access_id, access_key).call("GET", "projects")
    except VolumeError as exc:
        raise click.ClickException(exc.describe()) from None
    for p in answer["projects"]:
        click.echo(f"{p['name']}\t{p['owner']}\t{p['warehouse']}")
