"""Entra PIM "My roles" as a page (``/myroles/``): a client of this fake's own Microsoft Graph API.

The seed's steps [AWS-BLOG] (Figures 11–13): My roles → Groups lists the eligible assignments with "Activate"; the
"Activate – Member" form takes a duration and a justification (and a ticket number when the policy asks for one)
and submits a ``selfActivate`` request; active assignments show their end time and "Deactivate"; pending requests
show their state. Every piece comes from Graph, called in-process (:func:`fakekit.pages.self_client`) with the
signed-in user's bearer token, so the page refuses exactly what the Graph API refuses, with Entra's message
(e.g. ``The following policy rules failed: ["ExpirationRule"]`` [G-ERR]):

- sign-in: ``POST /_sandbox/tokens`` (a sandbox sign-in, optionally with the MFA claim; no real authentication);
- ``eligibilityScheduleInstances`` / ``assignmentScheduleInstances`` / ``assignmentScheduleRequests``
  ``filterByCurrentUser(on='principal')`` [G-ASI][G-ESI]; group names from ``GET /groups/{id}``;
- the form's limits from ``roleManagementPolicyAssignments`` (``$expand=policy($expand=rules)``): the end user's
  maximum duration (``Expiration_EndUser_Assignment``), enabled rules (``Enablement_EndUser_Assignment``) and
  approval (``Approval_EndUser_Assignment``) [G-ENABLE][E-SET];
- "Activate": ``POST assignmentScheduleRequests`` ``selfActivate``; "Deactivate": ``selfDeactivate``; "Cancel":
  ``POST .../{id}/cancel``.

The identity and token live in a cookie scoped to ``/myroles/``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from fakekit.pages import environment, form_fields, render, self_client
from sim.durations import DurationError, parse_duration

__all__ = ["COOKIE", "install_myroles"]

COOKIE = "jitbox_myroles"
PATH = "/myroles/"
PIM = "/v1.0/identityGovernance/privilegedAccess/group"
PENDING = ("PendingApproval", "PendingScheduleCreation", "PendingAdminDecision", "Granted", "PendingProvisioning")


def _ts(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code')}: {error.get('message')}"
    return str(body)


def _hours(value: str) -> str:
    """Return the ISO 8601 duration for a number of hours typed in the form (``1`` → ``PT1H``)."""
    try:
        hours = float(value)
    except ValueError:
        raise ValueError(f"Duration (hours) must be a number of hours such as 1 or 1.5, got {value!r}") from None
    if not math.isfinite(hours) or hours <= 0:
        raise ValueError(f"Duration (hours) must be more than 0, got {value!r}")
    minutes = round(hours * 60)
    return f"PT{minutes // 60}H" if minutes % 60 == 0 else f"PT{minutes}M"


class _Graph:
    """The page's Graph calls as the signed-in user."""

    def __init__(self, http: httpx2.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, **params: str) -> httpx2.Response:
        return await self.http.get(path, params=params, headers=self.headers)

    async def post(self, path: str, body: dict[str, Any]) -> httpx2.Response:
        return await self.http.post(path, json=body, headers=self.headers)

    async def mine(self, what: str) -> list[dict[str, Any]]:
        r = await self.get(f"{PIM}/{what}/filterByCurrentUser(on='principal')")
        return list(r.json().get("value", [])) if r.is_success else []

    async def policy(self, group_id: str) -> dict[str, Any]:
        """Return the end user's activation limits for the group's member role."""
        r = await self.get(
            "/v1.0/policies/roleManagementPolicyAssignments",
            **{
                "$filter": f"scopeId eq '{group_id}' and scopeType eq 'Group' and roleDefinitionId eq 'member'",
                "$expand": "policy($expand=rules)",
            },
        )
        rules = {}
        if r.is_success and r.json().get("value"):
            rules = {rule["id"]: rule for rule in r.json()["value"][0].get("policy", {}).get("rules", [])}
        expiration = rules.get("Expiration_EndUser_Assignment", {})
        enabled = rules.get("Enablement_EndUser_Assignment", {}).get("enabledRules", [])
        approval = rules.get("Approval_EndUser_Assignment", {}).get("setting", {})
        maximum = expiration.get("maximumDuration")
        try:
            max_seconds = parse_duration(maximum) if maximum else None
        except DurationError:
            max_seconds = None
        return {
            "max_seconds": max_seconds,
            "justification": "Justification" in enabled,
            "ticket": "Ticketing" in enabled,
            "mfa": "MultiFactorAuthentication" in enabled,
            "approval": bool(approval.get("isApprovalRequired")),
        }


