"""A served sandbox holding the seed's world, for the page tests and the browser test.

The sandbox starts in the seed's world (``jitbox/worlds/seed.toml``: permission set ``EC2AdminAccess``, PT1H,
assigned to "AWS - Amazon EC2 Admin" in account 111122223333); the group's 1-hour PIM activation maximum is set over
Graph and the ids read back over the public APIs, exactly as ``jitbox demo`` does (:func:`jitbox.demo.setup_seed_world`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from jitbox.demo import SeedWorld, setup_seed_world
from jitbox.serve import RunningSandbox, start_sandbox
from sim.clock import ManualClock
from sim.settings import load_settings

SEED_SETTINGS = {"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"}


@dataclass
class SeededSandbox:
    """The running sandbox, its manual clock and the seed world's ids."""

    sandbox: RunningSandbox
    clock: ManualClock
    world: SeedWorld


@contextmanager
def seeded_sandbox(seed: int = 7) -> Iterator[SeededSandbox]:
    """Start the sandbox on a manual clock with the seed's settings and world; stop it afterwards."""
    clock = ManualClock()
    settings = load_settings(SEED_SETTINGS)
    with start_sandbox(clock, seed=seed, options={"seed": seed}, settings=settings) as sb:
        yield SeededSandbox(sb, clock, setup_seed_world(sb))
