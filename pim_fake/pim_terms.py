"""The vocabulary of PIM for Groups: request kinds, actions, access ids, expiration types [G-ASR][G-PASR].

Enums are case-insensitive on input and echoed camelCase [G-ESR-POST]: :func:`norm` does that. :func:`parse_dt`
reads ISO 8601 date-times; :func:`iso_at` writes Unix times back as Graph timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fakekit.timefmt import in_range
from pim_fake.directory import iso
from pim_fake.errors import bad_request

__all__ = [
    "ACCESS_IDS",
    "ACTIONS",
    "ASSIGNMENT",
    "ELIGIBILITY",
    "ENUM_ONLY",
    "EXPIRATION_TYPES",
    "FILTER_ON",
    "iso_at",
    "norm",
    "parse_dt",
    "who",
]

ASSIGNMENT = "assignment"
"""Kind of ``assignmentScheduleRequests`` / ``assignmentSchedules`` / ``assignmentScheduleInstances``."""

ELIGIBILITY = "eligibility"
"""Kind of ``eligibilityScheduleRequests`` / ``eligibilitySchedules`` / ``eligibilityScheduleInstances``."""

ACTIONS = ("adminAssign", "adminUpdate", "adminRemove", "selfActivate", "selfDeactivate", "adminExtend", "adminRenew")
"""Documented actions for PIM for Groups [G-ASR][G-PASR]."""

ENUM_ONLY = ("selfExtend", "selfRenew", "unknownFutureValue")
"""In the v1.0 enum [SDK-ENUM] but UNCONFIRMED for groups: refused with ``InvalidRoleAssignmentRequest``."""

EXPIRATION_TYPES = ("notSpecified", "noExpiration", "afterDateTime", "afterDuration")
"""``expirationPattern.type`` values [G-EXP]."""

ACCESS_IDS = ("member", "owner")
"""``accessId`` values [G-ASR]."""

FILTER_ON = ("principal", "createdBy", "approver", "unknownFutureValue")
"""``filterByCurrentUser(on=...)`` values [G-FBCU]."""


def norm(value: Any, allowed: tuple[str, ...], field_name: str) -> str:
    """Return the spelling in ``allowed`` that ``value`` names (case-insensitive), or raise a 400 naming the field."""
    if not isinstance(value, str):
        raise bad_request(f"Property '{field_name}' is required; one of {', '.join(allowed)}.")
    for a in allowed:
        if a.lower() == value.lower():
            return a
    raise bad_request(f"Property '{field_name}' value {value!r} is not one of {', '.join(allowed)}.")


def parse_dt(value: Any, field_name: str) -> datetime:
    """Return the ISO 8601 date-time ``value`` (UTC when it has no offset), or raise a 400 naming the field."""
    if not isinstance(value, str):
        raise bad_request(f"Property '{field_name}' must be an ISO 8601 date-time such as 2025-06-03T09:00:00Z.")
    try:
        dt = datetime.fromisoformat(value)
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        stamp = dt.timestamp()
    except (ValueError, OverflowError):
        raise bad_request(f"Property '{field_name}' value {value!r} is not an ISO 8601 date-time.") from None
    if not in_range(stamp):
        raise bad_request(f"Property '{field_name}' must lie between 1900-01-01 and 9000-01-01 (UTC) in this sandbox.")
    return dt


def iso_at(t: float | None) -> str | None:
    """Return the Unix time ``t`` as Graph's UTC timestamp, or None."""
    return None if t is None else iso(datetime.fromtimestamp(t, tz=UTC))


def who(kind: str) -> str:
    """Return how the audit log names the principal of a ``kind`` schedule."""
    return "eligible member" if kind == ELIGIBILITY else "member"
