"""``jitbox advise``: the settings combinations on a grid that meet the policy limits, best first.

Each combination is judged on the closed-form worst case (:func:`sim.bounds.worst_case`) and the worst-case time to
access (:func:`sim.bounds.time_to_access`). By default only the documented entitlement mode is used (the seed's
``signin_snapshot`` [AWS-BLOG]); the UNCONFIRMED modes (``launch_check``, ``cached_1h``) only when asked, or all of
them at once with ``robust``. When nothing fits, :func:`floors` gives the smallest achievable window for each
countermeasure set and the hop at which it passes the limit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sim.bounds import AccessPath, Hop, never_provisioned_share, time_to_access, window_hops, worst_case
from sim.durations import format_duration
from sim.limits import CheckError, Limits
from sim.settings import COUNTERMEASURES, DAY, HOUR, MINUTE, RANGES, EntitlementMode, Settings, grid_settings

__all__ = [
    "DEFAULT_ACTIVATIONS",
    "DEFAULT_MODES",
    "DEFAULT_PERMISSION_SETS",
    "DEFAULT_PORTALS",
    "RANKING",
    "AdviceRow",
    "Floor",
    "advise",
    "all_countermeasure_sets",
    "floors",
]

DEFAULT_MODES = (EntitlementMode.SIGNIN_SNAPSHOT,)
"""The documented entitlement mode: the seed's sign-in snapshot [AWS-BLOG]. The others are UNCONFIRMED."""
RANKING = (
    "share of throttled requesters never provisioned (lowest first), worst time to access, fewest countermeasures, "
    "then the longest portal session, activation and permission-set session (fewest sign-ins and re-activations)"
)
"""What :func:`advise` ranks by, in words (printed with the table)."""

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
    never_provisioned: float = 0.0
    """Share of throttled requesters whose activation ends before provisioning (:func:`never_provisioned_share`)."""

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (durations in seconds)."""
        s = self.settings
        return {
            "activation_max": s.activation_max,
            "portal_session": s.portal_session,
            "permission_set_session": s.permission_set_session,
            "entitlement_mode": s.entitlement_mode.value,
            "countermeasures": list(self.countermeasures),
            "bound_window": self.window,
            "bound_time_to_access": self.time_to_access,
            "bound_never_provisioned_throttled_share": self.never_provisioned,
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
    modes: Sequence[EntitlementMode] | None = None,
    countermeasure_sets: Sequence[tuple[str, ...]] | None = None,
    robust: bool = False,
) -> list[AdviceRow]:
    """Return the grid combinations (on top of ``base``) that meet ``limits``, best first.

    ``modes`` defaults to :data:`DEFAULT_MODES` (documented behaviour), or every mode with ``robust``. With
    ``robust`` a combination must meet the window under every mode in ``modes`` (which entitlement mode AWS uses is
    UNCONFIRMED), and is reported once with the longest of those windows and the first mode's settings.

    Ranking (:data:`RANKING`): the share of throttled requesters who never get access (an activation shorter than the
    ~40-min cycle expires before provisioning [E-AWS]), the worst-case time to access, fewest countermeasures (less
    to operate), then the longest portal, activation and permission-set sessions (fewer sign-ins and
    re-activations).
    """
    if modes is None:
        modes = tuple(EntitlementMode) if robust else DEFAULT_MODES
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
        rows.append(AdviceRow(s, window, tta, tuple(cms), never_provisioned_share(s, AccessPath.THROTTLED)))
    rows.sort(key=_rank)
    return rows


def _rank(r: AdviceRow) -> tuple[Any, ...]:
    """Return the sort key of :func:`advise`: shortest time to access, fewest countermeasures, longest durations."""
    return (
        r.never_provisioned,
        r.time_to_access,
        len(r.countermeasures),
        -r.settings.portal_session,
        -r.settings.activation_max,
        -r.settings.permission_set_session,
        r.window,
        r.settings.entitlement_mode.value,
        r.countermeasures,
    )


@dataclass(frozen=True)
class Floor:
    """The smallest achievable window for one countermeasure set: every duration at its documented minimum."""

    countermeasures: tuple[str, ...]
    settings: Settings
    window: float
    hops: tuple[Hop, ...]

    def breaking_hop(self, limit: float | None) -> Hop | None:
        """Return the first hop whose running total passes ``limit`` (None when the floor meets it)."""
        return next((h for h in self.hops if limit is not None and h.end > limit), None)

    def render(self, limit: float | None) -> str:
        """Return one line: the floor as a sum of hops and where it passes the limit."""
        f = format_duration
        parts = " + ".join(f"{f(h.duration)} {_SHORT.get(h.name.split(' (')[0], h.name)}" for h in self.hops)
        hop = self.breaking_hop(limit)
        tail = f"; passes the limit at the {hop.name} hop {hop.source}" if hop is not None else "; meets the limit"
        return f"{'+'.join(self.countermeasures) or 'none':<58} {f(self.window):>11} = {parts}{tail}"


_SHORT = {
    "PIM activation": "activation",
    "deprovisioning": "deprovisioning",
    "portal session after removal": "portal",
    "entitlement cache after removal": "entitlement cache",
    "launch after removal": "launch",
    "role session": "role session",
}


def floors(
    base: Settings,
    *,
    modes: Sequence[EntitlementMode] = DEFAULT_MODES,
    countermeasure_sets: Sequence[tuple[str, ...]] | None = None,
) -> list[Floor]:
    """Return, for each countermeasure set, the smallest achievable worst-case window (worst of ``modes``).

    Every duration is at the minimum of its documented range (:data:`sim.settings.RANGES`: activation 30 min
    [AWS-BLOG], portal 15 min [UG-uis], permission set 1 h [UG23-howto]); the window is non-decreasing in each, so no
    settings under that countermeasure set do better. For the seed (no countermeasure, ``signin_snapshot``) it is
    30 min + 40 min 10 s + 15 min + 1 h = 2 h 25 min 10 s.
    """
    sets = all_countermeasure_sets() if countermeasure_sets is None else list(countermeasure_sets)
    out: list[Floor] = []
    for cms in sets:
        variants = [
            grid_settings(
                base.model_dump(),
                activation_max=RANGES["activation_max"][0],
                portal_session=RANGES["portal_session"][0],
                permission_set_session=RANGES["permission_set_session"][0],
                entitlement_mode=mode,
                countermeasures=tuple(cms),
            )
            for mode in modes
        ]
        worst = max(variants, key=lambda v: worst_case(v).effective_end)
        out.append(Floor(tuple(cms), worst, worst_case(worst).effective_end, window_hops(worst)))
    return out
