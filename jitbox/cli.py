"""The ``jitbox`` command line (``jitbox ...`` or ``python -m jitbox ...``).

Each command lives in its own module exposing ``register(app)``, imported here by plain static imports. Command
modules import only what their option signatures need at import time and load the heavy parts (numpy, the web
stack, the fakes) inside the command, so ``jitbox bound`` starts without FastAPI, uvicorn or matplotlib. Errors the
user can fix are printed as one message naming the bad field or flag, with exit code 2 — never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from jitbox import cli_bound, cli_check, cli_env, cli_run, cli_serve, cli_sweep
from sim.settings import SettingsError

__all__ = ["app", "main"]

app = typer.Typer(
    name="jitbox",
    help="Simulate and sandbox just-in-time AWS access: Entra PIM for Groups → SCIM → IAM Identity Center.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from jitbox import __version__

        typer.echo(f"jitbox {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Simulate and sandbox just-in-time AWS access: Entra PIM for Groups → SCIM → IAM Identity Center."""


for _module in (cli_bound, cli_run, cli_check, cli_sweep, cli_serve, cli_env):
    _module.register(app)


def main() -> None:
    """Entry point of the ``jitbox`` console script and of ``python -m jitbox``."""
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"jitbox: invalid settings:\n{exc}", err=True)
        sys.exit(2)
