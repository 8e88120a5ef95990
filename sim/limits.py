"""Policy limits for ``jitbox check`` / ``jitbox advise``, and reading them from flags and check files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.bounds import AccessPath
from sim.durations import DurationError, parse_duration
from sim.settings import Settings, SettingsError, load_settings, read_toml_file

__all__ = ["CheckError", "Limits", "load_check_file", "parse_access_path", "parse_limit"]


class CheckError(ValueError):
    """A check file or limit that cannot be used; the message names the file, table or flag."""


@dataclass(frozen=True)
class Limits:
    """The policy limits a settings combination must meet (seconds); None means "not checked"."""

    max_window: float | None = None
    max_time_to_access: float | None = None
    access_path: AccessPath = AccessPath.FAST
    all_modes: bool = False
    """Check the window under every entitlement mode (which one AWS uses is UNCONFIRMED) and keep the worst."""

    def is_empty(self) -> bool:
        """Return True when no limit is set."""
        return self.max_window is None and self.max_time_to_access is None


def _limit_seconds(value: Any, where: str) -> float:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise CheckError(f"{where}: {exc}") from None
    if seconds <= 0:
        raise CheckError(f"{where}: must be a positive duration, got {value!r}")
    return seconds


def parse_limit(value: str | None, flag: str) -> float | None:
    """Return a CLI limit such as ``2h`` in seconds (None stays None); errors name ``flag``."""
    return None if value is None else _limit_seconds(value, flag)


def parse_access_path(value: Any, where: str) -> AccessPath:
    """Return ``value`` as an :class:`AccessPath`; errors name ``where`` and the accepted values."""
    try:
        return AccessPath(value)
    except ValueError:
        accepted = ", ".join(p.value for p in AccessPath)
        raise CheckError(f"{where}: {value!r} is not an access path; use one of {accepted}") from None


def load_check_file(path: Path) -> tuple[Settings, Limits]:
    """Return the settings and the limits declared in a TOML settings file.

    The file holds :class:`sim.settings.Settings` fields (durations as strings such as ``"1h"`` or ``"PT8H"``),
    either at the top level or in a ``[settings]`` table (so a scenario file works too), and optionally a
    ``[limits]`` table with ``max_window``, ``max_time_to_access``, ``access_path`` and ``all_modes``. Raises :class:`CheckError`
    naming the file and field for unreadable files, TOML errors and bad values.
    """
    data = read_toml_file(
        path,
        CheckError,
        cannot_read="cannot read the settings file ({reason})",
        kind="settings files",
        invalid="not valid TOML",
    )
    limits_table = data.pop("limits", {})
    if not isinstance(limits_table, dict):
        raise CheckError(f"{path}: [limits] must be a table")
    if "settings" in data:
        table = data["settings"]
        if not isinstance(table, dict):
            raise CheckError(f"{path}: settings must be a table")
        where = "settings"
    else:
        table, where = data, ""
    try:
        settings = load_settings(table, where=where)
    except SettingsError as exc:
        raise CheckError(f"{path}: invalid settings:\n{exc}") from None
    unknown = sorted(set(limits_table) - {"max_window", "max_time_to_access", "access_path", "all_modes"})
    if unknown:
        raise CheckError(
            f"{path}: limits.{unknown[0]}: unknown limit; known limits are max_window, max_time_to_access, "
            "access_path, all_modes"
        )
    all_modes = limits_table.get("all_modes", False)
    if not isinstance(all_modes, bool):
        raise CheckError(f"{path}: limits.all_modes: must be true or false, got {all_modes!r}")
    limits = Limits(
        max_window=_limit_seconds(limits_table["max_window"], f"{path}: limits.max_window")
        if "max_window" in limits_table
        else None,
        max_time_to_access=_limit_seconds(limits_table["max_time_to_access"], f"{path}: limits.max_time_to_access")
        if "max_time_to_access" in limits_table
        else None,
        access_path=parse_access_path(limits_table.get("access_path", "fast"), f"{path}: limits.access_path"),
        all_modes=all_modes,
    )
    return settings, limits
