"""The fake Entra directory: users, security groups, the enterprise application and callers' tokens.

Pure state and validation (moto's backend split): routes in :mod:`pim_fake.routes` turn HTTP into calls here,
through :class:`pim_fake.directory_service.DirectoryService` (which takes the tenant's lock).
Shapes follow Graph v1.0 (``user``, ``group``, ``servicePrincipal``, ``appRoleAssignment``). Membership changes
are reported to listeners so the provisioning engine learns of PIM activations (fast path [E-PIMG]).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pim_fake.errors import GraphError, bad_request, not_found
from pim_fake.tokens import DEFAULT_TOKEN_LIFETIME, EXPIRED_MESSAGE, TokenBook

__all__ = [
    "AppRoleAssignment",
    "Caller",
    "Directory",
    "Group",
    "MembershipListener",
    "ServicePrincipal",
    "User",
    "iso",
]

DEFAULT_APP_ROLE = "00000000-0000-0000-0000-000000000000"
"""Graph's default access role id for apps without app roles."""

MembershipListener = Callable[[str, str, bool, bool, float], None]
"""``(group_id, user_id, added, via_pim, when)`` called after a member is added or removed."""


def iso(dt: datetime | None) -> str | None:
    """Return ``dt`` as Graph's UTC timestamp (``2025-06-03T09:00:00Z``), or None."""
    if dt is None:
        return None
    text = dt.isoformat(timespec="seconds" if dt.microsecond == 0 else "milliseconds")
    return text.replace("+00:00", "Z")


@dataclass
class User:
    """A directory user; ``name`` is the sandbox identity name used for tokens (not a Graph property)."""

    id: str
    name: str
    displayName: str
    userPrincipalName: str
    givenName: str | None = None
    surname: str | None = None
    mail: str | None = None
    accountEnabled: bool = True
    is_admin: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the Graph ``user`` resource."""
        return {
            "@odata.type": "#microsoft.graph.user",
            "id": self.id,
            "displayName": self.displayName,
            "userPrincipalName": self.userPrincipalName,
            "givenName": self.givenName,
            "surname": self.surname,
            "mail": self.mail,
            "accountEnabled": self.accountEnabled,
        }


@dataclass
class Group:
    """A security group or a Microsoft 365 group (``groupTypes`` ``["Unified"]``); ``members``/``owners`` hold
    directory object ids in insertion order."""

    id: str
    displayName: str
    description: str | None = None
    mailNickname: str = ""
    securityEnabled: bool = True
    mailEnabled: bool = False
    createdDateTime: str | None = None
    groupTypes: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the Graph ``group`` resource."""
        return {
            "@odata.type": "#microsoft.graph.group",
            "id": self.id,
            "displayName": self.displayName,
            "description": self.description,
            "mailNickname": self.mailNickname,
            "securityEnabled": self.securityEnabled,
            "mailEnabled": self.mailEnabled,
            "groupTypes": list(self.groupTypes),
            "createdDateTime": self.createdDateTime,
        }


@dataclass
class AppRoleAssignment:
    """A user or group assigned to an enterprise application (scoping: only these provision [E-HOW])."""

    id: str
    principalId: str
    principalType: str
    principalDisplayName: str
    resourceId: str
    resourceDisplayName: str
    appRoleId: str
    createdDateTime: str | None

    def to_json(self) -> dict[str, Any]:
        """Return the Graph ``appRoleAssignment`` resource."""
        return {
            "id": self.id,
            "principalId": self.principalId,
            "principalType": self.principalType,
            "principalDisplayName": self.principalDisplayName,
            "resourceId": self.resourceId,
            "resourceDisplayName": self.resourceDisplayName,
            "appRoleId": self.appRoleId,
            "createdDateTime": self.createdDateTime,
            "deletedDateTime": None,
        }


