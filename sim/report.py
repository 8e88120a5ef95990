"""Human-readable reports of simulator runs: a summary table, one activation's timeline and the windows.

Built with rich; on a terminal it is coloured, otherwise plain text (no escape codes). The JSON form of a run is
:meth:`sim.results.RunResult.to_json`; :func:`runs_json` bundles several runs of one scenario.

"Overhang" in the headline columns is the worst-case user's (signs in and launches at the last instant the
entitlement mode permits, :func:`sim.rules.latest_launch`), which is what :func:`sim.bounds.worst_case` bounds;
"modelled overhang" is the population's own users.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.durations import format_duration
from sim.results import OUTCOMES, RunResult

__all__ = [
    "example_activation",
    "render_run",
    "runs_json",
    "summary_table",
    "timeline",
    "timeline_table",
    "windows_lines",
]


_MODE_TAG = {"signin_snapshot": "[AWS-BLOG]", "launch_check": "[UG-revoke]", "cached_1h": "[UG23-auth]"}


def _f(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format_duration(x)


def _c(x: float | None) -> str:
    return _f(x).replace(" ", "")


def summary_table(results: list[RunResult], console: Console | None = None) -> Table:
    """Return one row per run: counts (fast path / throttled / never provisioned / approval expired), time to
    access and overhang percentiles, the simulated worst window and the closed-form bound. When a run draws
    degraded removals (failed attempts [E-PLOGS][E-QUAR], a quarantined job [E-QUAR], an initial cycle [E-WHEN]),
    an ``f/q/i`` column counts them and ``deprov`` (p50, max) gives the wait from intended end to removal."""
    plain = console is not None and not console.is_terminal
    aggregates = [r.aggregates() for r in results]
    degraded = any(_degraded_counts(a) != (0, 0, 0) for a in aggregates)
    table = Table(
        title="jitbox simulation",
        box=box.ASCII if plain else box.ROUNDED,
        caption="req: requests; fast/throttled/never: provisioning path; exp/deny: approvals expired (24 h) or "
        "denied; access: request → Identity Center member; overhang: worst-case user (last permitted sign-in and "
        "launch) past the intended end; user ovh: max overhang of the scenario's own users; worst: worst-case "
        "user's window from activation start; bound: sim.bounds.worst_case"
        + (
            "; f/q/i: removals with failed attempts / a quarantined job / an initial cycle (drawn); deprov: "
            "intended end → Identity Center removal, p50 and max"
            if degraded
            else ""
        ),
    )
    for col, justify in (
        ("run", "left"),
        ("req", "right"),
        ("fast", "right"),
        ("throttled", "right"),
        ("never", "right"),
        ("exp/deny", "right"),
        ("access p50/p90/max", "right"),
        ("overhang p50/max", "right"),
        ("user ovh", "right"),
        *((("f/q/i", "right"), ("deprov", "right")) if degraded else ()),
        ("worst", "right"),
        ("bound", "right"),
        ("ok", "center"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)
    for r, a in zip(results, aggregates, strict=True):
        label = r.name.rsplit("/", 1)[-1] if "/" in r.name else (r.name or "run")
        c = a["counts"]
        tta = a["time_to_access"]
        ov = a["overhang"]
        table.add_row(
            escape(label),
            str(c["requests"]),
            str(c["fast_path"]),
            str(c["throttled"]),
            str(c["never_provisioned"]),
            f"{c['approval_expired']}/{c['denied']}",
            f"{_c(tta['p50'])} {_c(tta['p90'])} {_c(tta['max'])}",
            f"{_c(ov['p50'])} {_c(ov['max'])}",
            _c(a["overhang_modelled"]["max"]),
            *(_degraded_cells(a) if degraded else ()),
            _c(a["sim_worst_window"]),
            _c(a["bound"]["effective_end"]),
            "yes" if a["within_bound"] else "NO",
        )
    return table


def _degraded_counts(a: dict[str, Any]) -> tuple[int, int, int]:
    """Return how many removals met failed attempts, a quarantined job and an initial cycle."""
    c = a["counts"]
    return c["removal_failed"], c["removal_quarantined"], c["removal_initial_cycle"]


def _degraded_cells(a: dict[str, Any]) -> tuple[str, str]:
    """Return the ``f/q/i`` and ``deprov`` cells of one run."""
    wait = a["deprovision_wait"]
    return "/".join(str(n) for n in _degraded_counts(a)), f"{_c(wait['p50'])} {_c(wait['max'])}"


def example_activation(result: RunResult) -> int | None:
    """Return the index of the activation to show in a timeline: the one with the largest worst-case overhang
    (earliest on ties), or None when no activation reached Identity Center."""
    ov = result.columns["overhang"]
    if len(ov) == 0 or bool(np.all(np.isnan(ov))):
        return None
    return int(np.nanargmax(ov))


def timeline(result: RunResult, i: int) -> list[tuple[float, str, str]]:
    """Return activation ``i``'s steps as ``(time, step, note)``, sorted by time (stable for ties).

    Steps: request, approval decision, activation, Entra member, Identity Center member, sign-in, first launch,
    intended end, Entra removal, Identity Center removal, modelled user's access end, latest launch, worst-case
    user's effective end.
    """
    rec = result.record(i)
    s = result.settings
    steps: list[tuple[float | None, str, str]] = [
        (rec.request, "request", "user asks PIM to activate the eligible group membership"),
        (
            rec.decision,
            f"approval {rec.outcome}",
            "approver answers (24 h limit [E-APPRV])",
        ),
        (rec.start, "activation start", f"requested {_f(rec.requested)} (max {_f(s.activation_max)}) [AWS-BLOG]"),
        (rec.entra_add, "Entra member", "PIM adds the group membership within seconds [E-ACT]"),
        (
            rec.idc_start,
            "Identity Center member",
            "fast path, 2–10 min [E-AWS]"
            if rec.path == "fast"
            else "throttled: next regular ~40-min cycle [E-AWS]"
            if rec.path == "throttled"
            else "",
        ),
        (
            rec.signin,
            "portal sign-in",
            f"modelled user ({result.population.behaviour}); portal session {_f(s.portal_session)} [UG-uis]",
        ),
        (
            rec.first_launch,
            "first launch",
            f"permission-set session {_f(s.permission_set_session)} [UG23-howto]; {rec.launches} launch(es)",
        ),
        (
            rec.intended_end,
            "intended end",
            "self-deactivated" if rec.self_deactivated else "activation expires",
        ),
        (rec.entra_remove, "Entra removal", "PIM removes the membership within seconds [E-ACT]"),
        (
            rec.idc_end,
            "Identity Center removal",
            "removed directly (countermeasure) [UG-revoke]"
            if s.remove_idc_membership and rec.intended_end is not None and rec.idc_end == rec.intended_end
            else "next regular cycle; removal is not accelerated [E-AWS]",
        ),
        (rec.effective_end, "modelled user's access ends", "last role session of the modelled user"),
        (
            rec.latest_launch,
            "latest launch",
            f"worst-case user signs in just before the removal and launches at the last permitted instant "
            f"({s.entitlement_mode.value} {_MODE_TAG[s.entitlement_mode.value]})",
        ),
        (
            rec.worst_effective_end,
            "effective end",
            f"worst-case user's role session ({_f(s.permission_set_session)}) ends; overhang {_f(rec.overhang)}",
        ),
    ]
    out = [(t, name, note) for t, name, note in steps if t is not None and not math.isnan(t)]
    return sorted(out, key=lambda x: x[0])


def timeline_table(result: RunResult, i: int, console: Console | None = None) -> Table:
    """Return activation ``i``'s timeline as a table with offsets from its request."""
    plain = console is not None and not console.is_terminal
    rec = result.record(i)
    table = Table(
        title=f"timeline of activation #{i} ({rec.path}, approval {rec.outcome})",
        box=box.ASCII if plain else box.SIMPLE_HEAVY,
    )
    table.add_column("t+", justify="right")
    table.add_column("step")
    table.add_column("why")
    for t, name, note in timeline(result, i):
        table.add_row(format_duration(t - rec.request), escape(name), escape(note))
    return table


