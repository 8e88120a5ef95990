"""The fake Entra FastAPI application: Microsoft Graph v1.0 routes plus ``/_sandbox`` controls.

``create_app(clock, ...)`` returns the app; ``app.state.entra`` is the :class:`pim_fake.tenant.Tenant`. Routes are
thin module-level routers in :mod:`pim_fake.routes` (directory, PIM requests/schedules/approvals, policies,
provisioning jobs, audit logs, sandbox); FastAPI dependencies authenticate the bearer token and parse JSON, and the
tenant's stores do the work under the tenant's lock. Every error has Graph's envelope [G-ERR]; bad or missing tokens
get Graph's 401 ``InvalidAuthenticationToken``.

Sandbox routes: the shared clock/reset/state ones of :class:`fakekit.control.SandboxControl`, and
:mod:`pim_fake.routes.sandbox` (tokens, provisioning state and target).

With a ``journal`` (``jitbox serve --state``) the tenant is kept in it (:mod:`pim_fake.persist`): a saved tenant is
restored instead of seeding the world, changes are written before each response is sent and after each timer.
"""

from __future__ import annotations

from typing import Any

import httpx2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fakekit.control import SandboxControl
from fakekit.guard import INTERNAL_MESSAGE, CatchAll
from fakekit.openapi import spec_for
from fakekit.persist import FlushBeforeResponse, Journal
from pim_fake.directory import iso
from pim_fake.errors import GraphError, bad_request
from pim_fake.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from pim_fake.myroles import install_myroles
from pim_fake.persist import EntraJournal
from pim_fake.provisioning import EngineOptions, ScimTarget
from pim_fake.routes import approvals, audit, directory, pim_requests, pim_schedules, policies, provisioning, sandbox
from pim_fake.tenant import Tenant
from pim_fake.tokens import DEFAULT_TOKEN_LIFETIME
from pim_fake.world import DEFAULT_WORLD
from sim.clock import Clock
from sim.settings import Settings

__all__ = ["create_app"]

ROUTERS = (
    sandbox.router,
    directory.router,
    provisioning.router,
    pim_requests.router,
    pim_schedules.router,
    approvals.router,
    policies.router,
    audit.router,
)
"""The app's routers, in the order they are included."""


def create_app(
    clock: Clock,
    settings: Settings | None = None,
    *,
    world: dict[str, Any] | None = None,
    seed: int = 0,
    scim_url: str | None = None,
    scim_token: str | None = None,
    scim_client: httpx2.Client | None = None,
    engine_options: EngineOptions | None = None,
    start_provisioning: bool = False,
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    journal: Journal | None = None,
    graph_page_size: int = DEFAULT_PAGE_SIZE,
) -> FastAPI:
    """Build the Entra fake on ``clock``; seed ``world`` (default :data:`DEFAULT_WORLD`).

    With ``scim_url``/``scim_token`` the first enterprise application gets a provisioning job targeting that SCIM
    endpoint (``scim_client`` overrides the HTTP client, e.g. a test transport); ``start_provisioning`` starts it
    (initial cycle now). Graph tokens are random and expire ``token_lifetime`` seconds after minting on ``clock``
    (:mod:`pim_fake.tokens`); ``app.state.graph_tokens`` is the live identity → current default token mapping.
    ``journal`` keeps the tenant (restored from it when it holds one); ``app.state.restored`` says whether it was.
    ``graph_page_size`` is a collection's page size when the client sends no ``$top`` (:mod:`pim_fake.listing`,
    UNCONFIRMED switch).
    """
    if not 1 <= graph_page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"graph_page_size must be 1-{MAX_PAGE_SIZE}, got {graph_page_size}")
    app = FastAPI(
        title="jitbox fake Microsoft Entra (Graph)", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json"
    )
    tenant = Tenant(clock, settings, seed, token_lifetime)
    target = ScimTarget(scim_url, scim_token or "") if scim_url is not None else None
    persist = EntraJournal(journal, tenant) if journal is not None else None
    life = _Lifecycle(app, tenant, DEFAULT_WORLD if world is None else world, target, scim_client, engine_options)
    life.persist = persist
    app.state.restored = life.begin()
    app.state.persist = persist
    control = SandboxControl(clock, "jitbox fake Microsoft Entra")
    app.state.entra = tenant
    app.state.graph_page_size = graph_page_size
    app.state.control = control
    app.state.start_provisioning = life.start_jobs
    control.on_reset(life.reset)
    control.provide_state("entra", tenant.snapshot)
    _install_errors(app, clock)
    app.include_router(control.router)

    def graph_spec() -> dict[str, Any]:
        return spec_for(app.openapi(), lambda path: not path.startswith("/_sandbox"), "jitbox fake Microsoft Graph")

    app.add_api_route(
        "/_sandbox/openapi/graph.json",
        graph_spec,
        methods=["GET"],
        tags=["sandbox"],
        summary="OpenAPI of the Graph routes",
    )
    for router in ROUTERS:
        app.include_router(router)
    install_myroles(app, lambda: app.state.graph_tokens)
    if start_provisioning:
        life.start_jobs()
    return app


