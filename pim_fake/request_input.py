"""Reading a PIM schedule request's JSON: who may ask for what, and the schedule window it asks for.

- Actions are the documented ones [G-ASR][G-PASR]; the v1.0 enum's ``selfExtend``/``selfRenew`` are refused with
  ``InvalidRoleAssignmentRequest``; ``self*`` actions need a delegated token of the principal itself and are not
  valid for eligibility requests; admin actions need an administrator or an application.
- ``scheduleInfo``: start now or later, expiration ``afterDuration`` (ISO 8601 duration), ``afterDateTime``,
  ``noExpiration``/``notSpecified`` [G-RS][G-EXP]; recurrence is unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakekit.timefmt import in_range
from pim_fake.directory import Caller, Directory
from pim_fake.errors import bad_request, forbidden, not_found
from pim_fake.pim_terms import ACCESS_IDS, ACTIONS, ELIGIBILITY, ENUM_ONLY, EXPIRATION_TYPES, iso_at, norm, parse_dt
from pim_fake.request_status import RequestStatus
from sim.durations import DurationError, parse_duration

__all__ = ["RequestInput", "new_request", "read_request", "schedule_window"]


@dataclass(frozen=True)
class RequestInput:
    """A schedule request body, checked: action, target, justification, ticket and schedule window."""

    action: str
    access: str
    group_id: str
    principal_id: str
    justification: str | None
    ticket: dict[str, Any]
    validation_only: bool
    start: float
    end: float | None
    expiration_type: str
    duration: str | None
    custom_data: Any


def read_request(kind: str, body: Any, caller: Caller, directory: Directory, now: float) -> RequestInput:
    """Return the checked request ``body`` of a ``kind`` request by ``caller`` at ``now``, or raise GraphError."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    raw_action = body.get("action")
    if isinstance(raw_action, str) and raw_action.lower() in (a.lower() for a in ENUM_ONLY):
        raise bad_request(
            f"action {raw_action!r} is not supported for PIM for Groups requests.",
            code="InvalidRoleAssignmentRequest",
        )
    action = norm(raw_action, ACTIONS, "action")
    access = norm(body.get("accessId"), ACCESS_IDS, "accessId")
    for key in ("groupId", "principalId"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise bad_request(f"Property '{key}' is required.")
    group_id, principal_id = str(body["groupId"]), str(body["principalId"])
    directory.group(group_id)
    if principal_id not in directory.users and principal_id not in directory.groups:
        raise not_found("directoryObject", principal_id)
    _check_caller(kind, action, principal_id, caller)
    justification = body.get("justification")
    if justification is not None and not isinstance(justification, str):
        raise bad_request("Property 'justification' must be a string.")
    ticket = body.get("ticketInfo") or {}
    if not isinstance(ticket, dict):
        raise bad_request("Property 'ticketInfo' must be an object with ticketNumber and ticketSystem.")
    for key in ("ticketNumber", "ticketSystem"):
        if ticket.get(key) is not None and not isinstance(ticket[key], str):
            raise bad_request(f"Property 'ticketInfo.{key}' must be a string.")
    validation_only = bool(body.get("isValidationOnly", False))
    start, end, exp_type, duration = schedule_window(body.get("scheduleInfo"), action, now)
    return RequestInput(
        action=action,
        access=access,
        group_id=group_id,
        principal_id=principal_id,
        justification=justification,
        ticket=ticket,
        validation_only=validation_only,
        start=start,
        end=end,
        expiration_type=exp_type,
        duration=duration,
        custom_data=body.get("customData"),
    )


def _check_caller(kind: str, action: str, principal_id: str, caller: Caller) -> None:
    """Raise unless ``caller`` may ask for ``action`` on ``principal_id`` in a ``kind`` request."""
    if kind == ELIGIBILITY and action.startswith("self"):
        raise bad_request(
            f"action {action} is not valid for eligibilityScheduleRequests; use assignmentScheduleRequests.",
            code="InvalidRoleAssignmentRequest",
        )
    if action.startswith("self"):
        if not caller.is_user:
            raise forbidden(f"{action} needs a delegated (user) token; application tokens cannot act as a user.")
        if caller.id != principal_id:
            raise forbidden(f"{action}: principalId must be the signed-in user ({caller.id}).")
    elif not caller.is_admin:
        raise forbidden(f"{action} needs an administrator or an application with PrivilegedAccess permissions.")


def new_request(inp: RequestInput, request_id: str, caller: Caller, now: float) -> dict[str, Any]:
    """Return the request resource for ``inp`` (status ``Granted``, the start of :mod:`pim_fake.request_status`)."""
    return {
        "id": request_id,
        "status": RequestStatus.GRANTED.value,
        "completedDateTime": None,
        "createdDateTime": iso_at(now),
        "approvalId": None,
        "customData": inp.custom_data,
        "createdBy": caller.identity_set(),
        "action": inp.action,
        "isValidationOnly": inp.validation_only,
        "justification": inp.justification,
        "scheduleInfo": {
            "startDateTime": iso_at(inp.start),
            "recurrence": None,
            "expiration": {
                "type": inp.expiration_type,
                "endDateTime": iso_at(inp.end) if inp.duration is None else None,
                "duration": inp.duration,
            },
        },
        "ticketInfo": {"ticketNumber": inp.ticket.get("ticketNumber"), "ticketSystem": inp.ticket.get("ticketSystem")},
        "accessId": inp.access,
        "principalId": inp.principal_id,
        "groupId": inp.group_id,
        "targetScheduleId": f"{inp.group_id}_{inp.access}_{request_id}",
    }


def schedule_window(info: Any, action: str, now: float) -> tuple[float, float | None, str, str | None]:
    """Return ``(start, end, expiration type, duration)`` from ``scheduleInfo`` [G-RS][G-EXP]."""
    if info is None:
        if action in ("selfDeactivate", "adminRemove"):
            return now, now, "notSpecified", None
        raise bad_request("Property 'scheduleInfo' is required.")
    if not isinstance(info, dict):
        raise bad_request("Property 'scheduleInfo' must be an object.")
    if info.get("recurrence") not in (None, {}):
        raise bad_request("Recurring schedules are currently unsupported.", code="InvalidRoleAssignmentRequest")
    start = now
    if info.get("startDateTime") is not None:
        start = max(now, parse_dt(info["startDateTime"], "scheduleInfo.startDateTime").timestamp())
    exp = info.get("expiration") or {}
    if not isinstance(exp, dict):
        raise bad_request("Property 'scheduleInfo.expiration' must be an object.")
    exp_type = norm(exp.get("type", "notSpecified") or "notSpecified", EXPIRATION_TYPES, "scheduleInfo.expiration.type")
    duration = exp.get("duration")
    if duration is not None and exp_type != "afterDuration":
        raise bad_request(
            "scheduleInfo.expiration.duration is only allowed with type afterDuration.",
            code="InvalidRoleAssignmentRequest",
        )
    if exp_type == "afterDuration":
        seconds = _positive_duration(duration)
        if not in_range(start + seconds):
            raise bad_request(
                "scheduleInfo.expiration.duration ends after 9000-01-01, the last instant this sandbox keeps.",
                code="InvalidRoleAssignmentRequest",
            )
        return start, start + seconds, exp_type, str(duration).upper()
    if exp_type == "afterDateTime":
        end = parse_dt(exp.get("endDateTime"), "scheduleInfo.expiration.endDateTime").timestamp()
        if end <= start:
            raise bad_request(
                "scheduleInfo.expiration.endDateTime must be after the start.", code="InvalidRoleAssignmentRequest"
            )
        return start, end, exp_type, None
    return start, None, exp_type, None


def _positive_duration(duration: Any) -> float:
    """Return the seconds of an ``afterDuration`` expiration's ISO 8601 ``duration``, or raise a 400."""
    if not isinstance(duration, str) or not duration.upper().startswith("P"):
        raise bad_request(
            "scheduleInfo.expiration.duration must be an ISO 8601 duration such as PT2H.",
            code="InvalidRoleAssignmentRequest",
        )
    try:
        seconds = parse_duration(duration)
    except DurationError:
        raise bad_request(
            f"The role assignment request is invalid: duration {duration!r} is not an ISO 8601 duration "
            "of days/hours/minutes/seconds.",
            code="InvalidRoleAssignmentRequest",
        ) from None
    if seconds <= 0:
        raise bad_request("scheduleInfo.expiration.duration must be positive.", code="InvalidRoleAssignmentRequest")
    return seconds
