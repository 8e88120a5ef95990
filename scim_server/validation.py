"""AWS IAM Identity Center's SCIM rules as a layer over scim2-models (pure functions, no HTTP, no store).

scim2-models does the SCIM part (resource models, PATCH parsing and application, path/filter syntax); this module
adds what AWS restricts on top. Every rule names its source tag; each raises :class:`ScimError` (400 unless said).

Users ([DG-createuser][DG-putuser][DG-patchuser][UG-trouble][DG-limits])
- ``userName``, ``displayName``, ``name.givenName``, ``name.familyName`` required and non-empty;
- ``emails``, ``addresses``, ``phoneNumbers``, ``roles``: one value at most — "List attribute emails exceeds allowed
  limit of 1" [UG-trouble]; the email must be ``primary`` [DG-createuser];
- ``groups`` cannot be sent [DG-createuser]; ``ims``, ``photos``, ``x509Certificates``, ``entitlements``,
  ``password``, ``manager.displayName`` and the ``display`` sub-attribute are unsupported [DG-createuser][UG-attrs];
- ``roles`` carry only value/type/primary [DG-createuser];
- userName 1–128 characters from ``[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]`` (PutUser also allows spaces); display names
  and other strings at most 1024 characters [BC-ids][DG-putuser].

PATCH users ([DG-patchuser][GH-ak12321]): ops add/replace/remove (case-insensitive, [E-SCIM]); path required for
remove; a path-less op only for add/replace of ONE attribute; modifiable attributes only; no remove of userName or
active; at most one op on userName and one on active; only ``eq`` in value-path filters.

Groups ([DG-creategroup][DG-patchgroup][DG-limits][GH-kc73][UG-users]): ``displayName`` required; PATCH only on
``displayName``, ``members``, ``externalId``; at most 100 membership changes per request; ``replace`` of members or
removing all members → "Replacing group memberships is not supported."; members must be users (no nested groups).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    Group,
    PatchOp,
    Path,
    SCIMException,
    ScimPolicy,
    User,
)
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, ValuePath

from scim_server.errors import DETAIL_PATHLESS, DETAIL_REPLACE_MEMBERS, ScimError

__all__ = [
    "ENTERPRISE_URN",
    "GROUP_URN",
    "MAX_MEMBER_CHANGES",
    "USER_URN",
    "GroupPatch",
    "ScimUser",
    "patch_user",
    "plan_group_patch",
    "user_schemas",
    "validate_group",
    "validate_user",
]

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

MAX_MEMBER_CHANGES = 100
"""Membership changes allowed in one PatchGroup (and members in one CreateGroup) [DG-patchgroup][DG-creategroup]."""

ScimUser = User[EnterpriseUser]

POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.forbid,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
"""Entra's PATCH forms ([E-SCIM][E-COMPAT]): a ``remove`` with a ``value``; a filtered path creating its entry."""

_SINGLE_VALUED_LISTS = ("emails", "addresses", "phoneNumbers", "roles")
_UNSUPPORTED = ("ims", "photos", "x509Certificates", "entitlements", "password")
_USER_PATCHABLE = {
    "username",
    "active",
    "externalid",
    "displayname",
    "nickname",
    "profileurl",
    "title",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "name",
    "emails",
    "addresses",
    "phonenumbers",
}
_GIVEN_NAME_ERROR = (
    "2 validation errors detected: Value at 'name.givenName' failed to satisfy constraint: Member must satisfy "
    "regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}\\t\\n\\r ]+; Value at 'name.givenName' failed to "
    "satisfy constraint: Member must have length greater than or equal to 1"
)
"""AWS's text for a missing/empty given name [UG-trouble] (used as the 400 detail)."""

_NAME_CATEGORIES = ("L", "M", "S", "N", "P")


def _invalid(reason: str) -> ScimError:
    return ScimError.invalid(reason)


def _lower_keys(data: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): k for k in data}


def _user_name_ok(value: str, *, allow_spaces: bool) -> bool:
    if not 1 <= len(value) <= 128:
        return False
    for ch in value:
        if ch == " " and allow_spaces:
            continue
        if unicodedata.category(ch)[0] not in _NAME_CATEGORIES:
            return False
    return True


def _check_string(name: str, value: Any, *, required: bool, max_len: int = 1024) -> None:
    if value is None:
        if required:
            raise _invalid(f"{name} is required")
        return
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    if required and not value.strip():
        raise _invalid(f"{name} must not be empty")
    if len(value) > max_len:
        raise _invalid(f"{name} is longer than {max_len} characters")


def _scim_error_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return "; ".join(parts) or "invalid SCIM payload"
    return str(exc) or type(exc).__name__


