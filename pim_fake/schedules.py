"""PIM schedules and instances, and the group membership they hold in the directory [G-AS][G-ASI][E-ACT].

An assignment schedule in effect makes its principal a member (or owner) of the group; PIM adds the membership
"within seconds" [E-ACT], modelled as immediately, and removes it on the clock at the schedule's end.
Eligibility schedules hold no membership; they allow ``selfActivate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pim_fake.errors import bad_request, not_found
from pim_fake.listing import filtered
from pim_fake.pim_context import PimContext
from pim_fake.pim_terms import ASSIGNMENT, ELIGIBILITY, iso_at
from pim_fake.request_status import RequestStatus
from sim.clock import Timer

__all__ = ["Schedule", "Schedules"]


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

    def live(self, t: float) -> bool:
        """Return True when the schedule is not removed and has not ended at ``t`` (it may start later)."""
        return not self.removed and (self.end is None or t < self.end)

    def schedule_info(self) -> dict[str, Any]:
        """Return ``requestSchedule`` JSON [G-RS]."""
        return {
            "startDateTime": iso_at(self.start),
            "recurrence": None,
            "expiration": {"type": self.expiration_type, "endDateTime": iso_at(self.end), "duration": self.duration},
        }

    def to_json(self) -> dict[str, Any]:
        """Return the assignment/eligibility schedule resource [G-AS]."""
        body: dict[str, Any] = {
            "id": self.id,
            "createdDateTime": iso_at(self.created),
            "modifiedDateTime": iso_at(self.modified),
            "createdUsing": self.created_using,
            "status": RequestStatus.PROVISIONED.value,
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
            "startDateTime": iso_at(self.start),
            "endDateTime": iso_at(self.end),
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


class Schedules:
    """The eligibility and assignment schedules of a tenant, their clock timers and the memberships they hold."""

    def __init__(self, ctx: PimContext, on_activation: Callable[[str, str, float], None] | None = None) -> None:
        self.ctx = ctx
        self.on_activation = on_activation
        self.by_kind: dict[str, dict[str, Schedule]] = {ASSIGNMENT: {}, ELIGIBILITY: {}}

    def clear(self) -> None:
        """Forget every schedule and cancel its timers (sandbox reset)."""
        for kind in (ASSIGNMENT, ELIGIBILITY):
            for schedule in self.by_kind[kind].values():
                for t in schedule.timers:
                    t.cancel()
            self.by_kind[kind].clear()

    # --- life cycle ------------------------------------------------------------------------------------
    def add(
        self,
        kind: str,
        req: dict[str, Any],
        start: float,
        end: float | None,
        assignment_type: str | None,
        activated_using: str | None,
    ) -> Schedule:
        """Store and return the schedule ``req`` creates (id ``req["targetScheduleId"]``); :meth:`begin` runs it."""
        now = self.ctx.now()
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
        self.by_kind[kind][schedule.id] = schedule
        return schedule

    def begin(self, schedule: Schedule) -> None:
        """Arm the schedule's start/end timers and, for an assignment already started, add the membership."""
        self.arm_timers(schedule)
        if schedule.kind == ASSIGNMENT and schedule.start <= self.ctx.now():
            self._apply(schedule)

    def arm_timers(self, schedule: Schedule) -> None:
        """(Re)arm an assignment's timers: membership at its start, expiry at its end (on the clock)."""
        for t in schedule.timers:
            t.cancel()
        schedule.timers = []
        if schedule.kind != ASSIGNMENT:
            return
        if schedule.start > self.ctx.now():
            schedule.timers.append(
                self.ctx.call_at(schedule.start, lambda: self._apply(schedule), name=f"pim-start-{schedule.id}")
            )
        if schedule.end is not None:
            schedule.timers.append(
                self.ctx.call_at(schedule.end, lambda: self._expire(schedule), name=f"pim-end-{schedule.id}")
            )

    def end(self, schedule: Schedule) -> None:
        """End ``schedule`` now (removal or deactivation) and drop the membership it held."""
        for t in schedule.timers:
            t.cancel()
        schedule.timers = []
        self.mark(schedule)
        schedule.removed = True
        schedule.end = min(schedule.end, self.ctx.now()) if schedule.end is not None else self.ctx.now()
        schedule.modified = self.ctx.now()
        if schedule.kind == ASSIGNMENT:
            self._apply(schedule)

    def mark(self, schedule: Schedule) -> None:
        """Note that ``schedule`` changed (``--state`` writes the schedules of its principal, group and access)."""
        self.ctx.dirty.add(("triple", f"{schedule.principal_id}|{schedule.group_id}|{schedule.access_id}"))

    def _apply(self, schedule: Schedule) -> None:
        """Make the directory membership match the schedules in effect (PIM's "within seconds" [E-ACT])."""
        pid, gid, access = schedule.principal_id, schedule.group_id, schedule.access_id
        now = self.ctx.now()
        should = any(
            s.in_effect(now)
            for s in self.by_kind[ASSIGNMENT].values()
            if (s.principal_id, s.group_id, s.access_id) == (pid, gid, access)
        )
        owner = access == "owner"
        directory = self.ctx.directory
        if gid not in directory.groups:
            return
        via_pim = schedule.assignment_type == "activated"
        if should:
            added = directory.add_member(gid, pid, via_pim=via_pim, owner=owner)
            if added and via_pim and not owner and self.on_activation is not None:
                self.on_activation(gid, pid, now)
        else:
            directory.remove_member(gid, pid, via_pim=via_pim, owner=owner)

    def _expire(self, schedule: Schedule) -> None:
        """Remove the membership at the schedule's end and record it in the audit log [E-ACT]."""
        if schedule.removed:
            return
        self.mark(schedule)
        schedule.removed = True
        self._apply(schedule)
        targets = [self.ctx.group_target(schedule.group_id), self.ctx.principal_target(schedule.principal_id)]
        name = (
            "Remove member from role (PIM activation expired)"
            if schedule.assignment_type == "activated"
            else "Remove member from role in PIM completed (timebound)"
        )
        self.ctx.audit.record(
            name, initiated_by=None, targets=targets, correlation_id=schedule.created_using, operation="Remove"
        )

    # --- lookups ---------------------------------------------------------------------------------------
    def eligible(self, principal_id: str, group_id: str, access: str, t: float) -> Schedule | None:
        """Return the eligibility in effect at ``t`` for the principal, group and access id, or None."""
        for s in self.by_kind[ELIGIBILITY].values():
            if (s.principal_id, s.group_id, s.access_id) == (principal_id, group_id, access) and s.in_effect(t):
                return s
        return None

    def active(
        self, kind: str, principal_id: str, group_id: str, access: str, assignment_type: str | None
    ) -> list[Schedule]:
        """Return the live ``kind`` schedules of the principal, group and access id (of ``assignment_type``)."""
        now = self.ctx.now()
        return [
            s
            for s in self.by_kind[kind].values()
            if (s.principal_id, s.group_id, s.access_id) == (principal_id, group_id, access)
            and s.live(now)
            and (assignment_type is None or s.assignment_type == assignment_type)
        ]

    def existing(self, kind: str, req: dict[str, Any]) -> list[Schedule]:
        """Return the live schedules an admin request acts on (for assignments, only the ``assigned`` ones)."""
        assignment_type = None if kind == ELIGIBILITY else "assigned"
        return self.active(kind, req["principalId"], req["groupId"], req["accessId"], assignment_type)

    # --- reads -----------------------------------------------------------------------------------------
    def list_json(
        self, kind: str, instances: bool, filter_text: str | None, principal_id: str | None = None
    ) -> list[dict[str, Any]]:
        """List schedules or instances; a principalId/groupId ``$filter`` is required unless ``principal_id``
        (``filterByCurrentUser``) scopes the list [G-ASI-LIST]."""
        if principal_id is None and not re.search(r"\b(principalId|groupId)\s+eq\b", filter_text or "", re.IGNORECASE):
            raise bad_request(
                "This list requires the $filter (eq) query parameter scoped to a principalId or a groupId, "
                "e.g. $filter=groupId eq '{groupId}'."
            )
        now = self.ctx.now()
        items = []
        for s in self.by_kind[kind].values():
            if principal_id is not None and s.principal_id != principal_id:
                continue
            if instances:
                if s.in_effect(now):
                    items.append(s.instance_json())
            elif s.live(now):
                items.append(s.to_json())
        return filtered(items, filter_text)

    def get_json(self, kind: str, ident: str, instances: bool) -> dict[str, Any]:
        """Return one schedule or instance by id (case-insensitive), or raise 404."""
        now = self.ctx.now()
        for s in self.by_kind[kind].values():
            if instances and s.in_effect(now) and s.instance_json()["id"].lower() == ident.lower():
                return s.instance_json()
            if not instances and s.live(now) and s.id.lower() == ident.lower():
                return s.to_json()
        raise not_found(f"privilegedAccessGroup{kind.capitalize()}Schedule{'Instance' if instances else ''}", ident)