def _session(request: Request) -> tuple[str | None, str | None]:
    raw = request.cookies.get(COOKIE)
    if not raw or "|" not in unquote(raw):
        return None, None
    name, token = unquote(raw).split("|", 1)
    return name, token


router = APIRouter(include_in_schema=False)
_ENV = environment("pim_fake")


def install_myroles(app: FastAPI, identities: Any) -> None:
    """Mount ``/myroles/`` on the Entra app; ``identities()`` returns identity name → default token (the picker)."""
    app.state.myroles_identities = identities
    app.include_router(router)


async def _now(http: httpx2.AsyncClient) -> float:
    return _ts((await http.get("/_sandbox/clock")).json()["now"]) or 0.0


async def _signin_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    async with self_client(request.app) as http:
        users = []
        for name, token in dict(request.app.state.myroles_identities()).items():
            r = await http.get("/v1.0/me", headers={"Authorization": f"Bearer {token}"})
            if r.is_success:
                users.append({"name": name, **r.json()})
        response = render(_ENV, "myroles_signin.html", status, users=users, now=await _now(http), error=error)
    response.delete_cookie(COOKIE, path=PATH)
    return response


async def _groups_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    name, token = _session(request)
    if token is None:
        return await _signin_page(request, error)
    async with self_client(request.app) as http:
        graph = _Graph(http, token)
        me = await graph.get("/v1.0/me")
        if not me.is_success:
            return await _signin_page(request, f"Sign in again: {_message(me)}")
        eligible = await graph.mine("eligibilityScheduleInstances")
        active = await graph.mine("assignmentScheduleInstances")
        requests = await graph.mine("assignmentScheduleRequests")
        names: dict[str, str] = {}
        for gid in {i["groupId"] for i in eligible + active + requests}:
            g = await graph.get(f"/v1.0/groups/{gid}")
            names[gid] = g.json().get("displayName", gid) if g.is_success else gid
        t = await _now(http)
    done_id = request.query_params.get("request")
    done = next((r for r in requests if r.get("id") == done_id), None)
    pending = [r for r in requests if r.get("status") in PENDING and r.get("action") == "selfActivate"]
    for item in eligible + active + requests:
        item["groupName"] = names.get(item["groupId"], item["groupId"])
        item["start"] = _ts(item.get("startDateTime") or (item.get("scheduleInfo") or {}).get("startDateTime"))
        item["end"] = _ts(item.get("endDateTime"))
    return render(
        _ENV,
        "myroles_groups.html",
        status,
        me=me.json(),
        identity=name,
        eligible=eligible,
        active=active,
        pending=pending,
        done=done,
        now=t,
        error=error,
    )


@router.get("/myroles", response_model=None)
async def to_slash() -> Response:
    return RedirectResponse(PATH, status_code=307)


@router.get(PATH, response_model=None)
async def home(request: Request) -> Response:
    if _session(request)[1] is None:
        return await _signin_page(request)
    return RedirectResponse(PATH + "groups", status_code=303)


@router.post(PATH + "signin", response_model=None)
async def signin(request: Request) -> Response:
    form = await form_fields(request)
    body = {"identity": form.get("identity", ""), "mfa": form.get("mfa") == "on"}
    async with self_client(request.app) as http:
        r = await http.post("/_sandbox/tokens", json=body)
    if not r.is_success:
        return await _signin_page(request, f"Sign-in refused: {_message(r)}", r.status_code)
    response = RedirectResponse(PATH + "groups", status_code=303)
    response.set_cookie(
        COOKIE,
        quote(f"{r.json()['identity']}|{r.json()['access_token']}"),
        path=PATH,
        httponly=True,
        samesite="lax",
    )
    return response


