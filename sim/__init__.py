"""jitbox simulator: the model of time for JIT access through Entra PIM → SCIM → IAM Identity Center.

Pure: no HTTP, no web framework, no fake. Importing any ``sim`` module loads no FastAPI, uvicorn or HTTP client
(checked by the import-linter contracts in ``pyproject.toml`` and ``tests/test_architecture.py``). The fakes
(``pim_fake``, ``scim_server``) use its rules; ``jitbox`` (the composition root) holds the CLI and the sandbox.
See ``docs/`` and ``../shared/DESIGN.md``.

``sim.simulate`` is :func:`sim.run.simulate` (the numpy path, or the event engine on request); it is imported on
first use, so ``import sim`` alone loads no numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.run import simulate

__all__ = ["simulate"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "simulate":
        from sim.run import simulate

        return simulate
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
