"""AWS IAM Identity Center's rules for CreateUser/PutUser bodies, as a layer over scim2-models (pure functions).

Users ([DG-createuser][DG-putuser][DG-patchuser][UG-trouble][DG-limits])
- ``userName``, ``displayName``, ``name.givenName``, ``name.familyName`` required and non-empty;
- ``emails``, ``addresses``, ``phoneNumbers``, ``roles``: one value at most — "List attribute emails exceeds allowed
  limit of 1" [UG-trouble]; the email must be ``primary`` [DG-createuser];
- ``groups`` cannot be sent [DG-createuser]; ``ims``, ``photos``, ``x509Certificates``, ``entitlements``,
  ``password``, ``manager.displayName`` and the ``display`` sub-attribute are unsupported [DG-createuser][UG-attrs];
- ``roles`` carry only value/type/primary [DG-createuser];
- ``active`` a JSON boolean (Entra's legacy ``"False"`` is a PATCH form only [E-COMPAT]);
- userName 1–128 characters from ``[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]`` (PutUser also allows spaces); display names
  and other strings at most 1024 characters [BC-ids][DG-putuser].
"""

from __future__ import annotations

import unicodedata
from typing import Any

from scim2_models import Context

from scim_server.errors import ScimError
from scim_server.plain_shapes import plain_user
from scim_server.scim_schema import (
    ENTERPRISE_URN,
    MODEL_ERRORS,
    POLICY,
    USER_URN,
    ScimUser,
    check_boolean,
    check_string,
    error_reason,
    invalid,
    known_schemas,
    lower_keys,
)

__all__ = ["dump_user", "validate_user"]

_SINGLE_VALUED_LISTS = ("emails", "addresses", "phoneNumbers", "roles")
_UNSUPPORTED = ("ims", "photos", "x509Certificates", "entitlements", "password")
_OPTIONAL_STRINGS = ("nickName", "title", "profileUrl", "userType", "preferredLanguage", "locale", "timezone")
_GIVEN_NAME_ERROR = (
    "2 validation errors detected: Value at 'name.givenName' failed to satisfy constraint: Member must satisfy "
    "regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r ]+; Value at 'name.givenName' failed to "
    "satisfy constraint: Member must have length greater than or equal to 1"
)
"""AWS's text for a missing/empty given name [UG-trouble] (used as the 400 detail)."""

_NAME_CATEGORIES = ("L", "M", "S", "N", "P")


def validate_user(data: Any, *, replacing: bool = False, context: Context | None = None) -> dict[str, Any]:
    """Check a CreateUser/PutUser body against AWS's rules and scim2-models; return the attributes to store.

    The result is JSON-ready, without ``id``, ``meta`` and ``schemas`` (the store adds them). ``replacing`` applies
    PutUser's character rule (spaces allowed in userName [DG-putuser]).
    """
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    payload = {k: v for k, v in data.items() if k.lower() not in ("id", "meta")}
    schemas = known_schemas(payload.get("schemas"), (USER_URN, ENTERPRISE_URN), USER_URN)
    payload["schemas"] = schemas
    keys = lower_keys(payload)
    _check_multi_valued(payload, keys)
    manager_value = _take_manager(payload, schemas)
    _check_names(payload, keys, replacing=replacing)
    dumped = plain_user(payload) if context is None else None  # a plain body, as scim2-models would dump it
    if dumped is None:
        ctx = context or (Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST)
        try:
            model = ScimUser.model_validate(payload, scim_ctx=ctx, scim_policy=POLICY)
        except MODEL_ERRORS as exc:
            raise invalid(error_reason(exc)) from None
        dumped = dump_user(model)
    if manager_value is not None:
        dumped.setdefault(ENTERPRISE_URN, {})["manager"] = {"value": manager_value}
    return dumped


def dump_user(model: Any) -> dict[str, Any]:
    """Return a validated user model as the attributes the store keeps (no ``schemas``, ``id``, ``meta``, ``groups``)."""
    dumped: dict[str, Any] = model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("schemas", "id", "meta", "groups"):
        dumped.pop(key, None)
    return dumped


