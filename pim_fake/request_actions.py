"""What each schedule-request action does: the rule checks, the schedule it creates or ends, its audit entries.

- ``selfActivate`` needs a valid eligibility (``EligibilityRule``) and passes the end-user rules of the group's
  member/owner policy: expiration ≤ ``maximumDuration`` (``ExpirationRule``), ``Justification``, ``Ticketing``,
  ``MultiFactorAuthentication`` (``MfaRule``); all failures in one ``RoleAssignmentRequestPolicyValidationFailed``
  [ARM-ERR]. Without approval it is ``Provisioned`` at once [G-ASR-POST] and PIM adds the membership "within
  seconds" [E-ACT] (modelled as immediately); with approval it is ``PendingApproval`` until the first approver
  decides [E-APPRV].
- ``selfDeactivate`` is refused within ``MIN_ACTIVE_BEFORE_DEACTIVATE`` (5 min) of activation: an assignment
  "can't be removed within five minutes of it being assigned" [E-ASSIGN]; the error ``ActiveDurationTooShort`` and
  its text are third-party; switch ``enforce_min_active``. Its request is ``Revoked`` (third-party observation).
- A second ``selfActivate`` while one waits for approval is refused with ``PendingRoleAssignmentRequest`` (legacy
  Graph PIM; UNCONFIRMED for groups; switch ``refuse_pending_duplicate``).
- ``adminAssign``/``adminRenew`` create a schedule, ``adminUpdate``/``adminExtend`` change its end,
  ``adminRemove`` ends it, each after the admin rules of the policy [G-ASR][G-PASR]. An admin assignment or
  eligibility "can't be assigned for a duration of less than five minutes" and "can't be removed within five
  minutes of it being assigned" [E-ASSIGN] (``MIN_ACTIVE_BEFORE_DEACTIVATE``; error codes UNCONFIRMED:
  ``InvalidRoleAssignmentRequest`` for the duration, ``ActiveDurationTooShort`` for the removal). Whether the
  duration floor binds ``selfActivate`` is not stated [E-ASSIGN]; it is not applied there.

[E-ASSIGN] = Microsoft Learn, PIM for Groups "Assign eligibility for a group" (groups-assign-member-owner), in the
reference's "Additions from the 2026-11-29 audit".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pim_fake.approvals import Approvals
from pim_fake.directory import Caller
from pim_fake.errors import bad_request, policy_failed
from pim_fake.pim_context import PimContext
from pim_fake.pim_terms import ASSIGNMENT, ELIGIBILITY, iso_at, parse_dt, who
from pim_fake.policies import Policy
from pim_fake.request_input import RequestInput
from pim_fake.request_status import RequestStatus, finish, move
from pim_fake.schedules import Schedule, Schedules
from sim.durations import parse_duration
from sim.settings import MIN_ACTIVE_BEFORE_DEACTIVATE

__all__ = ["RequestActions"]

Handler = Callable[[str, dict[str, Any], Policy, Caller, RequestInput], None]


class RequestActions:
    """Carries out the actions of schedule requests on the tenant's schedules and approvals."""

    def __init__(self, ctx: PimContext, schedules: Schedules, approvals: Approvals) -> None:
        self.ctx = ctx
        self.schedules = schedules
        self.approvals = approvals
        self.handlers: dict[str, Handler] = {
            "selfActivate": self._self_activate,
            "selfDeactivate": self._self_deactivate,
            "adminAssign": self._admin_assign,
            "adminRenew": self._admin_assign,
            "adminUpdate": self._admin_update,
            "adminExtend": self._admin_update,
            "adminRemove": self._admin_remove,
        }

    def run(self, kind: str, req: dict[str, Any], policy: Policy, caller: Caller, inp: RequestInput) -> None:
        """Check and (unless ``isValidationOnly``) carry out ``req``'s action; raise GraphError when refused."""
        self.handlers[req["action"]](kind, req, policy, caller, inp)

    def _check_rules(
        self,
        policy: Policy,
        caller_kind: str,
        level: str,
        req: dict[str, Any],
        caller: Caller,
        start: float,
        end: float | None,
    ) -> list[str]:
        """Return the names of the policy rules ``req`` fails for ``caller_kind``/``level`` [ARM-ERR]."""
        failed: list[str] = []
        required, maximum = policy.expiration(caller_kind, level)
        if (required and end is None) or (maximum is not None and end is not None and end - start > maximum + 1e-6):
            failed.append("ExpirationRule")
        enabled = policy.enabled(caller_kind, level)
        if "Justification" in enabled and not (req.get("justification") or "").strip():
            failed.append("JustificationRule")
        if "Ticketing" in enabled and not (req["ticketInfo"].get("ticketNumber") or "").strip():
            failed.append("TicketingRule")
        if "MultiFactorAuthentication" in enabled and not caller.mfa:
            failed.append("MfaRule")
        return failed

    def _grant(
        self,
        req: dict[str, Any],
        start: float,
        end: float | None,
        assignment_type: str | None,
        activated_using: str | None,
        kind: str = ASSIGNMENT,
    ) -> Schedule:
        """Create the schedule ``req`` asks for, finish ``req`` ``Provisioned`` and start the schedule."""
        schedule = self.schedules.add(kind, req, start, end, assignment_type, activated_using)
        finish(req, RequestStatus.PROVISIONED, iso_at(self.ctx.now()))
        self.schedules.begin(schedule)
        return schedule

    # --- end-user actions ------------------------------------------------------------------------------
    def _self_activate(self, kind: str, req: dict[str, Any], policy: Policy, caller: Caller, inp: RequestInput) -> None:
        eligibility = self.schedules.eligible(req["principalId"], req["groupId"], req["accessId"], inp.start)
        failed = [] if eligibility is not None else ["EligibilityRule"]
        failed += self._check_rules(policy, "EndUser", "Assignment", req, caller, inp.start, inp.end)
        if failed:
            raise policy_failed(failed)
        enabled, claim = policy.auth_context()
        if enabled and claim not in caller.acrs:
            raise bad_request(
                f"The request needs the authentication context claim {claim!r} (acrs) in the token.",
                code="RoleAssignmentRequestAcrsValidationFailed",
            )
        if self.schedules.active(ASSIGNMENT, req["principalId"], req["groupId"], req["accessId"], None):
            raise bad_request("The Role assignment already exists.", code="RoleAssignmentExists")
        if self.ctx.settings.refuse_pending_duplicate and self._pending(req):
            raise bad_request(
                "There already exists a pending role assignment request for this principal, group and access.",
                code="PendingRoleAssignmentRequest",
            )
        if inp.validation_only:
            return
        details = {"Justification": req.get("justification") or "", "RequestId": req["id"]}
        activated_using = eligibility.id if eligibility else None
        setting = policy.approval()
        if setting.get("isApprovalRequired"):
            approval = self.approvals.open(req, setting)
            move(req, RequestStatus.PENDING_APPROVAL)
            req["approvalId"] = approval.id
            req["_activatedUsing"] = activated_using
            self.ctx.record("Add member to role requested (PIM activation)", req, caller, "Add", details)
            self.ctx.record("Add member to role approval requested (PIM activation)", req, caller, "Add", details)
            return
        self.ctx.record("Add member to role requested (PIM activation)", req, caller, "Add", details)
        self._grant(req, inp.start, inp.end, "activated", activated_using)
        self.ctx.record("Add member to role completed (PIM activation)", req, caller, "Add", details)

    def _pending(self, req: dict[str, Any]) -> bool:
        """Return True when an activation of the same principal, group and access id waits for approval."""
        key = (req["principalId"], req["groupId"], req["accessId"])
        return any(
            (r["principalId"], r["groupId"], r["accessId"]) == key and r["status"] == RequestStatus.PENDING_APPROVAL
            for r in self.approvals.requests.values()
        )

    def complete_approved(self, req: dict[str, Any]) -> None:
        """Activate an approved request now (or at its later start); ``Canceled`` if its window has passed."""
        now = self.ctx.now()
        exp = req["scheduleInfo"]["expiration"]
        start = max(now, parse_dt(req["scheduleInfo"]["startDateTime"], "startDateTime").timestamp())
        if exp["duration"]:
            end: float | None = start + parse_duration(exp["duration"])
        elif exp["endDateTime"]:
            end = parse_dt(exp["endDateTime"], "endDateTime").timestamp()
        else:
            end = None
        if end is not None and end <= now:
            move(req, RequestStatus.CANCELED)
            return
        req["scheduleInfo"]["startDateTime"] = iso_at(start)
        self._grant(req, start, end, "activated", req.get("_activatedUsing"))
        self.ctx.record("Add member to role completed (PIM activation)", req, None, "Add")

    def _self_deactivate(
        self, kind: str, req: dict[str, Any], policy: Policy, caller: Caller, inp: RequestInput
    ) -> None:
        active = self.schedules.active(ASSIGNMENT, req["principalId"], req["groupId"], req["accessId"], "activated")
        active = [s for s in active if s.start <= self.ctx.now()] or active
        if not active:
            raise bad_request("The Role assignment does not exist.", code="RoleAssignmentDoesNotExist")
        schedule = active[0]
        held = self.ctx.now() - schedule.start
        if self.ctx.settings.enforce_min_active:
            _check_held_long_enough(held)
        if inp.validation_only:
            return
        self.ctx.record("Remove member from role requested (PIM deactivate)", req, caller, "Remove")
        self.schedules.end(schedule)
        finish(req, RequestStatus.REVOKED, iso_at(self.ctx.now()), schedule.id)
        self.ctx.record("Remove member from role completed (PIM deactivate)", req, caller, "Remove")

    # --- admin actions ---------------------------------------------------------------------------------
    def _admin_assign(self, kind: str, req: dict[str, Any], policy: Policy, caller: Caller, inp: RequestInput) -> None:
        level = "Eligibility" if kind == ELIGIBILITY else "Assignment"
        failed = self._check_rules(policy, "Admin", level, req, caller, inp.start, inp.end)
        if failed:
            raise policy_failed(failed)
        _check_span(inp.start, inp.end)
        if self.schedules.existing(kind, req):
            raise bad_request("The Role assignment already exists.", code="RoleAssignmentExists")
        if inp.validation_only:
            return
        bound = "permanent" if inp.end is None else "timebound"
        principal = who(kind)
        renew = req["action"] == "adminRenew"
        self.ctx.record(f"Add {principal} to role in PIM requested ({'renew' if renew else bound})", req, caller, "Add")
        self._grant(req, inp.start, inp.end, None if kind == ELIGIBILITY else "assigned", None, kind=kind)
        self.ctx.record(f"Add {principal} to role in PIM completed ({bound})", req, caller, "Add")

    def _admin_update(self, kind: str, req: dict[str, Any], policy: Policy, caller: Caller, inp: RequestInput) -> None:
        existing = self.schedules.existing(kind, req)
        if not existing:
            raise bad_request("The Role assignment does not exist.", code="RoleAssignmentDoesNotExist")
        schedule = existing[0]
        level = "Eligibility" if kind == ELIGIBILITY else "Assignment"
        failed = self._check_rules(policy, "Admin", level, req, caller, schedule.start, inp.end)
        if failed:
            raise policy_failed(failed)
        _check_span(schedule.start, inp.end)
        if inp.validation_only:
            return
        self.ctx.record(f"Update {who(kind)} in PIM requested (extend)", req, caller, "Update")
        schedule.end = inp.end
        schedule.expiration_type = req["scheduleInfo"]["expiration"]["type"]
        schedule.duration = req["scheduleInfo"]["expiration"]["duration"]
        schedule.modified = self.ctx.now()
        self.schedules.arm_timers(schedule)
        finish(req, RequestStatus.PROVISIONED, iso_at(self.ctx.now()), schedule.id)

    def _admin_remove(self, kind: str, req: dict[str, Any], policy: Policy, caller: Caller, inp: RequestInput) -> None:
        existing = self.schedules.existing(kind, req)
        if not existing:
            raise bad_request("The Role assignment does not exist.", code="RoleAssignmentDoesNotExist")
        _check_held_long_enough(self.ctx.now() - max(s.created for s in existing))
        if inp.validation_only:
            return
        bound = "permanent" if existing[0].end is None else "timebound"
        self.ctx.record(f"Remove {who(kind)} from role in PIM requested ({bound})", req, caller, "Remove")
        for schedule in existing:
            self.schedules.end(schedule)
        finish(req, RequestStatus.REVOKED, iso_at(self.ctx.now()), existing[0].id)
        self.ctx.record(f"Remove {who(kind)} from role in PIM completed ({bound})", req, caller, "Remove")


def _check_span(start: float, end: float | None) -> None:
    """Refuse an admin assignment or eligibility shorter than five minutes [E-ASSIGN] (error code UNCONFIRMED)."""
    if end is not None and end - start < MIN_ACTIVE_BEFORE_DEACTIVATE - 1e-6:
        raise bad_request(
            "The role assignment request is invalid: an assignment can't be made for a duration of less than "
            "five minutes.",
            code="InvalidRoleAssignmentRequest",
        )


def _check_held_long_enough(held: float) -> None:
    """Refuse removing an assignment within five minutes of it being assigned [E-ASSIGN] (error text third-party)."""
    if 0 <= held < MIN_ACTIVE_BEFORE_DEACTIVATE:
        raise bad_request(
            "The Active duration is too short. Miniumum Required is 5 minutes.", code="ActiveDurationTooShort"
        )
