"""Object names of delivered files, as Tablestore names them:

    <expanded prefix>/<TaskName>_<ConcurrentID>_<expanded prefix with / replaced by _>__<SequenceID>

The prefix's time variables ($yyyy $MM $dd $HH $mm) take the row's time (its write time, or its event-time
column's value), in UTC. ConcurrentID numbers the parallel writers of a batch from 0; SequenceID counts the
files of one ConcurrentID from 1.
"""

from __future__ import annotations

import datetime

from ossbox.delivery.model import TIME_VARIABLE

_FORMATS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M"}


def has_time_variables(prefix: str) -> bool:
    return TIME_VARIABLE.search(prefix) is not None


def expand_prefix(prefix: str, when_ms: int) -> str:
    """The prefix with its time variables replaced by the time `when_ms` (UTC)."""
    if not has_time_variables(prefix):
        return prefix
    when = datetime.datetime.fromtimestamp(when_ms / 1000, datetime.UTC)
    return TIME_VARIABLE.sub(lambda m: when.strftime(_FORMATS[m.group(1)]), prefix)


def object_key(task_name: str, concurrent_id: int, expanded_prefix: str, sequence_id: int) -> str:
    flat = expanded_prefix.replace("/", "_")
    return f"{expanded_prefix}/{task_name}_{concurrent_id}_{flat}__{sequence_id}"