def _known_schemas(schemas: Any, allowed: tuple[str, ...], required: str) -> list[str]:
    if schemas is None:
        raise _invalid(f"schemas is required and must list {required}")
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise _invalid("schemas must be a list of URN strings")
    lowered = {s.lower() for s in schemas}
    if required.lower() not in lowered:
        raise _invalid(f"schemas must list {required}")
    return [s for s in allowed if s.lower() in lowered]


def user_schemas(attrs: dict[str, Any]) -> list[str]:
    """Return the ``schemas`` list of a stored user: core, plus enterprise when the extension has values."""
    return [USER_URN, ENTERPRISE_URN] if attrs.get(ENTERPRISE_URN) else [USER_URN]


def validate_user(data: Any, *, replacing: bool = False, context: Context | None = None) -> dict[str, Any]:
    """Check a CreateUser/PutUser body against AWS's rules and scim2-models; return the attributes to store.

    The result is JSON-ready, without ``id``, ``meta`` and ``schemas`` (the store adds them). ``replacing`` applies
    PutUser's character rule (spaces allowed in userName [DG-putuser]).
    """
    if not isinstance(data, dict):
        raise _invalid("the body must be a JSON object")
    payload = {k: v for k, v in data.items() if k.lower() not in ("id", "meta")}
    schemas = _known_schemas(payload.get("schemas"), (USER_URN, ENTERPRISE_URN), USER_URN)
    payload["schemas"] = schemas
    keys = _lower_keys(payload)
    if payload.get(keys.get("groups", "groups")):
        raise _invalid("groups cannot be set on a user; manage memberships with PATCH /Groups [DG-createuser]")
    for attr in _UNSUPPORTED:
        if payload.get(keys.get(attr.lower(), attr)) not in (None, [], ""):
            raise _invalid(f"{attr} is not supported by IAM Identity Center [DG-createuser]")
    for attr in _SINGLE_VALUED_LISTS:
        key = keys.get(attr.lower())
        if key is None:
            continue
        value = payload[key]
        if value is None:
            del payload[key]
            continue
        if not isinstance(value, list):
            raise _invalid(f"{attr} must be a list")
        if len(value) > 1:
            raise ScimError.invalid(
                f"{attr} has {len(value)} values", detail=f"List attribute {attr} exceeds allowed limit of 1"
            )
        if not value:
            del payload[key]
            continue
        item = value[0]
        if not isinstance(item, dict):
            raise _invalid(f"{attr}[0] must be an object")
        item_keys = {k.lower() for k in item}
        if "display" in item_keys:
            raise _invalid(f"{attr}.display is not supported [DG-createuser]")
        if attr == "roles" and not item_keys <= {"value", "type", "primary"}:
            raise _invalid("roles may only carry value, type and primary [DG-createuser]")
        if attr == "emails" and item.get("primary") is not True:
            raise _invalid("the email must be marked primary: true [DG-createuser]")
    ent_key = next((k for k in payload if k.lower() == ENTERPRISE_URN.lower()), None)
    manager_value: str | None = None
    if ent_key is not None:
        ent = payload[ent_key]
        if isinstance(ent, dict):
            manager_key = next((k for k in ent if k.lower() == "manager"), None)
            if manager_key is not None:
                manager_value = _manager_value(ent[manager_key])
                # scim2-models requires manager.$ref, which Entra and AWS do not send [E-AWS][DG-patchuser]
                payload[ent_key] = {k: v for k, v in ent.items() if k != manager_key}
        if ENTERPRISE_URN not in schemas:
            payload["schemas"] = [*schemas, ENTERPRISE_URN]
    user_name = payload.get(keys.get("username", "userName"))
    _check_string("userName", user_name, required=True, max_len=128)
    if not _user_name_ok(str(user_name), allow_spaces=replacing):
        raise _invalid("userName must be 1-128 letters, marks, symbols, numbers or punctuation [BC-ids]")
    _check_string("displayName", payload.get(keys.get("displayname", "displayName")), required=True)
    name = payload.get(keys.get("name", "name"))
    if not isinstance(name, dict):
        raise ScimError.invalid("name.givenName and name.familyName are required", detail=_GIVEN_NAME_ERROR)
    name_keys = _lower_keys(name)
    given = name.get(name_keys.get("givenname", "givenName"))
    if not isinstance(given, str) or not given:
        raise ScimError.invalid("name.givenName is required", detail=_GIVEN_NAME_ERROR)
    _check_string("name.givenName", given, required=True)
    _check_string("name.familyName", name.get(name_keys.get("familyname", "familyName")), required=True)
    for attr in ("nickName", "title", "profileUrl", "userType", "preferredLanguage", "locale", "timezone"):
        _check_string(attr, payload.get(keys.get(attr.lower(), attr)), required=False)
    ctx = context or (Context.RESOURCE_REPLACEMENT_REQUEST if replacing else Context.RESOURCE_CREATION_REQUEST)
    try:
        model = ScimUser.model_validate(payload, scim_ctx=ctx, scim_policy=POLICY)
    except (ValidationError, SCIMException, ValueError, TypeError) as exc:
        raise _invalid(_scim_error_reason(exc)) from None
    dumped = _dump_user(model)
    if manager_value is not None:
        dumped.setdefault(ENTERPRISE_URN, {})["manager"] = {"value": manager_value}
    return dumped


