"""The ``sso-oidc`` device-flow routes (RegisterClient, StartDeviceAuthorization, CreateToken) [BC-oidc] and the
flow's browser step ``POST /_sandbox/aws/device/approve`` (:mod:`scim_server.aws.oidc`)."""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from fakekit.body import BodyError, read_body

from .errors import AwsError
from .http import AwsServices, aws_services, json_body, locked, rest_error, sandbox_error, user_id_from_body
from .oidc import oidc_error

__all__ = ["router"]

router = APIRouter()
Services = Annotated[AwsServices, Depends(aws_services)]


async def _oidc_call(
    services: AwsServices, request: Request, fn: Callable[[dict[str, Any]], dict[str, Any]]
) -> Response:
    """Return the response to ``fn(JSON body)``; a body that is not JSON is ``InvalidRequestException`` [BC-oidc]."""
    request_id = services.plane.new_request_id()
    try:
        body = await json_body(request)
        result = await locked(services.plane, lambda: fn(body))
    except AwsError as err:
        if err.code == "SerializationException":
            err = oidc_error("InvalidRequestException", err.message)
        return rest_error(err, request_id)
    return JSONResponse(result, headers={"x-amzn-RequestId": request_id})


@router.post("/client/register", include_in_schema=False)
async def register_client(request: Request, services: Services) -> Response:
    """``RegisterClient`` [BC-oidc]."""
    return await _oidc_call(services, request, services.device.register_client)


@router.post("/device_authorization", include_in_schema=False)
async def start_device_authorization(request: Request, services: Services) -> Response:
    """``StartDeviceAuthorization`` [BC-oidc]."""
    return await _oidc_call(services, request, services.device.start_device_authorization)


@router.post("/token", include_in_schema=False)
async def create_token(request: Request, services: Services) -> Response:
    """``CreateToken`` for the device-code grant [BC-oidc]."""
    return await _oidc_call(services, request, services.device.create_token)


@router.post("/_sandbox/aws/device/approve", tags=["sandbox"], summary="approve a device login (aws sso login)")
async def approve_device(request: Request, services: Services) -> Response:
    """The browser step of ``aws sso login``: ``{"user_code", "user_id" | "user_name"}`` (or ``?user_code=``); the
    page's HTML form posts ``user_code`` and ``user_name`` form-encoded and gets a page back."""
    plane = services.plane
    is_form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    try:
        if is_form:
            try:
                raw = await read_body(request)
            except BodyError as exc:
                raise AwsError("ValidationException", exc.message, exc.status) from None
            fields = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
            body: dict[str, Any] = {k: v[0] for k, v in fields.items() if v}
        else:
            body = await json_body(request)
        code = body.get("user_code") or request.query_params.get("user_code")
        result = await locked(plane, lambda: services.device.approve(code, user_id_from_body(plane, body)))
    except AwsError as err:
        if is_form:
            return HTMLResponse(_page("Not approved", f"<p>{html.escape(err.message)}</p>"), status_code=err.status)
        return sandbox_error(err)
    if is_form:
        text = (
            f"<p>Approved: user code {html.escape(str(code))}. Return to the terminal; the CLI now gets its token.</p>"
        )
        return HTMLResponse(_page("Approved", text))
    return JSONResponse(result)


@router.get("/_sandbox/aws/device/approve", tags=["sandbox"], summary="the approval page a browser opens")
async def approve_device_page(request: Request, services: Services) -> Response:
    """``verificationUriComplete`` in a browser: a page naming the user code with a user picker and Approve."""
    code = request.query_params.get("user_code", "")
    store = getattr(services.plane.directory, "store", None)
    names: list[str] = []
    if store is not None:
        with store.lock:
            names = sorted(str(store.get_user(uid).get("userName", "")) for uid in store.user_ids())
    options = "".join(f'<option value="{html.escape(n)}">{html.escape(n)}</option>' for n in names)
    form = (
        '<form method="post" action="/_sandbox/aws/device/approve">'
        f'<p>User code: <input name="user_code" value="{html.escape(code)}"></p>'
        f'<p>Sign in as: <select name="user_name">{options}</select></p>'
        '<p><button type="submit">Approve</button></p></form>'
    )
    return HTMLResponse(_page("Authorize request", form))


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>jitbox: {html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}<p><small>jitbox sandbox: the AWS access portal's device "
        "authorization step (aws sso login)</small></p></body></html>"
    )
