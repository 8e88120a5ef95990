"""The worst case under each documented failure mode, with the conditions each figure assumes.

``jitbox bound`` prints the case asked for (the settings, with ``failed_removals`` retried failures) and, below it,
the same case under each failure mode; ``jitbox check`` and the demo use the same cases. Every figure comes from
:func:`sim.bounds.worst_case`, so the simulator never exceeds a case under the conditions that case states.

Failure modes (sources in ``../shared/reference/``):

- ``failed_removals``: removal attempts fail with 429/5xx/timeouts and are retried on the next cycle, "in 40
  minutes" [E-PLOGS];
- ``escrow``: a removal attempt fails with another error and waits for the escrow retry, 6 h later [E-QUAR];
- ``quarantine``: the job is quarantined and runs one cycle a day [E-QUAR][E-HOW];
- ``cycle_jitter``: the cycle runs only "approximately" every 40 minutes [E-AWS]; the variation is UNCONFIRMED, so
  the case shows :data:`EXAMPLE_CYCLE_JITTER` unless the settings state one;
- ``initial_cycle``: the removal falls in the initial cycle, which takes up to 0.08 min per assigned user, group and
  member [E-WHEN] (:data:`EXAMPLE_OBJECTS` objects unless stated);
- ``legacy_cli``: users on the legacy non-refreshable CLI profile keep a fixed 8-hour session [SDK-ssocred].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim import rules
from sim.bounds import Bound, drawn_cycle_conditions, drawn_failures_worst, worst_case
from sim.durations import format_duration
from sim.settings import INITIAL_CYCLE_PER_OBJECT_MAX, MINUTE, Settings

__all__ = ["EXAMPLE_CYCLE_JITTER", "EXAMPLE_OBJECTS", "Case", "asked_case", "conditions", "degraded_cases"]

EXAMPLE_CYCLE_JITTER = 10 * MINUTE
"""The cycle variation shown when the settings state none ("approximately" 40 min [E-AWS]; magnitude UNCONFIRMED)."""

EXAMPLE_OBJECTS = 1000
"""The scope shown for the initial-cycle case when none is given (users + groups + members [E-WHEN])."""


@dataclass(frozen=True)
class Case:
    """The worst case under one set of conditions."""

    key: str
    title: str
    source: str
    conditions: tuple[str, ...]
    bound: Bound

    def as_dict(self) -> dict[str, Any]:
        """Return the case as JSON-ready data (seconds from activation start)."""
        return {
            "key": self.key,
            "title": self.title,
            "source": self.source,
            "conditions": list(self.conditions),
            "idc_removal": self.bound.idc_removal,
            "effective_end": self.bound.effective_end,
            "bound": self.bound.as_dict(),
        }


def conditions(s: Settings, *, quarantined: bool = False, objects: int = 0) -> tuple[str, ...]:
    """Return, in words, the conditions :func:`sim.bounds.worst_case` assumes for ``s`` (with the quarantine and the
    initial cycle the settings let the simulator draw, :func:`sim.bounds.drawn_cycle_conditions`)."""
    f = format_duration
    failed = drawn_failures_worst(s)
    drawn_quarantine, drawn_objects = drawn_cycle_conditions(s)
    quarantined = quarantined or drawn_quarantine
    objects = max(objects, drawn_objects)
    portal = f"portal session {f(s.portal_session)}"
    if s.legacy_cli:
        portal += f" (legacy CLI profile: {f(rules.portal_session_length(s))} fixed session [SDK-ssocred])"
    out = [
        f"PIM activation {f(s.activation_max)}; {portal}; permission set {f(s.permission_set_session)}; "
        f"entitlement mode {s.entitlement_mode.value}",
        f"Entra membership change within {f(s.membership_latency_max)} [E-ACT]",
        f"provisioning cycle every {f(s.cycle_interval)}"
        + (f" (each up to {f(s.cycle_jitter)} late)" if s.cycle_jitter else " exactly")
        + (" — quarantined: one cycle a day [E-QUAR]" if quarantined else ", job not quarantined"),
    ]
    if objects:
        out.append(f"removal in the initial cycle over {objects} objects (up to 0.08 min each [E-WHEN])")
    if not failed:
        out.append("every removal attempt succeeds")
    else:
        kinds = ", ".join(k.value for k in failed)
        out.append(f"{len(failed)} failed removal attempt(s) before the one that succeeds: {kinds} [E-PLOGS][E-QUAR]")
    on = [c for c in ("end_portal_sessions", "deny_tokens_before_expiry", "remove_idc_membership") if getattr(s, c)]
    out.append("countermeasures: " + (", ".join(on) if on else "none"))
    return tuple(out)


def _retry_wait(s: Settings) -> float:
    """Return the longest wait for the next cycle's attempt after a failed one: a day when quarantined [E-QUAR]."""
    quarantined, _objects = drawn_cycle_conditions(s)
    return rules.quarantine_wait_max(s) if quarantined else rules.removal_retry_wait_max(s)


