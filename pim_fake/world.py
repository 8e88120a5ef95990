"""The seeded Entra world: who exists when the fake starts, replaceable by a TOML or JSON file.

Default (from the seed walkthrough [AWS-BLOG] and the recommended setup [E-AWS][E-PIMG]): an administrator, test
users including the seed's "Rich Roe", the PIM-enabled group "AWS - Amazon EC2 Admin" with Rich eligible as
member, an "AWS - All users" group holding every test user (so users exist in AWS before they activate), the
enterprise application "AWS IAM Identity Center" with both groups assigned, and an app-only Graph client
"automation".

File format (TOML shown; JSON with the same keys works)::

    [[users]]
    name = "admin"                  # identity name for tokens
    displayName = "Alex Admin"
    userPrincipalName = "admin@jitbox.example"
    admin = true                    # may call admin actions
    [[groups]]
    displayName = "AWS - Amazon EC2 Admin"
    members = []                    # identity names of direct members
    eligible = ["rich"]             # PIM member eligibility (P365D by default)
    pim = { activation_max = "PT1H", require_justification = true }   # optional member policy (else settings)
    [[applications]]
    displayName = "AWS IAM Identity Center"
    assigned = ["AWS - Amazon EC2 Admin", "AWS - All users"]
    [[clients]]
    name = "automation"
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_WORLD", "ENTRA_KEYS", "PIM_POLICY_KEYS", "WorldError", "check_world", "load_world"]

DEFAULT_WORLD: dict[str, Any] = {
    "users": [
        {
            "name": "admin",
            "displayName": "Alex Admin",
            "givenName": "Alex",
            "surname": "Admin",
            "userPrincipalName": "admin@jitbox.example",
            "admin": True,
        },
        {
            "name": "rich",
            "displayName": "Rich Roe",
            "givenName": "Rich",
            "surname": "Roe",
            "userPrincipalName": "rich.roe@jitbox.example",
        },
        {
            "name": "jane",
            "displayName": "Jane Doe",
            "givenName": "Jane",
            "surname": "Doe",
            "userPrincipalName": "jane.doe@jitbox.example",
        },
        {
            "name": "mateo",
            "displayName": "Mateo Jackson",
            "givenName": "Mateo",
            "surname": "Jackson",
            "userPrincipalName": "mateo.jackson@jitbox.example",
        },
    ],
    "groups": [
        {
            "displayName": "AWS - Amazon EC2 Admin",
            "description": "PIM for Groups: just-in-time EC2 administrators",
            "members": [],
            "eligible": ["rich"],
        },
        {
            "displayName": "AWS - All users",
            "description": "Always assigned so users exist in IAM Identity Center before they activate",
            "members": ["rich", "jane", "mateo"],
            "eligible": [],
        },
    ],
    "applications": [
        {"displayName": "AWS IAM Identity Center", "assigned": ["AWS - Amazon EC2 Admin", "AWS - All users"]},
    ],
    "clients": [{"name": "automation", "displayName": "JIT automation (app-only)"}],
}


ENTRA_KEYS = ("users", "groups", "applications", "clients")
"""The top-level keys of the Entra side of a world."""

PIM_POLICY_KEYS = ("activation_max", "require_justification", "require_ticket", "require_mfa", "approval_required")
"""The keys of a group's ``pim`` table: the member policy's end-user activation rules, named as in
:class:`sim.settings.Settings` (unset keys come from the settings the fake runs with)."""


class WorldError(ValueError):
    """A world file that cannot be read or refers to unknown names; the message names the field."""


def read_world_file(path: Path) -> Any:
    """Return the parsed ``.json`` (JSON) or other (TOML) world file; :class:`WorldError` naming the file if unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(f"world file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise WorldError(f"world file {str(path)!r}: not a UTF-8 text file") from None
    is_json = path.suffix.lower() == ".json"
    try:
        return json.loads(text) if is_json else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise WorldError(f"world file {str(path)!r} is not valid {'JSON' if is_json else 'TOML'}: {exc}") from None


def load_world(path: str | Path | None) -> dict[str, Any]:
    """Return the world mapping from a ``.toml``/``.json`` file, or :data:`DEFAULT_WORLD` when ``path`` is None."""
    if path is None:
        return DEFAULT_WORLD
    p = Path(path)
    return check_world(read_world_file(p), f"world file {str(p)!r}")


def check_world(data: Any, source: str = "world") -> dict[str, Any]:
    """Return ``data`` after checking its top level (a table with only :data:`ENTRA_KEYS`); raise otherwise."""
    if not isinstance(data, dict):
        raise WorldError(f"{source}: the top level must be a table/object")
    unknown = sorted(set(data) - set(ENTRA_KEYS))
    if unknown:
        raise WorldError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(ENTRA_KEYS)})")
    for key in ENTRA_KEYS:
        if not isinstance(data.get(key, []), list):
            raise WorldError(f"{source}: {key} must be an array of tables ([[{key}]])")
    return data
