"""GET/HEAD through a symlink, the same in both dialects: the caller must be allowed to read the target
too (its policy and its ACL), and a GET needs an archived target restored."""

from __future__ import annotations

from typing import Protocol

from ossbox.auth.authorizer import Grant
from ossbox.meta.types import Bucket, ObjectMeta
from ossbox.protocol.request import Access
from ossbox.service.storage import Storage


class ReadCall(Protocol):
    @property
    def storage(self) -> Storage: ...

    @property
    def bkt(self) -> Bucket: ...

    def authorize(self, access: Access, action: str, bucket: Bucket, key: str | None) -> Grant: ...

    def check_object_read(self, bucket: Bucket, o: ObjectMeta, grant: Grant) -> None: ...


def through_link(call: ReadCall, link: ObjectMeta, reading: bool) -> ObjectMeta:
    """What a GET (`reading`) or HEAD of `link` shows: the target's data and the link's identity."""
    target = call.storage.follow_symlink(link)
    assert link.symlink_target is not None
    grant = call.authorize(Access.OBJECT_READ, "oss:GetObject", call.bkt, link.symlink_target)
    call.check_object_read(call.bkt, target, grant)
    if reading:
        call.storage.check_readable(target)
    return call.storage.symlink_view(link, target)
