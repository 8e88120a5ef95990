"""The last line of every jitbox app: an exception no handler caught never reaches the client as text.

:class:`CatchAll` is a pure ASGI middleware each fake adds with a ``render(path)`` function that returns the
protocol's own 500 response for that path (SCIM error, Graph envelope, AWS error shape, sandbox error body) with a
fixed message: no exception text, type or traceback. The exception is logged on the ``jitbox`` logger so the
developer still sees it. The goal is that it never fires (``make fuzz`` counts any 5xx); it is the net, not the
error handling.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fakekit.errors import sandbox_error

__all__ = [
    "ADMIN_HEADER",
    "INTERNAL_MESSAGE",
    "OPEN_PATHS",
    "CatchAll",
    "SandboxGuard",
    "is_loopback",
    "sandbox_internal",
]

INTERNAL_MESSAGE = "The sandbox hit an internal error; the details are in the server's log."
"""The only text a client sees of an unhandled exception."""

_log = logging.getLogger("jitbox")

Render = Callable[[str], Response]


def sandbox_internal(path: str) -> Response:
    """Return the sandbox error body's 500 (for ``/_sandbox`` paths and as every fake's fallback)."""
    return sandbox_error(500, None, INTERNAL_MESSAGE, code="InternalError")


class CatchAll:
    """ASGI middleware: answer ``render(path)`` for an exception raised before the response started."""

    def __init__(self, app: ASGIApp, render: Render = sandbox_internal) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            path = str(scope.get("path", ""))
            _log.exception("unhandled exception answering %s %s", scope.get("method"), path)
            if started:
                return  # the status line is out; the server closes the connection
            response = _render_safely(self.render, path)
            await response(scope, receive, send)


def _render_safely(render: Render, path: str) -> Any:
    try:
        return render(path)
    except Exception:
        _log.exception("the 500 renderer failed for %s", path)
        return sandbox_internal(path)


ADMIN_HEADER = "x-jitbox-sandbox-token"
"""The header that carries the sandbox admin token when the control plane is guarded."""

OPEN_PATHS = frozenset({"/_sandbox/health"})
"""``/_sandbox`` paths that stay open even when guarded (liveness checks)."""


def is_loopback(host: str) -> bool:
    """Return whether ``host`` (as given to ``--host``) only listens on this machine."""
    name = host.strip("[]").lower()
    return name in ("localhost", "::1") or name.startswith("127.")


class SandboxGuard:
    """ASGI middleware: ``/_sandbox`` routes (but :data:`OPEN_PATHS`) need ``X-Jitbox-Sandbox-Token: <token>``.

    ``jitbox serve`` adds it when it binds to an address other than loopback: the control plane mints tokens,
    resets state and retargets provisioning, so on a shared network it is an admin API.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path.startswith("/_sandbox") and path not in OPEN_PATHS:
            given = dict(scope.get("headers") or []).get(ADMIN_HEADER.encode(), b"").decode("latin-1")
            if not hmac.compare_digest(given, self.token):
                message = f"this sandbox listens beyond loopback: send the sandbox admin token in {ADMIN_HEADER}"
                await sandbox_error(401, ADMIN_HEADER, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)
