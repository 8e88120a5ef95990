"""AWS IAM Identity Center's rules for CreateGroup bodies and member lists, over scim2-models (pure functions).

Groups ([DG-creategroup][DG-limits][UG-users]): ``displayName`` required; at most :data:`MAX_MEMBER_CHANGES`
members in one request; members are given as ``{"value": "<user id>"}`` and must be users (no nested groups; the
service checks that against the store). PATCH rules for groups are in :mod:`scim_server.patch_rules`.
"""

from __future__ import annotations

from typing import Any

from scim2_models import Context, Group

from scim_server.scim_schema import (
    GROUP_URN,
    MODEL_ERRORS,
    POLICY,
    check_string,
    error_reason,
    invalid,
    known_schemas,
    lower_keys,
)

__all__ = ["MAX_MEMBER_CHANGES", "member_values", "validate_group"]

MAX_MEMBER_CHANGES = 100
"""Membership changes allowed in one PatchGroup (and members in one CreateGroup) [DG-patchgroup][DG-creategroup]."""


def validate_group(data: Any) -> tuple[dict[str, Any], list[str]]:
    """Check a CreateGroup body; return (attributes to store, member ids to add).

    ``members`` may list at most :data:`MAX_MEMBER_CHANGES` users [DG-creategroup]; Entra sends an empty list
    [E-SCIM]. Entra's extra schema URN (``.../ADSCIM/2.0/Group``) is accepted and dropped.
    """
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    payload = {k: v for k, v in data.items() if k.lower() not in ("id", "meta")}
    payload["schemas"] = known_schemas(payload.get("schemas"), (GROUP_URN,), GROUP_URN)
    keys = lower_keys(payload)
    check_string("displayName", payload.get(keys.get("displayname", "displayName")), required=True)
    members_key = keys.get("members")
    member_ids: list[str] = []
    if members_key is not None:
        members = payload.pop(members_key)
        member_ids = member_values(members, "members")
        if len(member_ids) > MAX_MEMBER_CHANGES:
            raise invalid(f"{len(member_ids)} members in one request; at most {MAX_MEMBER_CHANGES} [DG-creategroup]")
    try:
        model = Group.model_validate(payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY)
    except MODEL_ERRORS as exc:
        raise invalid(error_reason(exc)) from None
    dumped: dict[str, Any] = model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("schemas", "id", "meta", "members"):
        dumped.pop(key, None)
    check_string("externalId", dumped.get("externalId"), required=False, max_len=256)
    return dumped, member_ids


def member_values(members: Any, where: str) -> list[str]:
    """Return the user ids of a ``[{"value": "<user id>"}, ...]`` list (``where`` names it in the 400 reason)."""
    if members is None:
        return []
    if not isinstance(members, list):
        raise invalid(f"{where} must be a list of objects {{value: <user id>}}")
    out: list[str] = []
    for j, item in enumerate(members):
        if not isinstance(item, dict):
            raise invalid(f"{where}[{j}] must be an object with a value")
        value = next((v for k, v in item.items() if k.lower() == "value"), None)
        if not isinstance(value, str) or not value:
            raise invalid(f"{where}[{j}].value must be a user id string")
        out.append(value)
    return out
