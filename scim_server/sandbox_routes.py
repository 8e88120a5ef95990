"""The SCIM fake's own ``/_sandbox`` routes: request log, faults, tokens, rate limit and behaviour switches.

One module-level router; each route gets the app's :class:`scim_server.app.IdcContext` through ``Depends``, so no
internal parameter shows in a route's signature. What each route does is described in :mod:`scim_server.sandbox`.
Bad input answers the one sandbox error body (:mod:`fakekit.errors`) naming the field.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request

from fakekit.body import BodyError, read_json_body
from fakekit.errors import bad_request, body_error, sandbox_error
from fakekit.offloop import json_in_worker
from scim_server.sandbox import MAX_FAULT_RULES, parse_rule
from scim_server.tokens import TokenError

if TYPE_CHECKING:
    from scim_server.app import IdcContext

__all__ = ["install", "router"]


def idc_context(request: Request) -> IdcContext:
    """Return the Identity Center context of the app serving ``request``."""
    ctx: IdcContext = request.app.state.idc
    return ctx


Ctx = Annotated["IdcContext", Depends(idc_context)]
router = APIRouter(prefix="/_sandbox", tags=["sandbox"])


def _options_json(ctx: IdcContext) -> dict[str, Any]:
    return {**dataclasses.asdict(ctx.options), "rate_limit_rps": ctx.limiter.rps}


def _rate(value: Any) -> float | None:
    """Return ``value`` as a rate (a finite number >= 0, not a bool), or None when it is not one."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


@router.get("/requests")
async def get_requests(request: Request, ctx: Ctx) -> Any:
    """The CloudTrail-like request log, oldest first (``?limit=N`` keeps the newest N)."""
    raw = request.query_params.get("limit")
    limit: int | None = None
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            return bad_request("limit", f"limit must be an integer, got {raw!r}")
    return await json_in_worker(lambda: {"requests": ctx.requests.entries(limit)})  # up to 8 MiB: encode off the loop


@router.delete("/requests")
async def clear_requests(ctx: Ctx) -> Any:
    """Empty the request log."""
    ctx.requests.clear()
    return {"cleared": True}


@router.get("/faults")
async def get_faults(ctx: Ctx) -> Any:
    """The fault rules in force."""
    return {"rules": [r.as_json() for r in ctx.faults.rules()]}


@router.post("/faults")
async def post_faults(request: Request, ctx: Ctx) -> Any:
    """Replace (or with ``"append": true`` extend) the fault rules."""
    try:
        data = await read_json_body(request)
    except BodyError as exc:
        return body_error(exc, 'the body must be JSON like {"rules": [{"route": "PATCH Groups", "status": 429}]}')
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return bad_request("rules", 'give {"rules": [...]} (a list of fault rules)')
    if len(data["rules"]) > MAX_FAULT_RULES:
        return bad_request("rules", f"at most {MAX_FAULT_RULES} fault rules at once (got {len(data['rules'])})")
    try:
        rules = [parse_rule(r, i) for i, r in enumerate(data["rules"])]
        ctx.faults.set_rules(rules, append=bool(data.get("append", False)))
    except ValueError as exc:
        return bad_request("rules", str(exc))
    return {"rules": [r.as_json() for r in ctx.faults.rules()]}


@router.delete("/faults")
async def delete_faults(ctx: Ctx) -> Any:
    """Clear every fault rule."""
    ctx.faults.clear()
    return {"rules": []}


@router.get("/tokens")
async def get_tokens(ctx: Ctx) -> Any:
    """The SCIM tokens (no secrets)."""
    now = ctx.clock.time()
    return {"tokens": [t.public(now) for t in ctx.tokens.list()]}


@router.post("/tokens")
async def post_token(ctx: Ctx) -> Any:
    """Create a SCIM token and return its secret once; 409 when two exist."""
    try:
        token = ctx.tokens.create()
    except TokenError as exc:
        return sandbox_error(409, "tokens", str(exc))
    return {**token.public(ctx.clock.time()), "secret": token.secret}


@router.delete("/tokens/{token_id}")
async def delete_token(token_id: str, ctx: Ctx) -> Any:
    """Delete a SCIM token; 404 for an unknown id."""
    try:
        ctx.tokens.delete(token_id)
    except TokenError as exc:
        return sandbox_error(404, "id", str(exc))
    return {"deleted": token_id}


@router.get("/rate-limit")
async def get_rate(ctx: Ctx) -> Any:
    """The SCIM rate limit in requests per second (0 = off)."""
    return {"rps": ctx.limiter.rps}


@router.post("/rate-limit")
async def post_rate(request: Request, ctx: Ctx) -> Any:
    """Set the SCIM rate limit: ``{"rps": N}`` (0 disables)."""
    try:
        data = await read_json_body(request)
    except BodyError as exc:
        return body_error(exc, 'the body must be JSON like {"rps": 20}')
    raw = data.get("rps") if isinstance(data, dict) else None
    rps = _rate(raw)
    if rps is None:
        return bad_request("rps", f"rps must be a number >= 0 (0 disables), got {raw!r}")
    ctx.limiter.set_rate(rps)
    ctx.options = dataclasses.replace(ctx.options, rate_limit_rps=rps)
    return {"rps": ctx.limiter.rps}


@router.get("/scim/options")
async def get_options(ctx: Ctx) -> Any:
    """The UNCONFIRMED-behaviour switches in force."""
    return _options_json(ctx)


def _option_change(ctx: IdcContext, key: str, value: Any) -> Any:
    """Return the checked value for switch ``key``; raise ValueError with the message naming it."""
    if key in ("string_booleans", "replace_empty_members_quirk"):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        return value
    if key == "put_user_status":
        if value not in (200, 201):
            raise ValueError(f"put_user_status must be 200 or 201, got {value!r}")
        return value
    if key == "rate_limit_rps":
        rps = _rate(value)
        if rps is None:
            raise ValueError(f"rate_limit_rps must be a number >= 0 (0 disables), got {value!r}")
        return rps
    raise ValueError(f"unknown option {key!r}; options: {sorted(_options_json(ctx))}")


@router.post("/scim/options")
async def post_options(request: Request, ctx: Ctx) -> Any:
    """Change switches: a JSON object of name -> value; nothing changes when one is bad."""
    try:
        data = await read_json_body(request)
    except BodyError as exc:
        return body_error(exc, 'the body must be JSON like {"string_booleans": false}')
    if not isinstance(data, dict):
        return bad_request("body", "the body must be a JSON object")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        try:
            changes[key] = _option_change(ctx, key, value)
        except ValueError as exc:
            return bad_request(key, str(exc))
    ctx.options = dataclasses.replace(ctx.options, **changes)
    if "rate_limit_rps" in changes:
        ctx.limiter.set_rate(changes["rate_limit_rps"])
    return _options_json(ctx)


def install(app: FastAPI, ctx: IdcContext) -> None:
    """Mount the router on ``app`` and clear the request log and faults on ``POST /_sandbox/reset``."""
    app.include_router(router)

    def _reset() -> None:
        ctx.requests.clear()
        ctx.faults.clear()

    ctx.control.on_reset(_reset)