@router.post(PATH + "signout", response_model=None)
async def signout() -> Response:
    response = RedirectResponse(PATH, status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


@router.get(PATH + "groups", response_model=None)
async def groups(request: Request) -> Response:
    return await _groups_page(request)


async def _activate_form(
    request: Request, values: dict[str, str], error: str | None = None, status: int = 200
) -> Response:
    _name, token = _session(request)
    if token is None:
        return await _signin_page(request)
    group_id = values.get("groupId", "")
    async with self_client(request.app) as http:
        graph = _Graph(http, token)
        g = await graph.get(f"/v1.0/groups/{group_id}")
        if not g.is_success:
            return await _groups_page(request, error=f"Cannot activate: {_message(g)}", status=g.status_code)
        policy = await graph.policy(group_id)
        t = await _now(http)
    return render(
        _ENV, "myroles_activate.html", status, group=g.json(), policy=policy, values=values, now=t, error=error
    )


@router.get(PATH + "groups/activate", response_model=None)
async def activate_page(request: Request) -> Response:
    return await _activate_form(request, {"groupId": request.query_params.get("groupId", "")})


@router.post(PATH + "groups/activate", response_model=None)
async def activate(request: Request) -> Response:
    form = await form_fields(request)
    _name, token = _session(request)
    if token is None:
        return await _signin_page(request)
    try:
        duration = _hours(form.get("duration", "").strip())
    except ValueError as exc:
        return await _activate_form(request, form, str(exc), 400)
    body: dict[str, Any] = {
        "accessId": "member",
        "action": "selfActivate",
        "groupId": form.get("groupId", ""),
        "justification": form.get("justification", ""),
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": duration}},
    }
    if form.get("ticketNumber") or form.get("ticketSystem"):
        body["ticketInfo"] = {
            "ticketNumber": form.get("ticketNumber", ""),
            "ticketSystem": form.get("ticketSystem", ""),
        }
    async with self_client(request.app) as http:
        graph = _Graph(http, token)
        body["principalId"] = (await graph.get("/v1.0/me")).json().get("id", "")
        r = await graph.post(f"{PIM}/assignmentScheduleRequests", body)
    if not r.is_success:
        return await _activate_form(request, form, _message(r), r.status_code)
    return RedirectResponse(f"{PATH}groups?request={quote(r.json()['id'])}", status_code=303)


@router.post(PATH + "groups/deactivate", response_model=None)
async def deactivate(request: Request) -> Response:
    form = await form_fields(request)
    _name, token = _session(request)
    if token is None:
        return await _signin_page(request)
    async with self_client(request.app) as http:
        graph = _Graph(http, token)
        me = (await graph.get("/v1.0/me")).json().get("id", "")
        body = {
            "accessId": form.get("accessId", "member"),
            "action": "selfDeactivate",
            "groupId": form.get("groupId", ""),
            "principalId": me,
        }
        r = await graph.post(f"{PIM}/assignmentScheduleRequests", body)
    if not r.is_success:
        return await _groups_page(request, error=f"Deactivation refused: {_message(r)}", status=r.status_code)
    return RedirectResponse(f"{PATH}groups?request={quote(r.json()['id'])}", status_code=303)


@router.post(PATH + "groups/cancel", response_model=None)
async def cancel(request: Request) -> Response:
    form = await form_fields(request)
    _name, token = _session(request)
    if token is None:
        return await _signin_page(request)
    async with self_client(request.app) as http:
        r = await _Graph(http, token).post(f"{PIM}/assignmentScheduleRequests/{form.get('id', '')}/cancel", {})
    if not r.is_success:
        return await _groups_page(request, error=f"Cancel refused: {_message(r)}", status=r.status_code)
    return RedirectResponse(PATH + "groups", status_code=303)
