"""HTTP routes of the access plane, on the same app and port as the SCIM endpoint.

- ``POST /`` — JSON 1.1 dispatcher on ``X-Amz-Target``: ``AWSIdentityStore.<Op>`` (identitystore) and
  ``SWBExternalService.<Op>`` (sso-admin) [BC-ids][BC-ssoadmin]. Errors answer ``{"__type": <code>, "Message":
  ...}`` with the HTTP status of the exception; every response carries ``x-amzn-RequestId`` [BC-parsers].
- ``GET /assignment/accounts``, ``GET /assignment/roles``, ``GET /federation/credentials``, ``POST /logout`` — the
  portal ``sso`` REST-JSON API, bearer token in ``x-amz-sso_bearer_token`` [BC-sso]. Errors carry the code in the
  ``x-amzn-ErrorType`` header and ``{"message": ...}`` in the body [BC-parsers].
- ``POST /client/register``, ``/device_authorization``, ``/token`` — ``sso-oidc`` device flow
  (:mod:`scim_server.aws.oidc`) [BC-oidc].
- ``/_sandbox/aws/...`` — sandbox controls: sign a user in (returns the portal access token the device flow would
  end with), instance settings, account names, countermeasures, "is this role session still allowed at T".

Signatures are not checked: boto3 works with any dummy credentials.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .errors import AwsError, validation
from .identitystore import IdentityStoreApi
from .oidc import DeviceAuthority, oidc_error
from .pagination import paginate
from .plane import AccessPlane
from .ssoadmin import SsoAdminApi

__all__ = ["JSON11", "build_router"]

JSON11 = "application/x-amz-json-1.1"
Handler = Callable[[dict[str, Any]], dict[str, Any]]


def _json11(status: int, body: dict[str, Any], request_id: str) -> Response:
    return Response(
        content=json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=JSON11,
        headers={"x-amzn-RequestId": request_id},
    )


def _rest_error(err: AwsError, request_id: str) -> JSONResponse:
    return JSONResponse(
        status_code=err.status,
        content={"message": err.message, **err.fields},
        headers={"x-amzn-ErrorType": err.code, "x-amzn-RequestId": request_id},
    )


def _sandbox_error(err: AwsError) -> JSONResponse:
    return JSONResponse(
        status_code=err.status,
        content={"error": {"code": err.code, "message": err.message, **err.fields}},
    )


def _parse_time(value: Any, field: str) -> float:
    """Return Unix seconds from a number or an ISO-8601 datetime string; ValidationException naming ``field``."""
    if isinstance(value, bool):
        raise validation(f"{field} must be Unix seconds or an ISO-8601 datetime, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise validation(f"{field} must be finite")
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            return _parse_time(number, field)
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise validation(f"{field} must be Unix seconds or an ISO-8601 datetime, got {value!r}") from None
        if stamp.tzinfo is None:
            raise validation(f"{field} must carry a time zone (e.g. 2025-06-03T09:00:00Z)")
        return stamp.timestamp()
    raise validation(f"{field} must be Unix seconds or an ISO-8601 datetime, got {value!r}")


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise AwsError("SerializationException", "The request body is not valid JSON", 400) from None
    if not isinstance(data, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object", 400)
    return data


def build_router(plane: AccessPlane, identitystore: IdentityStoreApi, oidc: DeviceAuthority | None = None) -> APIRouter:
    """Return the router with the JSON 1.1 dispatcher, the portal and sso-oidc REST routes and ``/_sandbox/aws``."""
    device = oidc if oidc is not None else DeviceAuthority(plane)
    ssoadmin = SsoAdminApi(plane)
    services: dict[str, dict[str, Handler]] = {
        "AWSIdentityStore": identitystore.operations,
        "SWBExternalService": ssoadmin.operations,
    }
    router = APIRouter()

    def locked(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with plane.lock:
                return fn()

        return run

    @router.post("/", include_in_schema=False)
    async def json11(request: Request) -> Response:
        request_id = plane.new_request_id()
        target = request.headers.get("x-amz-target", "")
        prefix, _, op = target.partition(".")
        try:
            handler = services.get(prefix, {}).get(op)
            if handler is None:
                served = (
                    ", ".join(sorted(services[prefix])) if prefix in services else ", ".join(f"{p}.*" for p in services)
                )
                raise AwsError(
                    "UnknownOperationException",
                    f"X-Amz-Target {target!r} is not an operation of this sandbox (served: {served})",
                    400,
                )
            body = await _json_body(request)
            result = await run_in_threadpool(locked(lambda: handler(body)))
        except AwsError as err:
            return _json11(err.status, {"__type": err.code, "Message": err.message, **err.fields}, request_id)
        return _json11(200, result, request_id)

    async def portal(request: Request, fn: Callable[[str | None], dict[str, Any] | None]) -> Response:
        request_id = plane.new_request_id()
        token = request.headers.get("x-amz-sso_bearer_token")
        try:
            result = await run_in_threadpool(locked(lambda: fn(token)))
        except AwsError as err:
            return _rest_error(err, request_id)
        if result is None:
            return Response(status_code=200, headers={"x-amzn-RequestId": request_id})
        return JSONResponse(result, headers={"x-amzn-RequestId": request_id})

    def page_args(request: Request) -> dict[str, Any]:
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

    def portal_page(items: list[Any], args: dict[str, Any]) -> tuple[list[Any], dict[str, str]]:
        try:
            return paginate(items, args, max_cap=100, token_name="nextToken", size_name="maxResults")
        except AwsError as err:
            raise AwsError("InvalidRequestException", err.message, 400) from None

    @router.get("/assignment/accounts", include_in_schema=False)
    async def list_accounts(request: Request) -> Response:
        args = page_args(request)

        def run(token: str | None) -> dict[str, Any]:
            t = plane.now()
            session = plane.session(token, t)
            accounts = sorted({account for account, _ps in plane.launchable(session, t)})
            page, more = portal_page(accounts, args)
            return {"accountList": [plane.account_json(a) for a in page], **more}

        return await portal(request, run)

    @router.get("/assignment/roles", include_in_schema=False)
    async def list_account_roles(request: Request) -> Response:
        args = page_args(request)
        account_id = request.query_params.get("account_id")

        def run(token: str | None) -> dict[str, Any]:
            if not account_id:
                raise AwsError("InvalidRequestException", "account_id is required", 400)
            t = plane.now()
            session = plane.session(token, t)
            roles = [ps.name for account, ps in plane.launchable(session, t) if account == account_id]
            page, more = portal_page(roles, args)
            return {"roleList": [{"roleName": r, "accountId": account_id} for r in page], **more}

        return await portal(request, run)

    @router.get("/federation/credentials", include_in_schema=False)
    async def get_role_credentials(request: Request) -> Response:
        role_name = request.query_params.get("role_name")
        account_id = request.query_params.get("account_id")

        def run(token: str | None) -> dict[str, Any]:
            role = plane.get_role_credentials(token, role_name, account_id)
            return {
                "roleCredentials": {
                    "accessKeyId": role.access_key_id,
                    "secretAccessKey": role.secret_access_key,
                    "sessionToken": role.session_token,
                    "expiration": round(role.expiration * 1000),
                }
            }

        return await portal(request, run)

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        def run(token: str | None) -> None:
            plane.logout(token)

        return await portal(request, run)

    async def oidc_call(request: Request, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        request_id = plane.new_request_id()
        try:
            body = await _json_body(request)
            result = await run_in_threadpool(locked(lambda: fn(body)))
        except AwsError as err:
            if err.code == "SerializationException":
                err = oidc_error("InvalidRequestException", err.message)
            return _rest_error(err, request_id)
        return JSONResponse(result, headers={"x-amzn-RequestId": request_id})

    @router.post("/client/register", include_in_schema=False)
    async def register_client(request: Request) -> Response:
        return await oidc_call(request, device.register_client)

    @router.post("/device_authorization", include_in_schema=False)
    async def start_device_authorization(request: Request) -> Response:
        return await oidc_call(request, device.start_device_authorization)

    @router.post("/token", include_in_schema=False)
    async def create_token(request: Request) -> Response:
        return await oidc_call(request, device.create_token)

    @router.post("/_sandbox/aws/device/approve", tags=["sandbox"])
    async def approve_device(request: Request) -> Response:
        """The browser step of ``aws sso login``: ``{"user_code", "user_id" | "user_name"}`` (or ``?user_code=``)."""
        try:
            body = await _json_body(request)
            code = body.get("user_code") or request.query_params.get("user_code")

            def run() -> dict[str, Any]:
                return device.approve(code, _user_id(plane, body))

            result = await run_in_threadpool(locked(run))
        except AwsError as err:
            return _sandbox_error(err)
        return JSONResponse(result)

    _sandbox_routes(router, plane, locked)
    return router


def _user_id(plane: AccessPlane, body: dict[str, Any]) -> Any:
    """Return ``body["user_id"]``, or the id of the user named ``body["user_name"]``."""
    user_id = body.get("user_id")
    if user_id is None and isinstance(body.get("user_name"), str):
        store = getattr(plane.directory, "store", None)
        user_id = store.user_id_by_name(body["user_name"]) if store is not None else None
        if user_id is None:
            raise AwsError("ResourceNotFoundException", f"no user with userName {body['user_name']!r}", 404)
    return user_id


def _sandbox_routes(router: APIRouter, plane: AccessPlane, locked: Callable[[Callable[[], Any]], Any]) -> None:
    async def call(request: Request | None, fn: Callable[[dict[str, Any]], Any]) -> Response:
        try:
            body = await _json_body(request) if request is not None else {}
            result = await run_in_threadpool(locked(lambda: fn(body)))
        except AwsError as err:
            return _sandbox_error(err)
        return JSONResponse(result)

    @router.post("/_sandbox/aws/signin", tags=["sandbox"])
    async def sign_in(request: Request) -> Response:
        """Sign a user in to the access portal; body ``{"user_id"}`` or ``{"user_name"}``; returns the token."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            session = plane.sign_in(_user_id(plane, body))
            end = plane.session_end(session)
            return {
                "accessToken": session.token,
                "user_id": session.user_id,
                "signin": session.signin,
                "expiresAt": datetime.fromtimestamp(end, tz=plane.clock.now().tzinfo)
                .isoformat()
                .replace("+00:00", "Z"),
                "expiresIn": int(end - session.signin),
            }

        return await call(request, run)

    @router.get("/_sandbox/aws/settings", tags=["sandbox"])
    async def get_settings() -> Response:
        """Return the instance settings (portal session, entitlement mode, switches)."""
        return await call(None, lambda _b: plane.settings_json())

    @router.post("/_sandbox/aws/settings", tags=["sandbox"])
    async def set_settings(request: Request) -> Response:
        """Change ``portal_session`` (new sessions only), ``entitlement_mode``, ``disabled_user_mode``,
        ``assignment_delay``."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            known = {
                "portal_session",
                "entitlement_mode",
                "disabled_user_mode",
                "assignment_delay",
                "user_assignments_include_groups",
            }
            unknown = sorted(set(body) - known)
            if unknown:
                raise validation(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
            plane.configure(**body)
            return plane.settings_json()

        return await call(request, run)

    @router.post("/_sandbox/aws/accounts", tags=["sandbox"])
    async def register_account(request: Request) -> Response:
        """Name an account for the portal's ListAccounts: ``{"account_id", "name", "email"}``."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            plane.register_account(body.get("account_id"), body.get("name"), body.get("email"))
            return plane.account_json(body["account_id"])

        return await call(request, run)

    @router.post("/_sandbox/aws/sessions/end", tags=["sandbox"])
    async def end_sessions(request: Request) -> Response:
        """Admin "Delete session" for a user's portal sessions ``{"user_id"}`` [UG-endsess]."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            user_id = body.get("user_id")
            if not isinstance(user_id, str) or not user_id:
                raise validation("user_id is required")
            return {"ended": plane.end_user_sessions(user_id)}

        return await call(request, run)

    @router.post("/_sandbox/aws/deny/token-issue-time", tags=["sandbox"])
    async def deny_token_issue_time(request: Request) -> Response:
        """Deny role sessions issued before ``{"before": T}`` (default now) [IAM-revoke]."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            before = _parse_time(body["before"], "before") if body.get("before") is not None else None
            return {"before": plane.deny_token_issue_time(before)}

        return await call(request, run)

    @router.post("/_sandbox/aws/deny/user", tags=["sandbox"])
    async def deny_user(request: Request) -> Response:
        """Deny everything for ``{"user_id", "at"?}`` via ``identitystore:userId`` [UG-denypol]."""

        def run(body: dict[str, Any]) -> dict[str, Any]:
            at = _parse_time(body["at"], "at") if body.get("at") is not None else None
            return {"user_id": body.get("user_id"), "from": plane.deny_user(body.get("user_id"), at)}

        return await call(request, run)

    @router.get("/_sandbox/aws/access/{user_id}", tags=["sandbox"])
    async def access(user_id: str, request: Request) -> Response:
        """What can this user still launch and do at ``?at=T`` (default now)?"""
        raw_at = request.query_params.get("at")

        def run(_body: dict[str, Any]) -> dict[str, Any]:
            t = _parse_time(raw_at, "at") if raw_at is not None else plane.now()
            return plane.access_json(user_id, t)

        return await call(None, run)

    @router.get("/_sandbox/aws/role-sessions/{access_key_id}", tags=["sandbox"])
    async def role_session(access_key_id: str, request: Request) -> Response:
        """Is this role session still allowed at ``?at=T`` (default now)?"""
        raw_at = request.query_params.get("at")

        def run(_body: dict[str, Any]) -> dict[str, Any]:
            t = _parse_time(raw_at, "at") if raw_at is not None else plane.now()
            return plane.role_session_json(plane.role_session(access_key_id), t)

        return await call(None, run)
