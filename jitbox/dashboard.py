"""The timeline dashboard: the virtual clock, the provisioning job, per-user timelines and the request log.

It needs both fakes, so it lives in the composition root and reads them only over their HTTP APIs (Graph as the
administrator, the ``/_sandbox`` routes of both fakes); :func:`serve_dashboard` serves it beside them (an extension
of :func:`jitbox.serve.start_sandbox`, ``dashboard_url`` in the config). Routes:

- ``GET /`` — the page; ``GET /view?user=UPN`` — its live part (the page's script reloads it every 2 s and after
  each control);
- ``POST /api/pause`` and ``POST /api/resume`` — hold or release a scaled clock (``/_sandbox/clock/pause``);
- ``POST /api/advance`` (form ``duration``: ``40m``, ``PT1H``, ``90`` seconds...) and ``POST /api/next-cycle`` —
  move the shared clock through ``/_sandbox/clock/advance``; JSON ``{"message"}`` for ``fetch`` callers (400 naming
  the field on bad input), else a redirect back to the page.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from fakekit.pages import environment, fmt_clock, form_fields, render
from jitbox.requestlog import request_log
from jitbox.timeline import UserTimeline, build_timelines, ts
from sim.durations import DurationError, format_duration, parse_duration
from sim.settings import Settings

__all__ = ["DashboardSources", "create_dashboard"]

PIM = "/identityGovernance/privilegedAccess/group"
WIDTH, LABEL, LANE_H = 1100, 190, 24


@dataclass(frozen=True)
class DashboardSources:
    """Where the fakes answer: the Identity Center app's and the Entra app's base URLs, and which identity of the
    Entra world reads Graph as administrator (its current token is read from ``GET /_sandbox/tokens`` on every
    refresh: Graph tokens expire on the sandbox clock, :mod:`pim_fake.tokens`)."""

    idc_base: str
    entra_base: str
    admin: str | None
    """None when no identity of the Entra world may read the audit log (the dashboard then says so)."""
    settings: Settings
    sandbox_headers: dict[str, str] = field(default_factory=dict)
    """Sent with every call to the fakes: the sandbox admin token's header when the sandbox is bound beyond loopback
    (``sandbox_admin_header``/``sandbox_admin_token`` in the config), else nothing."""

    @classmethod
    def from_config(cls, cfg: dict[str, Any], settings: Settings | None = None) -> DashboardSources:
        """Return the sources named by a sandbox config (``jitbox serve --config-out``).

        The administrator is the first identity of ``graph_tokens`` (``admin`` first) whose token may read the
        directory audit log, found by asking Graph; a world file may name its administrator anything.
        """
        graph = str(cfg["graph_url"])
        tokens: dict[str, str] = dict(cfg.get("graph_tokens") or {})
        ordered = sorted(tokens.items(), key=lambda kv: kv[0] != "admin")
        admin = None
        with httpx2.Client(timeout=30.0, verify=False, trust_env=False) as http:
            for name, token in ordered:
                probe = http.get(
                    f"{graph}/auditLogs/directoryAudits?$top=1", headers={"Authorization": f"Bearer {token}"}
                )
                if probe.is_success:
                    admin = name
                    break
        return cls(
            idc_base=str(cfg["aws_endpoint_url"]).rstrip("/"),
            entra_base=graph.removesuffix("/v1.0"),
            admin=admin,
            settings=settings or Settings(),
            sandbox_headers=(
                {str(cfg["sandbox_admin_header"]): str(cfg["sandbox_admin_token"])}
                if cfg.get("sandbox_admin_token")
                else {}
            ),
        )


async def _collect(http: httpx2.AsyncClient, src: DashboardSources) -> dict[str, Any]:
    g = src.entra_base + "/v1.0"

    async def get(url: str, **kw: Any) -> Any:
        r = await http.get(url, **kw)
        r.raise_for_status()
        return r.json()

    async def every(url: str, **kw: Any) -> dict[str, Any]:
        """Return a Graph collection with every page's ``value`` (following ``@odata.nextLink``)."""
        page = await get(url, **kw)
        values = list(page["value"])
        while page.get("@odata.nextLink"):
            page = await get(page["@odata.nextLink"], headers=kw.get("headers"))
            values.extend(page["value"])
        return {"value": values}

    tokens = (await get(src.entra_base + "/_sandbox/tokens"))["graph_tokens"]
    if src.admin not in tokens:
        raise NoAdministrator
    graph = {"Authorization": f"Bearer {tokens[src.admin]}"}

    clock, prov, users, groups, audits, idc, scim = await asyncio.gather(
        get(src.idc_base + "/_sandbox/clock"),
        get(src.entra_base + "/_sandbox/provisioning"),
        every(g + "/users", headers=graph),
        every(g + "/groups", headers=graph),
        every(g + "/auditLogs/directoryAudits", headers=graph),
        get(src.idc_base + "/_sandbox/state"),
        get(src.idc_base + "/_sandbox/requests"),
    )
    names = {x["id"]: x["displayName"] for x in groups["value"]}
    per_group = await asyncio.gather(
        *(
            every(g + PIM + "/assignmentScheduleRequests", headers=graph, params={"$filter": f"groupId eq '{gid}'"})
            for gid in names
        )
    )
    plane = idc.get("access_plane", {})
    active = {s["user_id"] for s in plane.get("portal_sessions", []) + plane.get("role_sessions", [])}
    answers = await asyncio.gather(*(get(f"{src.idc_base}/_sandbox/aws/access/{uid}") for uid in sorted(active)))
    return {
        "now": ts(clock["now"]) or 0.0,
        "mode": clock["mode"],
        "paused": bool(clock.get("paused")),
        "provisioning": next(iter(prov.values()), None),
        "users": users["value"],
        "groups": names,
        "requests": [r for page in per_group for r in page["value"]],
        "audits": audits["value"],
        "idc": idc,
        "access": {a["user_id"]: a for a in answers},
        "scim": scim["requests"],
    }


