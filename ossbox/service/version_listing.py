"""ListObjectVersions: current versions (table `objects`) merged with noncurrent versions and delete
markers (table `object_versions`), keys in order and each key's versions newest first.

A position in that order is (key, rank): a current version ranks above every noncurrent one, noncurrent ones
rank by vseq. Pages resume after (key-marker, version-id-marker). With a delimiter, every version of every
key under a common prefix is skipped with one index seek per table, as ListObjects does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ossbox.core.versions import NULL_VERSION, vseq_of
from ossbox.meta.sql_store import SqlMeta
from ossbox.meta.types import ListedVersion
from ossbox.service.key_order import prefix_successor

_AFTER_SEEK_BATCH = 4


@dataclass(frozen=True)
class VersionListing:
    versions: list[ListedVersion]  # versions and delete markers, in listing order
    prefixes: list[str]
    truncated: bool
    next_key_marker: str
    next_version_id_marker: str  # wire form ("null" for the null version)


@dataclass(frozen=True)
class _Start:
    """Where a scan starts: key `key`, with its current version when `with_current`, and its noncurrent
    versions below `below_vseq` (all when None); then every later key."""

    key: str
    with_current: bool
    below_vseq: int | None


def _rows(meta: SqlMeta, bucket: str, start: _Start, batch: int) -> Iterator[ListedVersion]:
    """The merged stream from `start`, fetched `batch` rows at a time from each table."""
    current = _current_rows(meta, bucket, start, batch)
    noncurrent = _noncurrent_rows(meta, bucket, start, batch)
    c = next(current, None)
    n = next(noncurrent, None)
    while c is not None or n is not None:
        if n is None or (c is not None and c.key <= n.key):
            assert c is not None
            yield c
            c = next(current, None)
        else:
            yield n
            n = next(noncurrent, None)


def _current_rows(meta: SqlMeta, bucket: str, start: _Start, batch: int) -> Iterator[ListedVersion]:
    after, inclusive = start.key, start.with_current
    while True:
        rows = meta.scan_current_versions(bucket, after, inclusive, batch)
        yield from rows
        if len(rows) < batch:
            return
        after, inclusive = rows[-1].key, False
        batch = min(batch * 4, 1000)


def _noncurrent_rows(meta: SqlMeta, bucket: str, start: _Start, batch: int) -> Iterator[ListedVersion]:
    key, below = start.key, start.below_vseq
    if start.with_current:
        below = None  # every noncurrent version of `key` comes after its current one
    elif below is None:
        below = 1 << 62  # all of `key`'s noncurrent versions
    while True:
        rows = meta.scan_noncurrent_versions(bucket, key, below, batch)
        yield from rows
        if len(rows) < batch:
            return
        key, below = rows[-1].key, rows[-1].vseq
        batch = min(batch * 4, 1000)


def _start(meta: SqlMeta, bucket: str, prefix: str, key_marker: str, version_id_marker: str) -> _Start:
    if not key_marker or key_marker < prefix:
        return _Start(prefix, True, None)
    if not version_id_marker:
        return _Start(key_marker, False, -1)  # past every version of key_marker
    if version_id_marker == NULL_VERSION:
        found = meta.find_version(bucket, key_marker, NULL_VERSION)
        if found is None:
            return _Start(key_marker, False, -1)
        o, current = found
        return _Start(key_marker, False, None if current else o.vseq)
    vseq = vseq_of(version_id_marker)
    assert vseq is not None
    cur = meta.get_object(bucket, key_marker)
    if cur is not None and cur.version_id == version_id_marker:
        return _Start(key_marker, False, None)
    return _Start(key_marker, False, vseq)


def list_versions(
    meta: SqlMeta,
    bucket: str,
    prefix: str,
    delimiter: str,
    key_marker: str,
    version_id_marker: str,
    max_keys: int,
) -> VersionListing:
    start = _start(meta, bucket, prefix, key_marker, version_id_marker)
    resumed_inside = start.key if not start.with_current else None
    versions: list[ListedVersion] = []
    prefixes: list[str] = []
    last_key, last_id = "", ""
    full_batch = min(max_keys + 1, 1001)
    batch = full_batch
    while True:
        seek: _Start | None = None
        latest_key_seen = None  # a key whose newest entry went by in this scan
        for row in _rows(meta, bucket, start, batch):
            key = row.key
            if not key.startswith(prefix):
                return VersionListing(versions, prefixes, False, "", "")
            if len(versions) + len(prefixes) >= max_keys:
                return VersionListing(versions, prefixes, True, last_key, last_id)
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    # A marker inside this group means an earlier page already returned it.
                    if not (key_marker and key_marker.startswith(common)):
                        prefixes.append(common)
                        last_key, last_id = common, ""
                    seek = _Start(prefix_successor(common), True, None)
                    break
            if row.is_latest:
                latest_key_seen = key
            elif latest_key_seen != key and key != resumed_inside:
                # The first entry of a key with no current version: by the store's invariant, its newest
                # delete marker is the key's latest version.
                row.is_latest = True
                latest_key_seen = key
            versions.append(row)
            last_key, last_id = key, row.version_id or NULL_VERSION
        else:
            return VersionListing(versions, prefixes, False, "", "")
        start, resumed_inside, batch = seek, None, _AFTER_SEEK_BATCH
