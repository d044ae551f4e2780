from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator

import pytest
import tablestore
from tablestore import CapacityUnit, OTSClient, ReservedThroughput, TableMeta, TableOptions

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

# The SDK logs a warning at import about its optional C++ codec; that is about the client, not ossbox.
logging.getLogger("tablestore").setLevel(logging.ERROR)


def new_instance() -> str:
    return "t" + uuid.uuid4().hex[:12]


def client(server: ServerProcess, instance: str, v4: bool = False, **kwargs: object) -> OTSClient:
    region = {"region": REGION} if v4 else {}
    return OTSClient(server.endpoint, ACCESS_KEY_ID, ACCESS_KEY_SECRET, instance, **region, **kwargs)


@pytest.fixture(scope="module")
def instance() -> str:
    return new_instance()


@pytest.fixture(scope="module", params=["v2", "v4"])
def ots(request: pytest.FixtureRequest, server: ServerProcess, instance: str) -> OTSClient:
    """The official SDK, signing as it does without a region (V2) and with one (V4)."""
    return client(server, instance, v4=request.param == "v4")


TableFactory = Callable[..., str]


@pytest.fixture
def make_table(ots: OTSClient) -> Iterator[TableFactory]:
    created: list[str] = []

    def make(
        pk: list[tuple[str, ...]] | None = None,
        max_version: int = 1,
        ttl: int = -1,
        deviation: int = 86400,
        defined: list[tuple[str, str]] | None = None,
    ) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        meta = TableMeta(name, pk or [("id", "STRING")], defined or [])
        ots.create_table(
            meta, TableOptions(ttl, max_version, deviation), ReservedThroughput(CapacityUnit(0, 0))
        )
        created.append(name)
        return name

    yield make
    for name in created:
        try:
            ots.delete_table(name)
        except tablestore.OTSServiceError:
            pass
