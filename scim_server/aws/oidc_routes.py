"""The ``sso-oidc`` device-flow routes (RegisterClient, StartDeviceAuthorization, CreateToken) [BC-oidc] and the
flow's browser step ``POST /_sandbox/aws/device/approve`` (:mod:`scim_server.aws.oidc`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

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


@router.post("/_sandbox/aws/device/approve", tags=["sandbox"])
async def approve_device(request: Request, services: Services) -> Response:
    """The browser step of ``aws sso login``: ``{"user_code", "user_id" | "user_name"}`` (or ``?user_code=``)."""
    plane = services.plane
    try:
        body = await json_body(request)
        code = body.get("user_code") or request.query_params.get("user_code")
        result = await locked(plane, lambda: services.device.approve(code, user_id_from_body(plane, body)))
    except AwsError as err:
        return sandbox_error(err)
    return JSONResponse(result)
