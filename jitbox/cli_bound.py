"""``jitbox bound``: the closed-form worst case for one settings combination."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from sim.bounds import provisioning_warning, worst_case
from sim.durations import format_duration
from sim.failure_modes import Case, asked_case, degraded_cases
from sim.settings import EntitlementMode, Settings, SettingsError, load_settings

__all__ = ["register"]

_FLAGS = {
    "activation_max": "--activation",
    "portal_session": "--portal",
    "permission_set_session": "--permission-set",
    "failed_removals": "--failed-removals",
    "initial_cycle_objects": "--objects",
}


def bound(
    activation: Annotated[str, typer.Option("--activation", help="PIM activation duration (30m-24h), e.g. 1h")] = "8h",
    portal: Annotated[str, typer.Option("--portal", help="AWS access portal session (15m-90d)")] = "8h",
    permission_set: Annotated[str, typer.Option("--permission-set", help="permission-set session (1h-12h)")] = "1h",
    mode: Annotated[EntitlementMode, typer.Option("--mode", help="portal entitlement mode")] = (
        EntitlementMode.SIGNIN_SNAPSHOT
    ),
    end_portal_sessions: Annotated[bool, typer.Option(help="countermeasure: end portal sessions at expiry")] = False,
    deny_tokens: Annotated[bool, typer.Option(help="countermeasure: deny role sessions issued before expiry")] = False,
    remove_idc_membership: Annotated[
        bool, typer.Option(help="countermeasure: remove the Identity Center membership directly at expiry")
    ] = False,
    failed_removals: Annotated[
        int,
        typer.Option(
            "--failed-removals",
            help="assume the first N removal attempts fail (429/5xx/timeout) and are retried on the following cycles",
        ),
    ] = 0,
    legacy_cli: Annotated[
        bool, typer.Option("--legacy-cli", help="users on the legacy non-refreshable CLI profile (fixed 8 h session)")
    ] = False,
    objects: Annotated[
        int, typer.Option("--objects", min=0, help="users + groups + members in scope, for the initial-cycle case")
    ] = 0,
    quarantined: Annotated[
        bool, typer.Option("--quarantined", help="assume the provisioning job is quarantined (one cycle a day)")
    ] = False,
    initial_cycle: Annotated[
        bool,
        typer.Option("--initial-cycle", help="assume the removal falls in an initial cycle over --objects objects"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the bound as JSON (seconds)")] = False,
) -> None:
    """Print the closed-form worst-case window of access for one settings combination: the case asked for, the
    conditions it assumes, and below it the worst case under each documented failure mode."""
    values = {
        "activation_max": activation,
        "portal_session": portal,
        "permission_set_session": permission_set,
        "entitlement_mode": mode,
        "end_portal_sessions": end_portal_sessions,
        "deny_tokens_before_expiry": deny_tokens,
        "remove_idc_membership": remove_idc_membership,
        "failed_removals": failed_removals,
        "legacy_cli": legacy_cli,
        # the simulator draws these with a probability; 1 = every removal (the conditions `bound` then states)
        "removal_quarantine_probability": 1.0 if quarantined else 0.0,
        "initial_cycle_probability": 1.0 if initial_cycle else 0.0,
        "initial_cycle_objects": objects if initial_cycle else 0,
    }
    if initial_cycle and not objects:
        typer.echo("jitbox bound: --initial-cycle needs --objects N (users + groups + members in scope)", err=True)
        raise typer.Exit(2)
    try:
        settings = load_settings(values, where="")
    except SettingsError as exc:
        message = str(exc)
        for field, flag in _FLAGS.items():
            message = message.replace(f"{field}:", f"{flag}:").replace(f"{field} =", f"{flag} =")
        typer.echo(f"jitbox bound: invalid settings:\n{message}", err=True)
        raise typer.Exit(2) from None
    asked = asked_case(settings)
    degraded = degraded_cases(settings, objects=objects)
    if as_json:
        typer.echo(json.dumps(_bound_json(settings, asked, degraded), indent=2))
        return
    _print_bound(settings, asked, degraded)
    warning = provisioning_warning(settings)
    if warning:
        typer.echo(warning)


def _bound_json(settings: Settings, asked: Case, degraded: list[Case]) -> dict[str, Any]:
    """Return ``jitbox bound --json``'s document: the settings, the asked case's conditions and bound, the nominal
    bound (no failure) and the worst case under each failure mode (seconds)."""
    nominal = settings.replace(failed_removals=0, removal_quarantine_probability=0, initial_cycle_probability=0)
    return {
        "settings": settings.model_dump(mode="json"),
        "conditions": list(asked.conditions),
        "bound": asked.bound.as_dict(),
        "nominal": worst_case(nominal).as_dict(),
        "degraded": [c.as_dict() for c in degraded],
    }


def _print_bound(settings: Settings, asked: Case, degraded: list[Case]) -> None:
    """Print the asked case's bound, what it assumes and the worst case under each failure mode."""
    b, f = asked.bound, format_duration
    typer.echo(f"intended window        {f(b.intended_window)}")
    typer.echo(f"seed-style window      {f(b.seed_window)}  (activation + portal + permission set, [AWS-BLOG])")
    typer.echo(f"worst-case access end  {f(b.effective_end)} after activation  (overhang {f(b.overhang)})")
    typer.echo(
        f"time to access         fast path ≤ {f(b.time_to_access_fast)}, throttled ≤ {f(b.time_to_access_throttled)}"
    )
    typer.echo(b.explain(settings))
    typer.echo(f"assumes ({asked.title}):")
    for line in asked.conditions:
        typer.echo(f"  - {line}")
    typer.echo("worst case under each failure mode (on top of the conditions above):")
    for case in degraded:
        typer.echo(
            f"  {case.title}\n      Identity Center removal {f(case.bound.idc_removal)}, "
            f"access until {f(case.bound.effective_end)} after activation  {case.source}"
        )


def register(app: typer.Typer) -> None:
    """Add ``bound`` to the ``jitbox`` command line."""
    app.command("bound")(bound)
