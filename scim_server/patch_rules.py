"""AWS IAM Identity Center's PATCH rules for users and groups, over scim2-models' ``PatchOp`` (pure functions).

PATCH users ([DG-patchuser][GH-ak12321]): ops add/replace/remove (case-insensitive, [E-SCIM]); path required for
remove; a path-less op only for add/replace of ONE attribute; modifiable attributes only; no remove of userName or
active; at most one op on userName and one on active; only ``eq`` in value-path filters.

PATCH groups ([DG-patchgroup][DG-limits][GH-kc73][UG-users]): only ``displayName``, ``members``, ``externalId``; at
most 100 membership changes per request; ``replace`` of members or removing all members → "Replacing group
memberships is not supported."; members must be users (no nested groups).

Both: at most :data:`MAX_PATCH_OPERATIONS` operations per request, checked before any is parsed. AWS documents
only the 100 membership changes [DG-patchgroup] and no cap on operations; every real PATCH (Entra sends one op per
changed attribute, one per member batch) fits in 100, and the cap keeps a 40,000-operation body from holding the
store for seconds (the limit is ours: a 400 in AWS's shape).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scim2_models import Context, Group, PatchOp, Path
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr, ValuePath

from scim_server.errors import DETAIL_PATHLESS, DETAIL_REPLACE_MEMBERS, ScimError
from scim_server.group_rules import MAX_MEMBER_CHANGES, member_values
from scim_server.plain_shapes import plain_member_steps
from scim_server.scim_schema import (
    ENTERPRISE_URN,
    GROUP_URN,
    MODEL_ERRORS,
    PATCH_URN,
    POLICY,
    ScimUser,
    check_boolean,
    check_string,
    error_reason,
    invalid,
    user_schemas,
)
from scim_server.user_rules import dump_user, validate_user

__all__ = ["MAX_PATCH_OPERATIONS", "GroupPatch", "patch_user", "plan_group_patch"]

MAX_PATCH_OPERATIONS = 100
"""Most operations one PATCH may carry (see the module docstring)."""

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


def _operations(data: dict[str, Any]) -> Any:
    """Return the body's ``Operations`` (any case); 400 when it lists more than :data:`MAX_PATCH_OPERATIONS`."""
    ops = next((v for k, v in data.items() if k.lower() == "operations"), None)
    if isinstance(ops, list) and len(ops) > MAX_PATCH_OPERATIONS:
        raise invalid(f"{len(ops)} operations in one PATCH; at most {MAX_PATCH_OPERATIONS}")
    return ops


# --- users ------------------------------------------------------------------------------------------------------
def patch_user(current: dict[str, Any], data: Any, *, string_booleans: bool = True) -> dict[str, Any]:
    """Apply a PatchUser body to a stored user body; return the attributes to store (validated like a create).

    ``string_booleans`` is the switch for Entra's legacy ``"value": "False"`` on ``active`` ([E-COMPAT];
    UNCONFIRMED on AWS): convert it (True) or answer 400 (False).
    """
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    ops = _operations(data)
    if not isinstance(ops, list) or not ops:
        raise invalid("Operations must be a non-empty list")
    schemas = data.get("schemas")
    if not isinstance(schemas, list) or PATCH_URN not in schemas:
        raise invalid(f"schemas must list {PATCH_URN}")
    counts = {"username": 0, "active": 0}
    fixed_ops = [_user_op(i, op, counts, string_booleans) for i, op in enumerate(ops)]
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
        result = dump_user(model)
    except MODEL_ERRORS as exc:
        raise invalid(error_reason(exc)) from None
    result["schemas"] = user_schemas(result)
    return validate_user(result, replacing=True)