@dataclass
class ServicePrincipal:
    """An enterprise application (e.g. "AWS IAM Identity Center") with its user/group assignments."""

    id: str
    appId: str
    displayName: str
    assignments: list[AppRoleAssignment] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the Graph ``servicePrincipal`` resource."""
        return {
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": self.id,
            "appId": self.appId,
            "displayName": self.displayName,
            "appRoleAssignmentRequired": True,
            "servicePrincipalType": "Application",
        }


@dataclass(frozen=True)
class Caller:
    """Who a bearer token identifies: a user (delegated) or an application; ``mfa``/``acrs`` are token claims.

    ``name`` is the sandbox handle the token was minted for (``rich``); what Graph shows of the caller
    (``createdBy``, audit ``initiatedBy``) is ``display_name`` and, for users, ``upn``.
    """

    kind: str  # "user" | "app"
    id: str
    name: str
    is_admin: bool
    mfa: bool = False
    acrs: tuple[str, ...] = ()
    display_name: str = ""
    upn: str | None = None

    @property
    def shown_name(self) -> str:
        """Return the directory's ``displayName`` of the caller (the handle only when none is known)."""
        return self.display_name or self.name

    @property
    def is_user(self) -> bool:
        """Return True for delegated (user) callers."""
        return self.kind == "user"

    def identity_set(self) -> dict[str, Any]:
        """Return the Graph ``identitySet`` naming this caller: ``displayName`` (and a user's
        ``userPrincipalName``) from the directory, never the sandbox handle [G-ASR]."""
        if self.is_user:
            return {"user": {"id": self.id, "displayName": self.shown_name, "userPrincipalName": self.upn}}
        return {"application": {"id": self.id, "displayName": self.shown_name}}


@dataclass
class Application:
    """A client application that calls Graph with application permissions (app-only tokens)."""

    id: str
    name: str
    displayName: str


