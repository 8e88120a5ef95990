"""Provision on demand: one user, or one group with up to 5 chosen members, at once [E-POD].

Graph ``synchronizationJob: provisionOnDemand`` (reference, "Additions from the 2026-11-29 audit"):

- the body names one subject; for a group, ``links.members`` lists the members to provision with it ("a single
  group with up to 5 members at a time"); more than 5 → 400. Without ``links.members`` only the group is provisioned
  (the documented way to create the empty privileged group in AWS first [E-AWS][E-PIMG]). A chosen member must be a
  direct member of the group in scope;
- the answer is a ``stringKeyStringValuePair`` whose ``key`` is the result JSON (``{"result":"Success",
  "details":{}}``; ``Failure`` / ``Skipped``) and whose ``value`` is the JSON of the provisioning-log entries
  (the change);
- "The rate limit for this API is 5 requests per 10 seconds": the 6th request within 10 s answers Graph's 429
  ``TooManyRequests`` with ``Retry-After`` (the seconds until the oldest of the 5 leaves the window; code and header
  as for any Graph throttling [G-ERR]). Counted per job in a sliding window on the injected clock.

On-demand ignores ``aadOptscim062020`` (it sends the legacy PATCH forms) [E-COMPAT].
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from pim_fake.errors import GraphError, bad_request
from pim_fake.provisioning.export import Exporter
from pim_fake.provisioning.logs import ProvisioningLog
from pim_fake.provisioning.options import EngineOptions
from pim_fake.provisioning.source import DirectoryView, Snapshot
from sim.clock import Clock

__all__ = ["ON_DEMAND_RATE", "OnDemand", "Subject", "parse_subject"]

ON_DEMAND_RATE = (5, 10.0)
"""provisionOnDemand: at most 5 requests per 10 seconds (Graph synchronizationJob provisionOnDemand)."""

Subject = tuple[str, str, list[str] | None]
"""``(objectId, objectTypeName, chosen member ids or None)`` of a ``provisionOnDemand`` body."""

_SHAPE = (
    'The body must be {"parameters":[{"subjects":[{"objectId":"...","objectTypeName":"User"}],"ruleId":"..."}]}; '
    'for a group add "links":{"members":[{"objectId":"...","objectTypeName":"User"}]} (up to 5).'
)


def parse_subject(body: Any) -> Subject:
    """Return the first subject of a ``provisionOnDemand`` body, or raise a 400 naming the shape."""
    try:
        subject = body["parameters"][0]["subjects"][0]
        object_id, type_name = str(subject["objectId"]), str(subject["objectTypeName"])
    except (KeyError, IndexError, TypeError):
        raise bad_request(_SHAPE) from None
    links = subject.get("links")
    if links is None:
        return object_id, type_name, None
    members = links.get("members") if isinstance(links, dict) else None
    if not isinstance(members, list) or not all(isinstance(m, dict) and "objectId" in m for m in members):
        raise bad_request("subjects[0].links.members must be a list of {objectId, objectTypeName}. " + _SHAPE)
    return object_id, type_name, [str(m["objectId"]) for m in members]


class OnDemand:
    """Runs provision-on-demand requests through the job's exporter and log, 5 requests per 10 s."""

    def __init__(
        self,
        view: DirectoryView,
        exporter: Exporter,
        log: ProvisioningLog,
        options: EngineOptions,
        new_id: Callable[[], str],
        clock: Clock | None = None,
    ) -> None:
        self.view = view
        self.exporter = exporter
        self.log = log
        self.options = options
        self.new_id = new_id
        self.clock = clock
        self._recent: list[float] = []

    def admit(self) -> None:
        """Count one request; raise Graph's 429 ``TooManyRequests`` past 5 per 10 s (Graph provisionOnDemand)."""
        if self.clock is None:
            return
        now = self.clock.time()
        limit, window = ON_DEMAND_RATE
        self._recent = [t for t in self._recent if t > now - window]
        if len(self._recent) >= limit:
            wait = max(1, math.ceil(self._recent[0] + window - now))
            raise GraphError(
                429,
                "TooManyRequests",
                f"The rate limit for provisionOnDemand is {limit} requests per {window:g} seconds; "
                f"retry after {wait} s.",
                {"Retry-After": str(wait)},
            )
        self._recent.append(now)

    def provision(self, subject: Subject) -> dict[str, Any]:
        """Provision the subject now; return the ``stringKeyStringValuePair`` [E-POD]."""
        object_id, type_name, chosen = subject
        snap = self.view.snapshot()
        cycle_id = f"ondemand-{self.new_id()}"
        before = len(self.log.entries)
        if type_name.lower() == "user":
            if chosen is not None:
                raise bad_request("links.members is only valid for a Group subject.")
            skipped = self._user(object_id, snap, cycle_id)
        elif type_name.lower() == "group":
            skipped = self._group(object_id, chosen or [], snap, cycle_id)
        else:
            raise bad_request(f"objectTypeName {type_name!r} must be User or Group.")
        if skipped is not None:
            return _pair("Skipped", {"reason": skipped}, [])
        entries = self.log.entries[before:]
        failed = [e for e in entries if e["provisioningStatusInfo"]["status"] == "failure"]
        details = {"errors": [e["provisioningStatusInfo"]["errorInfo"] for e in failed]} if failed else {}
        return _pair("Failure" if failed else "Success", details, entries)

    def _user(self, object_id: str, snap: Snapshot, cycle_id: str) -> str | None:
        """Provision one user; return why it was skipped, or None."""
        if object_id not in self.view.dir.users:
            raise bad_request(f"User {object_id} does not exist in the directory.")
        if object_id not in snap.users and object_id not in self.exporter.users:
            return "The user is not assigned to the application (out of scope)."
        self.exporter.process_user(object_id, snap, cycle_id, allow_disable=True, legacy=True)
        return None

    def _group(self, object_id: str, chosen: list[str], snap: Snapshot, cycle_id: str) -> str | None:
        """Provision one group and the chosen members (≤ 5); return why it was skipped, or None."""
        if object_id not in self.view.dir.groups:
            raise bad_request(f"Group {object_id} does not exist in the directory.")
        limit = self.options.on_demand_max_members
        if len(chosen) > limit:
            raise bad_request(
                f"Provision on demand takes a group with up to {limit} members at a time; "
                f"links.members lists {len(chosen)}."
            )
        if object_id not in snap.groups:
            return "The group is not assigned to the application (out of scope)."
        members = snap.groups[object_id][1]
        strangers = [m for m in chosen if m not in members]
        if strangers:
            raise bad_request(f"links.members {', '.join(strangers)} is not a direct member of group {object_id}.")
        for m in dict.fromkeys(chosen):
            self.exporter.process_user(m, snap, cycle_id, allow_disable=False, legacy=True)
        self.exporter.process_group(object_id, snap, cycle_id, only_add=tuple(chosen), legacy=True)
        return None


def _pair(result: str, details: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Return Graph's ``stringKeyStringValuePair``: ``key`` the result JSON, ``value`` the change JSON."""
    return {
        "@odata.type": "#microsoft.graph.stringKeyStringValuePair",
        "key": json.dumps({"result": result, "details": details}),
        "value": json.dumps(entries),
    }
