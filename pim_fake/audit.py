"""Entra audit logs for PIM for Groups (``GET /auditLogs/directoryAudits``) [G-OVERVIEW][E-AUDREF].

Activity names are the documented PIM "role" wording with category ``GroupManagement`` [E-AUDREF] (the
"... group ..." names some third-party code uses are UNCONFIRMED and not used); ``loggedByService`` is ``PIM``
(third-party captures). Provisioning configuration events use category ``ProvisioningManagement`` [E-AUDREF].
One ``correlationId`` ties the events of one request together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pim_fake.directory import Caller, iso

__all__ = ["PIM_SYSTEM", "AuditLog"]

PIM_SYSTEM = {"app": {"appId": None, "displayName": "MS-PIM", "servicePrincipalId": None}}
"""``initiatedBy`` for events PIM raises itself (expiry), as in third-party captures (UNCONFIRMED for groups)."""


class AuditLog:
    """Append-only list of ``directoryAudit`` entries."""

    def __init__(self, new_id: Callable[[], str], now: Callable[[], datetime]) -> None:
        self._new_id = new_id
        self._now = now
        self.entries: list[dict[str, Any]] = []

    def record(
        self,
        activity: str,
        *,
        initiated_by: Caller | None,
        targets: list[dict[str, Any]],
        correlation_id: str,
        category: str = "GroupManagement",
        service: str = "PIM",
        operation: str = "Update",
        result: str = "success",
        details: dict[str, str] | None = None,
        system: str = "MS-PIM",
    ) -> dict[str, Any]:
        """Append one entry and return it; ``initiated_by`` None means the service itself (``system``)."""
        if initiated_by is None:
            who: dict[str, Any] = {"app": {**PIM_SYSTEM["app"], "displayName": system}}
        elif initiated_by.is_user:
            who = {
                "user": {
                    "id": initiated_by.id,
                    "displayName": initiated_by.shown_name,
                    "userPrincipalName": initiated_by.upn,
                }
            }
        else:
            who = {
                "app": {"appId": None, "displayName": initiated_by.shown_name, "servicePrincipalId": initiated_by.id}
            }
        entry = {
            "id": f"PIM_{self._new_id()}" if service == "PIM" else self._new_id(),
            "category": category,
            "correlationId": correlation_id,
            "result": result,
            "resultReason": "",
            "activityDisplayName": activity,
            "activityDateTime": iso(self._now()),
            "loggedByService": service,
            "operationType": operation,
            "initiatedBy": who,
            "targetResources": targets,
            "additionalDetails": [{"key": k, "value": v} for k, v in (details or {}).items()],
        }
        self.entries.append(entry)
        return entry
