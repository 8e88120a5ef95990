"""jitbox, the composition root: the CLI, the sandbox (both fakes on one clock), the demo and the pytest plugin.

The only package that imports both fakes (``pim_fake`` and ``scim_server``); nothing imports it but tests. The
layers, checked by import-linter (``pyproject.toml``): ``jitbox`` > ``pim_fake`` | ``scim_server`` > ``fakekit`` >
``sim``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jitbox.sandbox_api import Sandbox
    from sim.clock import Clock

__all__ = ["__version__", "current_sandbox", "data_path", "sandbox"]

__version__ = "0.1.0"


def sandbox(
    world: Any = None,
    settings: Any = None,
    clock: str | Clock = "manual",
    **options: Any,
) -> Sandbox:
    """Return a :class:`jitbox.sandbox_api.Sandbox`: both fakes on loopback, as a context manager or decorator.

    ``world`` is a world file, a shipped world's name or None (the seed's); ``settings`` a :class:`sim.settings.Settings`
    or a mapping of its fields; ``clock`` ``"manual"`` (default), ``"wall"``, ``"scaled:60"`` or a clock. Other keywords
    (``seed``, ``aws_port``, ``graph_port``, ``scim_options``, ``patch_env``) go to the class. The web stack is
    imported here, on first use, so ``import jitbox`` stays light::

        with jitbox.sandbox() as sb:
            sso_admin = sb.aws_client("sso-admin")
            sb.activate("rich", "AWS - Amazon EC2 Admin", "PT1H", justification="INC-1")
            sb.clock.advance("PT10M")
    """
    from jitbox.sandbox_api import Sandbox

    return Sandbox(world, settings, clock, **options)


def current_sandbox() -> Sandbox:
    """Return the innermost active sandbox (inside ``with jitbox.sandbox()`` or a decorated function)."""
    from jitbox.sandbox_api import current_sandbox as current

    return current()


def data_path(*parts: str) -> Path:
    """Return a path inside jitbox's installed package directory."""
    return Path(__file__).resolve().parent.joinpath(*parts)
