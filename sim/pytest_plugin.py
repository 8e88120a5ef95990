"""pytest plugin shipped with jitbox (entry point ``pytest11: jitbox``).

Fixtures for users' CI:

- ``jitbox_clock`` — a fresh :class:`sim.clock.ManualClock` at the default epoch; advance it instead of sleeping.
- ``jitbox_settings`` — the documented default :class:`sim.settings.Settings`.
"""

from __future__ import annotations

import pytest

from sim.clock import ManualClock
from sim.settings import Settings


@pytest.fixture
def jitbox_clock() -> ManualClock:
    """Return a virtual clock that moves only when advanced."""
    return ManualClock()


@pytest.fixture
def jitbox_settings() -> Settings:
    """Return the documented default settings (PIM 8 h, portal 8 h, permission set 1 h, signin_snapshot)."""
    return Settings()
