"""``jitbox check`` (policy gate for CI) and ``jitbox advise`` (settings that meet a target).

Exit codes of ``check``: 0 every limit holds, 1 a limit is broken (the report names the hop and the fixes),
2 the file or a flag is unusable (the message names it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sim.advise import (
    DEFAULT_ACTIVATIONS,
    DEFAULT_MODES,
    DEFAULT_PERMISSION_SETS,
    DEFAULT_PORTALS,
    RANKING,
    AdviceRow,
    advise,
    floors,
)
from sim.bounds import time_to_access
from sim.check import check
from sim.durations import DurationError, format_duration, parse_duration
from sim.limits import CheckError, Limits, load_check_file, parse_access_path, parse_limit
from sim.settings import EntitlementMode, Settings

__all__ = ["parse_duration_list", "register", "with_failed_removals"]


MaxWindowOption = Annotated[
    str | None, typer.Option("--max-window", help="longest allowed window from activation start, e.g. 2h")
]
MaxTimeToAccessOption = Annotated[
    str | None, typer.Option("--max-time-to-access", help="longest allowed request → access time, e.g. 15m")
]
FailedRemovalsOption = Annotated[
    int | None,
    typer.Option(
        "--failed-removals",
        min=0,
        max=10,
        help="require the limit to hold when the first N removal attempts fail and are retried on the next cycles",
    ),
]


def with_failed_removals(s: Settings, failed_removals: int | None) -> Settings:
    """Return ``s`` assuming ``failed_removals`` failed removal attempts (None keeps the settings' own)."""
    return s if failed_removals is None else s.replace(failed_removals=failed_removals)


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"jitbox {command}: {message}", err=True)
    return typer.Exit(2)


def parse_duration_list(text: str, flag: str) -> list[float]:
    """Return a comma-separated list of durations (``1h,2h,PT4H``) in seconds; errors name ``flag``."""
    values: list[float] = []
    for part in text.split(","):
        try:
            values.append(parse_duration(part.strip()))
        except DurationError as exc:
            raise CheckError(f"{flag}: {exc}") from None
    return values


def _limit(text: str | None, flag: str, from_file: float | None) -> float | None:
    """Return the limit given on the command line, else the one from the settings file."""
    return parse_limit(text, flag) if text is not None else from_file


def _modes(text: str | None) -> list[EntitlementMode]:
    if text is None:
        return list(EntitlementMode)
    modes = []
    for part in text.split(","):
        try:
            modes.append(EntitlementMode(part.strip()))
        except ValueError:
            accepted = ", ".join(m.value for m in EntitlementMode)
            raise CheckError(f"--mode: {part.strip()!r} is not an entitlement mode; use {accepted}") from None
    return modes


def _countermeasure_sets(text: str | None) -> list[tuple[str, ...]] | None:
    """Parse ``--countermeasures``: comma-separated sets, each ``none``, ``all`` or a '+'-joined set of names."""
    if text is None:
        return None
    from sim.sweep_spec import countermeasure_set

    try:
        return [countermeasure_set(part.strip()) for part in text.split(",")]
    except ValueError as exc:
        raise CheckError(f"--countermeasures: {exc}") from None


