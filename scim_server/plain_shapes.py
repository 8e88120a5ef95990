"""Short cuts past scim2-models for the plain request shapes Entra sends most (pure functions, no AWS rule here).

scim2-models validates a user body or a PATCH body with per-attribute mutability, necessity, case and extension
checks written in Python; for the plain bodies of a provisioning cycle that costs more CPU than everything else a
SCIM request does (~220 µs for a CreateUser body, ~100 µs for a one-member PatchGroup body, measured in process).
The functions here recognise only the plainest form of those bodies and return exactly what the scim2-models path
returns for them; for anything else (another spelling of a key, an attribute outside the short list, an empty
string, a value of another type) they return None and the caller takes the scim2-models path. Which rules apply is
not decided here: the AWS rules in :mod:`scim_server.user_rules` and :mod:`scim_server.patch_rules` run on every
body first, and ``tests/test_plain_shapes.py`` holds each short cut equal to the scim2-models path on generated
bodies (any body the short cut takes gives the same result both ways).

- :func:`plain_user`: a CreateUser/PutUser body of canonical attribute names with non-empty string values (``name``,
  one ``emails`` entry with ``value``/``type``/``primary``, ``active`` a boolean, the enterprise extension's string
  attributes), answered as scim2-models' dump (attributes in the model's order);
- :func:`plain_member_steps`: a PatchGroup body whose every operation is ``{"op": "add"|"remove", "path":
  "members", "value": [{"value": "<id>"}, ...]}`` (each member may carry Entra's ``"$ref": null``), answered as
  the membership steps.
"""

from __future__ import annotations

from typing import Any

from scim_server.scim_schema import ENTERPRISE_URN, PATCH_URN, check_email_syntax

__all__ = ["plain_member_steps", "plain_user"]

_USER_STRINGS = ("externalId", "userName", "displayName", "nickName", "title", "userType")
_NAME_ORDER = ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
_EMAIL_TYPES = ("work", "home", "other")
_ENTERPRISE_ORDER = ("employeeNumber", "costCenter", "organization", "division", "department")
_USER_ORDER = (
    "externalId",
    "userName",
    "name",
    "displayName",
    "nickName",
    "title",
    "userType",
    "active",
    "emails",
    ENTERPRISE_URN,
)
"""The attributes :func:`plain_user` takes, in scim2-models' field order (the order its dump writes them)."""
_USER_KEYS = frozenset(_USER_ORDER) | {"schemas"}


def _text(value: Any) -> bool:
    return type(value) is str and value != ""


def _plain_strings(obj: Any, allowed: tuple[str, ...]) -> dict[str, str] | None:
    """Return ``obj`` with its keys in ``allowed``'s order when it is a non-empty object of non-empty strings under
    names from ``allowed``, else None."""
    if type(obj) is not dict or not obj or not all(k in allowed and _text(v) for k, v in obj.items()):
        return None
    return {k: obj[k] for k in allowed if k in obj}


def _plain_email(emails: Any) -> list[dict[str, Any]] | None:
    if type(emails) is not list or len(emails) != 1:
        return None
    (email,) = emails
    if type(email) is not dict or not set(email) <= {"value", "type", "primary"} or "value" not in email:
        return None
    value, kind, primary = email["value"], email.get("type"), email.get("primary")
    if not _text(value) or (kind is not None and kind not in _EMAIL_TYPES) or type(primary) not in (bool, type(None)):
        return None
    try:
        check_email_syntax(value)
    except ValueError:
        return None  # scim2-models words the refusal
    return [{k: email[k] for k in ("value", "type", "primary") if email.get(k) is not None}]


def plain_user(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Return the stored attributes scim2-models' validation and dump give for a plain user body, else None.

    ``payload`` is the body after :func:`scim_server.user_rules.validate_user`'s AWS checks (``schemas`` already the
    known URNs, the enterprise manager taken out).
    """
    if not _USER_KEYS.issuperset(payload):
        return None
    out: dict[str, Any] = {}
    for key in _USER_ORDER:
        if key not in payload:
            continue
        value = payload[key]
        if key in _USER_STRINGS:
            if not _text(value):
                return None
            out[key] = value
        elif key == "active":
            if type(value) is not bool:
                return None
            out[key] = value
        elif key == "name":
            name = _plain_strings(value, _NAME_ORDER)
            if name is None:
                return None
            out[key] = name
        elif key == "emails":
            emails = _plain_email(value)
            if emails is None:
                return None
            out[key] = emails
        else:  # the enterprise extension
            extension = _plain_strings(value, _ENTERPRISE_ORDER)
            if extension is None:
                return None
            out[key] = extension
    return out


def _plain_member_keys(member: dict[str, Any]) -> bool:
    """Whether a member object carries only ``value`` and, as Entra sends it, a null ``$ref`` [E-SCIM]."""
    return len(member) == 1 or (len(member) == 2 and "$ref" in member and member["$ref"] is None)


def plain_member_steps(data: dict[str, Any]) -> list[tuple[str, list[str]]] | None:
    """Return the ``("add" | "remove", user ids)`` steps of a PatchGroup body that only adds and removes members by
    value list (Entra's form [E-SCIM]), else None."""
    if set(data) != {"schemas", "Operations"} or data["schemas"] != [PATCH_URN]:
        return None
    ops = data["Operations"]
    if type(ops) is not list or not ops:
        return None
    steps: list[tuple[str, list[str]]] = []
    for op in ops:
        if type(op) is not dict or set(op) != {"op", "path", "value"} or op["path"] != "members":
            return None
        verb = op["op"]
        if verb not in ("add", "remove", "Add", "Remove"):
            return None
        members = op["value"]
        if type(members) is not list or not members:
            return None
        ids: list[str] = []
        for member in members:
            if type(member) is not dict or not _text(member.get("value")) or not _plain_member_keys(member):
                return None
            ids.append(member["value"])
        steps.append((verb.lower(), ids))
    return steps
