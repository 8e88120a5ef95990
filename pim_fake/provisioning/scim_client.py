"""The SCIM requests Entra sends to the target, over httpx2, each recorded as a provisioning step.

Requests are the ones Entra sends [E-SCIM][E-COMPAT]: match with ``filter=userName eq "..."`` /
``displayName eq "..."`` (groups with ``excludedAttributes=members``), ``POST`` when absent, groups created empty
then ``PATCH`` members with capitalised ops in batches of ≤ 100 [AWS-SCIM], disable with ``active`` ``"False"``
(legacy) or ``false`` with ``aadOptscim062020`` in the target URL (lower-case ops, member removal by filter path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2

from pim_fake.provisioning.escrow import (
    CallCounts,
    ScimFailure,
    failure_for_status,
    incompatible_response,
    transport_failure,
)
from pim_fake.provisioning.logs import Change
from pim_fake.provisioning.options import EngineOptions, ScimTarget
from pim_fake.provisioning.source import SourceUser
from sim.clock import Clock

__all__ = ["ScimClient", "TargetGroup", "TargetUser", "created_id", "retry_after_seconds"]

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
]
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@dataclass
class TargetUser:
    """A user as the job last provisioned it: its SCIM id, ``active`` and the attributes sent."""

    scim_id: str
    active: bool
    attrs: tuple[str | None, ...]


@dataclass
class TargetGroup:
    """A group as the job last provisioned it: its SCIM id and the source ids of its members."""

    scim_id: str
    members: set[str] = field(default_factory=set)


class ScimClient:
    """Sends Entra's SCIM requests to one target; raises :class:`~pim_fake.provisioning.escrow.ScimFailure`."""

    def __init__(
        self,
        target: ScimTarget,
        http: httpx2.Client,
        clock: Clock,
        options: EngineOptions,
        counts: CallCounts,
        on_request: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.target = target
        self.http = http
        self.clock = clock
        self.options = options
        self.counts = counts
        self.on_request = on_request

    def retarget(self, target: ScimTarget, http: httpx2.Client) -> None:
        """Send further requests to ``target`` through ``http``."""
        self.target = target
        self.http = http

    # --- users ------------------------------------------------------------------------------------------------
    def match_user(self, change: Change, upn: str) -> list[dict[str, Any]]:
        """Return the target's users whose ``userName`` is ``upn`` (the matching step)."""
        resp = self.call(change, "GET", "/Users", "matching", params={"filter": f'userName eq "{upn}"'})
        return _matched(change, resp)

    def create_user(self, change: Change, src: SourceUser) -> str:
        """POST the user and return its SCIM id; attributes the source does not have are left out, never
        invented (Entra never sends null attributes [E-KNOWN])."""
        name = {"formatted": src.display, "familyName": src.surname, "givenName": src.given}
        body: dict[str, Any] = {
            "schemas": USER_SCHEMAS,
            "externalId": src.upn.split("@", 1)[0],
            "userName": src.upn,
            "active": True,
            "displayName": src.display,
            "meta": {"resourceType": "User"},
            "name": {k: v for k, v in name.items() if v is not None},
            "roles": [],
        }
        if src.mail:
            body["emails"] = [{"primary": True, "type": "work", "value": src.mail}]
        return self._created(change, self.call(change, "POST", "/Users", "export", json_body=body), "POST /Users")

    def patch_user(self, change: Change, scim_id: str, updates: list[tuple[str, Any]], legacy: bool) -> None:
        """PATCH a user: legacy form = one ``Replace`` per attribute, ``active`` as ``"False"``/``"True"``;
        ``aadOptscim062020`` = one ``replace`` with a path-less value object and booleans [E-COMPAT]."""
        if self.target.aad_opt and not legacy:
            value = {k: v for k, v in updates}
            ops: list[dict[str, Any]] = [{"op": "replace", "value": value}]
        else:
            ops = [
                {"op": "Replace", "path": k, "value": ("True" if v else "False") if isinstance(v, bool) else v}
                for k, v in updates
            ]
        change.modified.extend({"displayName": k, "oldValue": None, "newValue": json.dumps(v)} for k, v in updates)
        self.call(change, "PATCH", f"/Users/{scim_id}", "export", json_body={"schemas": [PATCH_OP], "Operations": ops})

    # --- groups -----------------------------------------------------------------------------------------------
    def match_group(self, change: Change, name: str) -> list[dict[str, Any]]:
        """Return the target's groups whose ``displayName`` is ``name``, without members (the matching step)."""
        resp = self.call(
            change,
            "GET",
            "/Groups",
            "matching",
            params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'},
        )
        return _matched(change, resp)

    def create_group(self, change: Change, gid: str, name: str) -> str:
        """POST the group without members and return its SCIM id."""
        schemas = [GROUP_SCHEMA] + ([ADSCIM_GROUP_SCHEMA] if self.options.adscim_group_schema else [])
        body = {"schemas": schemas, "externalId": gid, "displayName": name, "meta": {"resourceType": "Group"}}
        return self._created(change, self.call(change, "POST", "/Groups", "export", json_body=body), "POST /Groups")

    def patch_members(
        self,
        change: Change,
        group: TargetGroup,
        users: Mapping[str, TargetUser],
        adds: list[str],
        removes: list[str],
        legacy: bool,
    ) -> None:
        """Add/remove members in PATCHes of at most ``member_batch_size`` changes [AWS-SCIM][E-SCIM][E-COMPAT];
        ``group.members`` follows each PATCH that succeeded."""
        size = max(1, self.options.member_batch_size)
        aad = self.target.aad_opt and not legacy
        for i in range(0, len(adds), size):
            batch = adds[i : i + size]
            op = {
                "op": "add" if aad else "Add",
                "path": "members",
                "value": [{"$ref": None, "value": users[m].scim_id} for m in batch],
            }
            self._patch_group(change, group.scim_id, [op])
            group.members.update(batch)
            change.modified.append({"displayName": "members", "oldValue": None, "newValue": json.dumps(batch)})
        for i in range(0, len(removes), size):
            batch = removes[i : i + size]
            ids = [users[m].scim_id if m in users else m for m in batch]
            if aad:
                ops: list[dict[str, Any]] = [{"op": "remove", "path": f'members[value eq "{v}"]'} for v in ids]
            else:
                ops = [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": v} for v in ids]}]
            self._patch_group(change, group.scim_id, ops)
            group.members.difference_update(batch)
            change.modified.append({"displayName": "members", "oldValue": json.dumps(batch), "newValue": None})

    def _patch_group(self, change: Change, scim_id: str, ops: list[dict[str, Any]]) -> None:
        self.call(change, "PATCH", f"/Groups/{scim_id}", "export", json_body={"schemas": [PATCH_OP], "Operations": ops})

    @staticmethod
    def _created(change: Change, resp: httpx2.Response, what: str) -> str:
        """Return the created resource's id; an unusable answer marks the step failed and raises."""
        try:
            return created_id(resp, what)
        except ScimFailure as f:
            change.steps[-1]["status"] = "failure"
            change.steps[-1]["details"]["error"] = f.message
            raise

    # --- HTTP -------------------------------------------------------------------------------------------------
    def call(
        self,
        change: Change,
        method: str,
        path: str,
        step_type: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> httpx2.Response:
        """Send one SCIM request, record it as a step of ``change`` and return the response; raise
        :class:`~pim_fake.provisioning.escrow.ScimFailure` on a transport error or an HTTP error status."""
        at = self.clock.time()
        self.counts.total += 1
        if self.on_request is not None:
            self.on_request(method, path, at)
        step: dict[str, Any] = {
            "name": f"{method} {path}",
            "provisioningStepType": step_type,
            "description": f"{method} {path}"
            + (f"?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else ""),
            "details": {},
            "status": "success",
        }
        change.steps.append(step)
        try:
            resp = self.http.request(
                method,
                self.target.url + path,
                params=params,
                json=json_body,
                headers={"Authorization": f"Bearer {self.target.token}", "Accept": "application/scim+json"},
            )
        except httpx2.TransportError as exc:
            step["status"] = "failure"
            step["details"] = {"error": str(exc)}
            raise transport_failure(f"{method} {path}: {exc}") from None
        except Exception as exc:  # an invalid URL, a broken client: the request never left — treat it as no answer
            step["status"] = "failure"
            step["details"] = {"error": f"{type(exc).__name__}: {exc}"}
            raise transport_failure(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        step["details"] = {"statusCode": str(resp.status_code)}
        if 200 <= resp.status_code < 300:
            return resp
        step["status"] = "failure"
        if resp.status_code < 400:  # 1xx/3xx: a SCIM service answers these with a 2xx or an error, never a redirect
            raise incompatible_response(f"{method} {path} answered HTTP {resp.status_code}")
        raise failure_for_status(
            resp.status_code,
            resp.text[:300],
            retry_after_seconds(resp.headers.get("Retry-After")),
            at_root=path in ("/Users", "/Groups"),
        )


def _json_object(resp: httpx2.Response, what: str) -> dict[str, Any]:
    """Return the JSON object a 2xx answer carries, or raise the escrowed
    ``SystemForCrossDomainIdentityManagementServiceIncompatible`` failure [E-PLOGS] when it is not one."""
    try:
        data = resp.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise incompatible_response(f"{what}: the HTTP {resp.status_code} body is not JSON") from None
    if not isinstance(data, dict):
        raise incompatible_response(f"{what}: the HTTP {resp.status_code} body is not a JSON object")
    return data


def created_id(resp: httpx2.Response, what: str) -> str:
    """Return the ``id`` of the resource a ``POST`` created; a body without a non-empty string ``id`` is an
    incompatible answer (escrowed), never a crash of the cycle."""
    data = _json_object(resp, what)
    value = data.get("id")
    if not isinstance(value, str) or not value.strip():
        raise incompatible_response(f'{what}: the HTTP {resp.status_code} answer has no "id"')
    return value


def _matched(change: Change, resp: httpx2.Response) -> list[dict[str, Any]]:
    """Return the matched resources; an unusable answer marks the matching step failed and raises."""
    try:
        return _resources(resp)
    except ScimFailure as f:
        change.steps[-1]["status"] = "failure"
        change.steps[-1]["details"]["error"] = f.message
        raise


def _resources(resp: httpx2.Response) -> list[dict[str, Any]]:
    """Return the ``Resources`` of a list response that have a string ``id``; a body that is not a SCIM list
    response is an incompatible answer (the object cannot be matched, so it is escrowed, not created twice)."""
    data = _json_object(resp, "list")
    found = data.get("Resources", [])
    if not isinstance(found, list):
        raise incompatible_response('list: "Resources" is not an array')
    return [r for r in found if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"]]


def retry_after_seconds(value: str | None) -> float | None:
    """Return a ``Retry-After`` given in seconds; HTTP-date forms are not honoured (next cycle instead)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