class _Lifecycle:
    """Seeding the world, attaching the provisioning job and starting it, at creation and after each reset."""

    def __init__(
        self,
        app: FastAPI,
        tenant: Tenant,
        world: dict[str, Any],
        target: ScimTarget | None,
        client: httpx2.Client | None,
        options: EngineOptions | None,
    ) -> None:
        self.app = app
        self.tenant = tenant
        self.world = world
        self.target = target
        self.client = client
        self.options = options
        self.autostart = False
        self.defer = False
        self.persist: EntraJournal | None = None
        self.restored_jobs: set[str] = set()

    def begin(self) -> bool:
        """Restore the saved tenant when the journal holds one (return True), else seed the world; then keep the
        journal up to date after every timer of the clock."""
        persist = self.persist
        if persist is None:
            self.seed()
            return False
        restored = persist.saved()
        if restored:
            self.restore(persist)
        else:
            self.seed()
        persist.flush(force=True)
        self.tenant.clock.add_listener(lambda: persist.flush(force=True))
        return restored

    def restore(self, persist: EntraJournal) -> None:
        """Load the saved tenant, attach its provisioning jobs with their saved state and re-arm every timer."""
        persist.restore()
        self.app.state.graph_tokens = self.tenant.world_tokens(self.world)
        target = self.target
        if target is not None:
            for sp_id in persist.saved_jobs():
                persist.restore_job(
                    sp_id, lambda sp: self.tenant.add_job(sp, target, client=self.client, options=self.options)
                )
                if self.tenant.jobs[sp_id].code != "NotRun":
                    self.restored_jobs.add(sp_id)
        persist.arm_timers()

    def seed(self) -> None:
        """Seed the world (publishing its tokens as ``app.state.graph_tokens``) and attach the provisioning job."""
        self.app.state.graph_tokens = self.tenant.seed_world(self.world)
        sp = self.tenant.identity_center_app()
        if sp is not None and self.target is not None:
            self.tenant.add_job(sp.id, self.target, client=self.client, options=self.options)

    def reset(self) -> None:
        """Drop all state, seed again, and start the jobs again if they had been started."""
        self.tenant.reset()
        self.restored_jobs.clear()
        self.seed()
        if self.autostart:
            self.start_jobs(self.defer)
        if self.persist is not None:
            self.persist.flush(force=True)

    def start_jobs(self, defer: bool = False) -> None:
        """Start every provisioning job (initial cycle now, or as a clock timer due now with ``defer``), and again
        after each sandbox reset."""
        self.autostart = True
        self.defer = defer
        for sp_id, job in list(self.tenant.jobs.items()):
            if sp_id not in self.restored_jobs:  # a restored job goes on as it was (running, paused, disabled)
                job.start(defer=defer)
        if self.persist is not None:
            self.persist.flush(force=True)


# --- errors ------------------------------------------------------------------------------------------------------
def _install_errors(app: FastAPI, clock: Clock) -> None:
    """Answer every error in Graph's envelope [G-ERR], with sequential request ids."""
    counter = {"n": 0}

    def respond(request: Request | None, err: GraphError) -> JSONResponse:
        counter["n"] += 1
        rid = f"00000000-0000-4000-8000-{counter['n']:012d}"
        client_rid = request.headers.get("client-request-id") if request is not None else None
        body = err.envelope(iso(clock.now()) or "", rid, client_rid)
        return JSONResponse(status_code=err.status, content=body, headers=err.headers)

    @app.exception_handler(GraphError)
    async def graph_error(request: Request, exc: GraphError) -> JSONResponse:
        return respond(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            err = GraphError(
                404, "Request_ResourceNotFound", f"Resource not found for the segment '{request.url.path}'."
            )
        elif exc.status_code == 405:
            err = GraphError(
                405, "Request_BadRequest", f"The HTTP method {request.method} is not allowed on this resource."
            )
        else:
            err = GraphError(exc.status_code, "BadRequest", str(exc.detail))
        return respond(request, err)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return respond(request, bad_request(f"{where}: {first.get('msg', 'invalid value')}"))

    def internal(path: str) -> JSONResponse:
        """An exception no handler caught: Graph's 500 envelope with a fixed message (no exception text)."""
        return respond(None, GraphError(500, "InternalServerError", INTERNAL_MESSAGE))

    if isinstance(getattr(app.state, "persist", None), EntraJournal):
        app.add_middleware(FlushBeforeResponse, flush=app.state.persist.flush)
    app.add_middleware(CatchAll, render=internal)
