"""Provision on demand: one user, or one group with at most 5 members, at once [E-POD].

On-demand ignores ``aadOptscim062020`` (it sends the legacy PATCH forms) [E-COMPAT] and answers with Graph's
``stringKeyStringValuePair`` whose ``value`` is the JSON of the log entries it wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pim_fake.errors import bad_request
from pim_fake.provisioning.export import Exporter
from pim_fake.provisioning.logs import ProvisioningLog
from pim_fake.provisioning.options import EngineOptions
from pim_fake.provisioning.source import DirectoryView, Snapshot

__all__ = ["OnDemand", "parse_subject"]


def parse_subject(body: Any) -> tuple[str, str]:
    """Return ``(objectId, objectTypeName)`` of a ``provisionOnDemand`` body's first subject, or raise 400."""
    try:
        subject = body["parameters"][0]["subjects"][0]
        return str(subject["objectId"]), str(subject["objectTypeName"])
    except (KeyError, IndexError, TypeError):
        raise bad_request(
            'The body must be {"parameters":[{"subjects":[{"objectId":"...","objectTypeName":"User"}],"ruleId":"..."}]}.'
        ) from None


class OnDemand:
    """Runs provision-on-demand requests through the job's exporter and log."""

    def __init__(
        self,
        view: DirectoryView,
        exporter: Exporter,
        log: ProvisioningLog,
        options: EngineOptions,
        new_id: Callable[[], str],
    ) -> None:
        self.view = view
        self.exporter = exporter
        self.log = log
        self.options = options
        self.new_id = new_id

    def provision(self, object_id: str, type_name: str) -> dict[str, Any]:
        """Provision the user or group ``object_id`` now; return the ``stringKeyStringValuePair`` [E-POD]."""
        snap = self.view.snapshot()
        cycle_id = f"ondemand-{self.new_id()}"
        before = len(self.log.entries)
        if type_name.lower() == "user":
            skipped = self._user(object_id, snap, cycle_id)
        elif type_name.lower() == "group":
            skipped = self._group(object_id, snap, cycle_id)
        else:
            raise bad_request(f"objectTypeName {type_name!r} must be User or Group.")
        if skipped is not None:
            return _pair({"status": "skipped", "reason": skipped})
        entries = self.log.entries[before:]
        status = "failure" if any(e["provisioningStatusInfo"]["status"] == "failure" for e in entries) else "success"
        return _pair({"status": status, "entries": entries})

    def _user(self, object_id: str, snap: Snapshot, cycle_id: str) -> str | None:
        """Provision one user; return why it was skipped, or None."""
        if object_id not in self.view.dir.users:
            raise bad_request(f"User {object_id} does not exist in the directory.")
        if object_id not in snap.users and object_id not in self.exporter.users:
            return "The user is not assigned to the application (out of scope)."
        self.exporter.process_user(object_id, snap, cycle_id, allow_disable=True, legacy=True)
        return None

    def _group(self, object_id: str, snap: Snapshot, cycle_id: str) -> str | None:
        """Provision one group and its members; return why it was skipped, or None."""
        if object_id not in self.view.dir.groups:
            raise bad_request(f"Group {object_id} does not exist in the directory.")
        if object_id not in snap.groups:
            return "The group is not assigned to the application (out of scope)."
        members = snap.groups[object_id][1]
        limit = self.options.on_demand_max_members
        if len(members) > limit:
            raise bad_request(
                f"Provision on demand supports a group with up to {limit} members; this group has {len(members)}."
            )
        for m in members:
            self.exporter.process_user(m, snap, cycle_id, allow_disable=False, legacy=True)
        self.exporter.process_group(object_id, snap, cycle_id, only_add=None, legacy=True)
        return None


def _pair(value: dict[str, Any]) -> dict[str, Any]:
    """Return Graph's ``stringKeyStringValuePair`` with key ``provisionOnDemand`` and ``value`` as JSON."""
    return {
        "@odata.type": "#microsoft.graph.stringKeyStringValuePair",
        "key": "provisionOnDemand",
        "value": json.dumps(value),
    }