class NoAdministrator(Exception):
    """No identity of the Entra world may read what the dashboard needs."""


def _client(src: DashboardSources, timeout: float = 30.0) -> httpx2.AsyncClient:
    """Return an HTTP client for the fakes: plain HTTP on the sandbox's host, so no CA bundle is loaded (loading it
    costs ~80 ms per client, more than a whole dashboard answer); it carries the sandbox admin header when needed."""
    return httpx2.AsyncClient(timeout=timeout, verify=False, trust_env=False, headers=src.sandbox_headers)


def _axis(timelines: list[UserTimeline], now: float) -> dict[str, Any]:
    """Return the time axis: ``t0``/``t1``, hour ticks, and the pixel scale for the SVG."""
    starts = [t.activation_start for t in timelines] or [now]
    ends = [max(now, t.bound_end or 0, t.possible_until) for t in timelines] or [now + 3600]
    t0 = math.floor((min(starts) - 600) / 3600) * 3600
    t1 = math.ceil((max(ends) + 600) / 3600) * 3600
    span = max(t1 - t0, 3600)
    step = 3600 if span <= 14 * 3600 else 3 * 3600

    def x(t: float | None) -> float:
        t = now if t is None else min(max(t, t0), t1)
        return round(LABEL + (t - t0) / span * (WIDTH - LABEL - 24), 1)

    ticks = [(x(t), fmt_clock(t)[11:16]) for t in range(int(t0), int(t1) + 1, step)]
    return {"x": x, "ticks": ticks, "width": WIDTH, "label": LABEL, "lane_h": LANE_H}


def _lanes(t: UserTimeline, now: float, x: Any) -> list[dict[str, Any]]:
    """Return each lane's SVG rectangles: blue while it gives access, grey when it gives none, red past the intended
    end; the part after ``now`` (scheduled, not yet happened) pale."""
    lanes = []
    for lane in t.lanes:
        rects = []
        for sp in lane.intervals:
            end = now if sp.end is None else sp.end
            colour = "#4a7fd4" if sp.access else "#a8a8b3"
            title = f"{lane.name} {sp.label}".strip()
            pieces = [(sp.start, end, colour)]
            if sp.access and end > t.intended_end:
                pieces = [(sp.start, min(end, t.intended_end), colour), (max(sp.start, t.intended_end), end, "#e0483e")]
            for a, b, fill in pieces:
                for lo, hi, opacity in ((a, min(b, now), 1.0), (max(a, now), b, 0.35)):
                    if hi > lo:
                        rects.append(
                            {"x": x(lo), "w": max(x(hi) - x(lo), 1.5), "fill": fill, "opacity": opacity, "title": title}
                        )
        lanes.append({"name": lane.name, "rects": rects})
    return lanes


def _fast_path(prov: dict[str, Any] | None, now: float, users: dict[str, str]) -> list[dict[str, Any]]:
    """Return the fast-path decisions still on their way to Identity Center (due after now)."""
    if prov is None:
        return []
    queue = []
    for rec in prov.get("fastPath", []):
        due = rec["at"] + rec["latency"] if rec["fast"] else None
        if due is None or due > now:
            queue.append({**rec, "due": due, "user": users.get(rec["userId"], rec["userId"])})
    return queue


router = APIRouter()
_ENV = environment("jitbox")