def asked_case(s: Settings) -> Case:
    """Return the case the settings state (``failed_removals`` and the drawn quarantine and initial cycle
    included)."""
    failed = drawn_failures_worst(s)
    quarantined, objects = drawn_cycle_conditions(s)
    parts = [f"{len(failed)} failed removal(s)"] if failed else []
    parts += ["quarantined job"] if quarantined else []
    parts += [f"initial cycle over {objects} objects"] if objects else []
    return Case("asked", ", ".join(parts) or "nominal", "", conditions(s), worst_case(s))


def degraded_cases(s: Settings, *, objects: int = 0) -> list[Case]:
    """Return the worst case of ``s`` under each failure mode, each on top of what ``s`` already states."""
    f = format_duration
    one_more = s.replace(failed_removals=min(10, s.failed_removals + 1))
    escrow_seq = (*drawn_failures_worst(s), rules.FailureKind.ESCROW)
    jitter = s if s.cycle_jitter else s.replace(cycle_jitter=EXAMPLE_CYCLE_JITTER)
    scope = objects or EXAMPLE_OBJECTS
    legacy = s.replace(legacy_cli=True)
    escrow_conditions = (
        *conditions(s)[:-2],
        "then one escrowed failure: retried 6 h later [E-QUAR]",
        conditions(s)[-1],
    )
    cases = [
        Case(
            "failed_removals",
            f"{one_more.failed_removals} failed removal(s), each retried on the next cycle (+{f(_retry_wait(s))})",
            "[E-PLOGS]",
            conditions(one_more),
            worst_case(one_more),
        ),
        Case(
            "escrow",
            "a removal failure that goes to escrow (retried 6 h later)",
            "[E-QUAR]",
            escrow_conditions,
            worst_case(s, escrow_seq),
        ),
        Case(
            "quarantine",
            "the job in quarantine (one cycle a day)",
            "[E-QUAR][E-HOW]",
            conditions(s, quarantined=True),
            worst_case(s, quarantined=True),
        ),
        Case(
            "cycle_jitter",
            f'cycles up to {f(jitter.cycle_jitter)} late ("approximately" 40 min; UNCONFIRMED magnitude)',
            "[E-AWS]",
            conditions(jitter),
            worst_case(jitter),
        ),
        Case(
            "initial_cycle",
            f"removal in the initial cycle over {scope} objects (+{f(scope * INITIAL_CYCLE_PER_OBJECT_MAX)})",
            "[E-WHEN]",
            conditions(s, objects=scope),
            worst_case(s, objects=scope),
        ),
    ]
    if not s.legacy_cli:
        cases.append(
            Case(
                "legacy_cli",
                "users on the legacy CLI profile (fixed 8 h session)",
                "[SDK-ssocred]",
                conditions(legacy),
                worst_case(legacy),
            )
        )
    return cases
