"""Bearer auth for the fake Graph that always sends the identity's current token.

Graph tokens of the sandbox are random and expire on the sandbox clock (:mod:`pim_fake.tokens`), so a client that
keeps one token while the clock moves hours gets 401 ``InvalidAuthenticationToken``, as against Entra. A client that
should not care (the Python API's ``Sandbox.graph()``, the demo, tests) reads the current token from the config or
``GET /_sandbox/tokens`` for every request: :class:`CurrentToken` does that for an ``httpx2`` client.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import httpx2

__all__ = ["CurrentToken"]


class CurrentToken(httpx2.Auth):
    """``httpx2`` auth that sets ``Authorization: Bearer <token()>`` on every request (``token`` is asked each time)."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Send ``request`` with the current token."""
        request.headers["Authorization"] = f"Bearer {self._token()}"
        yield request