def windows_lines(result: RunResult) -> list[str]:
    """Return the windows of access: the seed post's sum, the closed-form worst case and the simulated worst."""
    b = result.bound()
    s = result.settings
    return [
        f"intended window               {_f(b.intended_window)}  (PIM activation maximum)",
        f"seed-style window             {_f(b.seed_window)}  = activation {_f(s.activation_max)} + portal "
        f"{_f(s.portal_session)} + permission set {_f(s.permission_set_session)}  [AWS-BLOG]",
        f"worst case (closed form)      {_f(b.effective_end)}  adds the deprovisioning wait {_f(b.deprovision_wait)} "
        "(Entra removal + next regular cycle) [E-AWS][E-ACT]",
        f"worst simulated window        {_f(result.worst_window())}  (worst-case user, over {result.n} requests)",
        b.explain(s),
    ]


def render_run(results: list[RunResult], console: Console, activation: int | None = None) -> None:
    """Print the summary table, then for the first run the timeline of one activation and the windows."""
    console.print(summary_table(results, console))
    if not results:
        return
    first = results[0]
    i = example_activation(first) if activation is None else activation
    if i is not None:
        console.print(timeline_table(first, i, console))
    for line in windows_lines(first):
        console.print(line, highlight=False, markup=False)
    for r in results:
        if not r.aggregates()["within_bound"]:
            console.print(f"[bold red]BUG: {r.name} exceeds its closed-form bound[/]")


def runs_json(scenario: str, description: str, seed: int, results: list[RunResult], records: bool = True) -> str:
    """Return the JSON document for a scenario run: inputs, aggregates and (by default) every activation record.

    Keys sorted, floats rounded to milliseconds: the same seed gives the same bytes.
    """
    doc: dict[str, Any] = {
        "scenario": scenario,
        "description": description,
        "seed": seed,
        "outcomes": list(OUTCOMES),
        "runs": [r.to_dict(records) for r in results],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