def _user_op(i: int, raw: Any, counts: dict[str, int], string_booleans: bool) -> dict[str, Any]:
    """Check PatchUser operation ``i`` under AWS's rules; return it in the form scim2-models applies.

    ``counts`` tallies the operations on userName and active across the request (at most one each).
    """
    if not isinstance(raw, dict):
        raise invalid(f"Operations[{i}] must be an object")
    op = dict(raw)
    verb = op.get("op")
    if not isinstance(verb, str) or verb.lower() not in ("add", "replace", "remove"):
        raise invalid(f"Operations[{i}].op must be add, replace or remove")
    verb = verb.lower()
    path = op.get("path")
    root = _pathless_root(i, op, verb, string_booleans) if path is None else _path_root(i, op, path, string_booleans)
    if root != "enterprise":
        if root not in _USER_PATCHABLE:
            raise invalid(f"Operations[{i}]: {root} cannot be modified with PatchUser [DG-patchuser]")
        if root in counts:
            if verb == "remove":
                raise invalid(f"Operations[{i}]: {root} cannot be removed [DG-patchuser]")
            counts[root] += 1
            if counts[root] > 1:
                raise invalid(f"only one operation on {root} per request is supported [DG-patchuser]")
    if verb in ("add", "replace") and "value" not in op:
        raise invalid(f"Operations[{i}]: {verb} needs a value [DG-patchuser]")
    return op


def _pathless_root(i: int, op: dict[str, Any], verb: str, string_booleans: bool) -> str:
    """Return the lower-cased root attribute of a path-less op (``enterprise`` for the extension) [GH-ak12321]."""
    if verb == "remove":
        raise invalid(f"Operations[{i}]: remove needs a path [DG-patchuser]")
    value = op.get("value")
    if not isinstance(value, dict) or len(value) != 1:
        raise ScimError.invalid(f"Operations[{i}]: path-less op must set one attribute", DETAIL_PATHLESS)
    ((attr, attr_value),) = value.items()
    if attr.lower() == "active":
        op["value"] = {attr: _to_bool(attr_value, string_booleans)}
    return "enterprise" if attr.lower().startswith("urn:") else attr.split(".")[0].lower()


def _path_root(i: int, op: dict[str, Any], path: Any, string_booleans: bool) -> str:
    """Return the lower-cased root attribute of an op's ``path`` (``enterprise`` for the extension) [DG-patchuser]."""
    if not isinstance(path, str):
        raise invalid(f"Operations[{i}].path must be a string")
    try:
        node = Path[ScimUser](path).ast
    except MODEL_ERRORS as exc:
        raise invalid(f"Operations[{i}].path {path!r}: {error_reason(exc)}") from None
    uri, root = _root_attr(node)
    if uri is not None:
        if uri.lower() != ENTERPRISE_URN.lower():
            raise invalid(f"Operations[{i}].path {path!r}: unknown schema")
        if (
            isinstance(node, AttrPath)
            and node.attr.lower() == "manager"
            and node.sub_attr is None
            and isinstance(op.get("value"), str)
        ):
            op["value"] = {"value": op["value"]}  # Entra sends the manager's id as a plain string [E-AWS]
        root = "enterprise"
    if isinstance(node, ValuePath) and not _only_eq(node.val_filter):
        raise invalid(f"Operations[{i}].path {path!r}: only eq is supported in filters [DG-patchuser]")
    if root == "active" and "value" in op:
        op["value"] = _to_bool(op["value"], string_booleans)
    return root


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
    if isinstance(value, str) and string_booleans and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    check_boolean("active", value)
    return value


# --- groups -----------------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class _GroupOp:
    """One PatchGroup operation reduced to what the rules look at."""

    index: int
    verb: str
    root: str
    """Lower-cased root attribute."""
    attr_name: str
    """The attribute as the client spelled it (for the 400 reason)."""
    selected: list[str] | None
    """Member ids picked by a ``members[value eq "id"]`` path, else None."""
    value: Any
    has_value: bool


def plan_group_patch(data: Any, *, replace_empty_members_quirk: bool = False) -> GroupPatch:
    """Parse a PatchGroup body (scim2-models ``PatchOp[Group]``) into a :class:`GroupPatch` under AWS's rules."""
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    _operations(data)
    steps = plain_member_steps(data)  # Entra's plain member adds/removes, as scim2-models would read them
    if steps is not None:
        plan = GroupPatch(steps=steps)
    else:
        try:
            patch = PatchOp[Group].model_validate(data, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)
        except MODEL_ERRORS as exc:
            raise invalid(error_reason(exc)) from None
        plan = GroupPatch()
        for i, op in enumerate(patch.operations or []):
            _plan_one(plan, _group_op(i, op), replace_empty_members_quirk)
    if plan.member_changes() > MAX_MEMBER_CHANGES:
        raise invalid(
            f"{plan.member_changes()} membership changes in one request; at most {MAX_MEMBER_CHANGES} [DG-patchgroup]"
        )
    return plan


