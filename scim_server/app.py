"""The fake IAM Identity Center FastAPI application: SCIM 2.0 endpoint + sandbox controls + plug-ins.

``create_app(clock, store)`` returns one FastAPI app serving, on one port:

- ``/{tenant_id}/scim/v2/...`` — the SCIM endpoint (``scim_server/scim.py``), bearer tokens from ``ctx.tokens``;
- ``/_sandbox/...`` — the shared controls (:class:`fakekit.control.SandboxControl`: clock, reset, state) plus the SCIM
  fake's own ``/_sandbox/requests``, ``/_sandbox/faults`` and ``/_sandbox/tokens`` (``scim_server/sandbox.py``);
- whatever the plug-ins add.

Plugging in (helper D's AWS access plane, or anything else sharing the same store and port)
---------------------------------------------------------------------------------------------
A plug-in is a callable ``install(app: FastAPI, ctx: IdcContext) -> None``. ``create_app`` calls each one after the
SCIM routes are mounted. A plug-in may:

- ``app.include_router(router)`` — its own routes on the same app/port (keep them off ``/{tenant_id}/scim``);
- ``ctx.store.add_listener(fn)`` — react to user/group/membership changes (see ``scim_server/store.py``);
- ``ctx.control.on_reset(hook)`` / ``ctx.control.provide_state(name, fn)`` — join ``/_sandbox/reset`` and ``/state``;
- ``ctx.add_config(fn)`` — ``fn(base_url) -> dict`` adds fields to the config JSON ``jitbox serve --config-out``
  writes (``base_url`` is ``http://host:port`` of this app, known only once the server is listening);
- ``ctx.journal`` — when not None, a write-through journal (SQLite with ``--state``) it may store its own kinds in.

When ``plugins`` is None, :func:`default_plugins` is used: the AWS access plane, ``scim_server.aws.install``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fakekit.control import SandboxControl
from fakekit.errors import sandbox_error
from fakekit.guard import INTERNAL_MESSAGE, CatchAll, sandbox_internal
from fakekit.ids import seeded_uuid
from scim_server import openapi_specs, sandbox_routes, scim
from scim_server.aws import install
from scim_server.errors import DETAIL_INTERNAL, error_body
from scim_server.journal import Journal
from scim_server.sandbox import FaultInjector, RateLimiter, RequestLog
from scim_server.store import Store
from scim_server.tokens import TokenManager, new_tenant_id
from sim.clock import Clock
from sim.settings import Settings

__all__ = ["IdcContext", "Plugin", "ScimOptions", "create_app", "default_plugins"]


@dataclass(frozen=True)
class ScimOptions:
    """Switches for behaviour the references leave UNCONFIRMED (each documented in ``docs/fidelity.md``).

    - ``rate_limit_rps``: SCIM requests per second (per tenant, all routes) before 429 ThrottlingException; AWS
      publishes no number ([DG-spc] "Too many requests"; [GH-ssosync13] saw 429 at ~400 objects in 10–15 s), so the
      limit is off by default (``0``); turn it on with a number, e.g. 20 (the sso-admin collective throttle
      [UG23-limits], UNCONFIRMED for SCIM): ``jitbox serve --rate-limit 20``, ``POST /_sandbox/rate-limit
      {"rps": 20}`` or ``ScimOptions(rate_limit_rps=20)``.
    - ``string_booleans``: accept Entra's legacy ``"value": "False"`` for ``active`` ([E-COMPAT]); AWS's handling is
      UNCONFIRMED. ``True`` (default) converts ``"True"``/``"False"`` case-insensitively; ``False`` answers 400.
    - ``put_user_status``: PutUser success status, 200 or 201 (UNCONFIRMED; Floci returns 201 [FLOCI]).
    - ``replace_empty_members_quirk``: reproduce [GH-lichti]'s observed ``replace members value: []`` → 204 with no
      change instead of the documented 400 ([DG-patchgroup][GH-kc73]). Default False (documented behaviour).
    """

    rate_limit_rps: float = 0.0
    string_booleans: bool = True
    put_user_status: int = 200
    replace_empty_members_quirk: bool = False


@dataclass
class IdcContext:
    """Everything the SCIM routes and plug-ins share: clock, store, tokens, tenant, controls, options."""

    clock: Clock
    store: Store
    tokens: TokenManager
    tenant_id: str
    control: SandboxControl
    options: ScimOptions
    journal: Journal | None = None
    rng: random.Random = field(default_factory=random.Random)
    requests: RequestLog = field(default_factory=RequestLog)
    faults: FaultInjector = field(default_factory=FaultInjector)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    config_hooks: list[Callable[[str], dict[str, Any]]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    settings: Settings | None = None
    """The timing settings plug-ins start from (the access plane's portal session and entitlement mode)."""

    def add_config(self, hook: Callable[[str], dict[str, Any]]) -> None:
        """Register ``hook(base_url) -> dict`` whose fields join the serve config JSON."""
        self.config_hooks.append(hook)

    def scim_path(self) -> str:
        """Return the SCIM base path ``/{tenant_id}/scim/v2/``."""
        return f"/{self.tenant_id}/scim/v2/"

    def config(self, base_url: str) -> dict[str, Any]:
        """Return the config fields for a server listening at ``base_url`` (``http://host:port``)."""
        token = self.tokens.first_valid()
        data: dict[str, Any] = {
            "scim_url": base_url.rstrip("/") + self.scim_path(),
            "scim_token": token.secret if token else None,
            "tenant_id": self.tenant_id,
            "scim_sandbox_url": base_url.rstrip("/") + "/_sandbox/",
        }
        for hook in self.config_hooks:
            data.update(hook(base_url))
        return data


Plugin = Callable[[FastAPI, IdcContext], None]


def default_plugins() -> list[Plugin]:
    """Return the plug-ins ``create_app`` installs by default: ``[scim_server.aws.install]`` (the AWS access plane)."""
    return [install]


def create_app(
    clock: Clock,
    store: Store | None = None,
    *,
    tenant_id: str | None = None,
    tokens: TokenManager | None = None,
    token_secret: str | None = None,
    journal: Journal | None = None,
    options: ScimOptions | None = None,
    plugins: Sequence[Plugin] | None = None,
    seed: int | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """Build the Identity Center fake; ``app.state.idc`` is its :class:`IdcContext`.

    ``store``/``tokens`` default to fresh ones on ``journal`` (if given). The tenant id is ``tenant_id``, else the
    one saved in the journal, else a new one. If no token exists, one is created (``token_secret`` or random).
    ``seed`` makes ids, the tenant id and token secrets reproducible. ``settings`` (default: the documented
    defaults) is what plug-ins such as the access plane start from.
    """
    rng = random.Random(seed) if seed is not None else None
    store = store if store is not None else Store(clock, seed=seed, journal=journal)
    tokens = tokens if tokens is not None else TokenManager(clock, journal, seed=seed)
    if tenant_id is None and journal is not None:
        saved = dict(journal.load("meta")).get("tenant_id")
        tenant_id = saved.strip('"') if saved else None
    if tenant_id is None:
        tenant_id = new_tenant_id(rng)
    if journal is not None:
        journal.put("meta", "tenant_id", f'"{tenant_id}"')
    if not tokens.list():
        tokens.create(token_secret)
    control = SandboxControl(clock, "jitbox fake IAM Identity Center")
    opts = options or ScimOptions()
    ctx = IdcContext(
        clock=clock,
        store=store,
        tokens=tokens,
        tenant_id=tenant_id,
        control=control,
        options=opts,
        journal=journal,
        rng=random.Random(None if seed is None else f"{seed}:requests"),
        faults=FaultInjector(None if seed is None else f"{seed}:faults"),
        limiter=RateLimiter(opts.rate_limit_rps),
        settings=settings,
    )
    app = FastAPI(
        title="jitbox fake IAM Identity Center", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json"
    )
    app.state.idc = ctx
    app.add_middleware(CatchAll, render=lambda path: internal_error(ctx, path))
    control.on_reset(store.reset)
    control.provide_state("identity_store", store.dump)
    _install_scim(app, ctx)
    app.include_router(control.router)
    for plugin in default_plugins() if plugins is None else plugins:
        plugin(app, ctx)
    _publish_specs(app, ctx)
    _answer_unknown_routes(app, ctx)
    return app


def _answer_unknown_routes(app: FastAPI, ctx: IdcContext) -> None:
    """Answer a path no route serves (FastAPI's bare ``{"detail": "Not Found"}``) with the sandbox error body, saying
    where this port's protocols live; a route's own 404s and 405s keep their bodies."""

    async def unknown(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code not in (404, 405) or exc.detail not in ("Not Found", "Method Not Allowed"):
            return await http_exception_handler(request, exc)
        where = (
            f"SCIM is under {ctx.scim_path()}, the AWS APIs (identitystore, sso-admin, sso, sso-oidc) answer at POST / "
            "and the portal's REST paths, the access portal page is /start/, and GET /_sandbox/ lists the sandbox's "
            "routes"
        )
        if exc.status_code == 404:
            response = sandbox_error(404, None, f"no route for {request.url.path} on the Identity Center fake: {where}")
        else:
            message = f"{request.method} is not allowed on {request.url.path} (allowed: {(exc.headers or {}).get('Allow', '?')})"
            response = sandbox_error(405, None, message, code="MethodNotAllowed")
            response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(StarletteHTTPException, unknown)  # type: ignore[arg-type]


def _publish_specs(app: FastAPI, ctx: IdcContext) -> None:
    """Serve the hand-written OpenAPI documents of the SCIM and AWS routes (:mod:`scim_server.openapi_specs`)."""

    def scim_json() -> dict[str, Any]:
        return openapi_specs.scim_spec(ctx.scim_path())

    def aws_json() -> Any:
        services = getattr(app.state, "aws", None)
        if services is None:
            return sandbox_error(404, None, "the AWS access plane is not installed in this app")
        targets = [f"{prefix}.{op}" for prefix, ops in services.targets.items() for op in ops]
        return openapi_specs.aws_spec(targets)

    summary = "OpenAPI document of the {} routes (for fuzzers and clients)"
    app.add_api_route(
        "/_sandbox/openapi/scim.json", scim_json, methods=["GET"], tags=["sandbox"], summary=summary.format("SCIM")
    )
    app.add_api_route(
        "/_sandbox/openapi/aws.json", aws_json, methods=["GET"], tags=["sandbox"], summary=summary.format("AWS")
    )


def _install_scim(app: FastAPI, ctx: IdcContext) -> None:
    """Mount the SCIM endpoint and the SCIM fake's sandbox routes (``scim_server/scim.py``, ``sandbox.py``)."""
    sandbox_routes.install(app, ctx)
    scim.install(app, ctx)


def internal_error(ctx: IdcContext, path: str) -> Response:
    """The 500 of an exception no handler caught, in the shape of the protocol ``path`` belongs to (no exception
    text): the sandbox error body, AWS's SCIM error, JSON 1.1 ``InternalServerException`` on ``POST /``, else the
    REST-JSON error of the portal and sso-oidc routes [BC-parsers]."""
    rid = seeded_uuid()
    if path.startswith("/_sandbox"):
        return sandbox_internal(path)
    if "/scim/v2" in path:
        body = error_body(500, DETAIL_INTERNAL, rid, ctx.clock.now())
        return JSONResponse(body, status_code=500, headers={"x-amzn-RequestId": rid})
    headers = {"x-amzn-RequestId": rid}
    if path == "/":
        content = {"__type": "InternalServerException", "Message": INTERNAL_MESSAGE}
        return JSONResponse(content, 500, headers=headers, media_type="application/x-amz-json-1.1")
    return JSONResponse(
        {"message": INTERNAL_MESSAGE}, 500, headers={**headers, "x-amzn-ErrorType": "InternalServerException"}
    )
