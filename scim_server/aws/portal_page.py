"""The AWS access portal as a page (``/start/``): a client of this fake's own portal (``sso``) API.

What the real portal shows after sign-in [AWS-BLOG] (Figures 14–15): the AWS accounts the user may use, each
account's permission sets, and for a permission set "Access keys" with the role credentials and their expiry
[UG23-howto]. Here every piece comes from the fake's HTTP API, called in-process (:func:`fakekit.pages.self_client`):

- sign-in: ``POST /_sandbox/aws/signin`` (no real authentication; the portal session starts now, its length from the
  instance settings [UG-uis]); the users offered are ``identitystore ListUsers`` — only provisioned users can sign in;
- accounts: ``GET /assignment/accounts``; permission sets: ``GET /assignment/roles``; Access keys:
  ``GET /federation/credentials`` [BC-sso] — so the list is what the entitlement mode says: under
  ``signin_snapshot`` the one from sign-in time for the whole portal session [AWS-BLOG], under ``launch_check`` the
  live one [UG-revoke];
- sign out: ``POST /logout``.

The portal token lives in a cookie scoped to ``/start/``. A session that the API no longer accepts (ended or
expired) sends the user back to sign-in with the API's message.
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

__all__ = ["COOKIE", "install_portal_page"]

COOKIE = "jitbox_portal"
PATH = "/start/"
JSON11 = "application/x-amz-json-1.1"


class _Api:
    """The page's calls to the fake's own API; ``error`` is the last error message the API gave."""

    def __init__(self, http: httpx2.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    async def portal(self, path: str, **params: str) -> httpx2.Response:
        headers = {"x-amz-sso_bearer_token": self.token or ""}
        return await self.http.get(path, params=params, headers=headers)

    async def now(self) -> float:
        data = (await self.http.get("/_sandbox/clock")).json()
        return datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00")).timestamp()

    async def users(self, store_id: str) -> list[dict[str, Any]]:
        headers = {"X-Amz-Target": "AWSIdentityStore.ListUsers", "Content-Type": JSON11}
        users: list[dict[str, Any]] = []
        body: dict[str, Any] = {"IdentityStoreId": store_id, "MaxResults": 100}
        while True:
            data = (await self.http.post("/", json=body, headers=headers)).json()
            users.extend(data.get("Users", []))
            if not data.get("NextToken"):
                break
            body["NextToken"] = data["NextToken"]
        return sorted(users, key=lambda u: str(u.get("UserName", "")))


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        inner: dict[str, Any] = error if isinstance(error, dict) else body
        return str(inner.get("message") or inner.get("Message") or body)
    return str(body)


def _session(request: Request) -> tuple[str | None, str | None, float | None]:
    """Return (token, user name, session end) from the cookie ``token|user|end``."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None, None, None
    parts = unquote(raw).split("|")
    if len(parts) != 3:
        return None, None, None
    try:
        end = float(parts[2])
    except ValueError:
        end = math.nan
    return parts[0], parts[1], end


router = APIRouter(include_in_schema=False)
_ENV = environment("scim_server")


def install_portal_page(app: FastAPI, identity_store_id: Any) -> None:
    """Mount ``/start/`` on ``app``; ``identity_store_id()`` returns the store id for ``ListUsers``."""
    app.state.portal_identity_store_id = identity_store_id
    app.include_router(router)


async def _signin_view(request: Request, api: _Api, now: float, error: str | None, status: int) -> Response:
    users = await api.users(str(request.app.state.portal_identity_store_id()))
    return render(_ENV, "portal_signin.html", status, users=users, now=now, error=error)


async def _page(
    request: Request, *, credentials: dict[str, Any] | None = None, error: str | None = None, status: int = 200
) -> Response:
    """Render the portal for the cookie's session (or the sign-in form), with ``credentials``/``error`` shown."""
    token, user, end = _session(request)
    async with self_client(request.app) as http:
        api = _Api(http, token)
        now = await api.now()
        if token is None:
            return await _signin_view(request, api, now, error, status)
        accounts_r = await api.portal("/assignment/accounts")
        if accounts_r.status_code == 401:
            ended = f"Your portal session has ended ({_message(accounts_r)}). Sign in again."
            response = await _signin_view(request, api, now, ended, status)
            response.delete_cookie(COOKIE, path=PATH)
            return response
        accounts = []
        for account in accounts_r.json().get("accountList", []):
            roles_r = await api.portal("/assignment/roles", account_id=account["accountId"])
            roles = [r["roleName"] for r in roles_r.json().get("roleList", [])] if roles_r.is_success else []
            accounts.append({**account, "roles": roles})
    return render(
        _ENV,
        "portal.html",
        status,
        user=user,
        session_end=end,
        accounts=accounts,
        now=now,
        credentials=credentials,
        error=error,
    )


@router.get("/start", response_model=None)
async def start_redirect() -> Response:
    return RedirectResponse(PATH, status_code=307)


@router.get(PATH, response_model=None)
async def portal(request: Request) -> Response:
    return await _page(request)


@router.post(PATH + "signin", response_model=None)
async def signin(request: Request) -> Response:
    form = await form_fields(request)
    user_name = str(form.get("user_name") or "")
    async with self_client(request.app) as http:
        r = await http.post("/_sandbox/aws/signin", json={"user_name": user_name})
    if not r.is_success:
        return await _page(request, error=f"Sign-in refused: {_message(r)}", status=r.status_code)
    data = r.json()
    end = float(data["signin"]) + float(data["expiresIn"])
    response = RedirectResponse(PATH, status_code=303)
    response.set_cookie(
        COOKIE, quote(f"{data['accessToken']}|{user_name}|{end}"), path=PATH, httponly=True, samesite="lax"
    )
    return response


@router.post(PATH + "credentials", response_model=None)
async def credentials(request: Request) -> Response:
    form = await form_fields(request)
    account_id, role_name = str(form.get("account_id") or ""), str(form.get("role_name") or "")
    token, _user, _end = _session(request)
    async with self_client(request.app) as http:
        r = await _Api(http, token).portal("/federation/credentials", account_id=account_id, role_name=role_name)
    if not r.is_success:
        return await _page(request, error=f"Access keys for {role_name} refused: {_message(r)}", status=r.status_code)
    creds = r.json()["roleCredentials"]
    shown = {**creds, "expiration_s": creds["expiration"] / 1000, "account_id": account_id, "role_name": role_name}
    return await _page(request, credentials=shown)


@router.post(PATH + "signout", response_model=None)
async def signout(request: Request) -> Response:
    token, _user, _end = _session(request)
    if token:
        async with self_client(request.app) as http:
            await http.post("/logout", headers={"x-amz-sso_bearer_token": token})
    response = RedirectResponse(PATH, status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response
