"""The directory as the Graph routes see it: callers, users, groups, memberships, enterprise applications.

Each method takes the tenant's lock, checks the request body where Graph has rules about it, and returns Graph
JSON (or the created object's JSON). The state itself is :class:`pim_fake.directory.Directory`.
"""

from __future__ import annotations

import threading
from typing import Any

from pim_fake.directory import Caller, Directory
from pim_fake.errors import bad_request, not_found
from pim_fake.locking import synchronized
from pim_fake.tokens import IssuedToken

__all__ = ["DirectoryService"]


class DirectoryService:
    """Locked, JSON-returning operations over one tenant's :class:`Directory`."""

    def __init__(self, directory: Directory, lock: threading.RLock) -> None:
        self.directory = directory
        self.lock = lock

    # --- callers -----------------------------------------------------------------------------------------
    @synchronized
    def caller(self, authorization: str | None) -> Caller:
        """Return the caller an ``Authorization`` header identifies, or raise Graph's 401 [G-ERR]."""
        return self.directory.caller_for(authorization)

    @synchronized
    def mint_token(
        self, identity: str, mfa: bool, acrs: tuple[str, ...], lifetime: float | None = None
    ) -> tuple[str, IssuedToken]:
        """Return a new random bearer token for the seeded ``identity`` with the given claims, and what it was issued
        as (caller and expiry); ``lifetime`` seconds default to the sandbox's token lifetime."""
        token = self.directory.mint_token(identity, mfa=mfa, acrs=acrs, lifetime=lifetime)
        issued = self.directory.tokens.lookup(token)
        assert issued is not None
        return token, issued

    @synchronized
    def default_token(self, identity: str) -> str:
        """Return the identity's current default token (``graph_tokens``), renewed as it nears expiry."""
        return self.directory.default_token(identity)

    # --- users -------------------------------------------------------------------------------------------
    @synchronized
    def me(self, caller: Caller) -> dict[str, Any]:
        """Return the signed-in user (``/me`` is for delegated tokens only)."""
        if not caller.is_user:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        return self.directory.user(caller.id).to_json()

    @synchronized
    def users(self) -> list[dict[str, Any]]:
        """Return every user as Graph JSON."""
        return [u.to_json() for u in self.directory.users.values()]

    @synchronized
    def user(self, user_id: str) -> dict[str, Any]:
        """Return one user (by id or userPrincipalName) or raise 404."""
        return self.directory.user(user_id).to_json()

    @synchronized
    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a user from Graph ``user`` JSON and return it."""
        return self.directory.add_user(body).to_json()

    # --- groups ------------------------------------------------------------------------------------------
    @synchronized
    def groups(self) -> list[dict[str, Any]]:
        """Return every group as Graph JSON."""
        return [g.to_json() for g in self.directory.groups.values()]

    @synchronized
    def group(self, group_id: str) -> dict[str, Any]:
        """Return one group or raise 404."""
        return self.directory.group(group_id).to_json()

    def create_group(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a group from Graph ``group`` JSON (``members@odata.bind`` is ignored) and return it.

        "Any Microsoft Entra security group and any Microsoft 365 group (except dynamic membership groups and groups
        synchronized from on-premises) can be enabled in PIM for Groups" [E-PIMG]: a group that is neither a
        security group nor a Microsoft 365 group (``groupTypes`` ``["Unified"]``), i.e. a distribution list, is
        refused.
        """
        types = body.get("groupTypes")
        unified = isinstance(types, list) and "Unified" in types
        if body.get("securityEnabled") is False and not unified:
            raise bad_request(
                'Only security groups and Microsoft 365 groups (groupTypes ["Unified"]) can be PIM-managed; '
                'set securityEnabled true or groupTypes ["Unified"].'
            )
        with self.lock:
            return self.directory.add_group({k: v for k, v in body.items() if k != "members@odata.bind"}).to_json()

    @synchronized
    def members(self, group_id: str) -> list[dict[str, Any]]:
        """Return the group's members as directory objects."""
        return [self.directory.object_json(m) for m in self.directory.group(group_id).members]

    @synchronized
    def owners(self, group_id: str) -> list[dict[str, Any]]:
        """Return the group's owners as directory objects."""
        return [self.directory.object_json(m) for m in self.directory.group(group_id).owners]

    def add_member_ref(self, group_id: str, body: Any) -> None:
        """Add the member a ``{"@odata.id": ".../directoryObjects/{id}"}`` reference names; 400 if already there."""
        ref = body.get("@odata.id") if isinstance(body, dict) else None
        if not isinstance(ref, str) or "/" not in ref:
            raise bad_request('Give {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}.')
        with self.lock:
            if not self.directory.add_member(group_id, ref.rstrip("/").rsplit("/", 1)[-1], via_pim=False):
                raise bad_request(
                    "One or more added object references already exist for the following modified properties: 'members'.",
                    code="Request_BadRequest",
                )

    @synchronized
    def remove_member(self, group_id: str, member_id: str) -> None:
        """Remove a direct member, or raise 404 when it is not one."""
        if not self.directory.remove_member(group_id, member_id, via_pim=False):
            raise not_found("directoryObject", member_id)

    # --- enterprise applications -------------------------------------------------------------------------
    @synchronized
    def service_principals(self) -> list[dict[str, Any]]:
        """Return every service principal as Graph JSON."""
        return [s.to_json() for s in self.directory.service_principals.values()]

    @synchronized
    def service_principal(self, sp_id: str) -> dict[str, Any]:
        """Return one service principal or raise 404."""
        return self.directory.service_principal(sp_id).to_json()

    @synchronized
    def assignments(self, sp_id: str) -> list[dict[str, Any]]:
        """Return the application's ``appRoleAssignedTo`` entries."""
        return [a.to_json() for a in self.directory.service_principal(sp_id).assignments]

    def assign(self, sp_id: str, body: Any) -> dict[str, Any]:
        """Assign the body's ``principalId`` to the application and return the assignment."""
        if not isinstance(body, dict) or not isinstance(body.get("principalId"), str):
            raise bad_request("Property 'principalId' is required.")
        if body.get("resourceId") not in (None, sp_id):
            raise bad_request(f"resourceId must be this service principal ({sp_id}).")
        with self.lock:
            return self.directory.assign(sp_id, body["principalId"], body.get("appRoleId")).to_json()

    @synchronized
    def unassign(self, sp_id: str, assignment_id: str) -> None:
        """Remove an assignment from the application, or raise 404."""
        self.directory.unassign(sp_id, assignment_id)
