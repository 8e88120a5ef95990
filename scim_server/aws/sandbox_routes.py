"""``/_sandbox/aws/...``: sandbox controls of the access plane — sign a user in, instance settings, account names,
ending portal sessions, countermeasures [IAM-revoke][UG-denypol], and "what may this user / role session still do
at T". Errors answer ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from fakekit.timefmt import with_iso_times

from .errors import AwsError, validation
from .http import access_plane, json_body, locked, parse_time, sandbox_error, user_id_from_body
from .plane import AccessPlane

__all__ = ["router"]

router = APIRouter(prefix="/_sandbox/aws", tags=["sandbox"])
Plane = Annotated[AccessPlane, Depends(access_plane)]

_SETTINGS = {
    "portal_session",
    "entitlement_mode",
    "disabled_user_mode",
    "assignment_delay",
    "user_assignments_include_groups",
}


async def _call(plane: AccessPlane, request: Request | None, fn: Callable[[dict[str, Any]], Any]) -> Response:
    """Return the JSON response to ``fn(body)`` run under the plane's lock (``body`` is ``{}`` without a request)."""
    try:
        body = await json_body(request) if request is not None else {}
        result = await locked(plane, lambda: fn(body))
    except AwsError as err:
        return sandbox_error(err)
    return JSONResponse(with_iso_times(result))


def _at(plane: AccessPlane, raw: str | None) -> float:
    """Return the time of an ``?at=`` query parameter, default now."""
    return parse_time(raw, "at") if raw is not None else plane.now()


@router.post("/signin")
async def sign_in(request: Request, plane: Plane) -> Response:
    """Sign a user in to the access portal; body ``{"user_id"}`` or ``{"user_name"}``; returns the token."""

    def run(body: dict[str, Any]) -> dict[str, Any]:
        session = plane.sessions.sign_in(user_id_from_body(plane, body))
        end = plane.entitlements.session_end(session)
        expires = datetime.fromtimestamp(end, tz=plane.clock.now().tzinfo)
        return {
            "accessToken": session.token,
            "user_id": session.user_id,
            "signin": session.signin,
            "expiresAt": expires.isoformat().replace("+00:00", "Z"),
            "expiresIn": int(end - session.signin),
        }

    return await _call(plane, request, run)


@router.get("/settings")
async def get_settings(plane: Plane) -> Response:
    """Return the instance settings (portal session, entitlement mode, switches)."""
    return await _call(plane, None, lambda _b: plane.settings_json())


@router.post("/settings")
async def set_settings(request: Request, plane: Plane) -> Response:
    """Change ``portal_session`` (new sessions only), ``entitlement_mode``, ``disabled_user_mode``,
    ``assignment_delay``."""

    def run(body: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - _SETTINGS)
        if unknown:
            raise validation(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_SETTINGS))}")
        plane.configure(**body)
        return plane.settings_json()

    return await _call(plane, request, run)


@router.post("/accounts")
async def register_account(request: Request, plane: Plane) -> Response:
    """Name an account for the portal's ListAccounts: ``{"account_id", "name", "email"}``."""

    def run(body: dict[str, Any]) -> dict[str, Any]:
        plane.accounts.register(body.get("account_id"), body.get("name"), body.get("email"))
        return plane.accounts.to_json(body["account_id"])

    return await _call(plane, request, run)


@router.post("/sessions/end")
async def end_sessions(request: Request, plane: Plane) -> Response:
    """Admin "Delete session" for a user's portal sessions ``{"user_id"}`` [UG-endsess]."""

    def run(body: dict[str, Any]) -> dict[str, Any]:
        user_id = body.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise validation("user_id is required")
        return {"ended": plane.sessions.end_user_sessions(user_id)}

    return await _call(plane, request, run)


@router.post("/deny/token-issue-time")
async def deny_token_issue_time(request: Request, plane: Plane) -> Response:
    """Deny role sessions issued before ``{"before": T}`` (default now) [IAM-revoke]."""

    def run(body: dict[str, Any]) -> dict[str, Any]:
        before = parse_time(body["before"], "before") if body.get("before") is not None else None
        return {"before": plane.denies.deny_token_issue_time(before)}

    return await _call(plane, request, run)


@router.post("/deny/user")
async def deny_user(request: Request, plane: Plane) -> Response:
    """Deny everything for ``{"user_id", "at"?}`` via ``identitystore:userId`` [UG-denypol]."""

    def run(body: dict[str, Any]) -> dict[str, Any]:
        at = parse_time(body["at"], "at") if body.get("at") is not None else None
        return {"user_id": body.get("user_id"), "from": plane.denies.deny_user(body.get("user_id"), at)}

    return await _call(plane, request, run)


@router.get("/access/{user_id}")
async def access(user_id: str, request: Request, plane: Plane) -> Response:
    """What can this user still launch and do at ``?at=T`` (default now)?"""
    raw_at = request.query_params.get("at")
    return await _call(plane, None, lambda _b: plane.access_json(user_id, _at(plane, raw_at)))


@router.get("/role-sessions/{access_key_id}")
async def role_session(access_key_id: str, request: Request, plane: Plane) -> Response:
    """Is this role session still allowed at ``?at=T`` (default now)?"""
    raw_at = request.query_params.get("at")

    def run(_body: dict[str, Any]) -> dict[str, Any]:
        t = _at(plane, raw_at)
        return plane.denies.role_session_json(plane.sessions.role_session(access_key_id), t)

    return await _call(plane, None, run)
