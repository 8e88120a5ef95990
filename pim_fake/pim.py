"""PIM for Groups: schedule requests, schedules, instances, policies and approvals [G-OVERVIEW].

State machine (sources in ``../shared/reference/entra-pim-provisioning.md``):

- ``assignmentScheduleRequests`` actions ``adminAssign``, ``adminUpdate``, ``adminRemove``, ``adminExtend``,
  ``adminRenew``, ``selfActivate``, ``selfDeactivate``; ``eligibilityScheduleRequests`` the admin ones
  [G-ASR][G-PASR]. Enums are case-insensitive and echoed camelCase [G-ESR-POST].
- ``selfActivate`` needs a valid eligibility (``EligibilityRule``) and passes the end-user rules of the group's
  member/owner policy: expiration ≤ ``maximumDuration`` (``ExpirationRule``), ``Justification``,
  ``Ticketing``, ``MultiFactorAuthentication`` (``MfaRule``); all failures in one
  ``RoleAssignmentRequestPolicyValidationFailed`` [ARM-ERR]. Without approval it is ``Provisioned`` at once
  [G-ASR-POST] and PIM adds the membership "within seconds" [E-ACT] (modelled as immediately); with approval it
  is ``PendingApproval`` until the first approver decides [E-APPRV]; after 24 h on the clock it expires
  (``APPROVAL_TIMEOUT`` [E-APPRV]; resulting status ``Canceled`` is UNCONFIRMED).
- ``selfDeactivate`` is refused within ``MIN_ACTIVE_BEFORE_DEACTIVATE`` (5 min, ``ActiveDurationTooShort``,
  third-party, switch ``enforce_min_active``); its request is ``Revoked`` (third-party observation).
- Expiry removes the membership on the clock at the schedule's end [E-ACT].
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pim_fake.audit import AuditLog
from pim_fake.directory import Caller, Directory, iso
from pim_fake.errors import GraphError, bad_request, forbidden, not_found, policy_failed
from pim_fake.odata import FilterError, parse_filter
from pim_fake.policies import Policy, default_rules
from sim.clock import Clock, Timer
from sim.durations import DurationError, parse_duration
from sim.settings import APPROVAL_TIMEOUT, MIN_ACTIVE_BEFORE_DEACTIVATE, Settings

__all__ = ["ACTIONS", "Pim", "Schedule"]

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

ASSIGNMENT = "assignment"
ELIGIBILITY = "eligibility"


def _norm(value: Any, allowed: tuple[str, ...], field_name: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"Property '{field_name}' is required; one of {', '.join(allowed)}.")
    for a in allowed:
        if a.lower() == value.lower():
            return a
    raise bad_request(f"Property '{field_name}' value {value!r} is not one of {', '.join(allowed)}.")


def _parse_dt(value: Any, field_name: str) -> datetime:
    if not isinstance(value, str):
        raise bad_request(f"Property '{field_name}' must be an ISO 8601 date-time such as 2025-06-03T09:00:00Z.")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Property '{field_name}' value {value!r} is not an ISO 8601 date-time.") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass
class Schedule:
    """An eligibility or assignment schedule; ``assignment_type`` is ``assigned``/``activated`` [G-ASI]."""

    id: str
    kind: str
    principal_id: str
    group_id: str
    access_id: str
    start: float
    end: float | None
    created: float
    modified: float
    created_using: str
    assignment_type: str | None
    expiration_type: str
    duration: str | None
    removed: bool = False
    activated_using: str | None = None
    timers: list[Timer] = field(default_factory=list)

    def in_effect(self, t: float) -> bool:
        """Return True when the schedule is not removed and ``start <= t < end``."""
        return not self.removed and self.start <= t and (self.end is None or t < self.end)

    def schedule_info(self) -> dict[str, Any]:
        """Return ``requestSchedule`` JSON [G-RS]."""
        return {
            "startDateTime": _iso(self.start),
            "recurrence": None,
            "expiration": {"type": self.expiration_type, "endDateTime": _iso(self.end), "duration": self.duration},
        }

    def to_json(self) -> dict[str, Any]:
        """Return the assignment/eligibility schedule resource [G-AS]."""
        body: dict[str, Any] = {
            "id": self.id,
            "createdDateTime": _iso(self.created),
            "modifiedDateTime": _iso(self.modified),
            "createdUsing": self.created_using,
            "status": "Provisioned",
            "scheduleInfo": self.schedule_info(),
            "principalId": self.principal_id,
            "accessId": self.access_id,
            "groupId": self.group_id,
            "memberType": "direct",
        }
        if self.kind == ASSIGNMENT:
            body["assignmentType"] = self.assignment_type
        return body

    def instance_json(self) -> dict[str, Any]:
        """Return the schedule-instance resource [G-ASI][G-ESI]."""
        body: dict[str, Any] = {
            "id": f"{self.group_id}_{self.access_id}_{self.id.rsplit('_', 1)[-1]}",
            "startDateTime": _iso(self.start),
            "endDateTime": _iso(self.end),
            "principalId": self.principal_id,
            "accessId": self.access_id,
            "groupId": self.group_id,
            "memberType": "direct",
        }
        if self.kind == ASSIGNMENT:
            body["assignmentType"] = self.assignment_type
            body["assignmentScheduleId"] = self.id
        else:
            body["eligibilityScheduleId"] = self.id
        return body


def _who(kind: str) -> str:
    """Return how the audit log names the principal of a ``kind`` schedule."""
    return "eligible member" if kind == ELIGIBILITY else "member"


def _iso(t: float | None) -> str | None:
    return None if t is None else iso(datetime.fromtimestamp(t, tz=UTC))


@dataclass
class Approval:
    """One single-stage approval of a ``PendingApproval`` activation [G-APPR-GET][G-STAGE]."""

    id: str
    stage_id: str
    request_id: str
    approvers: list[dict[str, Any]]
    justification_required: bool
    expires: float
    status: str = "InProgress"
    review_result: str = "NotReviewed"
    reviewed_by: dict[str, Any] | None = None
    reviewed_at: float | None = None
    justification: str = ""
    timer: Timer | None = None


class Pim:
    """PIM for Groups over a :class:`Directory`, on an injected clock."""

    def __init__(
        self,
        directory: Directory,
        clock: Clock,
        settings: Settings,
        audit: AuditLog,
        on_activation: Callable[[str, str, float], None] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.lock = lock or threading.RLock()
        self.dir = directory
        self.clock = clock
        self.settings = settings
        self.audit = audit
        self.requests: dict[str, dict[str, dict[str, Any]]] = {ASSIGNMENT: {}, ELIGIBILITY: {}}
        self.schedules: dict[str, dict[str, Schedule]] = {ASSIGNMENT: {}, ELIGIBILITY: {}}
        self.approvals: dict[str, Approval] = {}
        self.policies: dict[tuple[str, str], Policy] = {}
        self.on_activation = on_activation

    def clear(self) -> None:
        """Forget every request, schedule, approval and policy and cancel their timers (sandbox reset)."""
        for kind in (ASSIGNMENT, ELIGIBILITY):
            for schedule in self.schedules[kind].values():
                for t in schedule.timers:
                    t.cancel()
            self.schedules[kind].clear()
            self.requests[kind].clear()
        for approval in self.approvals.values():
            if approval.timer is not None:
                approval.timer.cancel()
        self.approvals.clear()
        self.policies.clear()

    def _locked(self, fn: Callable[[Any], None], arg: Any) -> None:
        with self.lock:
            fn(arg)

    def now(self) -> float:
        """Return the clock's current Unix time."""
        return self.clock.time()

    # --- policies ------------------------------------------------------------------------------------
    def policy(self, group_id: str, role: str = "member", caller: Caller | None = None) -> Policy:
        """Return the group's policy for ``role``, onboarding the group on first use [G-OVERVIEW]."""
        self.dir.group(group_id)
        key = (group_id, role)
        if key not in self.policies:
            for r in ACCESS_IDS:
                guid = self.dir.new_id()
                pid = f"Group_{group_id}_{guid}"
                self.policies[(group_id, r)] = Policy(pid, group_id, r, f"{pid}_{r}", default_rules(self.settings))
            self.audit.record(
                "Onboarded resource to PIM",
                initiated_by=caller,
                targets=[self._group_target(group_id)],
                correlation_id=self.dir.new_id(),
                operation="Add",
            )
        return self.policies[key]

    def policy_by_id(self, policy_id: str) -> Policy:
        """Return the policy with ``policy_id`` or raise 404."""
        for p in self.policies.values():
            if p.id.lower() == policy_id.lower():
                return p
        raise not_found("unifiedRoleManagementPolicy", policy_id)

    def scoped_policies(self, filter_text: str | None, caller: Caller) -> list[Policy]:
        """Return the policies matching a ``scopeId eq '...' and scopeType eq 'Group'`` filter [G-POL-LIST]."""
        match = re.search(r"scopeId\s+eq\s+'([^']*)'", filter_text or "", re.IGNORECASE)
        if match is None or not re.search(r"scopeType\s+eq\s+'Group'", filter_text or "", re.IGNORECASE):
            raise bad_request(
                "The filter must scope the request to a group: $filter=scopeId eq '{groupId}' and scopeType eq 'Group'."
            )
        self.policy(match.group(1), "member", caller)
        return [p for (g, _), p in self.policies.items() if g.lower() == match.group(1).lower()]

    # --- requests ------------------------------------------------------------------------------------
    def create_request(self, kind: str, body: Any, caller: Caller) -> dict[str, Any]:
        """Validate and process a schedule request; return the request resource (201) or raise GraphError."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        raw_action = body.get("action")
        if isinstance(raw_action, str) and raw_action.lower() in (a.lower() for a in ENUM_ONLY):
            raise bad_request(
                f"action {raw_action!r} is not supported for PIM for Groups requests.",
                code="InvalidRoleAssignmentRequest",
            )
        action = _norm(raw_action, ACTIONS, "action")
        access = _norm(body.get("accessId"), ACCESS_IDS, "accessId")
        for key in ("groupId", "principalId"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise bad_request(f"Property '{key}' is required.")
        group_id, principal_id = str(body["groupId"]), str(body["principalId"])
        self.dir.group(group_id)
        if principal_id not in self.dir.users and principal_id not in self.dir.groups:
            raise not_found("directoryObject", principal_id)
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
        justification = body.get("justification")
        if justification is not None and not isinstance(justification, str):
            raise bad_request("Property 'justification' must be a string.")
        ticket = body.get("ticketInfo") or {}
        if not isinstance(ticket, dict):
            raise bad_request("Property 'ticketInfo' must be an object with ticketNumber and ticketSystem.")
        validation_only = bool(body.get("isValidationOnly", False))
        now = self.now()
        start, end, exp_type, duration = self._schedule_window(body.get("scheduleInfo"), action, now)
        policy = self.policy(group_id, access, caller)

        request: dict[str, Any] = {
            "id": self.dir.new_id(),
            "status": "Granted",
            "completedDateTime": None,
            "createdDateTime": _iso(now),
            "approvalId": None,
            "customData": body.get("customData"),
            "createdBy": caller.identity_set(),
            "action": action,
            "isValidationOnly": validation_only,
            "justification": justification,
            "scheduleInfo": {
                "startDateTime": _iso(start),
                "recurrence": None,
                "expiration": {
                    "type": exp_type,
                    "endDateTime": _iso(end) if duration is None else None,
                    "duration": duration,
                },
            },
            "ticketInfo": {"ticketNumber": ticket.get("ticketNumber"), "ticketSystem": ticket.get("ticketSystem")},
            "accessId": access,
            "principalId": principal_id,
            "groupId": group_id,
            "targetScheduleId": None,
        }
        request["targetScheduleId"] = f"{group_id}_{access}_{request['id']}"
        handler = {
            "selfActivate": self._self_activate,
            "selfDeactivate": self._self_deactivate,
            "adminAssign": self._admin_assign,
            "adminRenew": self._admin_assign,
            "adminUpdate": self._admin_update,
            "adminExtend": self._admin_update,
            "adminRemove": self._admin_remove,
        }[action]
        handler(kind, request, policy, caller, start, end, validation_only)
        if not validation_only:
            self.requests[kind][request["id"]] = request
        return self.request_json(request)

    def _schedule_window(self, info: Any, action: str, now: float) -> tuple[float, float | None, str, str | None]:
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
            start = max(now, _parse_dt(info["startDateTime"], "scheduleInfo.startDateTime").timestamp())
        exp = info.get("expiration") or {}
        if not isinstance(exp, dict):
            raise bad_request("Property 'scheduleInfo.expiration' must be an object.")
        exp_type = _norm(
            exp.get("type", "notSpecified") or "notSpecified", EXPIRATION_TYPES, "scheduleInfo.expiration.type"
        )
        duration = exp.get("duration")
        if duration is not None and exp_type != "afterDuration":
            raise bad_request(
                "scheduleInfo.expiration.duration is only allowed with type afterDuration.",
                code="InvalidRoleAssignmentRequest",
            )
        if exp_type == "afterDuration":
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
                raise bad_request(
                    "scheduleInfo.expiration.duration must be positive.", code="InvalidRoleAssignmentRequest"
                )
            return start, start + seconds, exp_type, duration.upper()
        if exp_type == "afterDateTime":
            end = _parse_dt(exp.get("endDateTime"), "scheduleInfo.expiration.endDateTime").timestamp()
            if end <= start:
                raise bad_request(
                    "scheduleInfo.expiration.endDateTime must be after the start.", code="InvalidRoleAssignmentRequest"
                )
            return start, end, exp_type, None
        return start, None, exp_type, None

    # --- rule checks -----------------------------------------------------------------------------------
    def _check_rules(
        self,
        policy: Policy,
        caller_kind: str,
        level: str,
        request: dict[str, Any],
        caller: Caller,
        start: float,
        end: float | None,
        failed: list[str],
    ) -> None:
        required, maximum = policy.expiration(caller_kind, level)
        if (required and end is None) or (maximum is not None and end is not None and end - start > maximum + 1e-6):
            failed.append("ExpirationRule")
        enabled = policy.enabled(caller_kind, level)
        if "Justification" in enabled and not (request.get("justification") or "").strip():
            failed.append("JustificationRule")
        if "Ticketing" in enabled and not (request["ticketInfo"].get("ticketNumber") or "").strip():
            failed.append("TicketingRule")
        if "MultiFactorAuthentication" in enabled and not caller.mfa:
            failed.append("MfaRule")

    def _eligible(self, principal_id: str, group_id: str, access: str, t: float) -> Schedule | None:
        for s in self.schedules[ELIGIBILITY].values():
            if (s.principal_id, s.group_id, s.access_id) == (principal_id, group_id, access) and s.in_effect(t):
                return s
        return None

    def _active(
        self, kind: str, principal_id: str, group_id: str, access: str, assignment_type: str | None
    ) -> list[Schedule]:
        now = self.now()
        return [
            s
            for s in self.schedules[kind].values()
            if (s.principal_id, s.group_id, s.access_id) == (principal_id, group_id, access)
            and not s.removed
            and (s.end is None or now < s.end)
            and (assignment_type is None or s.assignment_type == assignment_type)
        ]

    def _existing(self, kind: str, req: dict[str, Any]) -> list[Schedule]:
        """Return the live schedules an admin request acts on (for assignments, only the ``assigned`` ones)."""
        assignment_type = None if kind == ELIGIBILITY else "assigned"
        return self._active(kind, req["principalId"], req["groupId"], req["accessId"], assignment_type)

    def _audit(
        self,
        activity: str,
        req: dict[str, Any],
        caller: Caller | None,
        operation: str = "Update",
        details: dict[str, str] | None = None,
    ) -> None:
        """Record an audit entry about ``req``: its group and principal are the targets, its id the correlation."""
        targets = [self._group_target(req["groupId"]), self._principal_target(req["principalId"])]
        self.audit.record(
            activity,
            initiated_by=caller,
            targets=targets,
            correlation_id=req["id"],
            operation=operation,
            details=details,
        )

    def _finish(self, req: dict[str, Any], status: str, schedule: Schedule | None = None) -> None:
        """Mark ``req`` as done now with ``status``; ``schedule`` is the schedule it created or ended."""
        req["status"] = status
        req["completedDateTime"] = _iso(self.now())
        if schedule is not None:
            req["targetScheduleId"] = schedule.id

    # --- action handlers -------------------------------------------------------------------------------
    def _self_activate(
        self,
        kind: str,
        req: dict[str, Any],
        policy: Policy,
        caller: Caller,
        start: float,
        end: float | None,
        validation_only: bool,
    ) -> None:
        failed: list[str] = []
        eligibility = self._eligible(req["principalId"], req["groupId"], req["accessId"], start)
        if eligibility is None:
            failed.append("EligibilityRule")
        self._check_rules(policy, "EndUser", "Assignment", req, caller, start, end, failed)
        if failed:
            raise policy_failed(failed)
        enabled, claim = policy.auth_context()
        if enabled and claim not in caller.acrs:
            raise bad_request(
                f"The request needs the authentication context claim {claim!r} (acrs) in the token.",
                code="RoleAssignmentRequestAcrsValidationFailed",
            )
        if self._active(ASSIGNMENT, req["principalId"], req["groupId"], req["accessId"], None):
            raise bad_request("The Role assignment already exists.", code="RoleAssignmentExists")
        if validation_only:
            return
        details = {"Justification": req.get("justification") or "", "RequestId": req["id"]}
        setting = policy.approval()
        if setting.get("isApprovalRequired"):
            stage = (setting.get("approvalStages") or [{}])[0]
            approval = Approval(
                id=req["id"],
                stage_id=self.dir.new_id(),
                request_id=req["id"],
                approvers=list(stage.get("primaryApprovers") or []),
                justification_required=bool(stage.get("isApproverJustificationRequired", True)),
                expires=self.now() + APPROVAL_TIMEOUT,
            )
            approval.timer = self.clock.call_at(
                approval.expires,
                lambda: self._locked(self._expire_approval, req["id"]),
                name=f"pim-approval-expiry-{req['id']}",
            )
            self.approvals[approval.id] = approval
            req["status"] = "PendingApproval"
            req["approvalId"] = approval.id
            req["_activatedUsing"] = eligibility.id if eligibility else None
            self._audit("Add member to role requested (PIM activation)", req, caller, "Add", details)
            self._audit("Add member to role approval requested (PIM activation)", req, caller, "Add", details)
            return
        self._audit("Add member to role requested (PIM activation)", req, caller, "Add", details)
        self._grant(req, start, end, "activated", eligibility.id if eligibility else None)
        self._audit("Add member to role completed (PIM activation)", req, caller, "Add", details)

    def _self_deactivate(
        self,
        kind: str,
        req: dict[str, Any],
        policy: Policy,
        caller: Caller,
        start: float,
        end: float | None,
        validation_only: bool,
    ) -> None:
        active = self._active(ASSIGNMENT, req["principalId"], req["groupId"], req["accessId"], "activated")
        active = [s for s in active if s.start <= self.now()] or active
        if not active:
            raise bad_request("The Role assignment does not exist.", code="RoleAssignmentDoesNotExist")
        schedule = active[0]
        held = self.now() - schedule.start
        if self.settings.enforce_min_active and 0 <= held < MIN_ACTIVE_BEFORE_DEACTIVATE:
            raise bad_request(
                "The Active duration is too short. Miniumum Required is 5 minutes.", code="ActiveDurationTooShort"
            )
        if validation_only:
            return
        self._audit("Remove member from role requested (PIM deactivate)", req, caller, "Remove")
        self._end_schedule(schedule)
        self._finish(req, "Revoked", schedule)
        self._audit("Remove member from role completed (PIM deactivate)", req, caller, "Remove")

    def _admin_assign(
        self,
        kind: str,
        req: dict[str, Any],
        policy: Policy,
        caller: Caller,
        start: float,
        end: float | None,
        validation_only: bool,
    ) -> None:
        level = "Eligibility" if kind == ELIGIBILITY else "Assignment"
        failed: list[str] = []
        self._check_rules(policy, "Admin", level, req, caller, start, end, failed)
        if failed:
            raise policy_failed(failed)
        if self._existing(kind, req):
            raise bad_request("The Role assignment already exists.", code="RoleAssignmentExists")
        if validation_only:
            return
        bound = "permanent" if end is None else "timebound"
        who = _who(kind)
        renew = req["action"] == "adminRenew"
        self._audit(f"Add {who} to role in PIM requested ({'renew' if renew else bound})", req, caller, "Add")
        self._grant(req, start, end, None if kind == ELIGIBILITY else "assigned", None, kind=kind)
        self._audit(f"Add {who} to role in PIM completed ({bound})", req, caller, "Add")

    def _admin_update(
        self,
        kind: str,
        req: dict[str, Any],
        policy: Policy,
        caller: Caller,
        start: float,
        end: float | None,
        validation_only: bool,
    ) -> None:
        existing = self._existing(kind, req)
        if not existing:
            raise bad_request("The Role assignment does not exist.", code="RoleAssignmentDoesNotExist")
        schedule = existing[0]
        level = "Eligibility" if kind == ELIGIBILITY else "Assignment"
        failed: list[str] = []
        self._check_rules(policy, "Admin", level, req, caller, schedule.start, end, failed)
        if failed:
            raise policy_failed(failed)
        if validation_only:
            return
        self._audit(f"Update {_who(kind)} in PIM requested (extend)", req, caller, "Update")
        schedule.end = end
        schedule.expiration_type = req["scheduleInfo"]["expiration"]["type"]
        schedule.duration = req["scheduleInfo"]["expiration"]["duration"]
        schedule.modified = self.now()
        self._arm_timers(schedule)
        self._finish(req, "Provisioned", schedule)

    def _admin_remove(
        self,
        kind: str,
        req: dict[str, Any],
        policy: Policy,
        caller: Caller,
        start: float,
        end: float | None,
        validation_only: bool,
    ) -> None:
        existing = self._existing(kind, req)
        if not existing:
            raise bad_request("The Role assignment does not exist.", code="RoleAssignmentDoesNotExist")
        if validation_only:
            return
        bound = "permanent" if existing[0].end is None else "timebound"
        self._audit(f"Remove {_who(kind)} from role in PIM requested ({bound})", req, caller, "Remove")
        for schedule in existing:
            self._end_schedule(schedule)
        self._finish(req, "Revoked", existing[0])
        self._audit(f"Remove {_who(kind)} from role in PIM completed ({bound})", req, caller, "Remove")

    # --- schedules and membership ------------------------------------------------------------------------
    def _grant(
        self,
        req: dict[str, Any],
        start: float,
        end: float | None,
        assignment_type: str | None,
        activated_using: str | None,
        kind: str = ASSIGNMENT,
    ) -> Schedule:
        now = self.now()
        exp = req["scheduleInfo"]["expiration"]
        schedule = Schedule(
            id=req["targetScheduleId"],
            kind=kind,
            principal_id=req["principalId"],
            group_id=req["groupId"],
            access_id=req["accessId"],
            start=start,
            end=end,
            created=now,
            modified=now,
            created_using=req["id"],
            assignment_type=assignment_type,
            expiration_type=exp["type"],
            duration=exp["duration"],
            activated_using=activated_using,
        )
        self.schedules[kind][schedule.id] = schedule
        req["status"] = "Provisioned"
        req["completedDateTime"] = _iso(now)
        self._arm_timers(schedule)
        if kind == ASSIGNMENT and start <= now:
            self._apply(schedule)
        return schedule

    def _arm_timers(self, schedule: Schedule) -> None:
        for t in schedule.timers:
            t.cancel()
        schedule.timers = []
        if schedule.kind != ASSIGNMENT:
            return
        now = self.now()
        if schedule.start > now:
            schedule.timers.append(
                self.clock.call_at(
                    schedule.start, lambda: self._locked(self._apply, schedule), name=f"pim-start-{schedule.id}"
                )
            )
        if schedule.end is not None:
            schedule.timers.append(
                self.clock.call_at(
                    schedule.end, lambda: self._locked(self._expire, schedule), name=f"pim-end-{schedule.id}"
                )
            )

    def _apply(self, schedule: Schedule) -> None:
        """Make the directory membership match the schedules in effect (PIM's "within seconds" [E-ACT])."""
        pid, gid, access = schedule.principal_id, schedule.group_id, schedule.access_id
        now = self.now()
        should = any(
            s.in_effect(now)
            for s in self.schedules[ASSIGNMENT].values()
            if (s.principal_id, s.group_id, s.access_id) == (pid, gid, access)
        )
        owner = access == "owner"
        if gid not in self.dir.groups:
            return
        via_pim = schedule.assignment_type == "activated"
        if should:
            added = self.dir.add_member(gid, pid, via_pim=via_pim, owner=owner)
            if added and via_pim and not owner and self.on_activation is not None:
                self.on_activation(gid, pid, now)
        else:
            self.dir.remove_member(gid, pid, via_pim=via_pim, owner=owner)

    def _end_schedule(self, schedule: Schedule) -> None:
        for t in schedule.timers:
            t.cancel()
        schedule.timers = []
        schedule.removed = True
        schedule.end = min(schedule.end, self.now()) if schedule.end is not None else self.now()
        schedule.modified = self.now()
        if schedule.kind == ASSIGNMENT:
            self._apply(schedule)

    def _expire(self, schedule: Schedule) -> None:
        if schedule.removed:
            return
        schedule.removed = True
        self._apply(schedule)
        targets = [self._group_target(schedule.group_id), self._principal_target(schedule.principal_id)]
        name = (
            "Remove member from role (PIM activation expired)"
            if schedule.assignment_type == "activated"
            else "Remove member from role in PIM completed (timebound)"
        )
        self.audit.record(
            name, initiated_by=None, targets=targets, correlation_id=schedule.created_using, operation="Remove"
        )

    # --- cancel and approvals ---------------------------------------------------------------------------
    def cancel(self, kind: str, request_id: str, caller: Caller) -> None:
        """Cancel a pending request (204) [G-CANCEL]; other states answer 400."""
        req = self.get_request(kind, request_id)
        created_by = req["createdBy"].get("user", req["createdBy"].get("application", {})).get("id")
        if created_by != caller.id and not caller.is_admin:
            raise forbidden("Only the requester or an administrator can cancel this request.")
        if req["status"] not in ("PendingApproval", "Granted", "PendingScheduleCreation", "PendingAdminDecision"):
            raise bad_request(f"Only a pending request can be canceled; this request is {req['status']}.")
        self._finish(req, "Canceled")
        approval = self.approvals.get(req.get("approvalId") or "")
        if approval is not None:
            approval.status = "Completed"
            if approval.timer is not None:
                approval.timer.cancel()
        self._audit("Cancel request", req, caller)
        self._audit("Add member to role canceled (PIM activation)", req, caller)

    def _expire_approval(self, request_id: str) -> None:
        approval = self.approvals.get(request_id)
        req = self.requests[ASSIGNMENT].get(request_id)
        if approval is None or req is None or approval.review_result != "NotReviewed":
            return
        if req["status"] != "PendingApproval":
            return
        approval.status = "Completed"
        self._finish(req, "Canceled")
        self._audit("PIM activation request expired", req, None)

    def _is_approver(self, approval: Approval, caller: Caller) -> bool:
        for subject in approval.approvers:
            if subject.get("userId") == caller.id:
                return True
            gid = subject.get("groupId")
            if gid and gid in self.dir.groups and caller.id in self.dir.groups[gid].members:
                return True
        return False

    def approval(self, approval_id: str, caller: Caller) -> dict[str, Any]:
        """Return the approval resource with its single stage [G-APPR-GET]."""
        if not caller.is_user:
            raise forbidden(
                "The approval API supports delegated (user) tokens only; application permissions are not supported."
            )
        approval = self.approvals.get(approval_id)
        if approval is None:
            raise not_found("approval", approval_id)
        stage = self._stage_json(approval, caller)
        return {"id": approval.id, "stages": [stage], "steps": [stage]}

    def _stage_json(self, approval: Approval, caller: Caller) -> dict[str, Any]:
        return {
            "id": approval.stage_id,
            "displayName": None,
            "reviewedDateTime": _iso(approval.reviewed_at),
            "reviewResult": approval.review_result,
            "status": approval.status,
            "assignedToMe": self._is_approver(approval, caller),
            "justification": approval.justification,
            "reviewedBy": approval.reviewed_by,
        }

    def decide(self, approval_id: str, stage_id: str, body: Any, caller: Caller) -> None:
        """Approve or deny a stage (204); 409 once decided or expired; 403 for non-approvers [G-APPR-UPD]."""
        if not caller.is_user:
            raise forbidden(
                "The approval API supports delegated (user) tokens only; application permissions are not supported."
            )
        approval = self.approvals.get(approval_id)
        if approval is None:
            raise not_found("approval", approval_id)
        if stage_id.lower() != approval.stage_id.lower():
            raise not_found("approvalStage", stage_id)
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object with reviewResult and justification.")
        result = _norm(body.get("reviewResult"), ("Approve", "Deny"), "reviewResult")
        justification = body.get("justification") or ""
        if not isinstance(justification, str):
            raise bad_request("Property 'justification' must be a string.")
        req = self.requests[ASSIGNMENT][approval.request_id]
        if not self._is_approver(approval, caller) or caller.id == req["principalId"]:
            raise forbidden("The caller is not an approver of this request.")
        if approval.review_result != "NotReviewed" or approval.status != "InProgress":
            raise GraphError(409, "Conflict", "The approval stage has already been decided or has expired.")
        if approval.justification_required and not justification.strip():
            raise bad_request("The approver's justification is required for this approval stage.")
        approval.review_result = "Approved" if result == "Approve" else "Denied"
        approval.status = "Completed"
        approval.reviewed_by = {"id": caller.id, "displayName": caller.name}
        approval.reviewed_at = self.now()
        approval.justification = justification
        if approval.timer is not None:
            approval.timer.cancel()
        if result == "Deny":
            self._finish(req, "Denied")
            self._audit("Add member to role request denied (PIM activation)", req, caller)
            return
        self._audit("Add member to role request approved (PIM activation)", req, caller)
        now = self.now()
        exp = req["scheduleInfo"]["expiration"]
        start = max(now, _parse_dt(req["scheduleInfo"]["startDateTime"], "startDateTime").timestamp())
        if exp["duration"]:
            end: float | None = start + parse_duration(exp["duration"])
        elif exp["endDateTime"]:
            end = _parse_dt(exp["endDateTime"], "endDateTime").timestamp()
        else:
            end = None
        if end is not None and end <= now:
            req["status"] = "Canceled"
            return
        req["scheduleInfo"]["startDateTime"] = _iso(start)
        self._grant(req, start, end, "activated", req.get("_activatedUsing"))
        self._audit("Add member to role completed (PIM activation)", req, None, "Add")

    # --- reads -----------------------------------------------------------------------------------------------
    def get_request(self, kind: str, request_id: str) -> dict[str, Any]:
        """Return one request or raise 404."""
        req = self.requests[kind].get(request_id)
        if req is None:
            raise not_found(f"privilegedAccessGroup{kind.capitalize()}ScheduleRequest", request_id)
        return req

    def list_requests(self, kind: str, filter_text: str | None, caller: Caller) -> list[dict[str, Any]]:
        """List requests; app-only callers must filter by principalId or groupId, delegated callers without a
        filter get their own requests [G-ESR-LIST]."""
        items = list(self.requests[kind].values())
        if not filter_text:
            if not caller.is_user:
                raise bad_request("The $filter must scope the request to a principalId or a groupId.")
            items = [r for r in items if r["principalId"] == caller.id]
        return _filtered(items, filter_text)

    def requests_for_current_user(
        self, kind: str, on: str, filter_text: str | None, caller: Caller
    ) -> list[dict[str, Any]]:
        """``filterByCurrentUser(on=...)`` [G-FBCU]."""
        on = _norm(on, FILTER_ON, "on")
        items = list(self.requests[kind].values())
        if on == "principal":
            items = [r for r in items if r["principalId"] == caller.id]
        elif on == "createdBy":
            items = [r for r in items if caller.id in (v.get("id") for v in r["createdBy"].values())]
        elif on == "approver":
            items = [
                r
                for r in items
                if r.get("approvalId") in self.approvals and self._is_approver(self.approvals[r["approvalId"]], caller)
            ]
        else:
            items = []
        return _filtered(items, filter_text)

    def list_schedules(
        self, kind: str, instances: bool, filter_text: str | None, caller: Caller | None, current_user: bool = False
    ) -> list[dict[str, Any]]:
        """List schedules or instances; a principalId/groupId ``$filter`` is required [G-ASI-LIST]."""
        if not current_user and not re.search(r"\b(principalId|groupId)\s+eq\b", filter_text or "", re.IGNORECASE):
            raise bad_request(
                "This list requires the $filter (eq) query parameter scoped to a principalId or a groupId, "
                "e.g. $filter=groupId eq '{groupId}'."
            )
        now = self.now()
        items = []
        for s in self.schedules[kind].values():
            if current_user and caller is not None and s.principal_id != caller.id:
                continue
            if instances:
                if s.in_effect(now):
                    items.append(s.instance_json())
            elif not s.removed and (s.end is None or now < s.end):
                items.append(s.to_json())
        return _filtered(items, filter_text)

    def get_schedule(self, kind: str, ident: str, instances: bool) -> dict[str, Any]:
        """Return one schedule or instance by id."""
        now = self.now()
        for s in self.schedules[kind].values():
            if instances and s.in_effect(now) and s.instance_json()["id"].lower() == ident.lower():
                return s.instance_json()
            if not instances and not s.removed and (s.end is None or now < s.end) and s.id.lower() == ident.lower():
                return s.to_json()
        raise not_found(f"privilegedAccessGroup{kind.capitalize()}Schedule{'Instance' if instances else ''}", ident)

    # --- helpers ---------------------------------------------------------------------------------------------
    def _group_target(self, group_id: str) -> dict[str, Any]:
        group = self.dir.groups.get(group_id)
        return {"id": group_id, "displayName": group.displayName if group else None, "type": "Group"}

    def _principal_target(self, principal_id: str) -> dict[str, Any]:
        user = self.dir.users.get(principal_id)
        return {
            "id": principal_id,
            "displayName": user.displayName if user else None,
            "type": "User" if user else "Group",
            "userPrincipalName": user.userPrincipalName if user else None,
        }

    def request_json(self, req: dict[str, Any]) -> dict[str, Any]:
        """Return the public request resource (without internal keys)."""
        return {k: v for k, v in req.items() if not k.startswith("_")}


def _filtered(items: list[dict[str, Any]], filter_text: str | None) -> list[dict[str, Any]]:
    try:
        pred = parse_filter(filter_text)
    except FilterError as exc:
        raise bad_request(str(exc)) from None
    return [i for i in items if pred is None or pred(i)]