class Directory:
    """Users, groups, service principals, client applications and bearer tokens, with seeded ids."""

    def __init__(
        self, rng: random.Random, now: Callable[[], datetime], token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    ) -> None:
        self._rng = rng
        self._now = now
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.service_principals: dict[str, ServicePrincipal] = {}
        self.applications: dict[str, Application] = {}
        self.tokens = TokenBook(now, token_lifetime)
        self.listeners: list[MembershipListener] = []
        self._upns: dict[str, str] = {}  # lower-case userPrincipalName -> user id
        self._names: dict[str, str] = {}  # lower-case identity name -> id of the first user with it
        self.version = 0
        """Counts :meth:`clear` calls (``--state`` then writes the whole directory again)."""
        self.dirty: set[tuple[str, str]] = set()
        """``(kind, id)`` of the users, groups, service principals and applications changed since ``--state`` last
        wrote them (kinds ``user``, ``group``, ``sp``, ``app``); the writer empties it."""
        self.watchers: list[set[tuple[str, str]]] = []
        """More sets that collect the same ``(kind, id)`` marks (:meth:`watch`); each reader empties its own."""

    def watch(self) -> set[tuple[str, str]]:
        """Return a set that from now on collects the ``(kind, id)`` of every user, group, service principal and
        application changed (as :attr:`dirty` does for ``--state``); the caller empties it as it reads it. A
        :meth:`clear` stops every watch (its :attr:`version` changes)."""
        seen: set[tuple[str, str]] = set()
        self.watchers.append(seen)
        return seen

    def _mark(self, kind: str, object_id: str) -> None:
        self.dirty.add((kind, object_id))
        for seen in self.watchers:
            seen.add((kind, object_id))

    def clear(self) -> None:
        """Forget every object and token (sandbox reset)."""
        self.version += 1
        self.watchers.clear()
        self.users.clear()
        self._upns.clear()
        self._names.clear()
        self.groups.clear()
        self.service_principals.clear()
        self.applications.clear()
        self.tokens.clear()
        self.listeners.clear()

    # --- ids and lookups ---------------------------------------------------------------------------
    def new_id(self) -> str:
        """Return a fresh GUID drawn from the seeded generator (same seed → same ids)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def user(self, user_id: str) -> User:
        """Return the user with ``user_id`` (or userPrincipalName) or raise 404."""
        found = self.users.get(user_id) or self.users.get(self._upns.get(user_id.lower(), ""))
        if found is None:
            raise not_found("user", user_id)
        return found

    def group(self, group_id: str) -> Group:
        """Return the group or raise 404."""
        if group_id not in self.groups:
            raise not_found("group", group_id)
        return self.groups[group_id]

    def service_principal(self, sp_id: str) -> ServicePrincipal:
        """Return the service principal or raise 404."""
        if sp_id not in self.service_principals:
            raise not_found("servicePrincipal", sp_id)
        return self.service_principals[sp_id]

    def object_json(self, object_id: str) -> dict[str, Any]:
        """Return any directory object (user or group) by id, or raise 404."""
        if object_id in self.users:
            return self.users[object_id].to_json()
        if object_id in self.groups:
            return self.groups[object_id].to_json()
        raise not_found("directoryObject", object_id)

    def by_name(self, name: str) -> User | Application:
        """Return the user or application whose sandbox identity name is ``name``."""
        uid = self._names.get(name.lower())
        if uid is not None:
            return self.users[uid]
        for a in self.applications.values():
            if a.name.lower() == name.lower():
                return a
        known = sorted([u.name for u in self.users.values()] + [a.name for a in self.applications.values()])
        raise bad_request(f"identity {name!r} is not in the directory; known identities: {', '.join(known)}")

    # --- creation ------------------------------------------------------------------------------------
    def add_user(self, data: dict[str, Any], *, name: str | None = None, is_admin: bool = False) -> User:
        """Create a user from Graph ``user`` JSON (``displayName`` and ``userPrincipalName`` required)."""
        missing = [k for k in ("displayName", "userPrincipalName") if not isinstance(data.get(k), str) or not data[k]]
        if missing:
            raise bad_request(f"Property '{missing[0]}' is required and must be a non-empty string.")
        upn = str(data["userPrincipalName"])
        if "@" not in upn:
            raise bad_request(f"Property userPrincipalName {upn!r} must look like alias@domain.")
        if upn.lower() in self._upns:
            raise bad_request(
                "Another object with the same value for property userPrincipalName already exists.",
                code="Request_BadRequest",
            )
        user = User(
            id=str(data.get("id") or self.new_id()),
            name=name or upn.split("@", 1)[0],
            displayName=str(data["displayName"]),
            userPrincipalName=upn,
            givenName=_opt_str(data, "givenName"),
            surname=_opt_str(data, "surname"),
            mail=_opt_str(data, "mail") or upn,
            accountEnabled=bool(data.get("accountEnabled", True)),
            is_admin=is_admin,
        )
        self.restore_user(user)
        return user

    def restore_user(self, user: User) -> None:
        """Store ``user`` as it is (a new user, or one read back from ``--state``) and index its names."""
        self._mark("user", user.id)
        self.users[user.id] = user
        self._upns[user.userPrincipalName.lower()] = user.id
        self._names.setdefault(user.name.lower(), user.id)

    def add_group(self, data: dict[str, Any]) -> Group:
        """Create a security or Microsoft 365 group from Graph ``group`` JSON (``displayName`` required)."""
        name = data.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("Property 'displayName' is required and must be a non-empty string.")
        group_types = data["groupTypes"] if data.get("groupTypes") is not None else []
        if not isinstance(group_types, list) or not all(isinstance(t, str) for t in group_types):
            raise bad_request('Property "groupTypes" must be a list of strings such as ["Unified"].')
        members = data.get("members")
        if members is not None and (not isinstance(members, list) or not all(isinstance(m, str) for m in members)):
            raise bad_request("Property 'members' must be a list of user ids.")
        if "DynamicMembership" in group_types:
            raise bad_request("Dynamic membership groups cannot be managed by PIM [G-OVERVIEW][E-PIMG].")
        group = Group(
            id=str(data.get("id") or self.new_id()),
            displayName=name,
            description=_opt_str(data, "description"),
            mailNickname=str(data.get("mailNickname") or name.replace(" ", "")),
            securityEnabled=bool(data.get("securityEnabled", True)),
            mailEnabled=bool(data.get("mailEnabled", False)),
            createdDateTime=iso(self._now()),
            groupTypes=list(group_types),
        )
        self.groups[group.id] = group
        self._mark("group", group.id)
        for member in data.get("members", []) or []:
            self.add_member(group.id, str(member), via_pim=False)
        return group

    def add_service_principal(self, display_name: str, sp_id: str | None = None) -> ServicePrincipal:
        """Create an enterprise application."""
        sp = ServicePrincipal(id=sp_id or self.new_id(), appId=self.new_id(), displayName=display_name)
        self.service_principals[sp.id] = sp
        self._mark("sp", sp.id)
        return sp

    def add_application(self, name: str, display_name: str) -> Application:
        """Register a client application that gets app-only tokens."""
        app = Application(id=self.new_id(), name=name, displayName=display_name)
        self.applications[app.id] = app
        self._mark("app", app.id)
        return app

    # --- membership ----------------------------------------------------------------------------------
    def add_member(self, group_id: str, object_id: str, *, via_pim: bool, owner: bool = False) -> bool:
        """Add a user to a group's members (or owners); return False when already there."""
        group = self.group(group_id)
        if object_id not in self.users and object_id not in self.groups:
            raise not_found("directoryObject", object_id)
        target = group.owners if owner else group.members
        if object_id in target:
            return False
        target.append(object_id)
        self._mark("group", group_id)
        if not owner:
            self._notify(group_id, object_id, True, via_pim)
        return True

    def remove_member(self, group_id: str, object_id: str, *, via_pim: bool, owner: bool = False) -> bool:
        """Remove a member (or owner); return False when it was not there."""
        group = self.group(group_id)
        target = group.owners if owner else group.members
        if object_id not in target:
            return False
        target.remove(object_id)
        self._mark("group", group_id)
        if not owner:
            self._notify(group_id, object_id, False, via_pim)
        return True

    def _notify(self, group_id: str, user_id: str, added: bool, via_pim: bool) -> None:
        when = self._now().timestamp()
        for listener in list(self.listeners):
            listener(group_id, user_id, added, via_pim, when)

    # --- app assignments -----------------------------------------------------------------------------
    def assign(self, sp_id: str, principal_id: str, app_role_id: str | None = None) -> AppRoleAssignment:
        """Assign a user or group to the enterprise application."""
        sp = self.service_principal(sp_id)
        if principal_id in self.users:
            ptype, pname = "User", self.users[principal_id].displayName
        elif principal_id in self.groups:
            ptype, pname = "Group", self.groups[principal_id].displayName
        else:
            raise not_found("directoryObject", principal_id)
        if any(a.principalId == principal_id for a in sp.assignments):
            raise GraphError(409, "Request_BadRequest", "Permission being assigned already exists on the object")
        assignment = AppRoleAssignment(
            id=self.new_id(),
            principalId=principal_id,
            principalType=ptype,
            principalDisplayName=pname,
            resourceId=sp.id,
            resourceDisplayName=sp.displayName,
            appRoleId=app_role_id or DEFAULT_APP_ROLE,
            createdDateTime=iso(self._now()),
        )
        sp.assignments.append(assignment)
        self._mark("sp", sp.id)
        return assignment

    def unassign(self, sp_id: str, assignment_id: str) -> None:
        """Remove an assignment from the enterprise application."""
        sp = self.service_principal(sp_id)
        for a in sp.assignments:
            if a.id == assignment_id:
                sp.assignments.remove(a)
                self._mark("sp", sp.id)
                return
        raise not_found("appRoleAssignment", assignment_id)

    # --- tokens --------------------------------------------------------------------------------------
    def caller_of(self, name: str, *, mfa: bool = False, acrs: tuple[str, ...] = ()) -> Caller:
        """Return the caller a token for the identity ``name`` with these claims would identify."""
        who = self.by_name(name)
        if isinstance(who, User):
            return Caller("user", who.id, who.name, who.is_admin, mfa, acrs, who.displayName, who.userPrincipalName)
        return Caller("app", who.id, who.name, True, False, (), who.displayName)

    def mint_token(
        self, name: str, *, mfa: bool = False, acrs: tuple[str, ...] = (), lifetime: float | None = None
    ) -> str:
        """Return a new random bearer token for the identity ``name`` expiring on the clock (:mod:`pim_fake.tokens`)."""
        return self.tokens.mint(self.caller_of(name, mfa=mfa, acrs=acrs), lifetime)

    def default_token(self, name: str) -> str:
        """Return the identity's current default token (``graph_tokens``), renewed as it nears expiry."""
        return self.tokens.default(name, lambda: self.caller_of(name))

    def caller_for(self, authorization: str | None) -> Caller:
        """Return the caller a ``Authorization: Bearer`` header identifies, or raise Graph's 401 [G-ERR]: no token,
        a token this sandbox never issued (or issued before a reset), or an expired one."""
        if not authorization or not authorization.strip():
            raise GraphError(
                401, "InvalidAuthenticationToken", "Access token is empty.", {"WWW-Authenticate": "Bearer"}
            )
        scheme, _, token = authorization.strip().partition(" ")
        issued = self.tokens.lookup(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
                {"WWW-Authenticate": "Bearer"},
            )
        if self.tokens.expired(issued):
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                EXPIRED_MESSAGE,
                {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="The access token expired"'},
            )
        return issued.caller


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Property '{key}' must be a string.")
    return value