def check_command(
    settings_file: Annotated[Path, typer.Argument(help="TOML file of Settings fields (durations as strings)")],
    max_window: MaxWindowOption = None,
    max_time_to_access: MaxTimeToAccessOption = None,
    failed_removals: FailedRemovalsOption = None,
    access_path: Annotated[
        str | None,
        typer.Option("--access-path", help="time-to-access path: fast (first 5 per 10 s) or throttled (6th+)"),
    ] = None,
    all_modes: Annotated[
        bool | None,
        typer.Option("--all-modes/--declared-mode", help="check the window under every (UNCONFIRMED) entitlement mode"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON (seconds)")] = False,
    gantt: Annotated[
        Path | None, typer.Option("--gantt", help="also write the worst-case timeline (Gantt) as a PNG here")
    ] = None,
) -> None:
    """Fail (exit 1) when the worst case of SETTINGS_FILE breaks a limit; explain the hop and the fixes."""
    try:
        settings, file_limits = load_check_file(settings_file)
        limits = Limits(
            max_window=_limit(max_window, "--max-window", file_limits.max_window),
            max_time_to_access=_limit(max_time_to_access, "--max-time-to-access", file_limits.max_time_to_access),
            access_path=parse_access_path(access_path, "--access-path")
            if access_path is not None
            else file_limits.access_path,
            all_modes=file_limits.all_modes if all_modes is None else all_modes,
        )
    except CheckError as exc:
        raise _fail("check", str(exc)) from None
    if limits.is_empty():
        raise _fail("check", "no limit to check: give --max-window and/or --max-time-to-access, or a [limits] table")
    result = check(with_failed_removals(settings, failed_removals), limits)
    if gantt is not None:
        from sim.figures import gantt_figure, png_bytes

        try:
            gantt.write_bytes(png_bytes(gantt_figure(result.settings, limits.access_path, title=str(settings_file))))
        except OSError as exc:
            raise _fail("check", f"--gantt: cannot write {gantt} ({exc.strerror or exc})") from None
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    else:
        typer.echo(result.render(str(settings_file)))
    if not result.ok:
        raise typer.Exit(1)


def _advise_modes(modes: str | None, robust: bool) -> list[EntitlementMode]:
    """Return the modes advise uses: the documented one by default, every mode with ``--robust``, else as listed."""
    if modes is not None:
        return _modes(modes)
    return list(EntitlementMode) if robust else list(DEFAULT_MODES)


def _modes_line(modes: list[EntitlementMode], robust: bool) -> str:
    names = ", ".join(m.value for m in modes)
    unconfirmed = [m.value for m in modes if m is not EntitlementMode.SIGNIN_SNAPSHOT]
    if robust:
        head = f"entitlement modes: every one of {names} (robust: the worst of them)"
    else:
        head = f"entitlement mode: {names}"
    if not unconfirmed:
        return head + " — the seed's documented behaviour [AWS-BLOG]; UNCONFIRMED modes only with --mode or --robust"
    return head + f" — {', '.join(unconfirmed)} UNCONFIRMED (which mode AWS uses is not documented)"


def _floor_lines(base: Settings, limits: Limits, modes: list[EntitlementMode], robust: bool, sets: Any) -> list[str]:
    f = format_duration
    lines = ["no combination in the grid meets the target."]
    if limits.max_window is not None:
        result = floors(base, modes=modes if robust else modes[:1], countermeasure_sets=sets)
        best = min(result, key=lambda fl: fl.window)
        lines.append(
            f"smallest achievable window per countermeasure set (every duration at its documented minimum: "
            f"activation {f(best.settings.activation_max)}, portal {f(best.settings.portal_session)}, "
            f"permission set {f(best.settings.permission_set_session)}; limit {f(limits.max_window)}):"
        )
        lines.extend(f"  {fl.render(limits.max_window)}" for fl in result)
        if best.window > limits.max_window:
            lines.append(f"no settings meet {f(limits.max_window)}: the floor is {f(best.window)}; relax the limit")
        else:
            lines.append(
                "settings below the grid meet it: add smaller values with --activation/--portal/--permission-set"
            )
    if limits.max_time_to_access is not None:
        tta = time_to_access(base, limits.access_path)
        if tta > limits.max_time_to_access:
            lines.append(
                f"time to access on the {limits.access_path.value} path is at least {f(tta)} "
                f"(limit {f(limits.max_time_to_access)}): set by approval and Entra provisioning [E-AWS], "
                "not by these durations"
            )
    return lines


def advise_command(
    max_window: MaxWindowOption = None,
    max_time_to_access: MaxTimeToAccessOption = None,
    access_path: Annotated[str, typer.Option("--access-path", help="fast or throttled")] = "fast",
    failed_removals: FailedRemovalsOption = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="base settings file (TOML); the grid varies the durations")
    ] = None,
    activations: Annotated[
        str | None, typer.Option("--activation", help="PIM activation maximum(s) to try, e.g. 30m,1h,2h")
    ] = None,
    portals: Annotated[str | None, typer.Option("--portal", help="access portal session(s), e.g. 15m,1h,8h")] = None,
    permission_sets: Annotated[
        str | None, typer.Option("--permission-set", help="permission-set session(s), e.g. 1h,2h")
    ] = None,
    modes: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="entitlement modes, comma-separated (default: signin_snapshot, the documented one; "
            "launch_check and cached_1h are UNCONFIRMED)",
        ),
    ] = None,
    countermeasures: Annotated[
        str | None,
        typer.Option(
            "--countermeasures",
            help="sets to try: none, all, or '+'-joined names, comma-separated (e.g. none,end_portal_sessions+deny_tokens_before_expiry)",
        ),
    ] = None,
    robust: Annotated[
        bool, typer.Option("--robust", help="require the target under every entitlement mode (or every --mode)")
    ] = False,
    top: Annotated[int, typer.Option("--top", min=1, help="how many combinations to print")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="print every matching combination as JSON")] = False,
) -> None:
    """List the settings combinations whose worst case meets the target, best first (exit 1 when none does)."""
    try:
        base, file_limits = load_check_file(settings_file) if settings_file is not None else (Settings(), Limits())
        limits = Limits(
            max_window=_limit(max_window, "--max-window", file_limits.max_window),
            max_time_to_access=_limit(max_time_to_access, "--max-time-to-access", file_limits.max_time_to_access),
            access_path=parse_access_path(access_path, "--access-path"),
        )
        mode_list = _advise_modes(modes, robust)
        sets = _countermeasure_sets(countermeasures)
        rows = advise(
            with_failed_removals(base, failed_removals),
            limits,
            activations=parse_duration_list(activations, "--activation") if activations else DEFAULT_ACTIVATIONS,
            portals=parse_duration_list(portals, "--portal") if portals else DEFAULT_PORTALS,
            permission_sets=parse_duration_list(permission_sets, "--permission-set")
            if permission_sets
            else DEFAULT_PERMISSION_SETS,
            modes=mode_list,
            countermeasure_sets=sets,
            robust=robust,
        )
    except CheckError as exc:
        raise _fail("advise", str(exc)) from None
    except ValueError as exc:  # a grid value outside the documented range (SettingsError names the field)
        raise _fail("advise", f"grid value out of range:\n{exc}") from None
    if as_json:
        doc = _advise_json(base, limits, rows, mode_list, robust, sets)
        typer.echo(json.dumps(doc, indent=2, sort_keys=True))
        if not rows:
            raise typer.Exit(1)
        return
    typer.echo(_modes_line(mode_list, robust))
    if not rows:
        typer.echo("\n".join(_floor_lines(base, limits, mode_list, robust, sets)))
        raise typer.Exit(1)
    _advise_table(rows, top, robust)
    typer.echo(f"ranked by: {RANKING}.")
    typer.echo(
        f"time to access is the worst case on the {limits.access_path.value} path; never = share of throttled "
        "requesters (6th+ in 10 s) whose activation ends before the next ~40-min cycle provisions it [E-AWS]."
    )


