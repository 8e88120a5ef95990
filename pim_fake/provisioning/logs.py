"""The provisioning logs: one ``provisioningObjectSummary`` per object a cycle touched, its SCIM calls as steps
[G-POS]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pim_fake.directory import ServicePrincipal, iso
from pim_fake.provisioning.escrow import ScimFailure
from sim.clock import Clock

__all__ = ["Change", "ProvisioningLog"]


class Change:
    """One provisioning-log entry under construction (one object, its SCIM calls as steps) [G-POS]."""

    def __init__(self, kind: str, source_id: str, display: str, cycle_id: str) -> None:
        self.kind = kind
        self.source_id = source_id
        self.display = display
        self.cycle_id = cycle_id
        self.steps: list[dict[str, Any]] = []
        self.action = "other"
        self.target_id: str | None = None
        self.modified: list[dict[str, Any]] = []


class ProvisioningLog:
    """The provisioning log entries of one job, oldest first."""

    def __init__(self, clock: Clock, sp: ServicePrincipal, job_id: str, new_id: Callable[[], str]) -> None:
        self.clock = clock
        self.sp = sp
        self.job_id = job_id
        self.new_id = new_id
        self.entries: list[dict[str, Any]] = []

    def record(self, change: Change, status: str, f: ScimFailure | None) -> None:
        """Append the ``provisioningObjectSummary`` of ``change`` with ``status`` ``success``/``failure`` [G-POS]."""
        initiated = "OnDemand" if change.cycle_id.startswith("ondemand") else "System"
        entry: dict[str, Any] = {
            "id": self.new_id(),
            "activityDateTime": iso(self.clock.now()),
            "changeId": self.new_id(),
            "cycleId": change.cycle_id,
            "jobId": self.job_id,
            "durationInMilliseconds": 0,
            "initiatedBy": {
                "id": "",
                "displayName": "Azure AD Provisioning Service",
                "initiatorType": initiated.lower(),
            },
            "modifiedProperties": change.modified,
            "provisioningAction": change.action,
            "provisioningSteps": [*self._source_steps(change), *change.steps],
            "provisioningStatusInfo": {"status": status, "errorInfo": None if f is None else _error_info(f)},
            "servicePrincipal": {"id": self.sp.id, "displayName": self.sp.displayName},
            "sourceIdentity": {"id": change.source_id, "displayName": change.display, "identityType": change.kind},
            "sourceSystem": {"id": None, "displayName": "Azure Active Directory", "details": {}},
            "targetIdentity": {"id": change.target_id, "displayName": change.display, "identityType": change.kind},
            "targetSystem": {"id": None, "displayName": self.sp.displayName, "details": {}},
            "tenantId": None,
        }
        self.entries.append(entry)

    def _source_steps(self, change: Change) -> list[dict[str, Any]]:
        """Return the import and scoping steps that precede every object's SCIM calls."""
        return [
            {
                "name": "EntryImport",
                "provisioningStepType": "import",
                "status": "success",
                "description": f"Retrieved {change.display} from Azure Active Directory",
                "details": {},
            },
            {
                "name": "EntrySynchronizationScoping",
                "provisioningStepType": "scoping",
                "status": "success",
                "description": f"{change.display} is assigned to {self.sp.displayName}",
                "details": {},
            },
        ]


_ACTIONS = {
    "MandatoryFieldsMissing": "Fill in the missing attributes of the user in Microsoft Entra ID; the user is "
    "provisioned on a later attempt.",
}
"""``recommendedAction`` by error code [E-PLOGS]."""


def _error_info(f: ScimFailure) -> dict[str, Any]:
    """Return the ``errorInfo`` of a failed entry."""
    return {
        "errorCode": f.code,
        "reason": f.message,
        "additionalDetails": f"HTTP {f.status}" if f.status else "No HTTP response (not sent, or no answer).",
        "errorCategory": "Transient" if f.transient else "NonServiceFailure",
        "recommendedAction": _ACTIONS.get(f.code),
    }
