"""Storage classes and the restore of archived objects.

Archive, ColdArchive and DeepColdArchive objects are "frozen": their metadata can be read (HEAD, listings)
but their bytes only after a restore. ossbox keeps the data where it always is; a restore only records
when the object becomes readable (now + the server's restore delay) and until when (`Days` later). The
state follows from those two times and the clock, so nothing has to run when a restore completes or its
copy expires:

    no restore, or expired   -> frozen     (GET: 403 InvalidObjectState; RestoreObject: 202, starts one)
    now < ready              -> ongoing    (RestoreObject: 409 RestoreAlreadyInProgress)
    ready <= now < expiry    -> restored   (readable; RestoreObject: 200, the copy is kept `Days` from now)
"""

from __future__ import annotations

from enum import Enum

from ossbox.core.clock import DAY_MS
from ossbox.core.errors import OSSError, invalid_argument, malformed_xml
from ossbox.meta.types import Restore

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
FROZEN_CLASSES = frozenset(["Archive", "ColdArchive", "DeepColdArchive"])
# Coldness order, for lifecycle transitions (an object only ever moves to a colder class).
COLDNESS = {name: rank for rank, name in enumerate(STORAGE_CLASSES)}
MAX_RESTORE_DAYS = {"Archive": 7, "ColdArchive": 365, "DeepColdArchive": 365}
# Restore priorities OSS offers per class; Archive takes none.
TIERS: dict[str, tuple[str, ...]] = {
    "ColdArchive": ("Expedited", "Standard", "Bulk"),
    "DeepColdArchive": ("Expedited", "Standard"),
}
DEFAULT_TIER = "Standard"


class RestoreState(Enum):
    FROZEN = "frozen"
    ONGOING = "ongoing"
    RESTORED = "restored"


def restore_state(restore: Restore | None, now_ms: int) -> RestoreState:
    if restore is None or now_ms >= restore.expiry_ms:
        return RestoreState.FROZEN
    return RestoreState.ONGOING if now_ms < restore.ready_ms else RestoreState.RESTORED


def is_readable(storage_class: str, restore: Restore | None, now_ms: int) -> bool:
    return storage_class not in FROZEN_CLASSES or restore_state(restore, now_ms) is RestoreState.RESTORED


def invalid_object_state() -> OSSError:
    return OSSError(403, "InvalidObjectState", "The operation is not valid for the object's state.")


def check_readable(storage_class: str, restore: Restore | None, now_ms: int) -> None:
    if not is_readable(storage_class, restore, now_ms):
        raise invalid_object_state()


def check_restore_request(storage_class: str, days: int, tier: str | None) -> str:
    """Validate a RestoreObject request against the object's class; returns the tier ("" for Archive)."""
    if storage_class not in FROZEN_CLASSES:
        raise OSSError(
            400,
            "OperationNotSupported",
            "The operation is not supported for this resource: only Archive, ColdArchive and "
            "DeepColdArchive objects are restored.",
        )
    if storage_class == "Archive":
        if tier is not None:
            # OSS answers a JobParameters element on an Archive object as malformed.
            raise malformed_xml("JobParameters is not supported for Archive objects.")
        chosen = ""
    else:
        chosen = DEFAULT_TIER if tier is None else tier
        if chosen not in TIERS[storage_class]:
            raise invalid_argument(
                f"The restore tier must be one of {', '.join(TIERS[storage_class])}.", "Tier", chosen
            )
    if not 1 <= days <= MAX_RESTORE_DAYS[storage_class]:
        raise invalid_argument(
            f"Days must be between 1 and {MAX_RESTORE_DAYS[storage_class]} for {storage_class} objects.",
            "Days",
            str(days),
        )
    return chosen


def restore_in_progress() -> OSSError:
    return OSSError(409, "RestoreAlreadyInProgress", "The restore operation is in progress.")


def next_restore(
    current: Restore | None, days: int, tier: str, now_ms: int, delay_ms: int
) -> tuple[Restore, bool]:
    """The restore record after a (validated) request, and whether a new restore started (OSS: 202)
    rather than a restored copy being kept longer (200). Raises RestoreAlreadyInProgress."""
    state = restore_state(current, now_ms)
    if state is RestoreState.ONGOING:
        raise restore_in_progress()
    if state is RestoreState.RESTORED:
        assert current is not None
        return Restore(current.ready_ms, max(current.expiry_ms, now_ms + days * DAY_MS), current.tier), False
    ready = now_ms + delay_ms
    return Restore(ready, ready + days * DAY_MS, tier), True
