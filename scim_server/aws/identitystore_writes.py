"""identitystore writes: CreateUser, UpdateUser, DeleteUser, CreateGroup, UpdateGroup, DeleteGroup [BC-ids].

They write the same store the SCIM endpoint serves ([GH-ssosync120]: one store, two front doors) and check a user or
group with the SCIM layer's rules (:mod:`scim_server.user_rules`: userName 1–128 letters/marks/symbols/numbers/
punctuation, DisplayName and Name.GivenName/FamilyName required [UG23-prov][BC-ids], one value at most in Emails,
Addresses, PhoneNumbers, Roles [DG-createuser][BC-ids]), so a user the API creates is one SCIM would accept. Errors
name the field in the API's own spelling (``UserName``, ``Name.GivenName``, ...).

- Uniqueness: UserName, the primary email and DisplayName of groups are unique (case-insensitive) →
  ``ConflictException`` with ``Reason: UNIQUENESS_CONSTRAINT_VIOLATION`` [BC-ids][UG-trouble].
- "Administrator" and "AWSAdministrators" are reserved group names (Identity Store API, see the 2026-11-29 audit
  in reference/aws-identity-center.md) → ``ValidationException``.
- UpdateUser/UpdateGroup take ``Operations[{AttributePath, AttributeValue}]`` (1–100): a value sets the attribute,
  no value (or null) removes it. Paths are matched case-insensitively in either spelling (``displayName`` or
  ``DisplayName``, ``name.givenName`` or ``Name.GivenName``); AWS documents the path only as "Supports JMESPath",
  so the accepted spellings are UNCONFIRMED. Object values (Name, Emails, ...) take the API's member names.
- ``Revision`` (a number as a string) counts the changes of a user or group, by either front door; an Update/Delete
  with a stale ``Revision`` is a ``ConflictException`` with ``Reason: CONCURRENT_MODIFICATION`` [BC-ids]. Revisions
  are kept in memory (a restart with ``--state`` starts them again at 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from scim2_models import Context

from scim_server.errors import ScimError
from scim_server.events import StoreEvent
from scim_server.group_rules import validate_group
from scim_server.records import Conflict, NotFound
from scim_server.scim_schema import GROUP_URN, USER_URN
from scim_server.store import Store
from scim_server.user_rules import validate_user

from .errors import conflict, not_found, validation
from .identitystore_shapes import resource_arn

if TYPE_CHECKING:
    from .identitystore import IdentityStoreApi

__all__ = ["RESERVED_GROUP_NAMES", "IdentityStoreWrites", "Revisions"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]
T = TypeVar("T")

RESERVED_GROUP_NAMES = ("Administrator", "AWSAdministrators")
"""Group display names the Identity Store API reserves (reference/aws-identity-center.md, 2026-11-29 audit)."""

# API member → SCIM attribute, for users (top level) and for the sub-objects the API sends.
_USER_FIELDS = {
    "username": "userName",
    "displayname": "displayName",
    "nickname": "nickName",
    "profileurl": "profileUrl",
    "usertype": "userType",
    "title": "title",
    "preferredlanguage": "preferredLanguage",
    "locale": "locale",
    "timezone": "timezone",
    "name": "name",
    "emails": "emails",
    "addresses": "addresses",
    "phonenumbers": "phoneNumbers",
    "roles": "roles",
}
_NAME_FIELDS = ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
_ITEM_FIELDS = {
    "emails": ("value", "type", "primary"),
    "phoneNumbers": ("value", "type", "primary"),
    "roles": ("value", "type", "primary"),
    "addresses": (
        "streetAddress", "locality", "region", "postalCode", "country", "formatted", "type", "primary",
    ),
}  # fmt: skip
_GROUP_FIELDS = {"displayname": "displayName", "description": "description"}
_UNSUPPORTED_USER_FIELDS = ("Photos", "Website", "Birthdate", "Extensions")
_SCIM_TO_API = re.compile(
    r"\b(userName|displayName|nickName|profileUrl|userType|title|preferredLanguage|locale|timezone|name|emails|"
    r"addresses|phoneNumbers|roles|givenName|familyName)\b"
)
_REVISION = re.compile(r"[0-9]{1,64}")


def _api_name(scim: str) -> str:
    return scim[0].upper() + scim[1:]


def _api_message(reason: str) -> str:
    """Return a SCIM-layer reason with attribute names in the API's spelling (``name.givenName`` → ``Name.GivenName``)."""
    return _SCIM_TO_API.sub(lambda m: _api_name(m.group(1)), reason.replace(" [DG-createuser]", ""))


def _sub_object(value: Any, fields: tuple[str, ...], where: str) -> dict[str, Any]:
    """Return the SCIM form of an API object (``{"GivenName": ...}`` → ``{"givenName": ...}``)."""
    if not isinstance(value, dict):
        raise validation(f"{where} must be an object with members {', '.join(_api_name(f) for f in fields)}")
    by_lower = {f.lower(): f for f in fields}
    out: dict[str, Any] = {}
    for key, item in value.items():
        scim = by_lower.get(str(key).lower())
        if scim is None:
            raise validation(f"{where}.{key} is not a member of {where}")
        if item is not None:
            out[scim] = item
    return out


