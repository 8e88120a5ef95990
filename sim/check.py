"""Policy checks on a settings combination, for CI: ``jitbox check`` and ``jitbox advise``.

Both work on the closed-form worst case (:func:`sim.bounds.worst_case`), which is built from the rules in
:mod:`sim.rules`, so a check never disagrees with the simulator's bound.

Definitions (also in ``docs/sweeps.md``):

- **window** = the worst-case effective end of access measured from the start of the activation
  (:attr:`sim.bounds.Bound.effective_end`): activation ``activation_max`` [AWS-BLOG] + deprovisioning (Entra
  removal within seconds [E-ACT] + up to one ~40-min regular cycle [E-AWS]) + what the portal still allows after
  Identity Center removal (entitlement mode: [AWS-BLOG] / [UG23-auth] / [UG-revoke]) + one permission-set session
  [UG23-howto], shortened by countermeasures [UG-endsess][IAM-revoke][UG-revoke].
- **time to access** = request → usable in AWS, worst case on the chosen path: ``fast`` (the first 5 activations
  per 10 s per app: Entra membership [E-ACT] + fast path up to 10 min [E-AWS][E-PIMG]) or ``throttled`` (the 6th
  and later: Entra membership + up to one regular cycle + processing [E-AWS]); with ``approval_required`` it adds
  the 24-hour approval timeout, the longest an approver may take [E-APPRV].

For each broken limit the check names the hop at which the running total first passes the limit and, for every
setting that could matter, the smallest single change that would fix it (solved by bisection over the setting's
documented range in :data:`sim.settings.RANGES`; the bound is non-decreasing in every duration), or says that no
value in range fixes it. Settings Entra or AWS do not let you change (the ~40-min cycle [E-KNOWN], the 2–10 min fast
path [E-AWS]) are reported as what-if values only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sim.bounds import Bound, worst_case
from sim.durations import DurationError, format_duration, parse_duration, to_iso8601
from sim.settings import (
    APPROVAL_TIMEOUT,
    HOUR,
    RANGES,
    EntitlementMode,
    Settings,
    SettingsError,
    load_settings,
    read_toml_file,
)

__all__ = [
    "COUNTERMEASURES",
    "AccessPath",
    "AdviceRow",
    "CheckError",
    "CheckResult",
    "Fix",
    "Hop",
    "Limits",
    "Violation",
    "advise",
    "check",
    "load_check_file",
    "time_to_access",
    "window_hops",
]

MINUTE = 60.0
DAY = 86400.0

COUNTERMEASURES: tuple[str, ...] = ("end_portal_sessions", "deny_tokens_before_expiry", "remove_idc_membership")
"""The countermeasure switches of :class:`sim.settings.Settings` [UG-endsess][IAM-revoke][UG-revoke]."""


class CheckError(ValueError):
    """A check file or limit that cannot be used; the message names the file, table or flag."""


class AccessPath(StrEnum):
    """Which provisioning path the time-to-access limit applies to."""

    FAST = "fast"
    """The first 5 activations per 10 s per app: Entra membership + fast path (2–10 min) [E-AWS][E-PIMG]."""
    THROTTLED = "throttled"
    """The 6th and later activations in 10 s: Entra membership + next regular ~40-min cycle [E-AWS]."""


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


@dataclass(frozen=True)
class Hop:
    """One hop of the worst-case path: its own length and the running total at its end (seconds)."""

    name: str
    duration: float
    end: float
    source: str


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
class Violation:
    """One broken limit, the hop that breaks it and the fixes."""

    limit_name: str
    limit: float
    actual: float
    hops: tuple[Hop, ...]
    breaking_hop: Hop
    fixes: tuple[Fix, ...]
    combined: tuple[Fix, ...] = ()
    """When no single change fixes it: the nearest combination on the advise grid (fewest changes first)."""
    combined_window: float | None = None

    def render(self) -> str:
        """Return a multi-line explanation."""
        f = format_duration
        lines = [f"FAIL {self.limit_name}: worst case {f(self.actual)} > limit {f(self.limit)}"]
        for hop in self.hops:
            marker = "  ← breaks the limit here" if hop is self.breaking_hop else ""
            lines.append(f"  + {hop.name:<48} {f(hop.duration):>12}  total {f(hop.end):>12}  {hop.source}{marker}")
        working = [fx for fx in self.fixes if fx.proposed is not None and fx.configurable]
        lines.append("  smallest single change of each setting that would fix it:")
        lines.extend(f"    - {fx.render()}" for fx in self.fixes)
        if not working and self.limit_name != "max_window":
            lines.append(
                "    no setting you control fixes it: time to access is set by approval and Entra provisioning "
                "(fast path 2–10 min, regular cycle ~40 min [E-AWS]), not by the session durations"
            )
        elif not working:
            lines.append("    no single change of a setting you control fixes it")
            if self.combined:
                assert self.combined_window is not None
                lines.append(
                    f"  nearest combination on the advise grid that fixes it (worst case becomes "
                    f"{format_duration(self.combined_window)}):"
                )
                lines.extend(f"    - {fx.render()}" for fx in self.combined)
            else:
                lines.append("    no combination on the advise grid fixes it; see `jitbox advise`")
        return "\n".join(lines)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: the bound, the measured values and each broken limit."""

    settings: Settings
    limits: Limits
    bound: Bound
    window: float
    time_to_access: float
    violations: tuple[Violation, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Return True when every limit holds."""
        return not self.violations

    def render(self, source: str = "settings") -> str:
        """Return the human-readable report ``jitbox check`` prints."""
        f = format_duration
        lines = []
        if self.limits.max_window is not None:
            status = "ok  " if self.window <= self.limits.max_window else "FAIL"
            modes = (
                f"; worst of all entitlement modes: {self.settings.entitlement_mode.value}"
                if self.limits.all_modes
                else ""
            )
            lines.append(
                f"{status} window: worst-case access ends {f(self.window)} after activation start "
                f"(limit {f(self.limits.max_window)}{modes})"
            )
        if self.limits.max_time_to_access is not None:
            status = "ok  " if self.time_to_access <= self.limits.max_time_to_access else "FAIL"
            lines.append(
                f"{status} time to access ({self.limits.access_path.value} path): worst case {f(self.time_to_access)} "
                f"(limit {f(self.limits.max_time_to_access)})"
            )
        for violation in self.violations:
            lines.append("")
            lines.append(violation.render())
        lines.append("")
        lines.append(f"{source}: {'PASS' if self.ok else 'FAIL'} ({self.bound.explain(self.settings)})")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (durations in seconds)."""
        return {
            "ok": self.ok,
            "window": self.window,
            "time_to_access": self.time_to_access,
            "limits": {
                "max_window": self.limits.max_window,
                "max_time_to_access": self.limits.max_time_to_access,
                "access_path": self.limits.access_path.value,
                "all_modes": self.limits.all_modes,
            },
            "bound": self.bound.as_dict(),
            "violations": [
                {
                    "limit": v.limit_name,
                    "limit_seconds": v.limit,
                    "actual_seconds": v.actual,
                    "breaking_hop": v.breaking_hop.name,
                    "hops": [
                        {"name": h.name, "duration": h.duration, "end": h.end, "source": h.source} for h in v.hops
                    ],
                    "fixes": [_fix_dict(fx) for fx in v.fixes],
                    "combined": [_fix_dict(fx) for fx in v.combined],
                    "combined_window": v.combined_window,
                }
                for v in self.violations
            ],
            "settings": self.settings.model_dump(mode="json"),
        }


def _fix_dict(fx: Fix) -> dict[str, Any]:
    return {
        "setting": fx.setting,
        "current": fx.current,
        "proposed": fx.proposed,
        "configurable": fx.configurable,
        "note": fx.note,
    }


# --- the two measured quantities ------------------------------------------------------------------------


def window_hops(s: Settings, b: Bound | None = None) -> tuple[Hop, ...]:
    """Return the hops of the worst-case window, in order, with running totals from activation start."""
    b = b or worst_case(s)
    mode = s.entitlement_mode
    if mode is EntitlementMode.SIGNIN_SNAPSHOT:
        portal_name, portal_src = "portal session after removal (signin_snapshot)", "[AWS-BLOG][UG-uis]"
    elif mode is EntitlementMode.CACHED_1H:
        portal_name, portal_src = "entitlement cache after removal (cached_1h)", "[UG23-auth]"
    else:
        portal_name, portal_src = "launch after removal (launch_check)", "[UG-revoke]"
    if s.end_portal_sessions:
        portal_src += "[UG-endsess]"
    deprov_src = "[UG-revoke]" if s.remove_idc_membership else "[E-ACT][E-AWS]"
    role_src = "[UG23-howto][IAM-revoke]" if s.deny_tokens_before_expiry else "[UG23-howto]"
    return (
        Hop("PIM activation (activation_max)", b.intended_window, b.intended_window, "[AWS-BLOG][E-SET]"),
        Hop("deprovisioning (Entra removal + next cycle)", b.deprovision_wait, b.idc_removal, deprov_src),
        Hop(portal_name, b.latest_launch - b.idc_removal, b.latest_launch, portal_src),
        Hop("role session (permission_set_session)", b.effective_end - b.latest_launch, b.effective_end, role_src),
    )


def access_hops(s: Settings, path: AccessPath) -> tuple[Hop, ...]:
    """Return the hops of the worst-case time to access on ``path``, with running totals from the request."""
    hops: list[Hop] = []
    total = 0.0
    if s.approval_required:
        total += APPROVAL_TIMEOUT
        hops.append(Hop("approval (approvers have up to 24 h)", APPROVAL_TIMEOUT, total, "[E-APPRV]"))
    total += s.membership_latency_max
    hops.append(Hop("Entra group membership (membership_latency_max)", s.membership_latency_max, total, "[E-ACT]"))
    if path is AccessPath.FAST:
        total += s.fast_path_latency_max
        hops.append(Hop("fast-path provisioning (fast_path_latency_max)", s.fast_path_latency_max, total, "[E-AWS]"))
    else:
        wait = s.cycle_interval + s.cycle_processing
        total += wait
        hops.append(Hop("next regular cycle (cycle_interval + processing)", wait, total, "[E-AWS][E-KNOWN]"))
    return tuple(hops)


def time_to_access(s: Settings, path: AccessPath) -> float:
    """Return the worst-case time from request to access in AWS on ``path`` (seconds)."""
    return access_hops(s, path)[-1].end


# --- fixes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Knob:
    name: str
    configurable: bool
    note: str


_WINDOW_KNOBS = (
    _Knob("activation_max", True, "PIM activation maximum duration [AWS-BLOG][E-SET]"),
    _Knob("portal_session", True, "access portal session duration [UG-uis][UG-cfgsess]"),
    _Knob("permission_set_session", True, "permission-set session duration [UG23-howto][UG-permprops]"),
    _Knob("cycle_interval", False, "Entra's ~40-min cycle is not configurable [E-KNOWN]"),
)
_ACCESS_KNOBS = {
    AccessPath.FAST: (_Knob("fast_path_latency_max", False, "Entra's fast path takes 2–10 min [E-AWS][E-PIMG]"),),
    AccessPath.THROTTLED: (_Knob("cycle_interval", False, "Entra's ~40-min cycle is not configurable [E-KNOWN]"),),
}


def _with(s: Settings, name: str, value: float) -> Settings:
    changes: dict[str, Any] = {name: value}
    if name == "cycle_interval" and s.cycle_phase >= value:
        changes["cycle_phase"] = 0.0
    if name == "fast_path_latency_max" and s.fast_path_latency_min > value:
        changes["fast_path_latency_min"] = value
    return s.replace(**changes)


def _solve_decrease(s: Settings, name: str, metric: Callable[[Settings], float], limit: float) -> float | None:
    """Return the largest whole-second value of ``name`` in its documented range meeting ``limit``, or None.

    ``metric`` must be non-decreasing in the setting (true of the closed-form bound for every duration).
    """
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


def _duration_fixes(
    s: Settings, knobs: Iterable[_Knob], metric: Callable[[Settings], float], limit: float
) -> list[Fix]:
    fixes: list[Fix] = []
    for knob in knobs:
        current = float(getattr(s, knob.name))
        low, high, _src = RANGES[knob.name]
        value = _solve_decrease(s, knob.name, metric, limit)
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
                    f"at most this; {knob.note}",
                )
            )
    return fixes


