"""HTTP plumbing shared by the access plane's routes, which run on the same app and port as the SCIM endpoint.

The routes live in:

- :mod:`~scim_server.aws.json11_routes` — ``POST /``, the JSON 1.1 dispatcher on ``X-Amz-Target``:
  ``AWSIdentityStore.<Op>`` (identitystore) and ``SWBExternalService.<Op>`` (sso-admin) [BC-ids][BC-ssoadmin].
  Errors answer ``{"__type": <code>, "Message": ...}`` with the HTTP status of the exception; every response carries
  ``x-amzn-RequestId`` [BC-parsers];
- :mod:`~scim_server.aws.portal_routes` — ``GET /assignment/accounts``, ``GET /assignment/roles``,
  ``GET /federation/credentials``, ``POST /logout``: the portal ``sso`` REST-JSON API, bearer token in
  ``x-amz-sso_bearer_token`` [BC-sso]. Errors carry the code in the ``x-amzn-ErrorType`` header and
  ``{"message": ...}`` in the body [BC-parsers];
- :mod:`~scim_server.aws.oidc_routes` — ``POST /client/register``, ``/device_authorization``, ``/token``: the
  ``sso-oidc`` device flow (:mod:`scim_server.aws.oidc`) [BC-oidc], and its browser step
  ``/_sandbox/aws/device/approve``;
- :mod:`~scim_server.aws.sandbox_routes` — ``/_sandbox/aws/...``: sign a user in (returns the portal access token
  the device flow would end with), instance settings, account names, countermeasures, "is this role session still
  allowed at T".

Routes find the plane and the API objects through the :func:`aws_services` dependency (``app.state.aws``, set by
:func:`scim_server.aws.install`). Signatures are not checked: boto3 works with any dummy credentials.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from fakekit.body import BodyError, read_json_body
from fakekit.errors import sandbox_error as fakekit_sandbox_error
from fakekit.timefmt import in_range

from .errors import AwsError, validation
from .identitystore import IdentityStoreApi
from .oidc import DeviceAuthority
from .plane import AccessPlane
from .ssoadmin import SsoAdminApi

__all__ = [
    "JSON11",
    "AwsServices",
    "access_plane",
    "aws_services",
    "json11_response",
    "json_body",
    "locked",
    "parse_time",
    "rest_error",
    "sandbox_error",
    "user_id_from_body",
]

JSON11 = "application/x-amz-json-1.1"
Handler = Callable[[dict[str, Any]], dict[str, Any]]
T = TypeVar("T")


@dataclass
class AwsServices:
    """What the routes serve: the access plane, the identitystore and sso-admin operations and the sso-oidc flow."""

    plane: AccessPlane
    identitystore: IdentityStoreApi
    device: DeviceAuthority
    ssoadmin: SsoAdminApi = field(init=False)
    targets: dict[str, dict[str, Handler]] = field(init=False)
    """``X-Amz-Target`` prefix → operation name → handler."""

    def __post_init__(self) -> None:
        self.ssoadmin = SsoAdminApi(self.plane)
        self.targets = {
            "AWSIdentityStore": self.identitystore.operations,
            "SWBExternalService": self.ssoadmin.operations,
        }


def aws_services(request: Request) -> AwsServices:
    """Return the app's :class:`AwsServices` (the dependency every access-plane route takes)."""
    services: AwsServices = request.app.state.aws
    return services


def access_plane(request: Request) -> AccessPlane:
    """Return the app's access plane (the dependency of the ``/_sandbox/aws`` routes)."""
    return aws_services(request).plane


async def locked(plane: AccessPlane, fn: Callable[[], T]) -> T:
    """Return ``fn()`` run in the thread pool under the plane's lock."""

    def run() -> T:
        with plane.lock:
            return fn()

    return await run_in_threadpool(run)


def json11_response(status: int, body: dict[str, Any], request_id: str) -> Response:
    """Return a JSON 1.1 response carrying ``x-amzn-RequestId`` [BC-parsers]."""
    return Response(
        content=json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=JSON11,
        headers={"x-amzn-RequestId": request_id},
    )


def rest_error(err: AwsError, request_id: str) -> JSONResponse:
    """Return a REST-JSON error: code in ``x-amzn-ErrorType``, ``{"message": ...}`` in the body [BC-parsers]."""
    return JSONResponse(
        status_code=err.status,
        content={"message": err.message, **err.fields},
        headers={"x-amzn-ErrorType": err.code, "x-amzn-RequestId": request_id},
    )


def sandbox_error(err: AwsError) -> JSONResponse:
    """Return a sandbox-route error in the one sandbox body ``{"error": {"code", "field", "message"}}``."""
    field = err.fields.get("field")
    return fakekit_sandbox_error(err.status, field if isinstance(field, str) else None, err.message, code=err.code)


def parse_time(value: Any, field: str) -> float:
    """Return Unix seconds from a number or an ISO-8601 datetime string; ValidationException naming ``field``."""
    if isinstance(value, bool):
        raise validation(f"{field} must be Unix seconds or an ISO-8601 datetime, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise validation(f"{field} must be finite")
        if not in_range(float(value)):
            raise validation(f"{field} must be Unix seconds between 1900-01-01 and 9000-01-01")
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            return parse_time(number, field)
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if stamp.tzinfo is not None and not in_range(stamp.timestamp()):
                raise ValueError(value)
        except (ValueError, OverflowError):
            raise validation(f"{field} must be Unix seconds or an ISO-8601 datetime, got {value!r}") from None
        if stamp.tzinfo is None:
            raise validation(f"{field} must carry a time zone (e.g. 2025-06-03T09:00:00Z)")
        return stamp.timestamp()
    raise validation(f"{field} must be Unix seconds or an ISO-8601 datetime, got {value!r}")


async def json_body(request: Request) -> dict[str, Any]:
    """Return the request's JSON object body (``{}`` when empty) read by :func:`fakekit.body.read_json_body` within
    its size and depth limits; ``SerializationException`` (400, or 413 when too large) otherwise."""
    try:
        data = await read_json_body(request, allow_empty=True)
    except BodyError as exc:
        raise AwsError("SerializationException", exc.message, exc.status) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object", 400)
    return data


def user_id_from_body(plane: AccessPlane, body: dict[str, Any]) -> Any:
    """Return ``body["user_id"]``, or the id of the user named ``body["user_name"]``."""
    user_id = body.get("user_id")
    if user_id is None and isinstance(body.get("user_name"), str):
        store = getattr(plane.directory, "store", None)
        user_id = store.user_id_by_name(body["user_name"]) if store is not None else None
        if user_id is None:
            raise AwsError("ResourceNotFoundException", f"no user with userName {body['user_name']!r}", 404)
    return user_id