def _scim_value(scim: str, value: Any, where: str) -> Any:
    """Return the SCIM value of a user attribute given in the API's shape."""
    if scim == "name":
        return _sub_object(value, _NAME_FIELDS, where)
    if scim in _ITEM_FIELDS:
        if not isinstance(value, list):
            raise validation(f"{where} must be a list of at most one object")
        return [_sub_object(item, _ITEM_FIELDS[scim], f"{where}[{i}]") for i, item in enumerate(value)]
    return value


class Revisions:
    """The ``Revision`` of each user and group: 1 when created, +1 per change through SCIM or the API."""

    def __init__(self, store: Store) -> None:
        self._counts: dict[str, int] = {}
        store.add_listener(self._on_event)

    def _on_event(self, event: StoreEvent) -> None:
        rid = event.user_id or event.group_id
        if event.kind == "reset":
            self._counts.clear()
        elif rid is not None and event.kind.endswith("_created"):
            self._counts[rid] = 1
        elif rid is not None and event.kind.endswith("_updated"):
            self._counts[rid] = self._counts.get(rid, 1) + 1
        elif rid is not None and event.kind.endswith("_deleted"):
            self._counts.pop(rid, None)

    def of(self, rid: str) -> str:
        """Return the revision of ``rid`` as the API's string (``"1"`` for resources older than this tracker)."""
        return str(self._counts.get(rid, 1))

    def check(self, rid: str, body: dict[str, Any]) -> None:
        """Raise ``ConflictException`` (CONCURRENT_MODIFICATION) when ``body`` names a ``Revision`` that is stale."""
        wanted = body.get("Revision")
        if wanted is None:
            return
        if not isinstance(wanted, str) or not _REVISION.fullmatch(wanted):
            raise validation(f'Revision {wanted!r} must be a number as a string, such as "1"')
        if wanted != self.of(rid):
            raise conflict(
                f"Revision {wanted} of {rid} is not the current revision {self.of(rid)}",
                Reason="CONCURRENT_MODIFICATION",
            )


