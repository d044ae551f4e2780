"""The protobuf messages of Tablestore's API, from the `tablestore` SDK's published .proto definitions
(its generated `table_store_pb2` and `table_store_filter_pb2`), so the server parses and answers exactly what
the SDK sends and reads.

Importing them runs the SDK package's `__init__`, which logs warnings about optional native codecs; those are
about the SDK's client side and are kept out of the server log.
"""

from __future__ import annotations

import logging
from typing import Any


def _load() -> tuple[Any, Any]:
    sdk_log = logging.getLogger("tablestore")
    level = sdk_log.level
    sdk_log.setLevel(logging.ERROR)
    try:
        from tablestore.protobuf import table_store_filter_pb2, table_store_pb2
    finally:
        sdk_log.setLevel(level)
    return table_store_pb2, table_store_filter_pb2


pb, filter_pb = _load()
