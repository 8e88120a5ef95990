"""A user's CI project testing JIT access against the jitbox sandbox (pytest + hypothesis).

The jitbox pytest plugin (installed with jitbox) gives the fixtures ``jitbox_sandbox``, ``jitbox_sandbox_session``,
``jitbox_simulate`` and ``jitbox_run``; nothing to import here. This file only picks the sandbox's world and settings
and a hypothesis profile.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

# Sandbox calls go over loopback HTTP, so examples take tens of milliseconds: no per-example deadline. Health checks
# stay on (nothing is suppressed): the sandbox fixtures are session-scoped objects reset before each test.
settings.register_profile("jit-ci", max_examples=10, deadline=None)
settings.load_profile("jit-ci")


@pytest.fixture(scope="session")
def jitbox_sandbox_options() -> dict[str, Any]:
    """The seed walkthrough's world with the blog's durations: PIM 1 h, portal 8 h, permission set 1 h."""
    return {"world": "seed", "settings": {"activation_max": "PT1H", "portal_session": "PT8H"}}
