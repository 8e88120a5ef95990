"""PIM for Groups: schedule requests, schedules, instances, policies and approvals [G-OVERVIEW].

State machine (sources in ``../shared/reference/entra-pim-provisioning.md``):

- ``assignmentScheduleRequests`` actions ``adminAssign``, ``adminUpdate``, ``adminRemove``, ``adminExtend``,
  ``adminRenew``, ``selfActivate``, ``selfDeactivate``; ``eligibilityScheduleRequests`` the admin ones
  [G-ASR][G-PASR]. Enums are case-insensitive and echoed camelCase [G-ESR-POST].
- A request's ``status`` moves only along :data:`pim_fake.request_status.TRANSITIONS`.
- What each action checks and does: :mod:`pim_fake.request_actions`; approvals: :mod:`pim_fake.approvals`;
  schedules, instances and the membership they hold: :mod:`pim_fake.schedules`; policies:
  :mod:`pim_fake.policy_store`. Expiry removes the membership on the clock at the schedule's end [E-ACT].

:class:`Pim` is the front of these parts; its public methods take the tenant's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pim_fake.approvals import Approvals
from pim_fake.audit import AuditLog
from pim_fake.directory import Caller, Directory
from pim_fake.errors import bad_request, forbidden, not_found
from pim_fake.listing import filtered
from pim_fake.locking import synchronized
from pim_fake.pim_context import PimContext
from pim_fake.pim_terms import ASSIGNMENT, ELIGIBILITY, FILTER_ON, iso_at, norm
from pim_fake.policy_store import PolicyStore
from pim_fake.request_actions import RequestActions
from pim_fake.request_input import new_request, read_request
from pim_fake.request_status import RequestStatus, can_move, finish
from pim_fake.schedules import Schedules
from sim.clock import Clock
from sim.settings import Settings

__all__ = ["Pim"]


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
        self.ctx = PimContext(directory, clock, settings, audit, lock or threading.RLock())
        self.requests: dict[str, dict[str, dict[str, Any]]] = {ASSIGNMENT: {}, ELIGIBILITY: {}}
        self.policies = PolicyStore(self.ctx)
        self.schedules = Schedules(self.ctx, on_activation)
        self.approvals = Approvals(self.ctx, self.requests[ASSIGNMENT])
        self.actions = RequestActions(self.ctx, self.schedules, self.approvals)

    @property
    def lock(self) -> threading.RLock:
        """Return the tenant's lock."""
        return self.ctx.lock

    @synchronized
    def clear(self) -> None:
        """Forget every request, schedule, approval and policy and cancel their timers (sandbox reset)."""
        self.ctx.version += 1
        self.schedules.clear()
        for requests in self.requests.values():
            requests.clear()
        self.approvals.clear()
        self.policies.clear()

    # --- requests ------------------------------------------------------------------------------------
    @synchronized
    def create_request(self, kind: str, body: Any, caller: Caller) -> dict[str, Any]:
        """Validate and process a schedule request; return the request resource (201) or raise GraphError."""
        now = self.ctx.now()
        inp = read_request(kind, body, caller, self.ctx.directory, now)
        policy = self.policies.policy(inp.group_id, inp.access, caller)
        request = new_request(inp, self.ctx.directory.new_id(), caller, now)
        self.ctx.mark(request)
        self.actions.run(kind, request, policy, caller, inp)
        if not inp.validation_only:
            self.requests[kind][request["id"]] = request
        return _public(request)

    @synchronized
    def cancel(self, kind: str, request_id: str, caller: Caller) -> None:
        """Cancel a pending request (204) [G-CANCEL]; other states answer 400."""
        req = self._request(kind, request_id)
        self.ctx.mark(req)
        created_by = req["createdBy"].get("user", req["createdBy"].get("application", {})).get("id")
        if created_by != caller.id and not caller.is_admin:
            raise forbidden("Only the requester or an administrator can cancel this request.")
        if not can_move(req["status"], RequestStatus.CANCELED):
            raise bad_request(f"Only a pending request can be canceled; this request is {req['status']}.")
        finish(req, RequestStatus.CANCELED, iso_at(self.ctx.now()))
        self.approvals.close(req.get("approvalId"))
        self.ctx.record("Cancel request", req, caller)
        self.ctx.record("Add member to role canceled (PIM activation)", req, caller)

    def _request(self, kind: str, request_id: str) -> dict[str, Any]:
        req = self.requests[kind].get(request_id)
        if req is None:
            raise not_found(f"privilegedAccessGroup{kind.capitalize()}ScheduleRequest", request_id)
        return req

    @synchronized
    def get_request(self, kind: str, request_id: str) -> dict[str, Any]:
        """Return one request resource or raise 404."""
        return _public(self._request(kind, request_id))

    @synchronized
    def list_requests(self, kind: str, filter_text: str | None, caller: Caller) -> list[dict[str, Any]]:
        """List requests; app-only callers must filter by principalId or groupId, delegated callers without a
        filter get their own requests [G-ESR-LIST]."""
        items = list(self.requests[kind].values())
        if not filter_text:
            if not caller.is_user:
                raise bad_request("The $filter must scope the request to a principalId or a groupId.")
            items = [r for r in items if r["principalId"] == caller.id]
        return [_public(r) for r in filtered(items, filter_text)]

    @synchronized
    def requests_for_current_user(
        self, kind: str, on: str, filter_text: str | None, caller: Caller
    ) -> list[dict[str, Any]]:
        """Return the requests of ``filterByCurrentUser(on=...)`` [G-FBCU]."""
        on = norm(on, FILTER_ON, "on")
        items = list(self.requests[kind].values())
        if on == "principal":
            items = [r for r in items if r["principalId"] == caller.id]
        elif on == "createdBy":
            items = [r for r in items if caller.id in (v.get("id") for v in r["createdBy"].values())]
        elif on == "approver":
            items = [r for r in items if self.approvals.assigned_to(r.get("approvalId"), caller)]
        else:
            items = []
        return [_public(r) for r in filtered(items, filter_text)]

    # --- approvals -----------------------------------------------------------------------------------
    @synchronized
    def approval(self, approval_id: str, caller: Caller) -> dict[str, Any]:
        """Return the approval resource with its single stage [G-APPR-GET]."""
        return self.approvals.to_json(approval_id, caller)

    @synchronized
    def approval_stage(self, approval_id: str, stage_id: str, caller: Caller) -> dict[str, Any]:
        """Return one stage of an approval, or raise 404."""
        return self.approvals.stage_json(approval_id, stage_id, caller)

    @synchronized
    def decide(self, approval_id: str, stage_id: str, body: Any, caller: Caller) -> None:
        """Approve or deny a stage (204); 409 once decided or expired; 403 for non-approvers [G-APPR-UPD]."""
        req = self.requests[ASSIGNMENT].get(approval_id)
        if req is not None:
            self.ctx.mark(req)
        approved = self.approvals.review(approval_id, stage_id, body, caller)
        if approved is not None:
            self.actions.complete_approved(approved)

    # --- schedules and instances ---------------------------------------------------------------------
    @synchronized
    def list_schedules(
        self, kind: str, instances: bool, filter_text: str | None, caller: Caller, current_user: bool = False
    ) -> list[dict[str, Any]]:
        """List schedules or instances; a principalId/groupId ``$filter`` is required unless ``current_user``
        limits the list to the caller's own [G-ASI-LIST]."""
        return self.schedules.list_json(kind, instances, filter_text, caller.id if current_user else None)

    @synchronized
    def get_schedule(self, kind: str, ident: str, instances: bool) -> dict[str, Any]:
        """Return one schedule or instance by id, or raise 404."""
        return self.schedules.get_json(kind, ident, instances)


def _public(req: dict[str, Any]) -> dict[str, Any]:
    """Return the public request resource (without internal keys such as ``_activatedUsing``)."""
    return {k: v for k, v in req.items() if not k.startswith("_")}
