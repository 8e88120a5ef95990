"""Instants as the fakes print them: ISO 8601 in UTC ending in ``Z``."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

__all__ = ["EARLIEST_INSTANT", "LATEST_INSTANT", "TIME_KEYS", "in_range", "iso_z", "with_iso_times"]

EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC).timestamp()
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC).timestamp()
"""The instants (Unix seconds) a fake accepts from a client: 1900-01-01 to 9000-01-01 UTC. Python's datetime ends
at 9999-12-31, so a schedule starting there could not be printed once a duration was added (a start of 9999-12-31
made a group's schedule list fail for everyone); ending in 9000 leaves room for any duration a fake accepts."""

TIME_KEYS = frozenset(
    {"at", "signin", "end", "start", "launch", "expiration", "effective_end", "before", "from", "origin",
     "next_cycle", "ended_at", "created", "due", "last_cycle", "requested_at"}
)  # fmt: skip
"""Keys that hold instants (Unix seconds) in sandbox responses; :func:`with_iso_times` adds ``<key>_iso``."""


def iso_z(when: datetime, timespec: str = "auto") -> str:
    """Return ``when`` in UTC as ISO 8601 ending in ``Z`` (``timespec`` as for :meth:`datetime.isoformat`).

    A naive ``when`` is taken as UTC.
    """
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return aware.isoformat(timespec=timespec).replace("+00:00", "Z")


def with_iso_times(value: Any) -> Any:
    """Return ``value`` with an ISO 8601 ``<key>_iso`` next to every instant held as Unix seconds under one of
    :data:`TIME_KEYS` (recursively; the numeric field stays for arithmetic)."""
    if isinstance(value, list):
        return [with_iso_times(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        out[key] = with_iso_times(item)
        if (
            key in TIME_KEYS
            and isinstance(item, int | float)
            and not isinstance(item, bool)
            and math.isfinite(item)
            and 0 <= item < 253402300800  # year 9999
            and f"{key}_iso" not in value
        ):
            out[f"{key}_iso"] = iso_z(datetime.fromtimestamp(item, tz=UTC))
    return out


def in_range(seconds: float) -> bool:
    """Return whether Unix ``seconds`` lies within :data:`EARLIEST_INSTANT` .. :data:`LATEST_INSTANT`."""
    return math.isfinite(seconds) and EARLIEST_INSTANT <= seconds <= LATEST_INSTANT
