"""What the parts of PIM for Groups share: the directory, clock, settings, audit log and the tenant's lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pim_fake.audit import AuditLog
from pim_fake.directory import Caller, Directory
from sim.clock import Clock, Timer
from sim.settings import Settings

__all__ = ["PimContext"]


@dataclass
class PimContext:
    """The shared services of :class:`pim_fake.pim.Pim` and its stores."""

    directory: Directory
    clock: Clock
    settings: Settings
    audit: AuditLog
    lock: threading.RLock
    version: int = 0
    """Counts clears of PIM (``--state`` then writes all of PIM again)."""
    dirty: set[tuple[str, str]] = field(default_factory=set)
    """What changed since ``--state`` last wrote it: ``("request", id)``, ``("approval", id)``, ``("policy", group
    id)`` and ``("triple", "principal|group|access")`` (every schedule of that principal, group and access id);
    :meth:`mark` adds to it, the writer empties it."""

    def mark(self, req: dict[str, Any] | None = None, *, policy: str | None = None) -> None:
        """Note that the request ``req`` changed, with its approval and the schedules of its principal, group and
        access id; or (``policy``) the policies of that group."""
        if req is not None:
            self.dirty.add(("request", str(req["id"])))
            self.dirty.add(("approval", str(req.get("approvalId") or req["id"])))
            self.dirty.add(("triple", f"{req['principalId']}|{req['groupId']}|{req['accessId']}"))
        if policy is not None:
            self.dirty.add(("policy", policy))

    def now(self) -> float:
        """Return the clock's current Unix time."""
        return self.clock.time()

    def call_at(self, when: float, callback: Callable[[], None], name: str) -> Timer:
        """Schedule ``callback`` at ``when`` on the clock, to run holding the lock; return the timer."""

        def locked() -> None:
            with self.lock:
                callback()

        return self.clock.call_at(when, locked, name=name)

    def group_target(self, group_id: str) -> dict[str, Any]:
        """Return the audit ``targetResource`` of a group."""
        group = self.directory.groups.get(group_id)
        return {"id": group_id, "displayName": group.displayName if group else None, "type": "Group"}

    def principal_target(self, principal_id: str) -> dict[str, Any]:
        """Return the audit ``targetResource`` of a user (or, when no user has the id, a group)."""
        user = self.directory.users.get(principal_id)
        return {
            "id": principal_id,
            "displayName": user.displayName if user else None,
            "type": "User" if user else "Group",
            "userPrincipalName": user.userPrincipalName if user else None,
        }

    def record(
        self,
        activity: str,
        req: dict[str, Any],
        caller: Caller | None,
        operation: str = "Update",
        details: dict[str, str] | None = None,
    ) -> None:
        """Record an audit entry about ``req``: its group and principal are the targets, its id the correlation."""
        targets = [self.group_target(req["groupId"]), self.principal_target(req["principalId"])]
        self.audit.record(
            activity,
            initiated_by=caller,
            targets=targets,
            correlation_id=req["id"],
            operation=operation,
            details=details,
        )
