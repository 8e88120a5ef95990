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

Where the parts live: the hops and the time to access in :mod:`sim.bounds`, the limits and check files in
:mod:`sim.limits`, the fixes (bisection, countermeasures, nearest grid combination) in :mod:`sim.fixes`, the advise
grid in :mod:`sim.advise`; this module holds the check itself and its report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sim import rules
from sim.bounds import (
    Bound,
    Hop,
    access_hops,
    drawn_failures_worst,
    mode_variants,
    provisioning_warning,
    time_to_access,
    window_hops,
    worst_case,
)
from sim.durations import format_duration
from sim.fixes import ACCESS_KNOBS, WINDOW_KNOBS, Fix, duration_fixes, nearest_combination, switch_fixes
from sim.limits import Limits
from sim.settings import Settings

__all__ = ["CheckResult", "Violation", "check"]


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
    failure_mode: str | None = None
    """The failure mode that breaks the limit when the limit holds without it (``--failed-removals``)."""

    def render(self) -> str:
        """Return a multi-line explanation."""
        f = format_duration
        lines = [f"FAIL {self.limit_name}: worst case {f(self.actual)} > limit {f(self.limit)}"]
        if self.failure_mode is not None:
            lines.append(f"  broken by the failure mode: {self.failure_mode}")
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
        warning = provisioning_warning(self.settings)
        if warning:
            lines.append(warning)
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
            "warnings": [w for w in (provisioning_warning(self.settings) or "").split("\n") if w],
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
                    "failure_mode": v.failure_mode,
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


def _breaking_failure_mode(s: Settings, metric: Callable[[Settings], float], limit: float) -> str | None:
    """Return the failure mode the settings assume when the limit holds without it, else None."""
    failed = drawn_failures_worst(s)
    if not failed:
        return None
    nominal = metric(s.replace(failed_removals=0, removal_failure_probability=0.0))
    if nominal > limit:
        return None
    escrowed = sum(k is rules.FailureKind.ESCROW for k in failed)
    kinds = f"{len(failed) - escrowed} retried on the following cycles [E-PLOGS]" + (
        f", {escrowed} escrowed [E-QUAR]" if escrowed else ""
    )
    return (
        f"{len(failed)} failed removal attempt(s) ({kinds}); without failures the worst case is "
        f"{format_duration(nominal)}, within the limit"
    )


def _worst_mode(s: Settings) -> Settings:
    """Return ``s`` under the entitlement mode with the longest worst-case window (the first of equals)."""
    return max(mode_variants(s), key=lambda v: worst_case(v).effective_end)


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
                return max(worst_case(v).effective_end for v in mode_variants(x))
            return worst_case(x).effective_end

        fixes = duration_fixes(s, WINDOW_KNOBS, window_metric, limits.max_window)
        fixes += switch_fixes(s, window_metric, limits.max_window)
        combined: list[Fix] = []
        combined_window: float | None = None
        if not any(fx.proposed is not None and fx.configurable for fx in fixes):
            combined, combined_window = nearest_combination(
                s, Limits(max_window=limits.max_window, all_modes=limits.all_modes)
            )
        v = _violation("max_window", limits.max_window, window, window_hops(s, b), fixes, combined, combined_window)
        violations.append(replace(v, failure_mode=_breaking_failure_mode(s, window_metric, limits.max_window)))
    if limits.max_time_to_access is not None and tta > limits.max_time_to_access:
        path = limits.access_path

        def access_metric(x: Settings) -> float:
            return time_to_access(x, path)

        fixes = duration_fixes(s, ACCESS_KNOBS[path], access_metric, limits.max_time_to_access)
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
