"""The smallest single change that fixes a broken limit, found by bisection, or the nearest grid combination.

For every setting that could matter, :func:`duration_fixes` solves for the largest whole-second value in the
setting's documented range (:data:`sim.settings.RANGES`) that meets the limit (the bound is non-decreasing in every
duration), or says that no value in range fixes it; :func:`switch_fixes` tries each countermeasure alone; when no
single change works, :func:`nearest_combination` picks the nearest combination on the ``advise`` grid. Settings Entra
or AWS do not let you change (the ~40-min cycle [E-KNOWN], the 2–10 min fast path [E-AWS]) are what-if values only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sim.advise import (
    DEFAULT_ACTIVATIONS,
    DEFAULT_PERMISSION_SETS,
    DEFAULT_PORTALS,
    AdviceRow,
    advise,
    all_countermeasure_sets,
)
from sim.bounds import AccessPath
from sim.durations import format_duration, to_iso8601
from sim.limits import Limits
from sim.settings import COUNTERMEASURES, RANGES, EntitlementMode, Settings

__all__ = ["ACCESS_KNOBS", "WINDOW_KNOBS", "Fix", "Knob", "duration_fixes", "nearest_combination", "switch_fixes"]

Metric = Callable[[Settings], float]


@dataclass(frozen=True)
class Fix:
    """The smallest single change of one setting that meets the limit, or why there is none."""

    setting: str
    current: str
    proposed: str | None
    configurable: bool
    note: str

    def render(self) -> str:
        """Return one human-readable line."""
        if self.proposed is None:
            return f"{self.setting} (now {self.current}): {self.note}"
        what_if = "" if self.configurable else " [what-if only]"
        return f"{self.setting}: {self.current} → {self.proposed}{what_if} ({self.note})"


@dataclass(frozen=True)
class Knob:
    """A setting a fix may change: whether Entra/AWS let you configure it, and why it matters."""

    name: str
    configurable: bool
    note: str


WINDOW_KNOBS = (
    Knob("activation_max", True, "PIM activation maximum duration [AWS-BLOG][E-SET]"),
    Knob("portal_session", True, "access portal session duration [UG-uis][UG-cfgsess]"),
    Knob("permission_set_session", True, "permission-set session duration [UG23-howto][UG-permprops]"),
    Knob("cycle_interval", False, "Entra's ~40-min cycle is not configurable [E-KNOWN]"),
)
ACCESS_KNOBS = {
    AccessPath.FAST: (Knob("fast_path_latency_max", False, "Entra's fast path takes 2–10 min [E-AWS][E-PIMG]"),),
    AccessPath.THROTTLED: (Knob("cycle_interval", False, "Entra's ~40-min cycle is not configurable [E-KNOWN]"),),
}


def _with(s: Settings, name: str, value: float) -> Settings:
    changes: dict[str, Any] = {name: value}
    if name == "cycle_interval" and s.cycle_phase >= value:
        changes["cycle_phase"] = 0.0
    if name == "fast_path_latency_max" and s.fast_path_latency_min > value:
        changes["fast_path_latency_min"] = value
    return s.replace(**changes)


CONSOLE_STEP = 60.0
"""Fixes propose whole minutes: the access portal session is set in minutes (15–129,600) [UG-uis][UG-cfgsess], Graph
takes the PIM maximum as an ISO duration such as ``PT1H45M`` (the settings page's slider: whole hours)
[G-RULES][E-SET], and a permission set's ``SessionDuration`` is an ISO duration such as ``PT1H`` [BC-ssoadmin]."""


def _solve_decrease(s: Settings, name: str, metric: Metric, limit: float, console: bool = True) -> float | None:
    """Return the largest value of ``name`` in its documented range meeting ``limit`` that a console accepts
    (whole minutes, :data:`CONSOLE_STEP`, re-checked after rounding down), or None.

    ``metric`` must be non-decreasing in the setting (true of the closed-form bound for every duration).
    """
    value = _solve_seconds(s, name, metric, limit)
    if value is None or not console:  # what-if values (settings nobody can set) keep whole seconds
        return value
    rounded = math.floor(value / CONSOLE_STEP) * CONSOLE_STEP
    low = RANGES[name][0]
    if rounded < low or metric(_with(s, name, rounded)) > limit:
        return None
    return rounded


def _solve_seconds(s: Settings, name: str, metric: Metric, limit: float) -> float | None:
    """Return the largest whole-second value of ``name`` in its documented range meeting ``limit``, or None."""
    low, _high, _src = RANGES[name]
    current = float(getattr(s, name))
    if metric(_with(s, name, low)) > limit:
        return None
    lo, hi = math.ceil(low), math.floor(current)
    if lo > hi:
        return low
    if metric(_with(s, name, lo)) > limit:
        return low
    while lo < hi:  # invariant: metric(lo) <= limit
        mid = (lo + hi + 1) // 2
        if metric(_with(s, name, mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return float(lo)


def duration_fixes(s: Settings, knobs: Iterable[Knob], metric: Metric, limit: float) -> list[Fix]:
    """Return, for each knob, the largest value (bisection) that brings ``metric`` within ``limit``, or why none does.

    Knobs already small enough to meet the limit at their current value give no fix.
    """
    fixes: list[Fix] = []
    for knob in knobs:
        current = float(getattr(s, knob.name))
        low, high, _src = RANGES[knob.name]
        value = _solve_decrease(s, knob.name, metric, limit, console=knob.configurable)
        if value is None:
            fixes.append(
                Fix(
                    knob.name,
                    format_duration(current),
                    None,
                    knob.configurable,
                    f"no value in the documented range {format_duration(low)} – {format_duration(high)} fixes it; "
                    f"{knob.note}",
                )
            )
        elif value < current:
            fixes.append(
                Fix(
                    knob.name,
                    format_duration(current),
                    f"{format_duration(value)} ({to_iso8601(value)})",
                    knob.configurable,
                    (
                        f"at most this, in whole minutes as the console takes it; {knob.note}"
                        if knob.configurable
                        else f"at most this; {knob.note}"
                    )
                    + _slider_note(knob.name, value),
                )
            )
    return fixes


def _slider_note(name: str, value: float) -> str:
    if name == "activation_max" and value % 3600:
        return "; the PIM settings page's slider takes whole hours, Graph takes this value [E-SET][G-RULES]"
    return ""


def switch_fixes(s: Settings, metric: Metric, limit: float) -> list[Fix]:
    """Return, for each countermeasure that is off, whether turning it on alone brings ``metric`` within ``limit``."""
    fixes: list[Fix] = []
    for name in COUNTERMEASURES:
        if getattr(s, name):
            continue
        after = metric(s.replace(**{name: True}))
        if after <= limit:
            fixes.append(
                Fix(name, "false", "true", True, f"countermeasure; worst case becomes {format_duration(after)}")
            )
        else:
            fixes.append(Fix(name, "false", None, True, f"turning it on alone still gives {format_duration(after)}"))
    return fixes


def nearest_combination(s: Settings, limits: Limits) -> tuple[list[Fix], float | None]:
    """Return the changes to the nearest advise-grid combination meeting ``limits`` and its window.

    The mode stays ``s``'s, or with ``limits.all_modes`` the combination must meet the limit under every mode.

    Nearest = fewest changed settings and added countermeasures, then the smallest total log-ratio of the changed
    durations. Returns ``([], None)`` when no grid combination meets the limits.
    """
    grid = {
        "activation_max": sorted({*DEFAULT_ACTIVATIONS, s.activation_max}),
        "portal_session": sorted({*DEFAULT_PORTALS, s.portal_session}),
        "permission_set_session": sorted({*DEFAULT_PERMISSION_SETS, s.permission_set_session}),
    }
    current_cms = tuple(c for c in COUNTERMEASURES if getattr(s, c))
    sets = [cs for cs in all_countermeasure_sets() if set(current_cms) <= set(cs)]
    rows = advise(
        s,
        limits,
        activations=grid["activation_max"],
        portals=grid["portal_session"],
        permission_sets=grid["permission_set_session"],
        modes=tuple(EntitlementMode) if limits.all_modes else (s.entitlement_mode,),
        countermeasure_sets=sets,
        robust=limits.all_modes,
    )
    if not rows:
        return [], None

    def distance(row: AdviceRow) -> tuple[int, float]:
        changed = [k for k in grid if getattr(row.settings, k) != getattr(s, k)]
        added = set(row.countermeasures) - set(current_cms)
        spread = sum(abs(math.log(getattr(row.settings, k) / getattr(s, k))) for k in changed)
        return len(changed) + len(added), spread

    best = min(rows, key=distance)
    fixes = [
        Fix(k, format_duration(getattr(s, k)), format_duration(getattr(best.settings, k)), True, "lower it")
        for k in grid
        if getattr(best.settings, k) != getattr(s, k)
    ]
    fixes += [
        Fix(c, "false", "true", True, "countermeasure")
        for c in COUNTERMEASURES
        if c in best.countermeasures and c not in current_cms
    ]
    return fixes, best.window
