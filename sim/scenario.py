"""Scenario files: settings + population + seed in TOML, validated by pydantic, runnable by path or by name.

A scenario file looks like::

    name = "seed-blog"
    description = "The AWS blog walkthrough: PIM 1 h, portal 8 h, permission set 1 h"
    seed = 1

    [settings]                 # any field of sim.settings.Settings; durations as PT1H / 90m / 8h
    activation_max = "1h"

    [population]               # any field of sim.population.Population
    [[population.arrivals]]
    kind = "poisson"
    rate_per_hour = 4
    count = 100

    [[variants]]               # optional: the same population under changed settings
    name = "launch_check"
    settings = { entitlement_mode = "launch_check" }

A name (``seed-blog``) is looked up as ``<name>.toml`` in :func:`scenario_dirs`: ``$JITBOX_SCENARIOS`` (if set),
``./scenarios``, the repository's top-level ``scenarios/`` and, in an installed wheel, the copy under
``sim/scenarios/``. Every error names the file and the bad field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.population import Population
from sim.results import RunResult
from sim.run import simulate
from sim.settings import Settings, SettingsError, load_settings, read_toml_file

__all__ = [
    "Scenario",
    "ScenarioError",
    "Variant",
    "find_scenario",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "scenario_dirs",
]

REPO_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
"""The repository's ``scenarios/`` (a checkout or an editable install)."""
PACKAGED_SCENARIOS = Path(__file__).resolve().parent / "scenarios"
"""The same files inside an installed wheel (``setup.py`` copies them to ``sim/scenarios/`` at build time)."""


class ScenarioError(ValueError):
    """A scenario that cannot be found, parsed or validated; the message names the file and the field."""


class Variant(BaseModel):
    """The scenario's population re-run with some settings changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    description: str = ""
    settings: Settings


class Scenario(BaseModel):
    """One validated scenario: the base run plus optional variants."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0)
    settings: Settings
    population: Population
    variants: list[Variant] = []
    source: str = ""
    """Where the scenario came from (file path), for messages."""

    def runs(self) -> list[tuple[str, Settings]]:
        """Return ``(label, settings)`` for the base run (label ``base``) and each variant, in file order."""
        return [("base", self.settings), *((v.name, v.settings) for v in self.variants)]


def _format_errors(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        lines.append(f"{where}: {loc}: {msg}")
    return "\n".join(lines)


def parse_scenario(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Return a validated :class:`Scenario` from a parsed TOML mapping; raise :class:`ScenarioError`."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a TOML table")
    known = set(Scenario.model_fields) - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(
            f"{source}: {', '.join(unknown)}: unknown field; known fields are {', '.join(sorted(known))}"
        )
    base = data.get("settings", {})
    if not isinstance(base, dict):
        raise ScenarioError(f"{source}: settings: must be a table of settings")
    problems: list[str] = []
    try:
        settings = load_settings(base, where=f"{source}: settings")
    except SettingsError as exc:
        problems.append(str(exc))
        settings = Settings()
    variants: list[dict[str, Any]] = []
    raw_variants = data.get("variants", [])
    if not isinstance(raw_variants, list):
        raise ScenarioError(f"{source}: variants: must be an array of tables ([[variants]])")
    for k, raw in enumerate(raw_variants):
        where = f"{source}: variants.{k}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a table")
            continue
        overrides = raw.get("settings", {})
        if not isinstance(overrides, dict):
            problems.append(f"{where}.settings: must be a table of settings")
            continue
        try:
            merged = load_settings({**base, **overrides}, where=f"{where}.settings")
        except SettingsError as exc:
            problems.append(str(exc))
            continue
        label = raw.get("name")
        if label == "base" or label in [v.get("name") for v in variants]:
            problems.append(f"{where}.name: {label!r} is taken; variant names must be unique and not 'base'")
            continue
        variants.append({**raw, "settings": merged})
    try:
        scenario = Scenario.model_validate({**data, "settings": settings, "variants": variants, "source": source})
    except ValidationError as exc:
        problems.append(_format_errors(exc, source))
    if problems:  # every problem in the file at once, settings first
        raise ScenarioError("\n".join(problems))
    return scenario


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Return the scenario at a path, or the one named ``path_or_name`` in :func:`scenario_dirs`."""
    path = find_scenario(path_or_name)
    data = read_toml_file(
        path, ScenarioError, cannot_read="cannot read: {reason}", kind="scenarios", invalid="invalid TOML"
    )
    return parse_scenario(data, str(path))


def scenario_dirs() -> list[Path]:
    """Return the directories searched for scenario names, in order (existing ones only, no duplicates)."""
    candidates = []
    env = os.environ.get("JITBOX_SCENARIOS")
    if env:
        candidates.append(Path(env))
    candidates += [Path.cwd() / "scenarios", REPO_SCENARIOS, PACKAGED_SCENARIOS]
    out: list[Path] = []
    for d in candidates:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def find_scenario(path_or_name: str | Path) -> Path:
    """Return the file for a path or a scenario name; raise :class:`ScenarioError` listing the known names."""
    given = Path(path_or_name)
    if given.is_file():
        return given
    text = str(path_or_name)
    if text.endswith(".toml") or os.sep in text:
        raise ScenarioError(f"{text}: no such scenario file")
    for d in scenario_dirs():
        candidate = d / f"{text}.toml"
        if candidate.is_file():
            return candidate
    names = ", ".join(sorted({p.stem for d in scenario_dirs() for p in d.glob("*.toml")})) or "none found"
    raise ScenarioError(f"{text}: no such scenario; known scenarios: {names}")


def list_scenarios() -> list[Path]:
    """Return every scenario file in :func:`scenario_dirs` (first directory wins for a name), sorted by name."""
    seen: dict[str, Path] = {}
    for d in scenario_dirs():
        for p in sorted(d.glob("*.toml")):
            seen.setdefault(p.stem, p)
    return [seen[k] for k in sorted(seen)]


def run_scenario(scenario: Scenario, seed: int | None = None, engine: str = "auto") -> list[RunResult]:
    """Run the base settings and every variant on the same population and seed; return one result per run.

    ``seed`` overrides the scenario's seed; ``engine`` is :func:`sim.run.simulate`'s (``auto``: the numpy path,
    ``engine``: the event engine). Each result's ``name`` is ``<scenario>`` or ``<scenario>/<variant>``.
    """
    use = scenario.seed if seed is None else seed
    results = []
    for label, settings in scenario.runs():
        name = scenario.name if label == "base" else f"{scenario.name}/{label}"
        results.append(simulate(settings, scenario.population, use, name=name, engine=engine))
    return results