def _manager_value(manager: Any) -> str | None:
    if manager is None:
        return None
    if not isinstance(manager, dict):
        raise _invalid("manager must be an object like {'value': '<user id>'}")
    keys = {k.lower(): k for k in manager}
    if "displayname" in keys:
        raise _invalid("manager.displayName is not supported [DG-createuser]")
    if set(keys) - {"value", "$ref"}:
        raise _invalid("manager may only carry value (and $ref)")
    value = manager.get(keys.get("value", "value"))
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid("manager.value must be a non-empty string")
    return value


def _dump_user(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("schemas", "id", "meta", "groups"):
        dumped.pop(key, None)
    return dumped


def _root_attr(node: Any) -> tuple[str | None, str]:
    """Return (schema URN or None, lower-cased root attribute) of a parsed PATCH path."""
    attr_path: AttrPath | None
    if isinstance(node, AttrPath):
        attr_path = node
    elif isinstance(node, ValuePath | Comparison):
        attr_path = node.attr_path
    else:
        attr_path = getattr(node, "attr_path", None)
    if attr_path is None:
        return None, ""
    return attr_path.uri, attr_path.attr.lower()


def _only_eq(node: FilterNode) -> bool:
    if isinstance(node, Comparison):
        return node.op == CompareOperator.eq
    if isinstance(node, LogicalExpr):
        return node.op.value == "and" and all(_only_eq(t) for t in node.terms)
    return False


def _to_bool(value: Any, string_booleans: bool) -> Any:
    if isinstance(value, str):
        if string_booleans and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _invalid(f"active must be a boolean, got {value!r}")
    return value


def patch_user(current: dict[str, Any], data: Any, *, string_booleans: bool = True) -> dict[str, Any]:
    """Apply a PatchUser body to a stored user body; return the attributes to store (validated like a create).

    ``string_booleans`` is the switch for Entra's legacy ``"value": "False"`` on ``active`` ([E-COMPAT];
    UNCONFIRMED on AWS): convert it (True) or answer 400 (False).
    """
    if not isinstance(data, dict):
        raise _invalid("the body must be a JSON object")
    ops = next((v for k, v in data.items() if k.lower() == "operations"), None)
    if not isinstance(ops, list) or not ops:
        raise _invalid("Operations must be a non-empty list")
    schemas = data.get("schemas")
    if not isinstance(schemas, list) or PATCH_URN not in schemas:
        raise _invalid(f"schemas must list {PATCH_URN}")
    counts = {"username": 0, "active": 0}
    fixed_ops: list[dict[str, Any]] = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise _invalid(f"Operations[{i}] must be an object")
        op = dict(op)
        verb = op.get("op")
        if not isinstance(verb, str) or verb.lower() not in ("add", "replace", "remove"):
            raise _invalid(f"Operations[{i}].op must be add, replace or remove")
        verb = verb.lower()
        path = op.get("path")
        if path is None:
            if verb == "remove":
                raise _invalid(f"Operations[{i}]: remove needs a path [DG-patchuser]")
            value = op.get("value")
            if not isinstance(value, dict) or len(value) != 1:
                raise ScimError.invalid(f"Operations[{i}]: path-less op must set one attribute", DETAIL_PATHLESS)
            ((attr, attr_value),) = value.items()
            root = "enterprise" if attr.lower().startswith("urn:") else attr.split(".")[0].lower()
            if attr.lower() == "active":
                op["value"] = {attr: _to_bool(attr_value, string_booleans)}
        else:
            if not isinstance(path, str):
                raise _invalid(f"Operations[{i}].path must be a string")
            try:
                node = Path[ScimUser](path).ast
            except (ValidationError, SCIMException, ValueError, TypeError) as exc:
                raise _invalid(f"Operations[{i}].path {path!r}: {_scim_error_reason(exc)}") from None
            uri, root = _root_attr(node)
            if uri is not None:
                if uri.lower() != ENTERPRISE_URN.lower():
                    raise _invalid(f"Operations[{i}].path {path!r}: unknown schema")
                if (
                    isinstance(node, AttrPath)
                    and node.attr.lower() == "manager"
                    and node.sub_attr is None
                    and isinstance(op.get("value"), str)
                ):
                    op["value"] = {"value": op["value"]}  # Entra sends the manager's id as a plain string [E-AWS]
                root = "enterprise"
            if isinstance(node, ValuePath) and not _only_eq(node.val_filter):
                raise _invalid(f"Operations[{i}].path {path!r}: only eq is supported in filters [DG-patchuser]")
            if root == "active" and "value" in op:
                op["value"] = _to_bool(op["value"], string_booleans)
        if root != "enterprise":
            if root not in _USER_PATCHABLE:
                raise _invalid(f"Operations[{i}]: {root} cannot be modified with PatchUser [DG-patchuser]")
            if root in counts:
                if verb == "remove":
                    raise _invalid(f"Operations[{i}]: {root} cannot be removed [DG-patchuser]")
                counts[root] += 1
                if counts[root] > 1:
                    raise _invalid(f"only one operation on {root} per request is supported [DG-patchuser]")
        if verb in ("add", "replace") and "value" not in op:
            raise _invalid(f"Operations[{i}]: {verb} needs a value [DG-patchuser]")
        fixed_ops.append(op)
    body = {k: v for k, v in current.items() if k not in ("meta",)}
    body["schemas"] = user_schemas(current)
    try:
        model = ScimUser.model_validate(body, scim_policy=POLICY)
        patch = PatchOp[ScimUser].model_validate(
            {"schemas": [PATCH_URN], "Operations": fixed_ops},
            scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            scim_policy=POLICY,
        )
        patch.patch(model, POLICY)
        result = _dump_user(model)
    except (ValidationError, SCIMException, ValueError, TypeError) as exc:
        raise _invalid(_scim_error_reason(exc)) from None
    result["schemas"] = user_schemas(result)
    return validate_user(result, replacing=True)


def validate_group(data: Any) -> tuple[dict[str, Any], list[str]]:
    """Check a CreateGroup body; return (attributes to store, member ids to add).

    ``members`` may list at most :data:`MAX_MEMBER_CHANGES` users [DG-creategroup]; Entra sends an empty list
    [E-SCIM]. Entra's extra schema URN (``.../ADSCIM/2.0/Group``) is accepted and dropped.
    """
    if not isinstance(data, dict):
        raise _invalid("the body must be a JSON object")
    payload = {k: v for k, v in data.items() if k.lower() not in ("id", "meta")}
    payload["schemas"] = _known_schemas(payload.get("schemas"), (GROUP_URN,), GROUP_URN)
    keys = _lower_keys(payload)
    _check_string("displayName", payload.get(keys.get("displayname", "displayName")), required=True)
    members_key = keys.get("members")
    member_ids: list[str] = []
    if members_key is not None:
        members = payload.pop(members_key)
        member_ids = _member_values(members, "members")
        if len(member_ids) > MAX_MEMBER_CHANGES:
            raise _invalid(f"{len(member_ids)} members in one request; at most {MAX_MEMBER_CHANGES} [DG-creategroup]")
    try:
        model = Group.model_validate(payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
    except (ValidationError, SCIMException, ValueError, TypeError) as exc:
        raise _invalid(_scim_error_reason(exc)) from None
    dumped: dict[str, Any] = model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("schemas", "id", "meta", "members"):
        dumped.pop(key, None)
    _check_string("externalId", dumped.get("externalId"), required=False, max_len=256)
    return dumped, member_ids


def _member_values(members: Any, where: str) -> list[str]:
    if members is None:
        return []
    if not isinstance(members, list):
        raise _invalid(f"{where} must be a list of {{'value': '<user id>'}}")
    out: list[str] = []
    for j, item in enumerate(members):
        if not isinstance(item, dict):
            raise _invalid(f"{where}[{j}] must be an object with a value")
        value = next((v for k, v in item.items() if k.lower() == "value"), None)
        if not isinstance(value, str) or not value:
            raise _invalid(f"{where}[{j}].value must be a user id string")
        out.append(value)
    return out


@dataclass
class GroupPatch:
    """What a PatchGroup body asks for, in order: attribute changes and member adds/removes."""

    attrs: dict[str, Any] = field(default_factory=dict)
    removed_attrs: list[str] = field(default_factory=list)
    steps: list[tuple[str, list[str]]] = field(default_factory=list)
    """``("add" | "remove", user ids)`` in request order."""
    no_op: bool = False

    def member_changes(self) -> int:
        """Return how many membership changes the request asks for."""
        return sum(len(ids) for _, ids in self.steps)


def plan_group_patch(data: Any, *, replace_empty_members_quirk: bool = False) -> GroupPatch:
    """Parse a PatchGroup body (scim2-models ``PatchOp[Group]``) into a :class:`GroupPatch` under AWS's rules."""
    if not isinstance(data, dict):
        raise _invalid("the body must be a JSON object")
    try:
        patch = PatchOp[Group].model_validate(data, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)
    except (ValidationError, SCIMException, ValueError, TypeError) as exc:
        raise _invalid(_scim_error_reason(exc)) from None
    plan = GroupPatch()
    for i, op in enumerate(patch.operations or []):
        verb = op.op.value
        if op.path is None:
            value = op.value
            if not isinstance(value, dict) or len(value) != 1:
                raise ScimError.invalid(f"Operations[{i}]: path-less op must set one attribute", DETAIL_PATHLESS)
            ((attr, attr_value),) = value.items()
            _plan_one(plan, i, verb, attr.lower(), None, attr_value, True, attr, replace_empty_members_quirk)
            continue
        node = op.path.ast
        uri, root = _root_attr(node)
        if uri is not None and uri.lower() != GROUP_URN.lower():
            raise _invalid(f"Operations[{i}].path {op.path!s}: unknown schema")
        selected: list[str] | None = None
        if isinstance(node, ValuePath):
            if root != "members" or node.sub_attr is not None:
                raise _invalid(f'Operations[{i}].path {op.path!s}: only members[value eq "id"] is supported')
            selected = _eq_values(node.val_filter, i)
        elif isinstance(node, AttrPath) and node.sub_attr is not None:
            raise _invalid(f"Operations[{i}].path {op.path!s}: sub-attributes cannot be patched on groups")
        elif not isinstance(node, AttrPath):
            raise _invalid(f"Operations[{i}].path {op.path!s} is not supported")
        attr_name = node.attr_path.attr if isinstance(node, ValuePath) else node.attr
        _plan_one(
            plan,
            i,
            verb,
            root,
            selected,
            op.value,
            "value" in op.model_fields_set,
            attr_name,
            replace_empty_members_quirk,
        )
    if plan.member_changes() > MAX_MEMBER_CHANGES:
        raise _invalid(
            f"{plan.member_changes()} membership changes in one request; at most {MAX_MEMBER_CHANGES} [DG-patchgroup]"
        )
    return plan


def _eq_values(node: FilterNode, i: int) -> list[str]:
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.lower() == "value"
        and node.attr_path.sub_attr is None
        and isinstance(node.value, str)
    ):
        return [node.value]
    raise _invalid(f'Operations[{i}]: member filters must be value eq "<user id>" [DG-patchuser]')


def _plan_one(
    plan: GroupPatch,
    i: int,
    verb: str,
    root: str,
    selected: list[str] | None,
    value: Any,
    has_value: bool,
    attr_name: str,
    quirk: bool,
) -> None:
    if root in ("displayname", "externalid"):
        canonical = "displayName" if root == "displayname" else "externalId"
        if verb == "remove":
            if root == "displayname":
                raise _invalid(f"Operations[{i}]: displayName cannot be removed")
            plan.removed_attrs.append(canonical)
            plan.attrs.pop(canonical, None)
            return
        _check_string(canonical, value, required=root == "displayname", max_len=1024 if root == "displayname" else 256)
        plan.attrs[canonical] = value
        if canonical in plan.removed_attrs:
            plan.removed_attrs.remove(canonical)
        return
    if root != "members":
        raise _invalid(f"Operations[{i}]: {attr_name} cannot be modified with PatchGroup [DG-patchgroup]")
    if verb == "replace":
        if quirk and (not has_value or value in (None, [])):
            plan.no_op = True  # [GH-lichti]: observed 204 with no change
            return
        raise ScimError.invalid(f"Operations[{i}]: replace on members", DETAIL_REPLACE_MEMBERS)
    if verb == "add":
        if selected is not None:
            raise _invalid(f"Operations[{i}]: add takes members in value, not in a filtered path")
        ids = _member_values(value, f"Operations[{i}].value")
        plan.steps.append(("add", ids))
        return
    # remove
    if selected is not None:
        plan.steps.append(("remove", selected))
        return
    if not has_value or value is None or value == []:
        raise ScimError.invalid(f"Operations[{i}]: remove of all members", DETAIL_REPLACE_MEMBERS)
    plan.steps.append(("remove", _member_values(value, f"Operations[{i}].value")))