def create_dashboard(src: DashboardSources | Callable[[], DashboardSources]) -> FastAPI:
    """Return the dashboard app reading the fakes at ``src``.

    ``src`` may be a function returning the sources: it is called on the first request (``jitbox serve`` passes one,
    so finding the Graph administrator costs nothing at start, only when someone opens the dashboard).
    """
    app = FastAPI(title="jitbox dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard_src = src
    app.state.dashboard_src_lock = threading.Lock()
    app.add_exception_handler(NoAdministrator, _no_admin)
    app.include_router(router)
    return app


def _src(request: Request) -> DashboardSources:
    state = request.app.state
    if not isinstance(state.dashboard_src, DashboardSources):
        with state.dashboard_src_lock:
            if not isinstance(state.dashboard_src, DashboardSources):
                state.dashboard_src = state.dashboard_src()
    src: DashboardSources = state.dashboard_src
    return src


async def _no_admin(request: Request, exc: Exception) -> Response:
    return Response(
        "The dashboard reads Graph as an administrator, and no identity of this Entra world is one: "
        "add a user with admin = true (or a [[clients]] app) to the world file.",
        status_code=503,
        media_type="text/plain",
    )


async def _view_context(request: Request) -> dict[str, Any]:
    """Return what the page shows: read both fakes, build the timelines, the axis, the queue and the log."""
    src = _src(request)
    if src.admin is None:
        raise NoAdministrator
    async with _client(_src(request)) as http:
        data = await _collect(http, src)
    now = data["now"]
    timelines = build_timelines(
        users=data["users"], groups=data["groups"], requests=data["requests"], audits=data["audits"],
        idc=data["idc"], access=data["access"], base=src.settings, now=now,
    )  # fmt: skip
    upns = {u["id"]: u["userPrincipalName"] for u in data["users"]}
    chosen = request.query_params.get("user") or ""
    job = data["provisioning"]
    axis = _axis(timelines, now)
    return {
        "now": now,
        "mode": data["mode"],
        "paused": data["paused"],
        "timelines": [(t, _lanes(t, now, axis["x"])) for t in timelines],
        "axis": axis,
        "job": job["job"] if job else None,
        "cycles": job["cyclesRun"] if job else 0,
        "next_cycle": ts(job["job"].get("nextCycleDateTime")) if job else None,
        "queue": _fast_path(job, now, upns),
        "user": chosen,
        "upns": sorted(upns.values()),
        "log": request_log(data, chosen),
    }


@router.get("/", response_model=None)
async def page(request: Request) -> Response:
    return render(_ENV, "dashboard.html", **await _view_context(request))


@router.get("/view", response_model=None)
async def view(request: Request) -> Response:
    return render(_ENV, "dashboard_view.html", **await _view_context(request))


def _answer(request: Request, message: str, status: int, **extra: Any) -> Response:
    """JSON ``{"message"}`` for ``fetch`` callers; otherwise back to the page (or the message, on an error)."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"message": message, **extra}, status_code=status)
    if status >= 400:
        return Response(message, status_code=status, media_type="text/plain")
    return RedirectResponse("/", status_code=303)


async def _advance(request: Request, seconds: float, what: str) -> Response:
    async with _client(_src(request), 120.0) as http:
        r = await http.post(_src(request).idc_base + "/_sandbox/clock/advance", json={"seconds": seconds})
    body = r.json()
    if r.is_success:
        message = f"Advanced {what}; sandbox time {fmt_clock(ts(body['now']), seconds=True)}."
    else:
        message = str(body.get("error", {}).get("message", body))
    return _answer(request, message, r.status_code, **body)


@router.post("/api/advance", response_model=None)
async def advance_by(request: Request) -> Response:
    raw = (await form_fields(request)).get("duration", "").strip()
    try:
        seconds = parse_duration(raw)
    except DurationError as exc:
        return _answer(request, f"Advance by: {exc}", 400, field="duration")
    if seconds <= 0:
        return _answer(request, f"Advance by: give a positive duration such as 10m or PT1H, got {raw!r}", 400,
                       field="duration")  # fmt: skip
    return await _advance(request, seconds, f"by {format_duration(seconds)}")


async def _clock_switch(request: Request, action: str) -> Response:
    async with _client(_src(request)) as http:
        r = await http.post(f"{_src(request).idc_base}/_sandbox/clock/{action}")
    body = r.json()
    ok = {"pause": "Clock paused", "resume": "Clock running"}[action]
    message = f"{ok} at {fmt_clock(ts(body['now']), seconds=True)}." if r.is_success else body["error"]["message"]
    return _answer(request, message, r.status_code)


@router.post("/api/pause", response_model=None)
async def pause(request: Request) -> Response:
    return await _clock_switch(request, "pause")


@router.post("/api/resume", response_model=None)
async def resume(request: Request) -> Response:
    return await _clock_switch(request, "resume")


@router.post("/api/next-cycle", response_model=None)
async def next_cycle(request: Request) -> Response:
    src = _src(request)
    async with _client(_src(request)) as http:
        clock = (await http.get(src.idc_base + "/_sandbox/clock")).json()
        prov = (await http.get(src.entra_base + "/_sandbox/provisioning")).json()
    job = next(iter(prov.values()), None)
    due = ts(job["job"].get("nextCycleDateTime")) if job else None
    if due is None:
        return _answer(request, "No provisioning cycle is scheduled (is the job started?)", 400, field="clock")
    seconds = max(0.0, due - (ts(clock["now"]) or 0.0))
    return await _advance(request, seconds, f"to the next provisioning cycle ({fmt_clock(due)})")
