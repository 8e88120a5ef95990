"""``jitbox serve`` extension: the Entra fake on its own port, provisioning into the served Identity Center fake.

:func:`extend` is listed in :data:`sim.serve.EXTENSION_MODULES`. It builds the Entra app on the sandbox's clock
(so advancing either fake's ``/_sandbox/clock/advance`` moves both), serves it on ``options["entra_port"]``
(0 = a free port), points the provisioning job at the served SCIM endpoint and token over real HTTP, starts it
(its initial cycle is a clock timer due at start, so the manual clock runs it on the first advance), and adds ``graph_url`` (the ``.../v1.0`` base), ``graph_sandbox_url`` and ``graph_tokens``
(identity name → bearer token) to the config JSON. ``options["entra_world"]`` replaces the seeded world with a
TOML/JSON file (:mod:`pim_fake.world`); ``options["settings"]`` may carry :class:`sim.settings.Settings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pim_fake.app import create_app
from pim_fake.world import load_world
from sim.settings import Settings

if TYPE_CHECKING:
    from sim.serve import RunningSandbox

__all__ = ["extend"]


def extend(sandbox: RunningSandbox) -> None:
    """Serve the Entra fake next to the Identity Center fake (see the module docstring)."""
    options = sandbox.options
    settings = options.get("settings")
    world = load_world(options.get("entra_world"))
    seed = options.get("seed")
    app = create_app(
        sandbox.clock,
        settings if isinstance(settings, Settings) else None,
        world=world,
        seed=int(seed) if seed is not None else 0,
        scim_url=sandbox.scim_url,
        scim_token=sandbox.scim_token,
    )
    served = sandbox.serve_app("entra", app, port=int(options.get("entra_port", 0) or 0))
    app.state.start_provisioning(defer=True)

    def config() -> dict[str, Any]:
        return {
            "graph_url": served.base_url + "/v1.0",
            "graph_sandbox_url": served.base_url + "/_sandbox/",
            "graph_tokens": dict(app.state.graph_tokens),
        }

    sandbox.add_config(config)
