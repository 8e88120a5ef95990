"""The status machine of a PIM schedule request, as one transition table [G-PAS][G-AS][G-CANCEL].

A request is created ``Granted`` and leaves that state in the same call: without approval it becomes
``Provisioned`` (assign, activate, update) or ``Revoked`` (remove, deactivate); with approval it waits in
``PendingApproval`` until the first approver decides (``Provisioned`` or ``Denied``), the requester cancels, or 24 h
pass (``Canceled``, UNCONFIRMED) [E-APPRV]. ``PendingScheduleCreation`` and ``PendingAdminDecision`` are documented
states the fake never enters; like every pending state they may be canceled [G-CANCEL]. The other documented
values (``Failed``, ``PendingProvisioning``, ``ScheduleCreated``) have no transitions here.

The code moves a request only through :func:`move` / :func:`finish`, which consult :data:`TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = ["TRANSITIONS", "IllegalTransition", "RequestStatus", "can_move", "finish", "move"]


class RequestStatus(StrEnum):
    """Request and schedule ``status`` values (PascalCase strings) [G-PAS][G-AS]."""

    CANCELED = "Canceled"
    DENIED = "Denied"
    FAILED = "Failed"
    GRANTED = "Granted"
    PENDING_ADMIN_DECISION = "PendingAdminDecision"
    PENDING_APPROVAL = "PendingApproval"
    PENDING_PROVISIONING = "PendingProvisioning"
    PENDING_SCHEDULE_CREATION = "PendingScheduleCreation"
    PROVISIONED = "Provisioned"
    REVOKED = "Revoked"
    SCHEDULE_CREATED = "ScheduleCreated"


_S = RequestStatus

TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    _S.GRANTED: frozenset({_S.PENDING_APPROVAL, _S.PROVISIONED, _S.REVOKED, _S.CANCELED}),
    _S.PENDING_APPROVAL: frozenset({_S.PROVISIONED, _S.DENIED, _S.CANCELED}),
    _S.PENDING_SCHEDULE_CREATION: frozenset({_S.CANCELED}),
    _S.PENDING_ADMIN_DECISION: frozenset({_S.CANCELED}),
    _S.PENDING_PROVISIONING: frozenset(),
    _S.SCHEDULE_CREATED: frozenset(),
    _S.PROVISIONED: frozenset(),
    _S.REVOKED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.DENIED: frozenset(),
    _S.FAILED: frozenset(),
}
"""Status → the statuses a request in it may move to. The only place the request life cycle is written down."""


class IllegalTransition(RuntimeError):
    """The code tried a status change :data:`TRANSITIONS` does not allow (a bug in the fake, not a caller error)."""


def can_move(status: str, to: RequestStatus) -> bool:
    """Return True when a request in ``status`` may move to ``to``."""
    return to in TRANSITIONS[RequestStatus(status)]


def move(request: dict[str, Any], to: RequestStatus) -> None:
    """Set ``request["status"]`` to ``to``; raise :class:`IllegalTransition` when the table forbids the move."""
    if not can_move(request["status"], to):
        raise IllegalTransition(f"request {request['id']}: {request['status']} -> {to.value} is not allowed")
    request["status"] = to.value


def finish(request: dict[str, Any], to: RequestStatus, at: str | None, schedule_id: str | None = None) -> None:
    """Move ``request`` to ``to`` and stamp ``completedDateTime`` with ``at``; ``schedule_id`` is the schedule it
    created or ended (its ``targetScheduleId``)."""
    move(request, to)
    request["completedDateTime"] = at
    if schedule_id is not None:
        request["targetScheduleId"] = schedule_id
