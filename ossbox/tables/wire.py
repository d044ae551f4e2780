"""The protobuf messages of Tablestore's API, from the `tablestore` SDK's published .proto definitions
(its generated `table_store_pb2` and `table_store_filter_pb2`), so the server parses and answers exactly what
the SDK sends and reads.

The two generated modules are loaded from the SDK's files under their own names, without running the SDK
package's `__init__`: that imports the whole client (aiohttp, numpy: ~35 MB per server process) and logs
warnings about its optional native codecs. A later `import tablestore` finds them already loaded.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

_PACKAGE = "tablestore.protobuf"


def _load_module(name: str) -> ModuleType:
    full = f"{_PACKAGE}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    sdk = importlib.util.find_spec("tablestore")
    if sdk is None or not sdk.submodule_search_locations:
        raise ImportError("the tablestore SDK is not installed")
    path = f"{next(iter(sdk.submodule_search_locations))}/protobuf/{name}.py"
    spec = importlib.util.spec_from_file_location(full, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)
    return module


def _load() -> tuple[Any, Any]:
    # The filter messages do not refer to the others, so the order does not matter.
    return _load_module("table_store_pb2"), _load_module("table_store_filter_pb2")


pb, filter_pb = _load()
