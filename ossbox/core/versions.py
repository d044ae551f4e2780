"""Version ids: how a version's place in its key's history is named on the wire.

Every version written in a bucket whose versioning was ever configured gets a number from one counter
(the metadata store's `version_seq`), so numbers grow with time across the whole data directory. The id is
that number as 16 upper-case hex digits; the number can be read back from the id, so a lookup by id is a
primary-key lookup. "null" names the version written while versioning was never enabled or was suspended
(stored as the empty string). Clients treat ids as opaque strings.
"""

from __future__ import annotations

NULL_VERSION = "null"
_ID_LENGTH = 16
_HEX = frozenset("0123456789ABCDEF")


def version_id_for(vseq: int) -> str:
    return f"{vseq:0{_ID_LENGTH}X}"


def vseq_of(version_id: str) -> int | None:
    """The number behind an id this server issued; None when `version_id` is not one (nor "null")."""
    if len(version_id) != _ID_LENGTH or not _HEX.issuperset(version_id):
        return None
    return int(version_id, 16)


def wire_version_id(stored: str) -> str:
    """The id a client sees: stored ids as they are, the null version as "null"."""
    return stored or NULL_VERSION
