"""``jitbox run``, ``jitbox demo`` and ``jitbox scenarios``: run scenario files in the simulator.

- ``jitbox run SCENARIO [--seed N] [--json] [--out FILE] [--timeline I] [--no-records] [--engine E]`` — SCENARIO is
  a path or a name from ``scenarios/``; prints the summary table, one activation's timeline and the windows;
  ``--json`` prints every per-activation record and the aggregates instead (as ``--json`` does in every command),
  ``--out FILE`` writes them to FILE (checked before the run); ``--engine`` is :func:`sim.run.simulate`'s
  (``auto``: the numpy path; ``engine``: the event engine, the reference; same results).
- ``jitbox demo`` — runs ``seed-blog`` in the simulator and prints the same, then replays the walkthrough live
  over HTTP on an in-process sandbox (:mod:`jitbox.demo`) and checks it against the simulator's rules.
- ``jitbox scenarios`` — lists the scenarios found, with their descriptions.

The simulator (numpy) is imported inside each command, so ``jitbox --help`` and ``jitbox bound`` start without it.
Errors the user can fix (unknown scenario, bad field in a file, unwritable JSON path) exit with code 2 and one
message naming the file and field.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["demo", "demo_steps", "register", "run", "scenarios"]


def _console() -> Console:
    """A terminal gets its own width; a pipe or file gets room for the widest table (400 columns) so no cell is cut."""
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 400)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"jitbox: {message}", err=True)
    return typer.Exit(2)


def run(
    scenario: Annotated[str, typer.Argument(help="scenario file or name (see `jitbox scenarios`)")],
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="override the scenario's seed")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print per-activation records and aggregates as JSON (no table)")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="write per-activation records and aggregates as JSON to FILE")
    ] = None,
    activation: Annotated[
        int | None, typer.Option("--timeline", min=0, help="index of the activation whose timeline is shown")
    ] = None,
    records: Annotated[bool, typer.Option(help="include every per-activation record in the JSON")] = True,
    engine: Annotated[
        str, typer.Option("--engine", help="auto (default: the numpy path), vector, or engine (the event engine)")
    ] = "auto",
) -> None:
    """Run a scenario: summary table, one activation's timeline, the windows; optionally JSON."""
    from sim.report import render_run, runs_json
    from sim.run import ENGINES
    from sim.scenario import ScenarioError, load_scenario, run_scenario

    if engine not in ENGINES:
        raise _fail(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")

    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None
    if out is not None:
        _check_writable(out, "--out")
    results = run_scenario(sc, seed, engine)
    if activation is not None and activation >= results[0].n:
        raise _fail(f"--timeline {activation}: the scenario has {results[0].n} activation requests (0-based)")
    used_seed = sc.seed if seed is None else seed
    doc = None if not (as_json or out) else runs_json(sc.name, sc.description, used_seed, results, records)
    if as_json:
        sys.stdout.write(doc or "")
    else:
        render_run(results, _console(), activation)
    if doc is not None and out is not None:
        try:
            out.write_text(doc, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"--out {out}: cannot write: {exc.strerror}") from None
        if not as_json:
            typer.echo(f"wrote {out}")
    if not all(r.aggregates()["within_bound"] for r in results):
        raise typer.Exit(1)


def _check_writable(path: Path, flag: str) -> None:
    """Fail (exit 2) before any work when ``path`` cannot be written: no such directory, a directory, read-only."""
    import os

    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise _fail(f"{flag} {path}: is a directory; give a file name")
    if not parent.is_dir():
        raise _fail(f"{flag} {path}: cannot write: no directory {parent}")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise _fail(f"{flag} {path}: cannot write: permission denied")


def _demo_simulator(console: Console) -> None:
    from sim.report import render_run
    from sim.scenario import load_scenario, run_scenario

    sc = load_scenario("seed-blog")
    console.rule(f"[bold]{escape(sc.name)}[/]")
    console.print(" ".join(sc.description.split()), markup=False)
    render_run(run_scenario(sc), console)


def _demo_sandbox(console: Console) -> None:
    from jitbox.demo import DemoError, render_sandbox_demo, run_sandbox_demo

    console.rule("[bold]the same walkthrough, live: the fakes over HTTP on 127.0.0.1[/]")
    try:
        result = run_sandbox_demo()
    except DemoError as exc:
        raise _fail(f"sandbox demo: {exc}") from None
    render_sandbox_demo(result, console)
    if not result.agrees:
        raise _fail("sandbox demo: the sandbox and the simulator disagree (see the table above)")


def demo_steps() -> list[tuple[str, Callable[[Console], None]]]:
    """Return the demo's steps as ``(title, step)``; each step prints to the console it is given."""
    return [("simulator: seed-blog", _demo_simulator), ("sandbox: seed walkthrough over HTTP", _demo_sandbox)]


def demo() -> None:
    """Run the seed scenario (the AWS blog walkthrough) and print its timeline and windows."""
    from sim.scenario import ScenarioError

    console = _console()
    try:
        for _title, step in demo_steps():
            step(console)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None


def scenarios() -> None:
    """List the scenarios that `jitbox run NAME` can find."""
    from sim.scenario import ScenarioError, list_scenarios, load_scenario

    console = _console()
    table = Table(box=box.ASCII if not console.is_terminal else box.SIMPLE)
    table.add_column("name")
    table.add_column("runs", justify="right")
    table.add_column("description")
    table.add_column("file")
    for path in list_scenarios():
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            table.add_row(escape(path.stem), "—", escape(f"INVALID: {exc}"), escape(str(path)))
            continue
        table.add_row(escape(sc.name), str(len(sc.runs())), escape(" ".join(sc.description.split())), escape(str(path)))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``run``, ``demo`` and ``scenarios`` to the ``jitbox`` command line."""
    app.command("run")(run)
    app.command("demo")(demo)
    app.command("scenarios")(scenarios)
