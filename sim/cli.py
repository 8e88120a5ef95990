"""The ``jitbox`` command line.

Each command lives in its own module that exposes ``register(app)``; :data:`COMMAND_MODULES` lists them. Errors
the user can fix are printed as one message naming the bad field or flag, with exit code 2 — never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from sim.settings import SettingsError

__all__ = ["COMMAND_MODULES", "app", "main"]

app = typer.Typer(
    name="jitbox",
    help="Simulate and sandbox just-in-time AWS access: Entra PIM for Groups → SCIM → IAM Identity Center.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Simulate and sandbox just-in-time AWS access: Entra PIM for Groups → SCIM → IAM Identity Center."""


COMMAND_MODULES: list[str] = [
    "sim.cli_bound",
    "sim.cli_run",
    "sim.cli_check",
    "sim.cli_sweep",
    "sim.cli_serve",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point of the ``jitbox`` console script."""
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"jitbox: invalid settings:\n{exc}", err=True)
        sys.exit(2)
