"""The Identity Center side of a sandbox world: accounts, permission sets (managed and inline policies) and account
assignments, created through the access plane's own API on a running instance.

The spec is the ``[identity_center]`` table of a world file (``jitbox/worlds/seed.toml``)::

    [[identity_center.accounts]]
    id = "111122223333"
    name = "workloads-prod"
    email = "aws@jitbox.example"

    [[identity_center.permission_sets]]
    name = "EC2AdminAccess"
    session_duration = "PT1H"            # PT1H-PT12H [UG23-howto]
    managed_policies = ["arn:aws:iam::aws:policy/AmazonEC2FullAccess"]
    inline_policy = '{"Version": "2012-10-17", "Statement": [...]}'   # optional, JSON text or a table

    [[identity_center.account_assignments]]
    account = "111122223333"
    permission_set = "EC2AdminAccess"
    group = "AWS - Amazon EC2 Admin"      # a group's displayName in the identity store, or
    # user = "rich.roe@jitbox.example"    # a user's userName

Principals are looked up in the identity store by name, so groups and users provisioned from Entra must exist first
(``jitbox`` runs Entra's initial provisioning cycle before it calls :func:`seed_access`). Assignments and
provisioning take effect at once (the world is the state the sandbox starts in, not a request in flight). Seeding is
idempotent: a permission set whose name exists (a restart with ``--state``) and an assignment in effect are kept.
Errors raise :class:`AccessWorldError` naming the field, e.g. ``identity_center.account_assignments[0].group``.
"""

from __future__ import annotations

import json
from typing import Any

from scim_server.store import Store

from .errors import AwsError
from .plane import AccessPlane

__all__ = ["KNOWN_KEYS", "AccessWorldError", "check_access_spec", "seed_access"]

KNOWN_KEYS = {
    "": {"accounts", "permission_sets", "account_assignments"},
    "accounts": {"id", "name", "email"},
    "permission_sets": {"name", "description", "session_duration", "relay_state", "managed_policies", "inline_policy"},
    "account_assignments": {"account", "permission_set", "group", "user"},
}


class AccessWorldError(ValueError):
    """An ``[identity_center]`` table that cannot be applied; the message names the field."""


def _tables(spec: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = spec.get(key, [])
    if not isinstance(items, list):
        raise AccessWorldError(f"identity_center.{key} must be an array of tables ([[identity_center.{key}]])")
    for i, item in enumerate(items):
        where = f"identity_center.{key}[{i}]"
        if not isinstance(item, dict):
            raise AccessWorldError(f"{where} must be a table")
        unknown = sorted(set(item) - KNOWN_KEYS[key])
        if unknown:
            raise AccessWorldError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KNOWN_KEYS[key]))})")
    return items


def check_access_spec(spec: Any) -> dict[str, Any]:
    """Return ``spec`` after checking its shape (tables, known keys, names referenced); raise otherwise."""
    if not isinstance(spec, dict):
        raise AccessWorldError("identity_center must be a table")
    unknown = sorted(set(spec) - KNOWN_KEYS[""])
    if unknown:
        raise AccessWorldError(
            f"identity_center: unknown key {unknown[0]!r} (known: {', '.join(sorted(KNOWN_KEYS['']))})"
        )
    names = set()
    for i, ps in enumerate(_tables(spec, "permission_sets")):
        if not isinstance(ps.get("name"), str):
            raise AccessWorldError(f"identity_center.permission_sets[{i}].name is required")
        names.add(ps["name"])
        policies = ps.get("managed_policies", [])
        if not isinstance(policies, list) or not all(isinstance(p, str) for p in policies):
            raise AccessWorldError(f"identity_center.permission_sets[{i}].managed_policies must be a list of ARNs")
    _tables(spec, "accounts")
    for i, a in enumerate(_tables(spec, "account_assignments")):
        where = f"identity_center.account_assignments[{i}]"
        if a.get("permission_set") not in names:
            raise AccessWorldError(
                f"{where}.permission_set: {a.get('permission_set')!r} is not a permission set of the world "
                f"(known: {', '.join(sorted(names)) or 'none'})"
            )
        if ("group" in a) == ("user" in a):
            raise AccessWorldError(f"{where}: give exactly one of group = <displayName> or user = <userName>")
    return spec


def seed_access(plane: AccessPlane, store: Store, spec: dict[str, Any]) -> dict[str, str]:
    """Create the spec's accounts, permission sets and assignments; return permission set name → ARN."""
    check_access_spec(spec)
    arns: dict[str, str] = {}
    with plane.lock:
        delay = plane.config.assignment_delay
        plane.config.assignment_delay = 0.0  # the world's assignments are in place when the sandbox starts
        try:
            for i, acct in enumerate(_tables(spec, "accounts")):
                _apply(f"accounts[{i}]", plane.accounts.register, acct.get("id"), acct.get("name"), acct.get("email"))
            for i, ps in enumerate(_tables(spec, "permission_sets")):
                arns[ps["name"]] = _permission_set(plane, i, ps)
            for i, a in enumerate(_tables(spec, "account_assignments")):
                where = f"account_assignments[{i}]"
                ptype, pid = _principal(store, where, a)
                arn = arns[a["permission_set"]]
                account = a.get("account")
                key = (account, arn, ptype, pid)
                if any(x.key() == key for x in plane.assignments.current()):
                    continue
                _apply(where, plane.create_account_assignment, account, "AWS_ACCOUNT", arn, ptype, pid)
                _apply(where, plane.assignments.provision, arn, "AWS_ACCOUNT", account)
        finally:
            plane.config.assignment_delay = delay
    return arns


def _permission_set(plane: AccessPlane, i: int, ps: dict[str, Any]) -> str:
    where = f"permission_sets[{i}]"
    existing = plane.permission_sets.by_name(ps["name"])
    if existing is not None:
        return existing.arn
    created = _apply(
        where,
        plane.create_permission_set,
        ps["name"],
        ps.get("description"),
        ps.get("session_duration"),
        ps.get("relay_state"),
    )
    for j, policy in enumerate(ps.get("managed_policies", [])):
        _apply(f"{where}.managed_policies[{j}]", plane.permission_sets.attach_managed_policy, created.arn, policy)
    inline = ps.get("inline_policy")
    if inline is not None:
        text = inline if isinstance(inline, str) else json.dumps(inline)
        _apply(f"{where}.inline_policy", plane.permission_sets.put_inline_policy, created.arn, text)
    return str(created.arn)


def _principal(store: Store, where: str, a: dict[str, Any]) -> tuple[str, str]:
    if "group" in a:
        gid = store.group_id_by_name(str(a["group"]))
        if gid is None:
            raise AccessWorldError(
                f"identity_center.{where}.group: no group {a['group']!r} in Identity Center after the initial "
                "provisioning cycle (assign it to the enterprise application in [[applications]] assigned)"
            )
        return "GROUP", gid
    uid = store.user_id_by_name(str(a["user"]))
    if uid is None:
        raise AccessWorldError(
            f"identity_center.{where}.user: no user {a['user']!r} (a userName) in Identity Center after the initial "
            "provisioning cycle"
        )
    return "USER", uid


def _apply(where: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except AwsError as exc:
        raise AccessWorldError(f"identity_center.{where}: {exc.message}") from None
