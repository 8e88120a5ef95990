"""Server-rendered sandbox pages: one Jinja2 environment per fake, a shared layout, and a client of the fake's own API.

The pages (Entra's "My roles", the AWS access portal, the jitbox timeline dashboard) are HTML rendered on the
server with a little plain JavaScript; no build step. Each fake's page is a *client of that fake's own HTTP API*:
:func:`self_client` returns an :class:`httpx2.AsyncClient` whose transport calls the app in-process over ASGI, so a
page goes through the same routes, authentication and error bodies as any other client, without a socket (and so
works under a test client as well as under uvicorn).

- :func:`environment` — a Jinja2 environment over ``<package>/templates`` and the shared ``fakekit/templates``
  (``layout.html``, ``pages.css``, ``pages.js``), autoescaped, with the filters ``clock`` (Unix seconds →
  ``2025-06-03 09:59 UTC``), ``hm`` (→ ``09:59``) and ``duration`` (seconds → ``1h 0m``);
- :func:`render` — an :class:`HTMLResponse` from a template.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx2
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from sim.durations import format_duration

__all__ = ["SELF_BASE", "environment", "fmt_clock", "fmt_hm", "form_fields", "render", "self_client"]

SELF_BASE = "http://self"
"""Base URL of :func:`self_client` (any host works: the transport never leaves the process)."""


def fmt_clock(value: float | None, seconds: bool = False) -> str:
    """Return Unix seconds as ``YYYY-MM-DD HH:MM[:SS] UTC`` (``—`` for None or infinity)."""
    if value is None or not math.isfinite(value):
        return "—"
    fmt = "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    return datetime.fromtimestamp(value, tz=UTC).strftime(fmt)


def fmt_hm(value: float | None) -> str:
    """Return Unix seconds as ``HH:MM`` UTC (``—`` for None or infinity)."""
    if value is None or not math.isfinite(value):
        return "—"
    return datetime.fromtimestamp(value, tz=UTC).strftime("%H:%M")


def _duration(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return format_duration(value)


def environment(package: str) -> Environment:
    """Return the Jinja2 environment for ``package``'s ``templates/`` folder plus the shared layout."""
    env = Environment(
        loader=ChoiceLoader([PackageLoader(package, "templates"), PackageLoader("fakekit", "templates")]),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = fmt_clock
    env.filters["hm"] = fmt_hm
    env.filters["duration"] = _duration
    return env


def render(env: Environment, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Return ``name`` rendered with ``context`` as an HTML response."""
    return HTMLResponse(env.get_template(name).render(**context), status_code=status_code)


def self_client(app: Any) -> httpx2.AsyncClient:
    """Return an async HTTP client that calls ``app`` in-process (ASGI transport), base URL :data:`SELF_BASE`."""
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url=SELF_BASE, timeout=30.0, verify=False, trust_env=False
    )


async def form_fields(request: Request) -> dict[str, str]:
    """Return an ``application/x-www-form-urlencoded`` body as a dict (last value wins; no multipart needed)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(raw, keep_blank_values=True))
