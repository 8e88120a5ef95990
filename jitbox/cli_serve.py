"""``jitbox serve``: run the fakes over HTTP until Ctrl-C (see :mod:`jitbox.serve`).

The web stack and the fakes are imported inside the command, so other commands start without them.
"""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from sim.durations import format_duration

__all__ = ["register", "serve"]


def serve(
    clock: Annotated[str, typer.Option("--clock", help="manual | wall | scaled:N (N virtual seconds per second)")] = (
        "manual"
    ),
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Identity Center port (SCIM, AWS APIs, portal); 0 picks a free one")
    ] = 6470,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="SQLite file keeping both fakes (Entra and Identity Center) across restarts, written before each "
            "response (README: What --state keeps)",
        ),
    ] = None,
    config_out: Annotated[
        Path | None, typer.Option("--config-out", help="write the config JSON (scim_url, scim_token, ...) here")
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="SCIM bearer secret to use when none exists yet")] = None,
    rate_limit: Annotated[
        float,
        typer.Option(
            "--rate-limit", help="SCIM requests/second before 429; 0 = off (default: AWS publishes no number)"
        ),
    ] = 0.0,
    seed: Annotated[int | None, typer.Option("--seed", help="seed for ids, tenant id and token")] = None,
    string_booleans: Annotated[
        bool, typer.Option(help='accept Entra\'s legacy "False" string for active (AWS handling UNCONFIRMED)')
    ] = True,
    put_user_status: Annotated[int, typer.Option("--put-user-status", help="PutUser success status, 200 or 201")] = 200,
    replace_empty_members_quirk: Annotated[
        bool,
        typer.Option(help="reproduce the observed 'replace members []' -> 204 no-op instead of the documented 400"),
    ] = False,
    entra_port: Annotated[int, typer.Option("--entra-port", help="Entra (Graph) port; 0 picks a free one")] = 6471,
    world: Annotated[
        str | None,
        typer.Option(
            "--world",
            help="world file (TOML/JSON: Entra users, groups, PIM, app assignments + [identity_center] permission "
            "sets and account assignments) or a shipped world's name; default: seed",
        ),
    ] = None,
    entra_world: Annotated[
        Path | None, typer.Option("--entra-world", help="same as --world (kept for old Entra-only world files)")
    ] = None,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            help="TOML settings file (the fields of sim.settings, as for `jitbox check`) shared by both fakes: "
            "PIM activation maximum, provisioning timing, portal session, entitlement mode",
        ),
    ] = None,
    graph_token_lifetime: Annotated[
        str,
        typer.Option(
            "--graph-token-lifetime",
            help="how long a Graph token lives on the sandbox clock, 10m-1d (Entra: 60-90 min; UNCONFIRMED)",
        ),
    ] = "60m",
    graph_page_size: Annotated[
        int,
        typer.Option(
            "--graph-page-size",
            help="items per Graph collection page without $top, 1-999 (Graph: 100 for users and groups; UNCONFIRMED)",
        ),
    ] = 100,
) -> None:
    """Serve the fake IAM Identity Center (SCIM + AWS APIs + /_sandbox controls) and the fake Entra until Ctrl-C."""
    from scim_server.app import ScimOptions

    _check_flags(port, entra_port, put_user_status, rate_limit, config_out)
    lifetime = _token_lifetime(graph_token_lifetime)
    if not 1 <= graph_page_size <= 999:
        raise typer.BadParameter(f"{graph_page_size} is not from 1 to 999", param_hint="--graph-page-size")
    the_world, settings, the_clock = _load_inputs(world, entra_world, settings_file, clock)
    options = ScimOptions(
        rate_limit_rps=rate_limit,
        string_booleans=string_booleans,
        put_user_status=put_user_status,
        replace_empty_members_quirk=replace_empty_members_quirk,
    )
    sandbox = _start(
        the_clock,
        host=host,
        scim_port=port,
        state_path=state,
        seed=seed,
        token=token,
        scim_options=options,
        options={
            "entra_port": entra_port,
            "seed": seed,
            "graph_token_lifetime": lifetime,
            "graph_page_size": graph_page_size,
        },
        settings=settings,
        world=the_world,
    )
    with sandbox:
        cfg = sandbox.config()
        _print_config(cfg)
        if config_out is not None:
            _write_atomically(config_out, json.dumps(cfg, indent=2) + "\n")
            typer.echo(f"config written to {config_out}")
        typer.echo("Ctrl-C to stop.")
        _wait_for_signal()
    typer.echo("stopped.")


def _check_flags(port: int, entra_port: int, put_user_status: int, rate_limit: float, config_out: Path | None) -> None:
    """Exit 2 with a message naming the flag when a plain flag value is unusable."""
    if not 0 <= port <= 65535:
        _fail(f"--port {port}: must be 0-65535 (0 picks a free port)")
    if not 0 <= entra_port <= 65535:
        _fail(f"--entra-port {entra_port}: must be 0-65535 (0 picks a free port)")
    if put_user_status not in (200, 201):
        _fail(f"--put-user-status {put_user_status}: must be 200 or 201")
    if not math.isfinite(rate_limit) or rate_limit < 0:
        _fail(f"--rate-limit {rate_limit}: must be a finite number >= 0 (0 disables the limit)")
    if config_out is not None and config_out.parent and not config_out.parent.exists():
        _fail(f"--config-out {config_out}: directory {config_out.parent} does not exist")


