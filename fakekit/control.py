"""The ``/_sandbox`` control routes that every jitbox fake mounts (moto's ``/moto-api/`` idea).

- ``GET  /_sandbox/clock`` → ``{"now", "mode", "pending_timers"}``
- ``POST /_sandbox/clock/advance`` with ``{"seconds": 2400}`` or ``{"duration": "PT40M"}`` (or ``?seconds=``) →
  ``{"now", "advanced_seconds", "timers_run"}`` (at most :data:`MAX_ADVANCE`, 366 days, per call); fakes served
  together share one clock, so advancing on either moves both.
- ``POST /_sandbox/reset`` → runs every registered reset hook (stores emptied, timers dropped); with the body
  ``{"clock": true}`` the clock also goes back to where it started (advances undone). When fakes are served
  together the composition root replaces this with one global reset (:meth:`SandboxControl.replace_reset`).
- ``GET  /_sandbox/state`` → the JSON dump each registered state provider returns, keyed by name.
- ``GET  /_sandbox/`` → every ``/_sandbox`` route of the app with its methods and summary (JSON; an HTML page with
  links when a browser asks for ``text/html``).
- ``GET  /_sandbox/health`` → ``{"status": "ok", "service", "now", "clock"}``.
- ``GET  /_sandbox/openapi/sandbox.json`` → the app's ``/_sandbox`` routes as an OpenAPI document
  (:func:`fakekit.openapi.spec_for`).
- ``GET  /_sandbox/config`` → the sandbox's config dict (what ``jitbox serve --config-out`` writes) when the
  composition root provides one (:meth:`SandboxControl.provide_config`), else 404.

Bad input answers 400 ``{"error": {"code": "BadRequest", "field": ..., "message": ...}}``, never a 500.
Fakes add their own routes under ``/_sandbox`` (requests log, faults, tokens) on the same router.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from fakekit.body import BodyError, read_json_body
from fakekit.errors import bad_request, body_error, sandbox_error
from fakekit.offloop import EncodeInWorker
from fakekit.openapi import spec_for
from fakekit.timefmt import iso_z
from sim.clock import Clock, ClockError, ScaledClock
from sim.durations import DurationError, parse_duration

__all__ = ["MAX_ADVANCE", "SandboxControl"]

MAX_ADVANCE = 366 * 86400.0
"""Longest single ``POST /_sandbox/clock/advance`` (one year and a day): a bigger jump would run every recurring
timer (e.g. Entra's 40-minute cycle) for years or move the clock past what a datetime can show."""


class SandboxControl:
    """Clock, reset and state endpoints for one fake; ``router`` is the FastAPI router to include."""

    def __init__(self, clock: Clock, service: str = "jitbox fake") -> None:
        self.clock = clock
        self.service = service
        self._config: Callable[[], dict[str, Any]] | None = None
        self._resets: list[Callable[[], None]] = []
        self._reset_handler: Callable[[bool], dict[str, Any]] | None = None
        self._states: dict[str, Callable[[], Any]] = {}
        self.router = APIRouter(prefix="/_sandbox", tags=["sandbox"], route_class=EncodeInWorker)
        self.router.add_api_route("/clock", self.get_clock, methods=["GET"])
        self.router.add_api_route("/clock/advance", self.advance_clock, methods=["POST"])
        self.router.add_api_route("/clock/pause", self.pause_clock, methods=["POST"])
        self.router.add_api_route("/clock/resume", self.resume_clock, methods=["POST"])
        self.router.add_api_route("/reset", self.reset, methods=["POST"])
        self.router.add_api_route("/state", self.state, methods=["GET"])
        self.router.add_api_route("/", self.index, methods=["GET"], summary="this list of sandbox routes")
        self.router.add_api_route("/health", self.health, methods=["GET"], summary="liveness, time and clock mode")
        self.router.add_api_route("/config", self.get_config, methods=["GET"], summary="the sandbox's config dict")
        self.router.add_api_route(
            "/openapi/sandbox.json",
            self.sandbox_spec,
            methods=["GET"],
            summary="OpenAPI document of the /_sandbox routes",
        )

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Register ``hook`` to run on ``POST /_sandbox/reset``."""
        self._resets.append(hook)

    def replace_reset(self, handler: Callable[[bool], dict[str, Any]] | None) -> None:
        """Answer ``POST /_sandbox/reset`` with ``handler(clock) -> dict`` instead of the local hooks (the composition
        root's global reset, which calls :meth:`reset_local` of every fake); None restores the local reset."""
        self._reset_handler = handler

    def reset_local(self, clock: bool = False) -> None:
        """Run this fake's reset hooks (and restart the clock when ``clock``)."""
        if clock:
            self.clock.restart()
        for hook in self._resets:
            hook()

    def provide_config(self, provider: Callable[[], dict[str, Any]] | None) -> None:
        """Answer ``GET /_sandbox/config`` with ``provider()`` (the composition root's config dict)."""
        self._config = provider

    def provide_state(self, name: str, provider: Callable[[], Any]) -> None:
        """Register ``provider`` whose JSON-ready result appears under ``name`` in ``GET /_sandbox/state``."""
        self._states[name] = provider

    def clock_json(self) -> dict[str, Any]:
        """Return the clock's current time, mode, pending timer count and how many timer callbacks raised (each
        survived: :attr:`sim.clock.Clock.timer_errors`)."""
        return {
            "now": iso_z(self.clock.now()),
            "mode": self.clock.mode,
            "pending_timers": len(self.clock.pending()),
            "paused": isinstance(self.clock, ScaledClock) and self.clock.paused,
            "timer_errors": len(self.clock.timer_errors),
        }

    def pause_clock(self) -> Any:
        """``POST /_sandbox/clock/pause``: hold a scaled clock still (400 on manual and wall clocks)."""
        if not isinstance(self.clock, ScaledClock):
            return bad_request("clock", f"only a scaled clock can pause; this one is {self.clock.mode}")
        self.clock.pause()
        return self.clock_json()

    def resume_clock(self) -> Any:
        """``POST /_sandbox/clock/resume``: let a paused scaled clock run again."""
        if not isinstance(self.clock, ScaledClock):
            return bad_request("clock", f"only a scaled clock can pause and resume; this one is {self.clock.mode}")
        self.clock.resume()
        return self.clock_json()

    def get_clock(self) -> dict[str, Any]:
        """``GET /_sandbox/clock``."""
        return self.clock_json()

    async def advance_clock(self, request: Request) -> Any:
        """``POST /_sandbox/clock/advance``: body ``{"seconds": N}`` or ``{"duration": "PT40M"}``."""
        raw: Any = request.query_params.get("seconds") or request.query_params.get("duration")
        field = "seconds"
        if raw is None:
            try:
                data = await read_json_body(request, allow_empty=True)
            except BodyError as exc:
                return body_error(exc, 'the body must be JSON like {"seconds": 2400} or {"duration": "PT40M"}')
            if data is not None:
                if not isinstance(data, dict):
                    return bad_request("body", "the body must be a JSON object")
                if "seconds" in data:
                    raw = data["seconds"]
                elif "duration" in data:
                    raw, field = data["duration"], "duration"
        if raw is None:
            return bad_request("seconds", 'give {"seconds": N} or {"duration": "PT40M"}')
        try:
            seconds = parse_duration(raw)
        except DurationError as exc:
            return bad_request(field, str(exc))
        if seconds > MAX_ADVANCE:
            return bad_request(
                field, f"advance at most 366 days per call (got {seconds:g} s); call again to go further"
            )
        try:
            ran = await _run_blocking(self.clock.advance, seconds)
        except (ClockError, TypeError) as exc:
            return bad_request(field, str(exc))
        return {**self.clock_json(), "advanced_seconds": seconds, "timers_run": ran}

    async def reset(self, request: Request) -> Any:
        """``POST /_sandbox/reset``: run every reset hook (or the global reset); body ``{"clock": true}`` optional."""
        clock = request.query_params.get("clock", "").lower() in ("1", "true", "yes")
        try:
            data = await read_json_body(request, allow_empty=True)
        except BodyError as exc:
            return body_error(exc, 'the body must be empty or JSON like {"clock": true}')
        if data is not None:
            if not isinstance(data, dict) or not isinstance(data.get("clock", False), bool):
                return bad_request("clock", 'give {"clock": true} to also restart the clock, or no body')
            unknown = sorted(set(data) - {"clock"})
            if unknown:
                return bad_request(unknown[0], f"unknown field {unknown[0]!r}; the only field is clock")
            clock = clock or bool(data.get("clock", False))
        if self._reset_handler is not None:
            result = await run_in_threadpool(self._reset_handler, clock)
            return {"reset": True, **self.clock_json(), **result}
        await run_in_threadpool(self.reset_local, clock)
        return {"reset": True, **self.clock_json()}

    def health(self) -> dict[str, Any]:
        """``GET /_sandbox/health``."""
        return {"status": "ok", "service": self.service, "now": iso_z(self.clock.now()), "clock": self.clock.mode}

    def get_config(self) -> Any:
        """``GET /_sandbox/config``: the config dict, or 404 when this fake runs without the composition root."""
        if self._config is None:
            return sandbox_error(404, None, "no sandbox config here: this fake was started without jitbox serve")
        return self._config()

    def index(self, request: Request) -> Any:
        """``GET /_sandbox/``: the app's sandbox routes (JSON, or HTML for a browser)."""
        routes = []
        for path, operations in request.app.openapi().get("paths", {}).items():
            if path.startswith("/_sandbox"):
                methods = sorted(m.upper() for m in operations)
                summary = next((str(op.get("summary", "")) for op in operations.values()), "")
                routes.append({"path": path, "methods": methods, "summary": summary})
        routes.sort(key=lambda r: (r["path"], r["methods"]))
        body = {"service": self.service, "now": iso_z(self.clock.now()), "clock": self.clock.mode, "routes": routes}
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(_index_html(body, str(request.base_url).rstrip("/")))
        return body

    def sandbox_spec(self, request: Request) -> dict[str, Any]:
        """``GET /_sandbox/openapi/sandbox.json``: the app's ``/_sandbox`` routes as an OpenAPI document."""
        return spec_for(request.app.openapi(), lambda path: path.startswith("/_sandbox"), f"{self.service}: sandbox")

    def state(self) -> dict[str, Any]:
        """``GET /_sandbox/state``: every registered provider's dump."""
        return {"clock": self.clock_json(), **{name: provider() for name, provider in self._states.items()}}


def _index_html(body: dict[str, Any], base: str) -> str:
    rows = []
    for r in body["routes"]:
        path = html.escape(r["path"])
        link = f'<a href="{base}{path}">{path}</a>' if "GET" in r["methods"] and "{" not in r["path"] else path
        rows.append(f"<tr><td>{', '.join(r['methods'])}</td><td>{link}</td><td>{html.escape(r['summary'])}</td></tr>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>jitbox sandbox</title></head><body>"
        f"<h1>{html.escape(body['service'])}: sandbox routes</h1>"
        f"<p>now {html.escape(body['now'])} (clock {html.escape(body['clock'])})</p>"
        "<table border='1' cellpadding='4'><tr><th>methods</th><th>path</th><th>what</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )


async def _run_blocking(fn: Callable[[float], int], arg: float) -> int:
    """Run a clock advance in a worker thread: its timers may make blocking HTTP calls to other fakes."""
    return await run_in_threadpool(fn, arg)
