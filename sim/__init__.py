"""jitbox simulator: the model of time for JIT access through Entra PIM → SCIM → IAM Identity Center.

Pure: no HTTP, no web framework, no fake. Importing any ``sim`` module loads no FastAPI, uvicorn or HTTP client
(checked by the import-linter contracts in ``pyproject.toml`` and ``tests/test_architecture.py``). The fakes
(``pim_fake``, ``scim_server``) use its rules; ``jitbox`` (the composition root) holds the CLI and the sandbox.
See ``docs/`` and ``../shared/DESIGN.md``.
"""

__version__ = "0.1.0"