def _token_lifetime(text: str) -> float:
    """Return ``--graph-token-lifetime`` in seconds, or exit 2 naming the flag and the allowed range."""
    from pim_fake.tokens import parse_token_lifetime

    try:
        return parse_token_lifetime(text, f"--graph-token-lifetime {text}")
    except ValueError as exc:
        _fail(str(exc))


def _load_inputs(
    world: str | None, entra_world: Path | None, settings_file: Path | None, clock: str
) -> tuple[Any, Any, Any]:
    """Return ``(world, settings or None, clock)`` read from the flags; exit 2 naming the flag when one is bad."""
    from jitbox.world import WorldError, load_world
    from sim.clock import ClockError, clock_from_spec
    from sim.limits import CheckError, load_check_file

    if entra_world is not None and not entra_world.is_file():
        _fail(f"--entra-world {entra_world}: no such file")
    if world is not None and entra_world is not None:
        _fail("--world and --entra-world: give one (--entra-world is the old name of --world)")
    try:
        the_world = load_world(world if world is not None else entra_world)
    except WorldError as exc:
        _fail(f"--world: {exc}")
    settings = None
    if settings_file is not None:
        try:
            settings, _limits = load_check_file(settings_file)
        except CheckError as exc:
            _fail(f"--settings {exc}")
    try:
        the_clock = clock_from_spec(clock)
    except ClockError as exc:
        _fail(str(exc))
    return the_world, settings, the_clock


def _start(the_clock: Any, **kwargs: Any) -> Any:
    """Start the sandbox (:func:`jitbox.serve.start_sandbox`); exit 2 with the flag to change when it cannot start."""
    from jitbox.serve import ServeError, start_sandbox
    from jitbox.world import WorldError
    from pim_fake.persist import StateFormatError

    try:
        return start_sandbox(the_clock, **kwargs)
    except ServeError as exc:
        _fail(f"--host/--port/--entra-port: {exc} (--port 0 --entra-port 0 pick free ports)")
    except WorldError as exc:
        _fail(f"--world: {exc}")
    except sqlite3.Error as exc:
        _fail(f"--state {kwargs.get('state_path')}: not a usable SQLite state file ({exc})")
    except StateFormatError as exc:
        _fail(f"--state {kwargs.get('state_path')}: {exc}")
    except Exception as exc:  # anything else the user can act on, without a traceback
        _fail(f"could not start: {type(exc).__name__}: {exc}")


_SHOWN = ("clock", "now", "world", "world_file", "scim_url", "scim_token", "scim_sandbox_url", "tenant_id")


def _print_config(cfg: dict[str, Any]) -> None:
    """Print the banner: world, clock, endpoints, tokens, seeded users and how to get the environment."""
    typer.echo(f"jitbox sandbox — world {cfg.get('world', '-')} ({cfg.get('world_file', 'none')})")
    typer.echo(f"clock                  {cfg.get('clock')} at {cfg.get('now')}")
    typer.echo(f"SCIM URL               {cfg['scim_url']}")
    typer.echo(f"SCIM token             {cfg['scim_token']}")
    typer.echo(f"sandbox                {cfg['scim_sandbox_url']}")
    for key, value in cfg.items():
        if key not in _SHOWN and isinstance(value, str):
            typer.echo(f"{key:<22} {value}")
    tokens = cfg.get("graph_tokens") or {}
    if tokens:
        life = format_duration(float(cfg.get("graph_token_lifetime") or 3600))
        typer.echo(
            f"Graph tokens (Authorization: Bearer ...; random, they expire {life} after minting on the sandbox clock;"
            f" current ones: GET {cfg.get('graph_sandbox_url', '/_sandbox/')}tokens or jitbox env):"
        )
        for name, token in tokens.items():
            typer.echo(f"  {name:<20} {token}")
    users = cfg.get("seeded_users") or []
    if users:
        typer.echo("seeded users:")
        for u in users:
            role = " (admin)" if u.get("admin") else ""
            typer.echo(f"  {u.get('name', ''):<20} {u.get('userPrincipalName', '')}  {u.get('displayName', '')}{role}")
    if cfg.get("sandbox_admin_token"):
        typer.echo(
            "listening beyond loopback: every /_sandbox route (but /_sandbox/health) needs the header "
            f"{cfg.get('sandbox_admin_header')}: {cfg['sandbox_admin_token']}"
        )
    base = str(cfg["scim_sandbox_url"]).removesuffix("/_sandbox/")
    typer.echo(f'environment for boto3 / the AWS CLI: eval "$(jitbox env --url {base})"')


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader waiting for the file never sees it half written."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _fail(message: str) -> NoReturn:
    typer.echo(f"jitbox serve: {message}", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``jitbox`` command line."""
    app.command("serve")(serve)