def _check_multi_valued(payload: dict[str, Any], keys: dict[str, str]) -> None:
    """Refuse ``groups`` and the unsupported attributes; hold the one-value lists to AWS's limits (drops empty ones)."""
    if payload.get(keys.get("groups", "groups")):
        raise invalid("groups cannot be set on a user; manage memberships with PATCH /Groups [DG-createuser]")
    for attr in _UNSUPPORTED:
        if payload.get(keys.get(attr.lower(), attr)) not in (None, [], ""):
            raise invalid(f"{attr} is not supported by IAM Identity Center [DG-createuser]")
    for attr in _SINGLE_VALUED_LISTS:
        key = keys.get(attr.lower())
        if key is None:
            continue
        value = payload[key]
        if value is None:
            del payload[key]
            continue
        if not isinstance(value, list):
            raise invalid(f"{attr} must be a list")
        if len(value) > 1:
            raise ScimError.invalid(
                f"{attr} has {len(value)} values", detail=f"List attribute {attr} exceeds allowed limit of 1"
            )
        if not value:
            del payload[key]
            continue
        _check_list_item(attr, value[0])


def _check_list_item(attr: str, item: Any) -> None:
    """Check the single value of a one-value list attribute [DG-createuser]."""
    if not isinstance(item, dict):
        raise invalid(f"{attr}[0] must be an object")
    item_keys = {k.lower() for k in item}
    if "display" in item_keys:
        raise invalid(f"{attr}.display is not supported [DG-createuser]")
    if attr == "roles" and not item_keys <= {"value", "type", "primary"}:
        raise invalid("roles may only carry value, type and primary [DG-createuser]")
    if attr == "emails" and item.get("primary") is not True:
        raise invalid("the email must be marked primary: true [DG-createuser]")


def _take_manager(payload: dict[str, Any], schemas: list[str]) -> str | None:
    """Remove the enterprise ``manager`` from ``payload`` and return its id (None if unset); list the extension URN.

    scim2-models requires ``manager.$ref``, which Entra and AWS do not send [E-AWS][DG-patchuser], so the manager is
    put back after model validation.
    """
    ent_key = next((k for k in payload if k.lower() == ENTERPRISE_URN.lower()), None)
    if ent_key is None:
        return None
    manager_value: str | None = None
    ent = payload[ent_key]
    if isinstance(ent, dict):
        manager_key = next((k for k in ent if k.lower() == "manager"), None)
        if manager_key is not None:
            manager_value = _manager_value(ent[manager_key])
            payload[ent_key] = {k: v for k, v in ent.items() if k != manager_key}
    if ENTERPRISE_URN not in schemas:
        payload["schemas"] = [*schemas, ENTERPRISE_URN]
    return manager_value


def _check_names(payload: dict[str, Any], keys: dict[str, str], *, replacing: bool) -> None:
    """Check userName, displayName, name.givenName/familyName and the optional strings [BC-ids][UG-trouble]."""
    user_name = payload.get(keys.get("username", "userName"))
    check_string("userName", user_name, required=True, max_len=128)
    if not _user_name_ok(str(user_name), allow_spaces=replacing):
        raise invalid("userName must be 1-128 letters, marks, symbols, numbers or punctuation [BC-ids]")
    check_string("displayName", payload.get(keys.get("displayname", "displayName")), required=True)
    name = payload.get(keys.get("name", "name"))
    if not isinstance(name, dict):
        raise ScimError.invalid("name.givenName and name.familyName are required", detail=_GIVEN_NAME_ERROR)
    name_keys = lower_keys(name)
    given = name.get(name_keys.get("givenname", "givenName"))
    if not isinstance(given, str) or not given:
        raise ScimError.invalid("name.givenName is required", detail=_GIVEN_NAME_ERROR)
    check_string("name.givenName", given, required=True)
    check_string("name.familyName", name.get(name_keys.get("familyname", "familyName")), required=True)
    for attr in _OPTIONAL_STRINGS:
        check_string(attr, payload.get(keys.get(attr.lower(), attr)), required=False)
    check_boolean("active", payload.get(keys.get("active", "active")))


def _user_name_ok(value: str, *, allow_spaces: bool) -> bool:
    if not 1 <= len(value) <= 128:
        return False
    for ch in value:
        if ch == " " and allow_spaces:
            continue
        if unicodedata.category(ch)[0] not in _NAME_CATEGORIES:
            return False
    return True


def _manager_value(manager: Any) -> str | None:
    if manager is None:
        return None
    if not isinstance(manager, dict):
        raise invalid("manager must be an object like {'value': '<user id>'}")
    keys = {k.lower(): k for k in manager}
    if "displayname" in keys:
        raise invalid("manager.displayName is not supported [DG-createuser]")
    if set(keys) - {"value", "$ref"}:
        raise invalid("manager may only carry value (and $ref)")
    value = manager.get(keys.get("value", "value"))
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise invalid("manager.value must be a non-empty string")
    return value
