"""SCIM 2.0 HTTP layer of the fake IAM Identity Center under ``/{tenant_id}/scim/v2/`` (thin over the service).

Every request goes through :meth:`ScimEndpoint.dispatch`: bearer-token check (401 on a missing, wrong or expired
token or a wrong tenant [DG-req][DG-spc]), rate limit and injected faults (429 ThrottlingException / 500), the
handler (run with the parsing of the body, the JSON encoding of its answer and the log entry on the event loop when
the request is light, else in a worker thread, so the loop keeps serving other connections; the store's lock keeps
each operation atomic; see :func:`is_light`), and an entry in the CloudTrail-like request log. Errors use AWS's body
(``scim_server/errors.py``); unexpected exceptions also answer in that shape, so no client input yields FastAPI's
default error body.

SCIM requests reach :meth:`ScimEndpoint.dispatch` through :class:`ScimRouter`, an ASGI middleware in front of
FastAPI's router, whose route matching and middlewares cost more CPU than most SCIM handlers (a filter GET measured
in process: ~450 µs through the router, ~120 µs through the middleware); the catch-all route stays registered and
answers anything the middleware passes on (e.g. ``HEAD``).

Operations ([DG-apis]) are the rows of :data:`ROUTES` — method, path, CloudTrail event name, handler. Each handler
only unpacks the request for :class:`~scim_server.service.ScimService` (the SCIM protocol, no I/O) and wraps its
answer in a status and headers. ``/Me``, ``/Bulk``, ``/.search``, ``<resource>/.search`` and a method a path does
not list (e.g. PUT on groups) are not supported by AWS [DG-limits][DG-apis] and answer 400 ValidationException
(exact AWS answer UNCONFIRMED); any other path answers 404.

The table is resolved by one catch-all route rather than one FastAPI route per row, because AWS's answers do not
follow FastAPI's routing: the token is checked before a path is known to exist, a wrong method is a 400 in AWS's
shape (not a 405), empty path segments are ignored (``Users/`` is ``Users``) and ``/Me``/``/.search`` match in any
case (a per-row route would send ``GET Users/.search`` to GetUser).

Status codes: CreateUser/CreateGroup 201 [FLOCI], GetUser/ListUsers 200, PutUser 200 (switch ``put_user_status``,
UNCONFIRMED), PatchUser 200 with the user [FLOCI], PatchGroup 204 empty [GH-lichti][E-SCIM], Delete 204.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from fakekit.body import BodyError, parse_json_body, read_body
from fakekit.ids import seeded_uuid
from scim_server import discovery
from scim_server.errors import (
    DETAIL_INTERNAL,
    DETAIL_INVALID,
    DETAIL_THROTTLED,
    DETAIL_UNAUTHORIZED,
    ScimError,
    error_body,
)
from scim_server.masking import echoed_values, mask_body, mask_echoes, mask_path, mask_query
from scim_server.sandbox import EVENT_SOURCE, apply_latency
from scim_server.service import ScimService

if TYPE_CHECKING:
    from scim_server.app import IdcContext, ScimOptions

__all__ = [
    "ERROR_CODES",
    "INLINE_BODY_BYTES",
    "ROUTES",
    "Call",
    "Reply",
    "Route",
    "ScimEndpoint",
    "ScimRouter",
    "install",
    "is_light",
    "resolve",
]

ERROR_CODES = {
    400: "ValidationException",
    401: "UnauthorizedException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    409: "ConflictException",
    415: "ValidationException",
    429: "ThrottlingException",
    500: "InternalServerException",
}
"""Documented exception names per status [DG-createuser][DG-spc] (used in the request log, not in bodies)."""

_JSON_TYPES = ("application/json", "application/scim+json")
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_SCIM_PATH = re.compile(r"^/(?P<tenant_id>[^/]+)/scim/v2/(?P<rest>.*)$")
"""The catch-all route's path, ``/{tenant_id}/scim/v2/{rest:path}``, as Starlette compiles it."""
_UNSUPPORTED_HEADS = ("me", "bulk", ".search")
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,60}/[a-z0-9!#$&^_.+-]{1,60}")
"""A media type named in a 415's log reason (anything else is not repeated)."""


@dataclass(frozen=True)
class Call:
    """One SCIM request as a handler sees it: method, URL, path and query parameters, the JSON body, the switches."""

    method: str
    url: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    data: Any
    options: ScimOptions

    def location(self, resource_id: str) -> str:
        """Return the ``Location`` of a resource created by a POST to this URL."""
        return self.url.rstrip("/") + "/" + resource_id


@dataclass(frozen=True)
class Reply:
    """A handler's successful answer: status, JSON body (None = empty) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ScimService, Call], Reply]


# --- handlers: unpack the call, ask the service, choose the status ---------------------------------------------
def create_user(svc: ScimService, call: Call) -> Reply:
    """CreateUser: 201 with the user and its ``Location`` [FLOCI]."""
    body = svc.create_user(call.data)
    return Reply(201, body, {"Location": call.location(body["id"])})


def list_users(svc: ScimService, call: Call) -> Reply:
    """ListUsers: 200 with one page."""
    return Reply(200, svc.list_users(call.query))


def get_user(svc: ScimService, call: Call) -> Reply:
    """GetUser: 200 with the user."""
    return Reply(200, svc.get_user(call.params["id"], call.query))


def put_user(svc: ScimService, call: Call) -> Reply:
    """PutUser: the user with the ``put_user_status`` switch's status (200 by default, UNCONFIRMED)."""
    return Reply(call.options.put_user_status, svc.replace_user(call.params["id"], call.data))


def patch_user(svc: ScimService, call: Call) -> Reply:
    """PatchUser: 200 with the user [FLOCI]."""
    body = svc.patch_user(call.params["id"], call.data, string_booleans=call.options.string_booleans)
    return Reply(200, body)


def delete_user(svc: ScimService, call: Call) -> Reply:
    """DeleteUser: 204."""
    svc.delete_user(call.params["id"])
    return Reply(204)


def create_group(svc: ScimService, call: Call) -> Reply:
    """CreateGroup: 201 with the group and its ``Location`` [FLOCI]."""
    body = svc.create_group(call.data)
    return Reply(201, body, {"Location": call.location(body["id"])})


def list_groups(svc: ScimService, call: Call) -> Reply:
    """ListGroups: 200 with one page."""
    return Reply(200, svc.list_groups(call.query))


def get_group(svc: ScimService, call: Call) -> Reply:
    """GetGroup: 200 with the group."""
    return Reply(200, svc.get_group(call.params["id"], call.query))


def patch_group(svc: ScimService, call: Call) -> Reply:
    """PatchGroup: 204 without a body [GH-lichti][E-SCIM]."""
    quirk = call.options.replace_empty_members_quirk
    svc.patch_group(call.params["id"], call.data, replace_empty_members_quirk=quirk)
    return Reply(204)


def delete_group(svc: ScimService, call: Call) -> Reply:
    """DeleteGroup: 204."""
    svc.delete_group(call.params["id"])
    return Reply(204)


def service_provider_config(svc: ScimService, call: Call) -> Reply:
    """GetServiceProviderConfig: 200 with AWS's documented body [DG-spc]."""
    return Reply(200, discovery.SERVICE_PROVIDER_CONFIG)


def list_schemas(svc: ScimService, call: Call) -> Reply:
    """ListSchemas: 200."""
    return Reply(200, discovery.list_schemas())


def get_schema(svc: ScimService, call: Call) -> Reply:
    """GetSchema: 200 with the schema named by its URN [DG-getschema]."""
    return Reply(200, discovery.get_schema(call.params["urn"]))


def list_resource_types(svc: ScimService, call: Call) -> Reply:
    """ListResourceTypes: 200."""
    return Reply(200, discovery.list_resource_types())


def unsupported(svc: ScimService, call: Call) -> Reply:
    """Answer 400 for an operation IAM Identity Center does not support [DG-limits]."""
    raise ScimError.invalid(f"{call.method} {call.path} is not supported by IAM Identity Center [DG-limits]")


def not_found(svc: ScimService, call: Call) -> Reply:
    """Answer 404 for a path that is no SCIM resource."""
    raise ScimError(404, "Resource not found.", f"no SCIM resource at {call.path!r}")


# --- the route table ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """One SCIM operation: HTTP method, path under ``/scim/v2/`` (``{name}`` = one segment), event name, handler."""

    method: str
    path: str
    event: str
    handler: Handler

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """Return the path parameters if ``parts`` (the path's segments) fit this route's path, else None."""
        segments = self.path.split("/")
        if len(segments) != len(parts):
            return None
        params: dict[str, str] = {}
        for segment, part in zip(segments, parts, strict=True):
            if segment.startswith("{"):
                params[segment.strip("{}")] = part
            elif segment != part:
                return None
        return params


ROUTES: tuple[Route, ...] = (
    Route("POST", "Users", "CreateUser", create_user),
    Route("GET", "Users", "ListUsers", list_users),
    Route("GET", "Users/{id}", "GetUser", get_user),
    Route("PUT", "Users/{id}", "PutUser", put_user),
    Route("PATCH", "Users/{id}", "PatchUser", patch_user),
    Route("DELETE", "Users/{id}", "DeleteUser", delete_user),
    Route("POST", "Groups", "CreateGroup", create_group),
    Route("GET", "Groups", "ListGroups", list_groups),
    Route("GET", "Groups/{id}", "GetGroup", get_group),
    Route("PATCH", "Groups/{id}", "PatchGroup", patch_group),
    Route("DELETE", "Groups/{id}", "DeleteGroup", delete_group),
    Route("GET", "ServiceProviderConfig", "GetServiceProviderConfig", service_provider_config),
    Route("GET", "Schemas", "ListSchemas", list_schemas),
    Route("GET", "Schemas/{urn}", "GetSchema", get_schema),
    Route("GET", "ResourceTypes", "ListResourceTypes", list_resource_types),
)
"""Every SCIM operation AWS supports [DG-apis], with its CloudTrail event name [UG-scimct]."""


def resolve(method: str, rest: str) -> tuple[Handler, dict[str, str], str]:
    """Return the handler, path parameters and event name for ``METHOD rest`` (the path after ``/scim/v2/``).

    Unsupported endpoints map to :func:`unsupported` (event ``Unsupported<Head>``), a path :data:`ROUTES` lists
    with another method to :func:`unsupported` (event ``Unsupported<Method><Head>``), anything else to
    :func:`not_found` (event ``Unknown``).
    """
    parts = [p for p in rest.split("/") if p]
    if not parts:
        return not_found, {}, "Unknown"
    head = parts[0]
    if head.lower() in _UNSUPPORTED_HEADS or (len(parts) == 2 and parts[1].lower() == ".search"):
        return unsupported, {}, f"Unsupported{head.strip('.').capitalize()}"
    found: dict[str, str] | None = None
    for route in ROUTES:
        params = route.match(parts)
        if params is None:
            continue
        if route.method == method:
            return route.handler, params, route.event
        found = params
    if found is None:
        return not_found, {}, "Unknown"
    return unsupported, found, f"Unsupported{method.capitalize()}{head}"


_log = logging.getLogger("jitbox")


# --- the request pipeline -------------------------------------------------------------------------------------
class ScimEndpoint:
    """The SCIM endpoint of one app: its :class:`IdcContext`, its service and its request-id generator."""

    def __init__(self, ctx: IdcContext) -> None:
        self.ctx = ctx
        self.service = ScimService(ctx.store)
        self._rid_lock = threading.Lock()

    def request_id(self) -> str:
        """Return a fresh request id (seeded when the app was)."""
        with self._rid_lock:
            return seeded_uuid(self.ctx.rng)

    async def dispatch(self, request: Request) -> Response:
        """Answer one SCIM request (see the module docstring) and log it; never raises.

        The checks that need no body (token, rate limit, injected faults) and the reading of the raw bytes run on the
        event loop. Parsing the JSON, the handler, encoding the answer and the request-log entry (masking a body of
        up to 1 MiB) run on the loop too when the request is light (:func:`is_light`: a small body, no unfiltered
        list, no group deletion; or refused before its body was read), else in a worker thread, so no request holds
        the loop that serves every other connection for long.
        """
        tenant = request.path_params.get("tenant_id", "")
        rest = request.path_params.get("rest", "")
        raw: bytes | None = None
        early: Exception | None = None
        try:
            await self._admit(request, tenant, rest.strip("/").split("/")[0] if rest else "")
            raw = await _read_raw(request)
        except Exception as exc:  # answered (and logged) like any other failure
            early = exc
        journaled = self.ctx.journal is not None
        if early is not None or is_light(request.method, rest, request.query_params, raw, journaled=journaled):
            return self._process(request, tenant, rest, raw, early)
        return await run_in_threadpool(self._process, request, tenant, rest, raw, early)

    def _process(
        self, request: Request, tenant: str, rest: str, raw: bytes | None, early: Exception | None
    ) -> Response:
        """Parse, run the handler, encode and log (on the loop or in a worker thread; the store's lock keeps each
        operation atomic); ``early`` is a failure of the checks on the loop, answered here."""
        ctx = self.ctx
        rid = self.request_id()
        handler, params, event = resolve(request.method, rest)
        data: Any = None
        reason: str | None = None
        detail: str | None = None
        response: Response
        try:
            if early is not None:
                raise early
            data = _parse(raw)
            call = Call(
                request.method, str(request.url), request.url.path, params, request.query_params, data, ctx.options
            )
            reply = handler(self.service, call)
            status = reply.status
            response = _json(reply.status, reply.body, {"x-amzn-RequestId": rid, **reply.headers})
        except ScimError as exc:
            status, reason, detail = exc.status, exc.reason, exc.detail
            response = _json(
                exc.status,
                error_body(exc.status, exc.detail, rid, ctx.clock.now()),
                {"x-amzn-RequestId": rid, **exc.headers},
            )
        except Exception as exc:  # a bug must still answer in AWS's shape, and be visible in the log
            status, reason, detail = (
                500,
                f"internal error ({type(exc).__name__}); see the server's log",
                DETAIL_INTERNAL,
            )
            _log.error("unhandled exception in %s %s", request.method, request.url.path, exc_info=exc)
            response = _json(500, error_body(500, DETAIL_INTERNAL, rid, ctx.clock.now()), {"x-amzn-RequestId": rid})
        ctx.requests.add(_log_entry(ctx, rid, event, request, tenant, status, data, reason, detail))
        return response

    async def _admit(self, request: Request, tenant: str, resource: str) -> None:
        """Return None when the request may reach its handler; else raise 401, 429 or an injected fault."""
        ctx = self.ctx
        if not _authorized(ctx, request, tenant):
            raise ScimError(401, DETAIL_UNAUTHORIZED, "missing, wrong or expired bearer token, or wrong tenant id")
        if not ctx.limiter.allow():
            raise ScimError(
                429, DETAIL_THROTTLED, f"rate limit of {ctx.limiter.rps:g} requests/s exceeded (UNCONFIRMED)"
            )
        fault = ctx.faults.decide(request.method, resource)
        await apply_latency(fault)
        if fault is not None and fault.status is not None:
            detail = DETAIL_THROTTLED if fault.status == 429 else DETAIL_INTERNAL
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            raise ScimError(fault.status, detail, "injected fault (POST /_sandbox/faults)", headers)


class ScimRouter:
    """ASGI middleware: a request for ``/{tenant_id}/scim/v2/...`` with a SCIM method goes straight to
    :meth:`ScimEndpoint.dispatch`; everything else goes on to ``app``.

    FastAPI's router would reach the same endpoint through its route table, its exception and exit-stack middlewares
    (about 250 µs of CPU per request, more than most SCIM handlers); the path and the methods are the catch-all
    route's, so which requests reach the endpoint does not change.
    """

    def __init__(self, app: ASGIApp, endpoint: ScimEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS:
            found = _SCIM_PATH.match(scope["path"])
            if found is not None:
                scope["path_params"] = found.groupdict()
                response = await self.endpoint.dispatch(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, ctx: IdcContext) -> None:
    """Mount the SCIM endpoint on ``app``: :class:`ScimRouter` as the innermost middleware (inside the app's
    catch-all error middleware), and one catch-all route under ``/{tenant_id}/scim/v2/`` resolving :data:`ROUTES`
    for what the middleware passes on (``HEAD``)."""
    endpoint = ScimEndpoint(ctx)
    app.user_middleware.append(Middleware(ScimRouter, endpoint=endpoint))
    # a plain Starlette route: the endpoint takes the Request itself, so FastAPI's parameter resolution has nothing
    # to do
    app.router.routes.append(StarletteRoute("/{tenant_id}/scim/v2/{rest:path}", endpoint.dispatch, methods=_METHODS))


INLINE_BODY_BYTES = 4096
"""SCIM bodies up to this size are handled on the event loop (see :func:`is_light`)."""


def is_light(method: str, rest: str, query: Mapping[str, str], raw: bytes | None, *, journaled: bool = False) -> bool:
    """Return whether a SCIM request's whole work is small enough to run on the event loop.

    Handing a request to a worker thread costs more CPU (~200 µs, plus the two threads contending for the GIL under
    concurrent clients) than most SCIM requests take: a filter GET, a one-user create or a one-member PATCH takes
    0.1–0.5 ms. Such requests run on the loop; the rest go to a worker thread, so none holds the loop for long:

    - a body over :data:`INLINE_BODY_BYTES` (a 4 KiB PATCH holds at most ~40 operations; the heaviest legal requests,
      1 MiB bodies and 100-operation PATCHes, are all larger);
    - a list without a filter (up to 100 resources to render and encode; a filter selects through the store's
      indexes);
    - DELETE of a group (its memberships, which can be the whole directory, are dropped with it);
    - any write when the store is ``journaled`` to a file (``--state``): the store commits it to SQLite before it
      returns, and the commit waits for the disk.
    """
    if raw is not None and len(raw) > INLINE_BODY_BYTES:
        return False
    if journaled and method != "GET":
        return False
    parts = [p for p in rest.split("/") if p]
    if len(parts) == 1 and method == "GET" and parts[0] in ("Users", "Groups") and "filter" not in query:
        return False
    return not (method == "DELETE" and parts[:1] == ["Groups"])


async def _read_raw(request: Request) -> bytes | None:
    """Return the raw body of a POST/PUT/PATCH (None for other methods) within :mod:`fakekit.body`'s size limit;
    raise 415 for a body that is not JSON, 413 for one too large."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in _JSON_TYPES and not ctype.endswith("+json"):
        shown = ctype if _MEDIA_TYPE.fullmatch(ctype) else "of another shape"
        raise ScimError(415, "Unsupported Media Type.", f"Content-Type {shown} is not JSON (application/scim+json)")
    try:
        return await read_body(request)
    except BodyError as exc:  # too large (413) [fakekit.body]
        raise ScimError(exc.status, DETAIL_INVALID, exc.message) from None


def _parse(raw: bytes | None) -> Any:
    """Return the JSON value of ``raw`` (None when there is no body to read); 400 when too deep, empty or not JSON."""
    if raw is None:
        return None
    try:
        return parse_json_body(raw)
    except BodyError as exc:  # too deep, empty or not JSON (400) [fakekit.body]
        raise ScimError(exc.status, DETAIL_INVALID, exc.message) from None


def _json(status: int, body: Any, headers: dict[str, str]) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content=data, status_code=status, headers=headers, media_type="application/json")


def _authorized(ctx: IdcContext, request: Request, tenant: str) -> bool:
    if tenant != ctx.tenant_id:
        return False
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return ctx.tokens.check(token.strip())


def _log_entry(
    ctx: IdcContext,
    rid: str,
    event: str,
    request: Request,
    tenant: str,
    status: int,
    data: Any,
    reason: str | None,
    detail: str | None,
) -> dict[str, Any]:
    """Return the CloudTrail-like request-log entry of one SCIM call [UG-scimct] (personal values masked: the body,
    every query parameter, the path's segments, and every value of the request that a message repeats)."""
    query = dict(request.query_params)
    path = request.url.path
    entry: dict[str, Any] = {
        "eventTime": ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": EVENT_SOURCE,
        "eventName": event,
        "userIdentity": {"type": "WebIdentityUser"},
        "requestID": rid,
        "httpMethod": request.method,
        "path": mask_path(path, ctx.tenant_id),
        "query": mask_query(query) or None,
        "status": status,
        "requestParameters": {
            "httpBody": mask_body(data) if data is not None else None,
            "tenantId": mask_path(tenant, ctx.tenant_id),
        },
    }
    if status >= 400:
        entry["errorCode"] = ERROR_CODES.get(status, "ValidationException")
        echoed = echoed_values(data, query, path, ctx.tenant_id, (detail, reason))
        entry["errorMessage"] = mask_echoes(detail, echoed)
        entry["reason"] = mask_echoes(reason, echoed)
    return entry
