"""Plumbing every jitbox fake shares, below the fakes and above :mod:`sim`.

- :mod:`fakekit.control` — the ``/_sandbox`` clock/reset/state router (moto's ``/moto-api/`` idea);
- :mod:`fakekit.errors` — the one sandbox error body ``{"error": {"code", "field", "message"}}``;
- :mod:`fakekit.ids` — seeded UUIDs and request ids;
- :mod:`fakekit.timefmt` — ISO 8601 instants with a ``Z``;
- :mod:`fakekit.serving` — serving an ASGI app with uvicorn in its own thread.

Both fakes (``pim_fake``, ``scim_server``) may import this package; it imports only :mod:`sim` and the web stack,
never a fake. The layers are checked by import-linter (``[tool.importlinter]`` in ``pyproject.toml``).
"""
