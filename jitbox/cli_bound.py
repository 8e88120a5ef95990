"""``jitbox bound``: the closed-form worst case for one settings combination."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from sim.bounds import worst_case
from sim.durations import format_duration
from sim.settings import EntitlementMode, SettingsError, load_settings

__all__ = ["register"]

_FLAGS = {
    "activation_max": "--activation",
    "portal_session": "--portal",
    "permission_set_session": "--permission-set",
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
    as_json: Annotated[bool, typer.Option("--json", help="print the bound as JSON (seconds)")] = False,
) -> None:
    """Print the closed-form worst-case window of access for one settings combination."""
    values = {
        "activation_max": activation,
        "portal_session": portal,
        "permission_set_session": permission_set,
        "entitlement_mode": mode,
        "end_portal_sessions": end_portal_sessions,
        "deny_tokens_before_expiry": deny_tokens,
        "remove_idc_membership": remove_idc_membership,
    }
    try:
        settings = load_settings(values, where="")
    except SettingsError as exc:
        message = str(exc)
        for field, flag in _FLAGS.items():
            message = message.replace(f"{field}:", f"{flag}:").replace(f"{field} =", f"{flag} =")
        typer.echo(f"jitbox bound: invalid settings:\n{message}", err=True)
        raise typer.Exit(2) from None
    b = worst_case(settings)
    if as_json:
        typer.echo(json.dumps({"settings": settings.model_dump(mode="json"), "bound": b.as_dict()}, indent=2))
        return
    f = format_duration
    typer.echo(f"intended window        {f(b.intended_window)}")
    typer.echo(f"seed-style window      {f(b.seed_window)}  (activation + portal + permission set, [AWS-BLOG])")
    typer.echo(f"worst-case access end  {f(b.effective_end)} after activation  (overhang {f(b.overhang)})")
    typer.echo(
        f"time to access         fast path ≤ {f(b.time_to_access_fast)}, throttled ≤ {f(b.time_to_access_throttled)}"
    )
    typer.echo(b.explain(settings))


def register(app: typer.Typer) -> None:
    """Add ``bound`` to the ``jitbox`` command line."""
    app.command("bound")(bound)
