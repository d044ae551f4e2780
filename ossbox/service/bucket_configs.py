"""Storing bucket configurations (tagging, CORS, referer, website, logging, CNAME) durably.

The handlers validate a configuration and turn it into its stored document; these functions commit it
through the committer like any other metadata change, after checking that the bucket still exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ossbox.core.errors import no_such_bucket
from ossbox.meta.sql_store import SqlTxn
from ossbox.service.committer import Outcome
from ossbox.service.storage import Storage

T = TypeVar("T")

# Given the transaction and the stored document (None when there is none): the document to store (None
# removes it) and what the caller gets back.
Change = Callable[[SqlTxn, str | None], tuple[str | None, T]]


async def update(storage: Storage, bucket: str, name: str, change: Change[T]) -> T:
    def op(txn: SqlTxn) -> Outcome[T]:
        if txn.get_bucket(bucket) is None:
            raise no_such_bucket(bucket)
        current = txn.configs.get(bucket, name)
        new, result = change(txn, current)
        if new is None:
            if current is not None:
                txn.configs.delete(bucket, name)
        elif new != current:
            txn.configs.put(bucket, name, new)
        return Outcome(result, [])

    return await storage.committer.commit(op)


async def put(storage: Storage, bucket: str, name: str, document: str) -> None:
    await update(storage, bucket, name, lambda _txn, _cur: (document, None))


async def delete(storage: Storage, bucket: str, name: str) -> None:
    await update(storage, bucket, name, lambda _txn, _cur: (None, None))
