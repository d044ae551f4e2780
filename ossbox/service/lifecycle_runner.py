"""Executing lifecycle rules: one pass over every bucket that has them.

A pass reads in batches (so a server's event loop keeps serving between them) and decides, per version,
what the rules want now; the changes of a batch go to the committer as one operation that re-checks each
version inside the transaction (a version rewritten or deleted since it was read is left alone), so a
pass racing with clients, with another pass, or with a crash leaves every key in an old or a new state.

Who runs passes: in a server, exactly one process of all that share the metadata (the `lifecycle` lease of
ossbox.meta.leases: an flock on one machine, an advisory lock on PostgreSQL; another process takes over if
that one dies) every `--lifecycle-interval-seconds`; and
`ossbox lifecycle run --data-dir DIR`, at once, from any process.

Tag filters: rules match on the tags stored with each version (ossbox/protocol/object_tags.py), read from
the same rows the pass scans.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ossbox.core.versions import wire_version_id
from ossbox.meta.sql_store import SqlTxn
from ossbox.meta.types import ObjectMeta
from ossbox.protocol import object_tags
from ossbox.service import versioning, worm
from ossbox.service.committer import Outcome
from ossbox.service.lifecycle import (
    Action,
    Rule,
    abort_due,
    current_action,
    noncurrent_action,
    removes_expired_delete_markers,
    rules_from_json,
)
from ossbox.service.storage import Storage

log = logging.getLogger("ossbox.lifecycle")

_BATCH = 500


def _tags(o: ObjectMeta) -> Mapping[str, str]:
    return dict(object_tags.decode(o.tagging)) if o.tagging else {}


@dataclass
class PassReport:
    expired: int = 0  # current versions deleted (or hidden behind a delete marker)
    transitioned: int = 0  # current versions moved to a colder storage class
    noncurrent_expired: int = 0  # noncurrent versions and delete markers removed for good
    noncurrent_transitioned: int = 0
    delete_markers_removed: int = 0  # ExpiredObjectDeleteMarker
    uploads_aborted: int = 0
    buckets: list[str] = field(default_factory=list)

    def total(self) -> int:
        return (
            self.expired
            + self.transitioned
            + self.noncurrent_expired
            + self.noncurrent_transitioned
            + self.delete_markers_removed
            + self.uploads_aborted
        )


EXPIRE, TRANSITION, DROP_MARKER = "expire", "transition", "drop-marker"


@dataclass(frozen=True)
class _Plan:
    """A change decided from what was read, applied only if the version is still the same."""

    key: str
    version_id: str  # stored form
    vseq: int
    mtime_ms: int
    kind: str  # EXPIRE | TRANSITION | DROP_MARKER
    storage_class: str = ""
    # The tags the rules were matched against: a version retagged since is left for the next pass.
    tagging: str = ""

    @classmethod
    def of(cls, o: ObjectMeta, action: Action) -> _Plan:
        kind = EXPIRE if action.expire else TRANSITION
        return cls(o.key, o.version_id, o.vseq, o.mtime_ms, kind, action.storage_class, o.tagging)


def _same(o: ObjectMeta | None, plan: _Plan) -> bool:
    return (
        o is not None
        and o.version_id == plan.version_id
        and o.mtime_ms == plan.mtime_ms
        and o.tagging == plan.tagging
    )


def _cold_columns(storage_class: str) -> dict[str, object]:
    # A restore record means nothing once the object is in another class: it starts frozen there.
    return {
        "storage_class": storage_class,
        "restore_ready_ms": None,
        "restore_expiry_ms": None,
        "restore_tier": None,
    }


class LifecycleRunner:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def run_once(self) -> PassReport:
        report = PassReport()
        for bucket, text in self.storage.meta.buckets_with_lifecycle():
            rules = [r for r in rules_from_json(text) if r.enabled]
            if not rules:
                continue
            report.buckets.append(bucket)
            if any(r.transitions or (r.expiration and not r.expiration.expired_delete_marker) for r in rules):
                await self._current(bucket, rules, report)
            if any(
                r.noncurrent_expiration_days is not None
                or r.noncurrent_transitions
                or (r.expiration is not None and r.expiration.expired_delete_marker)
                for r in rules
            ):
                await self._noncurrent(bucket, rules, report)
            if any(r.abort_uploads for r in rules):
                await self._uploads(bucket, rules, report)
        if report.total():
            log.info("lifecycle pass in process %d: %s", os.getpid(), report)
        return report

    # -------------------------------------------------------------------------------- current versions
    async def _current(self, bucket: str, rules: Sequence[Rule], report: PassReport) -> None:
        meta = self.storage.meta
        after = ""
        while True:
            rows = meta.scan_objects_full(bucket, after, _BATCH)
            now = self.storage.now_ms()
            plans = []
            for o in rows:
                tags = _tags(o)
                action = current_action(rules, o.key, o.size, o.mtime_ms, o.storage_class, tags, now)
                if action is not None:
                    plans.append(_Plan.of(o, action))
            if plans:
                expired, moved = await self.storage.committer.commit(self._current_op(bucket, plans))
                report.expired += expired
                report.transitioned += moved
            if len(rows) < _BATCH:
                return
            after = rows[-1].key
            await asyncio.sleep(0)

    def _current_op(self, bucket: str, plans: list[_Plan]) -> Callable[[SqlTxn], Outcome[tuple[int, int]]]:
        retention = self.storage.retention(bucket)

        def op(txn: SqlTxn) -> Outcome[tuple[int, int]]:
            row = txn.get_bucket(bucket)
            if row is None:
                return Outcome((0, 0), [])
            now = self.storage.now_ms()
            expired = moved = 0
            dead: list[str] = []
            for plan in plans:
                cur = txn.get_object(bucket, plan.key)
                if cur is None or not _same(cur, plan):
                    continue
                if plan.kind == EXPIRE:
                    if row.versioning != "Enabled" and worm.protected(retention, cur, now):
                        continue  # a retention policy outranks the rule: the next pass after it ends
                    dead += versioning.delete_current(txn, row, plan.key, now)[1]
                    expired += 1
                else:
                    txn.update_version(cur, True, **_cold_columns(plan.storage_class))
                    moved += 1
            return Outcome((expired, moved), dead)

        return op

    # -------------------------------------------------------------------------------- noncurrent versions
    async def _noncurrent(self, bucket: str, rules: Sequence[Rule], report: PassReport) -> None:
        meta = self.storage.meta
        after: tuple[str, int] | None = None
        while True:
            rows = meta.scan_noncurrent(bucket, after, _BATCH)
            now = self.storage.now_ms()
            plans = []
            for i, o in enumerate(rows):
                if o.delete_marker and o.noncurrent_ms == 0:
                    # The key's latest version: removed only when it is all that is left of the key.
                    alone = (i + 1 >= len(rows) or rows[i + 1].key != o.key) and meta.get_object(
                        bucket, o.key
                    ) is None
                    if alone and removes_expired_delete_markers(rules, o.key):
                        plans.append(_Plan(o.key, o.version_id, o.vseq, o.mtime_ms, DROP_MARKER))
                    continue
                tags = {} if o.delete_marker else _tags(o)
                action = noncurrent_action(
                    rules, o.key, o.size, o.noncurrent_ms, o.storage_class, tags, now, o.delete_marker
                )
                if action is not None:
                    plans.append(_Plan.of(o, action))
            if plans:
                counts = await self.storage.committer.commit(self._noncurrent_op(bucket, plans))
                report.noncurrent_expired += counts[0]
                report.noncurrent_transitioned += counts[1]
                report.delete_markers_removed += counts[2]
            if len(rows) < _BATCH:
                return
            after = (rows[-1].key, rows[-1].vseq)
            await asyncio.sleep(0)

    def _noncurrent_op(
        self, bucket: str, plans: list[_Plan]
    ) -> Callable[[SqlTxn], Outcome[tuple[int, int, int]]]:
        retention = self.storage.retention(bucket)

        def op(txn: SqlTxn) -> Outcome[tuple[int, int, int]]:
            now = self.storage.now_ms()
            expired = moved = markers = 0
            dead: list[str] = []
            for plan in plans:
                found = txn.find_version(bucket, plan.key, wire_version_id(plan.version_id))
                if (
                    found is None
                    or found[1]
                    or found[0].vseq != plan.vseq
                    or found[0].tagging != plan.tagging
                ):
                    continue
                o = found[0]
                if plan.kind == DROP_MARKER:
                    if o.noncurrent_ms != 0 or txn.get_object(bucket, plan.key) is not None:
                        continue
                    if txn.version_count(bucket, plan.key) != 1:
                        continue
                    dead += txn.delete_noncurrent(bucket, plan.key, o.vseq)
                    markers += 1
                elif plan.kind == EXPIRE:
                    if worm.protected(retention, o, now):
                        continue
                    dead += versioning.delete_version(txn, bucket, plan.key, wire_version_id(o.version_id))[1]
                    expired += 1
                else:
                    txn.update_version(o, False, **_cold_columns(plan.storage_class))
                    moved += 1
            return Outcome((expired, moved, markers), dead)

        return op

    # -------------------------------------------------------------------------------- multipart uploads
    async def _uploads(self, bucket: str, rules: Sequence[Rule], report: PassReport) -> None:
        meta = self.storage.meta
        key_marker, id_marker = "", ""
        while True:
            rows = meta.scan_uploads(bucket, key_marker, id_marker, _BATCH)
            now = self.storage.now_ms()
            due = [u.upload_id for u in rows if abort_due(rules, u.key, u.initiated_ms, now)]
            if due:
                report.uploads_aborted += await self.storage.committer.commit(self._abort_op(bucket, due))
            if len(rows) < _BATCH:
                return
            key_marker, id_marker = rows[-1].key, rows[-1].upload_id
            await asyncio.sleep(0)

    @staticmethod
    def _abort_op(bucket: str, upload_ids: list[str]) -> Callable[[SqlTxn], Outcome[int]]:
        def op(txn: SqlTxn) -> Outcome[int]:
            dead: list[str] = []
            n = 0
            for upload_id in upload_ids:
                u = txn.get_upload(upload_id)
                if u is None or u.bucket != bucket:
                    continue
                dead += txn.delete_upload(upload_id)
                n += 1
            return Outcome(n, dead)

        return op
