"""The access portal's ``sso`` REST-JSON API: ListAccounts, ListAccountRoles, GetRoleCredentials, Logout [BC-sso].

The bearer token comes in ``x-amz-sso_bearer_token``; errors carry the code in ``x-amzn-ErrorType`` and
``{"message": ...}`` in the body [BC-parsers].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from .errors import AwsError
from .http import AwsServices, aws_services, locked, rest_error
from .pagination import paginate
from .plane import AccessPlane

__all__ = ["router"]

router = APIRouter()
Services = Annotated[AwsServices, Depends(aws_services)]


async def _portal_call(
    plane: AccessPlane, request: Request, fn: Callable[[str | None], dict[str, Any] | None]
) -> Response:
    """Return the response to ``fn(bearer token)`` run under the plane's lock (empty 200 when it returns None)."""
    request_id = plane.new_request_id()
    token = request.headers.get("x-amz-sso_bearer_token")
    try:
        result = await locked(plane, lambda: fn(token))
    except AwsError as err:
        return rest_error(err, request_id)
    if result is None:
        return Response(status_code=200, headers={"x-amzn-RequestId": request_id})
    return JSONResponse(result, headers={"x-amzn-RequestId": request_id})


def _page_args(request: Request) -> dict[str, Any]:
    """Return the portal's ``max_result`` / ``next_token`` query parameters as pagination arguments."""
    args: dict[str, Any] = {}
    size = request.query_params.get("max_result")
    if size is not None:
        try:
            args["maxResults"] = int(size)
        except ValueError:
            args["maxResults"] = size
    if request.query_params.get("next_token"):
        args["nextToken"] = request.query_params["next_token"]
    return args


def _page(items: list[Any], args: dict[str, Any]) -> tuple[list[Any], dict[str, str]]:
    """Return one page of ``items``; a bad page argument is the portal's ``InvalidRequestException``."""
    try:
        return paginate(items, args, max_cap=100, token_name="nextToken", size_name="maxResults")
    except AwsError as err:
        raise AwsError("InvalidRequestException", err.message, 400) from None


@router.get("/assignment/accounts", include_in_schema=False)
async def list_accounts(request: Request, services: Services) -> Response:
    """``ListAccounts``: the accounts the signed-in user may launch something in now."""
    plane = services.plane
    args = _page_args(request)

    def run(token: str | None) -> dict[str, Any]:
        t = plane.now()
        session = plane.sessions.session(token, t)
        accounts = sorted({account for account, _ps in plane.entitlements.launchable(session, t)})
        page, more = _page(accounts, args)
        return {"accountList": [plane.accounts.to_json(a) for a in page], **more}

    return await _portal_call(plane, request, run)


@router.get("/assignment/roles", include_in_schema=False)
async def list_account_roles(request: Request, services: Services) -> Response:
    """``ListAccountRoles``: the permission sets the signed-in user may launch in ``account_id`` now."""
    plane = services.plane
    args = _page_args(request)
    account_id = request.query_params.get("account_id")

    def run(token: str | None) -> dict[str, Any]:
        if not account_id:
            raise AwsError("InvalidRequestException", "account_id is required", 400)
        t = plane.now()
        session = plane.sessions.session(token, t)
        roles = [ps.name for account, ps in plane.entitlements.launchable(session, t) if account == account_id]
        page, more = _page(roles, args)
        return {"roleList": [{"roleName": r, "accountId": account_id} for r in page], **more}

    return await _portal_call(plane, request, run)


@router.get("/federation/credentials", include_in_schema=False)
async def get_role_credentials(request: Request, services: Services) -> Response:
    """``GetRoleCredentials``: launch ``role_name`` in ``account_id`` [BC-sso]."""
    plane = services.plane
    role_name = request.query_params.get("role_name")
    account_id = request.query_params.get("account_id")

    def run(token: str | None) -> dict[str, Any]:
        role = plane.sessions.get_role_credentials(token, role_name, account_id)
        return {
            "roleCredentials": {
                "accessKeyId": role.access_key_id,
                "secretAccessKey": role.secret_access_key,
                "sessionToken": role.session_token,
                "expiration": round(role.expiration * 1000),
            }
        }

    return await _portal_call(plane, request, run)


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, services: Services) -> Response:
    """``Logout``: end the portal session; role sessions keep working [UG-endsess]."""
    return await _portal_call(services.plane, request, services.plane.sessions.logout)