def _advise_json(
    base: Settings,
    limits: Limits,
    rows: list[Any],
    mode_list: list[EntitlementMode],
    robust: bool,
    sets: list[tuple[str, ...]] | None,
) -> dict[str, Any]:
    """Return ``jitbox advise --json``'s document: the modes, the ranked rows and, per countermeasure set, the floor
    (the smallest window any grid value reaches) with the hop that breaks the window limit."""
    floor_rows = floors(base, modes=mode_list if robust else mode_list[:1], countermeasure_sets=sets)
    return {
        "modes": [m.value for m in mode_list],
        "robust": robust,
        "ranked_by": RANKING,
        "rows": [r.as_dict() for r in rows],
        "floors": [
            {
                "countermeasures": list(fl.countermeasures),
                "bound_window": fl.window,
                "breaking_hop": (h.name if (h := fl.breaking_hop(limits.max_window)) else None),
                "hops": [{"name": h.name, "duration": h.duration, "end": h.end} for h in fl.hops],
            }
            for fl in floor_rows
        ],
    }


def _advise_table(rows: list[AdviceRow], top: int, robust: bool) -> None:
    f = format_duration
    table = Table(title=f"{len(rows)} combinations meet the target (best {min(top, len(rows))} shown)")
    columns = ("#", "activation", "portal", "perm. set", "mode", "countermeasures", "window", "time to access", "never")
    for column in columns:
        table.add_column(column)
    for i, row in enumerate(rows[:top], start=1):
        s = row.settings
        table.add_row(
            str(i),
            f(s.activation_max),
            f(s.portal_session),
            f(s.permission_set_session),
            "all (robust)" if robust else s.entitlement_mode.value,
            "+".join(row.countermeasures) or "none",
            f(row.window),
            f(row.time_to_access),
            f"{row.never_provisioned:.0%}",
        )
    Console(width=150).print(table)


def register(app: typer.Typer) -> None:
    """Add ``check`` and ``advise`` to the ``jitbox`` command line."""
    app.command("check")(check_command)
    app.command("advise")(advise_command)
