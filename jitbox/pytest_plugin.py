"""pytest plugin shipped with jitbox (entry point ``pytest11: jitbox``).

Fixtures for users' CI:

- ``jitbox_clock`` — a fresh :class:`sim.clock.ManualClock` at the default epoch; advance it instead of sleeping.
- ``jitbox_settings`` — the documented default :class:`sim.settings.Settings` (immutable; session-scoped).
- ``jitbox_simulate`` — ``jitbox_simulate(settings, population, seed=0, engine="auto") -> RunResult``
  (:func:`sim.run.simulate`: the numpy path; ``engine="engine"`` forces the event engine); fails the test if the
  run exceeds its closed-form bound (:func:`sim.bounds.worst_case`).
- ``jitbox_run`` — ``jitbox_run("seed-blog" | path, seed=None) -> dict[label, RunResult]`` runs a scenario file (base
  run under ``"base"``, variants under their names), with the same bound check.

- ``jitbox_sandbox`` — both fakes over HTTP (:class:`jitbox.Sandbox`), fresh for every test (the world, the clock at
  its start); ``jitbox_sandbox_session`` — one shared sandbox reset to the world between tests (clock moving on).
  Both are session-scoped objects reset by an autouse hook before each test that asks for them, so they are cheap
  (no server start per test) and safe under hypothesis ``@given`` without suppressing health checks; while a test
  runs, ``AWS_ENDPOINT_URL`` and dummy credentials point boto3 at the sandbox. Under ``@given`` the examples of one
  test share the sandbox: call ``jitbox_sandbox.reset()`` at the top of the body. ``jitbox_sandbox_options``
  (session scope; override it in ``conftest.py``) gives their ``world``, ``settings``, ``seed``, ``clock``.

Hypothesis strategies for settings and populations are in :mod:`sim.strategies` (``settings()`` pins Entra's fixed
constants to the documented values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the web stack loads only when a test asks for a sandbox
    from jitbox.sandbox_api import Sandbox

from sim.clock import ManualClock
from sim.population import Population
from sim.results import RunResult
from sim.run import simulate
from sim.scenario import load_scenario, run_scenario
from sim.settings import Settings


@pytest.fixture
def jitbox_clock() -> ManualClock:
    """Return a virtual clock that moves only when advanced."""
    return ManualClock()


@pytest.fixture(scope="session")
def jitbox_settings() -> Settings:
    """Return the documented default settings (PIM 8 h, portal 8 h, permission set 1 h, signin_snapshot)."""
    return Settings()


def _checked(result: RunResult) -> RunResult:
    agg = result.aggregates()
    if not agg["within_bound"]:
        raise AssertionError(f"jitbox run {result.name or 'run'} exceeds its closed-form bound: {agg['bound_checks']}")
    return result


@pytest.fixture(scope="session")
def jitbox_simulate() -> Callable[..., RunResult]:
    """Return ``simulate(settings, population, seed=0, engine="auto") -> RunResult`` (:func:`sim.run.simulate`)
    that also checks the closed-form bound."""

    def run(settings: Settings, population: Population, seed: int = 0, engine: str = "auto") -> RunResult:
        return _checked(simulate(settings, population, seed, engine=engine))

    return run


@pytest.fixture(scope="session")
def jitbox_run() -> Callable[..., dict[str, RunResult]]:
    """Return ``run(scenario, seed=None) -> {label: RunResult}`` for a scenario name or path (bound-checked)."""

    def run(scenario: str | Path, seed: int | None = None) -> dict[str, RunResult]:
        sc = load_scenario(scenario)
        labels = [label for label, _ in sc.runs()]
        return {label: _checked(r) for label, r in zip(labels, run_scenario(sc, seed), strict=True)}

    return run


# --- the sandbox (both fakes over HTTP) -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def jitbox_sandbox_options() -> dict[str, Any]:
    """Return the keyword arguments of the sandboxes the fixtures start (default: the seed's world, the documented
    settings, manual clock). Override it (session scope) in a ``conftest.py`` to use your own world or settings::

        @pytest.fixture(scope="session")
        def jitbox_sandbox_options():
            return {"world": "tests/world.toml", "settings": {"activation_max": "PT2H"}}
    """
    return {}


class _Pool:
    """The session's sandboxes, one per (options, kind); started on first use, stopped at the end."""

    def __init__(self) -> None:
        self.boxes: dict[str, Sandbox] = {}
        self.fresh: set[str] = set()

    def get(self, options: dict[str, Any], kind: str) -> Sandbox:
        key = f"{kind}:{sorted((k, repr(v)) for k, v in options.items())}"
        if key not in self.boxes:
            from jitbox.sandbox_api import Sandbox

            self.boxes[key] = Sandbox(**options).start()
            self.fresh.add(key)
        box = self.boxes[key]
        box._pool_key = key  # type: ignore[attr-defined]
        return box

    def take_fresh(self, box: Sandbox) -> bool:
        """Return True the first time a just-started sandbox is handed to a test (no reset needed then)."""
        key = getattr(box, "_pool_key", "")
        if key in self.fresh:
            self.fresh.discard(key)
            return True
        return False

    def close(self) -> None:
        for box in self.boxes.values():
            box.stop()


@pytest.fixture(scope="session")
def _jitbox_pool() -> Iterator[_Pool]:
    pool = _Pool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def jitbox_sandbox(_jitbox_pool: _Pool, jitbox_sandbox_options: dict[str, Any]) -> Sandbox:
    """Return a sandbox that is fresh for every test: the world as the file says, the clock at its start.

    Started once per session and put back with ``reset(clock=True)`` before each test that uses it (about 0.2 s
    instead of starting servers), so it is cheap and, being session-scoped, safe to use under hypothesis ``@given``
    without suppressing health checks. Examples of one ``@given`` test share it: call ``jitbox_sandbox.reset()``
    at the top of the test body to start each example from the world.
    """
    return _jitbox_pool.get(jitbox_sandbox_options, "fresh")


@pytest.fixture(scope="session")
def jitbox_sandbox_session(_jitbox_pool: _Pool, jitbox_sandbox_options: dict[str, Any]) -> Sandbox:
    """Return the session's shared sandbox: reset to the world between tests, its clock moving only forward."""
    return _jitbox_pool.get(jitbox_sandbox_options, "session")


@pytest.fixture(autouse=True)
def _jitbox_sandbox_per_test(request: pytest.FixtureRequest, _jitbox_pool: _Pool) -> Iterator[None]:
    """Before a test that uses a sandbox fixture: reset it and point boto3 at it (env), restored after."""
    used = [n for n in ("jitbox_sandbox", "jitbox_sandbox_session") if n in request.fixturenames]
    boxes: list[Sandbox] = []
    for name in used:
        box: Sandbox = request.getfixturevalue(name)
        if not _jitbox_pool.take_fresh(box):
            box.reset(clock=name == "jitbox_sandbox")
        box.make_current()
        boxes.append(box)
    try:
        yield
    finally:
        for box in reversed(boxes):
            box.release_current()
