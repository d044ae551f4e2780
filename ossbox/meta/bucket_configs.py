"""Bucket configurations in the metadata store: one document per (bucket, configuration name).

Some configurations are consulted on the request path (CORS, referer, website, access logging, CNAME
bindings, the default encryption rule and the retention policy that every write reads): those are loaded
for every bucket at once and cached until any process changes a configuration or a bucket (see
shared_state.py), so that a request to a bucket without any of them costs one dict lookup.
The others (tagging) are read when asked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ossbox.meta.connection import Connection

# Consulted on requests: cached for every bucket.
HOT_CONFIGS = ("cors", "referer", "website", "logging", "cname", "encryption", "worm")
_LOADED = ""  # a key no bucket has: present once the hot configurations are loaded


class _Txn(Protocol):
    c: Connection
    changed_config: bool


class BucketConfigCatalog:
    """Cached reads, on the metadata store's read connection (event-loop thread)."""

    def __init__(
        self, conn: Connection, check_caches: Callable[[], None], caches: list[dict[Any, Any]]
    ) -> None:
        self._c = conn
        self._check = check_caches
        self._hot: dict[str, dict[str, str]] = {}
        self._cnames: dict[str, str] = {}
        caches += [self._hot, self._cnames]

    def get(self, bucket: str, name: str) -> str | None:
        """One configuration document, uncached (Get calls, the non-hot configurations)."""
        row = self._c.execute(
            "SELECT document FROM bucket_configs WHERE bucket = ? AND name = ?", (bucket, name)
        ).fetchone()
        return None if row is None else str(row[0])

    def all_named(self, name: str) -> list[tuple[str, str]]:
        rows = self._c.execute("SELECT bucket, document FROM bucket_configs WHERE name = ?", (name,))
        return [(str(r[0]), str(r[1])) for r in rows]

    def hot(self, bucket: str) -> Mapping[str, str] | None:
        """The request-path configurations of `bucket` (name -> document), None when it has none."""
        self._check()
        hot = self._hot
        if _LOADED not in hot:
            self._load()
        return hot.get(bucket)

    def cname_bucket(self, domain: str) -> str | None:
        """The bucket a custom domain is bound to (`domain` lower-case, without port)."""
        self._check()
        if _LOADED not in self._hot:
            self._load()
        return self._cnames.get(domain)

    def _load(self) -> None:
        marks = ",".join("?" * len(HOT_CONFIGS))
        rows = self._c.execute(
            f"SELECT bucket, name, document FROM bucket_configs WHERE name IN ({marks})", HOT_CONFIGS
        ).fetchall()
        hot: dict[str, dict[str, str]] = {}
        cnames: dict[str, str] = {}
        for bucket, name, document in rows:
            hot.setdefault(bucket, {})[name] = document
            if name == "cname":
                for domain in json.loads(document).get("domains", {}):
                    cnames[domain] = bucket
        self._hot.clear()
        self._hot.update(hot)
        self._hot[_LOADED] = {}
        self._cnames.clear()
        self._cnames.update(cnames)


class BucketConfigWriter:
    """Writes inside a metadata transaction."""

    def __init__(self, txn: _Txn) -> None:
        self._txn = txn

    def get(self, bucket: str, name: str) -> str | None:
        row = self._txn.c.execute(
            "SELECT document FROM bucket_configs WHERE bucket = ? AND name = ?", (bucket, name)
        ).fetchone()
        return None if row is None else str(row[0])

    def all_named(self, name: str) -> list[tuple[str, str]]:
        rows = self._txn.c.execute("SELECT bucket, document FROM bucket_configs WHERE name = ?", (name,))
        return [(str(r[0]), str(r[1])) for r in rows]

    def put(self, bucket: str, name: str, document: str) -> None:
        self._txn.changed_config = True
        self._txn.c.execute(
            "INSERT INTO bucket_configs (bucket, name, document) VALUES (?, ?, ?) "
            "ON CONFLICT (bucket, name) DO UPDATE SET document = excluded.document",
            (bucket, name, document),
        )

    def delete(self, bucket: str, name: str) -> bool:
        self._txn.changed_config = True
        cur = self._txn.c.execute("DELETE FROM bucket_configs WHERE bucket = ? AND name = ?", (bucket, name))
        return cur.rowcount > 0

    def delete_bucket(self, bucket: str) -> None:
        self._txn.c.execute("DELETE FROM bucket_configs WHERE bucket = ?", (bucket,))