class IdentityStoreWrites:
    """Handlers for the identitystore write operations, keyed by operation name (see the module docstring)."""

    def __init__(self, api: IdentityStoreApi) -> None:
        self.api = api
        self.store = api.store
        self.revisions = Revisions(api.store)
        self.operations: dict[str, Handler] = {
            "CreateUser": self.create_user,
            "UpdateUser": self.update_user,
            "DeleteUser": self.delete_user,
            "CreateGroup": self.create_group,
            "UpdateGroup": self.update_group,
            "DeleteGroup": self.delete_group,
        }

    # --- helpers ---------------------------------------------------------------------------------------
    def stamp(self, kind: str, rid: str) -> dict[str, str]:
        """Return ``{<Kind>Arn, Revision}`` of user or group ``rid`` (the model's ResourceArn form) [BC-ids]."""
        return {f"{kind.title()}Arn": resource_arn(kind, rid), "Revision": self.revisions.of(rid)}

    def _checked_user(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            return validate_user({"schemas": [USER_URN], **attrs}, context=Context.RESOURCE_REPLACEMENT_REQUEST)
        except ScimError as exc:
            raise validation(_api_message(exc.reason)) from None

    def _checked_group(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("displayName")
        if isinstance(name, str) and name.casefold() in {n.casefold() for n in RESERVED_GROUP_NAMES}:
            raise validation(f"DisplayName {name!r} is reserved by IAM Identity Center; choose another group name")
        description = attrs.get("description")
        if description is not None and (not isinstance(description, str) or not 1 <= len(description) <= 1024):
            raise validation("Description must be a string of 1-1024 characters")
        rest = {k: v for k, v in attrs.items() if k != "description"}
        try:
            checked, _members = validate_group({"schemas": [GROUP_URN], **rest})
        except ScimError as exc:
            raise validation(_api_message(exc.reason)) from None
        return checked if description is None else {**checked, "description": description}

    def _write(self, kind: str, action: Callable[[], T]) -> T:
        """Run a store write, turning its uniqueness clash into the API's ConflictException."""
        try:
            return action()
        except Conflict as exc:
            raise conflict(
                f"Duplicate {_api_name(exc.attribute)}: another {kind} already has {exc.value!r}",
                Reason="UNIQUENESS_CONSTRAINT_VIOLATION",
            ) from None
        except NotFound as exc:
            rtype = exc.kind.upper()
            raise not_found(
                f"{rtype} not found: {exc.resource_id}", ResourceType=rtype, ResourceId=exc.resource_id
            ) from None

    def _operations(self, body: dict[str, Any]) -> list[tuple[str, Any, bool]]:
        """Return ``(path, value, has_value)`` per entry of ``Operations`` (1–100) [BC-ids]."""
        ops = body.get("Operations")
        if not isinstance(ops, list) or not 1 <= len(ops) <= 100:
            raise validation("Operations must list 1-100 {AttributePath, AttributeValue} entries")
        out = []
        for i, op in enumerate(ops):
            path = op.get("AttributePath") if isinstance(op, dict) else None
            if not isinstance(path, str) or not 1 <= len(path) <= 255:
                raise validation(f"Operations[{i}].AttributePath is required (1-255 characters)")
            value = op.get("AttributeValue")
            out.append((path, value, value is not None))
        return out

    # --- users -----------------------------------------------------------------------------------------
    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """``CreateUser`` → ``{IdentityStoreId, UserId, UserArn, Revision}`` [BC-ids]."""
        sid = self.api.check_store(body)
        for name in _UNSUPPORTED_USER_FIELDS:
            if body.get(name) is not None:
                raise validation(f"{name} is not supported by this sandbox's identity store (IAM Identity Center)")
        attrs: dict[str, Any] = {}
        for key, value in body.items():
            scim = _USER_FIELDS.get(key.lower())
            if scim is not None and value is not None:
                attrs[scim] = _scim_value(scim, value, key)
        checked = self._checked_user(attrs)
        created = self._write("user", lambda: self.store.create_user(checked))
        return {"IdentityStoreId": sid, "UserId": created["id"], **self.stamp("user", created["id"])}

    def update_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """``UpdateUser``: apply ``Operations`` to a user; all or nothing [BC-ids]."""
        sid = self.api.check_store(body)
        user_id = self.api.resource_id(body, "UserId")
        ops = self._operations(body)
        with self.store.lock:
            current = self.api.user(user_id)
            self.revisions.check(user_id, body)
            attrs = {k: v for k, v in current.items() if k not in ("id", "meta", "schemas")}
            for path, value, has_value in ops:
                head, _, sub = path.partition(".")
                scim = _USER_FIELDS.get(head.lower())
                if scim is None or (sub and scim != "name"):
                    known = "UserName, DisplayName, Name, Name.GivenName, Name.FamilyName, Emails, ... (see User)"
                    raise validation(f"AttributePath {path!r} is not an attribute UpdateUser can change: {known}")
                if sub:
                    name = dict(attrs.get("name") or {})
                    member = _sub_object({sub: value}, _NAME_FIELDS, "Name")
                    name = {k: v for k, v in name.items() if k.lower() != sub.lower()} | member
                    attrs["name"] = name
                elif has_value:
                    attrs[scim] = _scim_value(scim, value, path)
                else:
                    attrs.pop(scim, None)
            checked = self._checked_user(attrs)
            self._write("user", lambda: self.store.replace_user(user_id, checked))
        return {"IdentityStoreId": sid, "UserId": user_id, **self.stamp("user", user_id)}

    def delete_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DeleteUser`` (its memberships go with it) → ``{}`` [BC-ids]."""
        self.api.check_store(body)
        user_id = self.api.resource_id(body, "UserId")
        with self.store.lock:
            self.api.user(user_id)
            self.revisions.check(user_id, body)
            self._write("user", lambda: self.store.delete_user(user_id))
        return {}

    # --- groups ----------------------------------------------------------------------------------------
    def create_group(self, body: dict[str, Any]) -> dict[str, Any]:
        """``CreateGroup`` → ``{IdentityStoreId, GroupId, GroupArn, Revision}`` [BC-ids]."""
        sid = self.api.check_store(body)
        attrs = {scim: body[k] for k in body if (scim := _GROUP_FIELDS.get(k.lower())) and body[k] is not None}
        checked = self._checked_group(attrs)
        created = self._write("group", lambda: self.store.create_group(checked))
        return {"IdentityStoreId": sid, "GroupId": created["id"], **self.stamp("group", created["id"])}

    def update_group(self, body: dict[str, Any]) -> dict[str, Any]:
        """``UpdateGroup``: ``DisplayName`` and ``Description`` by ``Operations``; all or nothing [BC-ids]."""
        sid = self.api.check_store(body)
        group_id = self.api.resource_id(body, "GroupId")
        ops = self._operations(body)
        with self.store.lock:
            current = self.api.group(group_id)
            self.revisions.check(group_id, body)
            attrs = {k: v for k, v in current.items() if k not in ("id", "meta", "schemas")}
            for path, value, has_value in ops:
                scim = _GROUP_FIELDS.get(path.lower())
                if scim is None:
                    raise validation(
                        f"AttributePath {path!r} is not an attribute UpdateGroup can change: DisplayName, Description"
                    )
                if has_value:
                    attrs[scim] = value
                else:
                    attrs.pop(scim, None)
            checked = self._checked_group(attrs)
            self._write("group", lambda: self.store.replace_group(group_id, checked))
        return {"IdentityStoreId": sid, "GroupId": group_id, **self.stamp("group", group_id)}

    def delete_group(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DeleteGroup`` (its memberships go with it) → ``{}`` [BC-ids]."""
        self.api.check_store(body)
        group_id = self.api.resource_id(body, "GroupId")
        with self.store.lock:
            self.api.group(group_id)
            self.revisions.check(group_id, body)
            self._write("group", lambda: self.store.delete_group(group_id))
        return {}
