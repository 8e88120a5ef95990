"""``jitbox advise``: the settings combinations on a grid that meet the policy limits, best first.

Each combination is judged on the closed-form worst case (:func:`sim.bounds.worst_case`) and the worst-case time to
access (:func:`sim.bounds.time_to_access`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sim.bounds import time_to_access, worst_case
from sim.limits import CheckError, Limits
from sim.settings import COUNTERMEASURES, DAY, HOUR, MINUTE, EntitlementMode, Settings, grid_settings

__all__ = [
    "DEFAULT_ACTIVATIONS",
    "DEFAULT_PERMISSION_SETS",
    "DEFAULT_PORTALS",
    "AdviceRow",
    "advise",
    "all_countermeasure_sets",
]

DEFAULT_ACTIVATIONS = (30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, 24 * HOUR)
"""Grid inside the documented 30 min – 24 h activation range [AWS-BLOG][E-SET]."""
DEFAULT_PORTALS = (15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, DAY, 7 * DAY)
"""Grid inside the documented 15 min – 90 day portal-session range [UG-uis]."""
DEFAULT_PERMISSION_SETS = (HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR)
"""Grid inside the documented 1 – 12 h permission-set range [UG23-howto]."""


@dataclass(frozen=True)
class AdviceRow:
    """One settings combination meeting the target, with the quantities it is ranked by."""

    settings: Settings
    window: float
    time_to_access: float
    countermeasures: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (durations in seconds)."""
        s = self.settings
        return {
            "activation_max": s.activation_max,
            "portal_session": s.portal_session,
            "permission_set_session": s.permission_set_session,
            "entitlement_mode": s.entitlement_mode.value,
            "countermeasures": list(self.countermeasures),
            "window": self.window,
            "time_to_access": self.time_to_access,
        }


def all_countermeasure_sets() -> list[tuple[str, ...]]:
    """Return every subset of :data:`sim.settings.COUNTERMEASURES`, smallest first (none, each alone, pairs, all)."""
    sets: list[tuple[str, ...]] = []
    for k in range(len(COUNTERMEASURES) + 1):
        sets.extend(itertools.combinations(COUNTERMEASURES, k))
    return sets


def advise(
    base: Settings,
    limits: Limits,
    *,
    activations: Sequence[float] = DEFAULT_ACTIVATIONS,
    portals: Sequence[float] = DEFAULT_PORTALS,
    permission_sets: Sequence[float] = DEFAULT_PERMISSION_SETS,
    modes: Sequence[EntitlementMode] = tuple(EntitlementMode),
    countermeasure_sets: Sequence[tuple[str, ...]] | None = None,
    robust: bool = False,
) -> list[AdviceRow]:
    """Return the grid combinations (on top of ``base``) that meet ``limits``, best first.

    With ``robust`` a combination must meet the window under every mode in ``modes`` (which entitlement mode AWS
    uses is UNCONFIRMED), and is reported once with the longest of those windows and the first mode's settings.

    Ranking: worst-case time to access (shortest first), then fewest countermeasures (less to operate), then the
    longest activation, portal and permission-set sessions (fewer re-activations and sign-ins). Time to access
    depends on approval and Entra provisioning, not on these durations, so it mostly ties.
    """
    if limits.is_empty():
        raise CheckError("advise needs a target: give --max-window and/or --max-time-to-access")
    sets = all_countermeasure_sets() if countermeasure_sets is None else list(countermeasure_sets)
    unknown = sorted({c for cs in sets for c in cs} - set(COUNTERMEASURES))
    if unknown:
        raise CheckError(f"unknown countermeasure {unknown[0]!r}; known: {', '.join(COUNTERMEASURES)}")
    base_values = base.model_dump()
    if not modes:
        raise CheckError("advise needs at least one entitlement mode")
    mode_groups: list[tuple[EntitlementMode, ...]] = [tuple(modes)] if robust else [(m,) for m in modes]
    rows: list[AdviceRow] = []
    for act, portal, perm, group, cms in itertools.product(activations, portals, permission_sets, mode_groups, sets):
        variants = [
            grid_settings(
                base_values,
                activation_max=act,
                portal_session=portal,
                permission_set_session=perm,
                entitlement_mode=mode,
                countermeasures=tuple(cms),
            )
            for mode in group
        ]
        window = max(worst_case(v).effective_end for v in variants)
        s = variants[0]
        tta = time_to_access(s, limits.access_path)
        if limits.max_window is not None and window > limits.max_window:
            continue
        if limits.max_time_to_access is not None and tta > limits.max_time_to_access:
            continue
        rows.append(AdviceRow(s, window, tta, tuple(cms)))
    rows.sort(key=_rank)
    return rows


def _rank(r: AdviceRow) -> tuple[Any, ...]:
    """Return the sort key of :func:`advise`: shortest time to access, fewest countermeasures, longest durations."""
    return (
        r.time_to_access,
        len(r.countermeasures),
        -r.settings.activation_max,
        -r.settings.portal_session,
        -r.settings.permission_set_session,
        r.window,
        r.settings.entitlement_mode.value,
        r.countermeasures,
    )
