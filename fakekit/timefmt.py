"""Instants as the fakes print them: ISO 8601 in UTC ending in ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_z"]


def iso_z(when: datetime, timespec: str = "auto") -> str:
    """Return ``when`` in UTC as ISO 8601 ending in ``Z`` (``timespec`` as for :meth:`datetime.isoformat`).

    A naive ``when`` is taken as UTC.
    """
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return aware.isoformat(timespec=timespec).replace("+00:00", "Z")