def _group_op(i: int, op: Any) -> _GroupOp:
    """Return PatchGroup operation ``i`` (a scim2-models operation) as a :class:`_GroupOp`; 400 on unsupported paths."""
    verb = op.op.value
    if op.path is None:
        value = op.value
        if not isinstance(value, dict) or len(value) != 1:
            raise ScimError.invalid(f"Operations[{i}]: path-less op must set one attribute", DETAIL_PATHLESS)
        ((attr, attr_value),) = value.items()
        return _GroupOp(i, verb, attr.lower(), attr, None, attr_value, True)
    node = op.path.ast
    uri, root = _root_attr(node)
    if uri is not None and uri.lower() != GROUP_URN.lower():
        raise invalid(f"Operations[{i}].path {op.path!s}: unknown schema")
    selected: list[str] | None = None
    if isinstance(node, ValuePath):
        if root != "members" or node.sub_attr is not None:
            raise invalid(f'Operations[{i}].path {op.path!s}: only members[value eq "id"] is supported')
        selected = _eq_values(node.val_filter, i)
    elif isinstance(node, AttrPath) and node.sub_attr is not None:
        raise invalid(f"Operations[{i}].path {op.path!s}: sub-attributes cannot be patched on groups")
    elif not isinstance(node, AttrPath):
        raise invalid(f"Operations[{i}].path {op.path!s} is not supported")
    attr_name = node.attr_path.attr if isinstance(node, ValuePath) else node.attr
    return _GroupOp(i, verb, root, attr_name, selected, op.value, "value" in op.model_fields_set)


def _eq_values(node: FilterNode, i: int) -> list[str]:
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.lower() == "value"
        and node.attr_path.sub_attr is None
        and isinstance(node.value, str)
    ):
        return [node.value]
    raise invalid(f'Operations[{i}]: member filters must be value eq "<user id>" [DG-patchuser]')


def _plan_one(plan: GroupPatch, op: _GroupOp, quirk: bool) -> None:
    """Add one operation to ``plan`` under AWS's rules; ``quirk`` is ``replace_empty_members_quirk`` [GH-lichti]."""
    i, verb, root, value = op.index, op.verb, op.root, op.value
    if root in ("displayname", "externalid"):
        canonical = "displayName" if root == "displayname" else "externalId"
        if verb == "remove":
            if root == "displayname":
                raise invalid(f"Operations[{i}]: displayName cannot be removed")
            plan.removed_attrs.append(canonical)
            plan.attrs.pop(canonical, None)
            return
        check_string(canonical, value, required=root == "displayname", max_len=1024 if root == "displayname" else 256)
        plan.attrs[canonical] = value
        if canonical in plan.removed_attrs:
            plan.removed_attrs.remove(canonical)
        return
    if root != "members":
        raise invalid(f"Operations[{i}]: {op.attr_name} cannot be modified with PatchGroup [DG-patchgroup]")
    if verb == "replace":
        if quirk and (not op.has_value or value in (None, [])):
            plan.no_op = True  # [GH-lichti]: observed 204 with no change
            return
        raise ScimError.invalid(f"Operations[{i}]: replace on members", DETAIL_REPLACE_MEMBERS)
    if verb == "add":
        if op.selected is not None:
            raise invalid(f"Operations[{i}]: add takes members in value, not in a filtered path")
        plan.steps.append(("add", member_values(value, f"Operations[{i}].value")))
        return
    # remove
    if op.selected is not None:
        plan.steps.append(("remove", op.selected))
        return
    if not op.has_value or value is None or value == []:
        raise ScimError.invalid(f"Operations[{i}]: remove of all members", DETAIL_REPLACE_MEMBERS)
    plan.steps.append(("remove", member_values(value, f"Operations[{i}].value")))
