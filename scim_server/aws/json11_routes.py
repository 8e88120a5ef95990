"""``POST /``: the JSON 1.1 dispatcher on ``X-Amz-Target`` for the identitystore and sso-admin operation tables
[BC-ids][BC-ssoadmin]; errors answer ``{"__type": <code>, "Message": ...}`` [BC-parsers]."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from .errors import AwsError
from .http import AwsServices, Handler, aws_services, json11_response, json_body, locked

__all__ = ["router"]

router = APIRouter()


def _handler(services: AwsServices, target: str) -> Handler:
    """Return the handler for ``target`` or raise ``UnknownOperationException`` listing what is served."""
    prefix, _, op = target.partition(".")
    handler = services.targets.get(prefix, {}).get(op)
    if handler is None:
        served = (
            ", ".join(sorted(services.targets[prefix]))
            if prefix in services.targets
            else ", ".join(f"{p}.*" for p in services.targets)
        )
        raise AwsError(
            "UnknownOperationException",
            f"X-Amz-Target {target!r} is not an operation of this sandbox (served: {served})",
            400,
        )
    return handler


@router.post("/", include_in_schema=False)
async def json11(request: Request, services: Annotated[AwsServices, Depends(aws_services)]) -> Response:
    """Run the identitystore or sso-admin operation named by ``X-Amz-Target`` on the JSON body."""
    request_id = services.plane.new_request_id()
    try:
        handler = _handler(services, request.headers.get("x-amz-target", ""))
        body = await json_body(request)
        result = await locked(services.plane, lambda: handler(body))
    except AwsError as err:
        return json11_response(err.status, {"__type": err.code, "Message": err.message, **err.fields}, request_id)
    return json11_response(200, result, request_id)
