"""Sandbox worlds: one TOML (or JSON) file describing both sides the sandbox starts in.

A world file has the Entra side at the top level (``[[users]]``, ``[[groups]]`` with ``members``, ``eligible`` and an
optional ``pim`` member policy, ``[[applications]]`` with ``assigned``, ``[[clients]]``; see :mod:`pim_fake.world`)
and the IAM Identity Center side under ``[identity_center]`` (``accounts``, ``permission_sets`` with
``managed_policies`` and ``inline_policy``, ``account_assignments``; see :mod:`scim_server.aws.world`), plus an
optional ``name`` and ``description``. The default is the seed walkthrough's world, ``jitbox/worlds/seed.toml``
[AWS-BLOG]: group "AWS - Amazon EC2 Admin" with Rich Roe eligible for a year, assigned to the enterprise application;
permission set EC2AdminAccess (PT1H, AmazonEC2FullAccess) assigned to the group in account 111122223333.

A file without ``[identity_center]`` (an old ``--entra-world`` file) gives an Identity Center holding only what Entra
provisions. :func:`world_files` lists the worlds shipped with jitbox; ``load_world("seed")`` finds one by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pim_fake.world import WorldError, check_world, read_world_file
from scim_server.aws.world import AccessWorldError, check_access_spec

__all__ = ["WORLDS_DIR", "World", "WorldError", "load_world", "world_files"]

WORLDS_DIR = Path(__file__).resolve().parent / "worlds"
"""The worlds shipped with jitbox (package data): ``seed.toml`` is the default."""

_META = ("name", "description")


@dataclass(frozen=True)
class World:
    """A parsed world: the Entra side (for :func:`pim_fake.app.create_app`) and the Identity Center side."""

    name: str
    entra: dict[str, Any]
    identity_center: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = ""

    def seeded_users(self) -> list[dict[str, Any]]:
        """Return ``[{name, userPrincipalName, displayName, admin}]`` of the world's Entra users (for banners)."""
        return [
            {
                "name": u.get("name"),
                "userPrincipalName": u.get("userPrincipalName"),
                "displayName": u.get("displayName"),
                "admin": bool(u.get("admin", False)),
            }
            for u in self.entra.get("users", [])
        ]


def world_files() -> list[Path]:
    """Return the shipped world files, sorted by name."""
    return sorted(WORLDS_DIR.glob("*.toml"))


def _find(path_or_name: str | Path) -> Path:
    given = Path(path_or_name)
    if given.is_file():
        return given
    text = str(path_or_name)
    shipped = WORLDS_DIR / f"{text}.toml"
    if "/" not in text and not text.endswith((".toml", ".json")) and shipped.is_file():
        return shipped
    known = ", ".join(p.stem for p in world_files())
    raise WorldError(f"world {text!r}: no such file (shipped worlds: {known})")


def load_world(path_or_name: str | Path | None = None) -> World:
    """Return the world in a ``.toml``/``.json`` file or a shipped world's name (None = ``seed``).

    Raises :class:`pim_fake.world.WorldError` whose message names the file and the bad field.
    """
    path = _find("seed" if path_or_name is None else path_or_name)
    data = read_world_file(path)
    source = f"world file {str(path)!r}"
    if not isinstance(data, dict):
        raise WorldError(f"{source}: the top level must be a table/object")
    idc = data.get("identity_center", {})
    try:
        check_access_spec(idc)
    except AccessWorldError as exc:
        raise WorldError(f"{source}: {exc}") from None
    entra = check_world({k: v for k, v in data.items() if k not in (*_META, "identity_center")}, source)
    for key in _META:
        if not isinstance(data.get(key, ""), str):
            raise WorldError(f"{source}: {key} must be a string")
    return World(
        name=str(data.get("name", path.stem)),
        entra=entra,
        identity_center=idc,
        description=str(data.get("description", "")),
        source=str(path),
    )