def _switch_fixes(s: Settings, metric: Callable[[Settings], float], limit: float) -> list[Fix]:
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


def _violation(
    limit_name: str,
    limit: float,
    actual: float,
    hops: Sequence[Hop],
    fixes: Sequence[Fix],
    combined: Sequence[Fix] = (),
    combined_window: float | None = None,
) -> Violation:
    breaking = next(h for h in hops if h.end > limit)
    return Violation(limit_name, limit, actual, tuple(hops), breaking, tuple(fixes), tuple(combined), combined_window)


def _nearest_combination(s: Settings, limits: Limits) -> tuple[list[Fix], float | None]:
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
    sets = [cs for cs in _countermeasure_sets() if set(current_cms) <= set(cs)]
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


def _worst_mode(s: Settings) -> Settings:
    """Return ``s`` under the entitlement mode with the longest worst-case window (the first of equals)."""
    variants = [s if m is s.entitlement_mode else s.replace(entitlement_mode=m) for m in EntitlementMode]
    return max(variants, key=lambda v: worst_case(v).effective_end)


def check(s: Settings, limits: Limits) -> CheckResult:
    """Return whether ``s`` meets ``limits``, and for each broken limit the breaking hop and the fixes.

    With ``limits.all_modes`` the window is the longest under the three entitlement modes, its hops are those of
    that mode, and every proposed fix must meet the limit under all three.
    """
    if limits.all_modes:
        s = _worst_mode(s)
    b = worst_case(s)
    window = b.effective_end
    tta = time_to_access(s, limits.access_path)
    violations: list[Violation] = []
    if limits.max_window is not None and window > limits.max_window:

        def window_metric(x: Settings) -> float:
            if limits.all_modes:
                return max(worst_case(x.replace(entitlement_mode=m)).effective_end for m in EntitlementMode)
            return worst_case(x).effective_end

        fixes = _duration_fixes(s, _WINDOW_KNOBS, window_metric, limits.max_window)
        fixes += _switch_fixes(s, window_metric, limits.max_window)
        combined: list[Fix] = []
        combined_window: float | None = None
        if not any(fx.proposed is not None and fx.configurable for fx in fixes):
            combined, combined_window = _nearest_combination(
                s, Limits(max_window=limits.max_window, all_modes=limits.all_modes)
            )
        violations.append(
            _violation("max_window", limits.max_window, window, window_hops(s, b), fixes, combined, combined_window)
        )
    if limits.max_time_to_access is not None and tta > limits.max_time_to_access:
        path = limits.access_path

        def access_metric(x: Settings) -> float:
            return time_to_access(x, path)

        fixes = _duration_fixes(s, _ACCESS_KNOBS[path], access_metric, limits.max_time_to_access)
        if s.approval_required:
            after = access_metric(s.replace(approval_required=False))
            fixes.append(
                Fix(
                    "approval_required",
                    "true",
                    "false" if after <= limits.max_time_to_access else None,
                    True,
                    f"approvers may take up to 24 h [E-APPRV]; without approval the worst case is {format_duration(after)}",
                )
            )
        violations.append(_violation("max_time_to_access", limits.max_time_to_access, tta, access_hops(s, path), fixes))
    return CheckResult(s, limits, b, window, tta, tuple(violations))


# --- check files ---------------------------------------------------------------------------------------


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


# --- advise --------------------------------------------------------------------------------------------

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


def _countermeasure_sets() -> list[tuple[str, ...]]:
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
    sets = _countermeasure_sets() if countermeasure_sets is None else list(countermeasure_sets)
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
            load_settings(
                {
                    **base_values,
                    "activation_max": act,
                    "portal_session": portal,
                    "permission_set_session": perm,
                    "entitlement_mode": mode,
                    **{c: c in cms for c in COUNTERMEASURES},
                },
                where="",
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
    rows.sort(
        key=lambda r: (
            r.time_to_access,
            len(r.countermeasures),
            -r.settings.activation_max,
            -r.settings.portal_session,
            -r.settings.permission_set_session,
            r.window,
            r.settings.entitlement_mode.value,
            r.countermeasures,
        )
    )
    return rows
