"""The fake Entra FastAPI application: Microsoft Graph v1.0 routes plus ``/_sandbox`` controls.

``create_app(clock, ...)`` returns the app; ``app.state.entra`` is the :class:`pim_fake.tenant.Tenant`. Routes are
thin: they authenticate the bearer token, parse JSON and call the tenant's stores. Every error has Graph's
envelope [G-ERR]; bad or missing tokens get Graph's 401 ``InvalidAuthenticationToken``.

Sandbox routes (beside the shared clock/reset/state ones of :class:`fakekit.control.SandboxControl`):

- ``POST /_sandbox/tokens`` ``{"identity": "rich", "mfa": true, "acrs": ["c1"]}`` → a bearer token for a
  seeded identity (``mfa``/``acrs`` are the token's claims for the MFA and authentication-context rules);
- ``GET /_sandbox/tokens`` → identity name → default token (``graph_tokens``);
- ``GET /_sandbox/provisioning`` → each job's status, fast-path decisions and target cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fakekit.control import SandboxControl
from pim_fake.directory import Caller, iso
from pim_fake.errors import GraphError, bad_request, forbidden, not_found
from pim_fake.odata import FilterError, parse_filter
from pim_fake.pim import ASSIGNMENT, ELIGIBILITY
from pim_fake.policies import Policy, validate_rule_patch
from pim_fake.provisioning import EngineOptions, ScimTarget
from pim_fake.tenant import Tenant
from pim_fake.world import DEFAULT_WORLD
from sim.clock import Clock
from sim.settings import Settings

__all__ = ["EngineOptions", "ScimTarget", "create_app"]

V1 = "/v1.0"
PIM = V1 + "/identityGovernance/privilegedAccess/group"


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
) -> FastAPI:
    """Build the Entra fake on ``clock``; seed ``world`` (default :data:`DEFAULT_WORLD`).

    With ``scim_url``/``scim_token`` the first enterprise application gets a provisioning job targeting that SCIM
    endpoint (``scim_client`` overrides the HTTP client, e.g. a test transport); ``start_provisioning`` starts it
    (initial cycle now).
    """
    tenant = Tenant(clock, settings, seed)
    world_data = DEFAULT_WORLD if world is None else world
    state: dict[str, Any] = {"tokens": tenant.seed_world(world_data), "autostart": start_provisioning}

    def attach_job() -> None:
        sp = tenant.identity_center_app()
        if sp is not None and scim_url is not None:
            tenant.add_job(sp.id, ScimTarget(scim_url, scim_token or ""), client=scim_client, options=engine_options)

    attach_job()
    app = FastAPI(
        title="jitbox fake Microsoft Entra (Graph)", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json"
    )
    app.state.entra = tenant
    app.state.graph_tokens = state["tokens"]
    control = SandboxControl(clock)
    app.state.control = control

    def reset() -> None:
        tenant.reset()
        state["tokens"] = tenant.seed_world(world_data)
        app.state.graph_tokens = state["tokens"]
        attach_job()
        if state["autostart"]:
            start_jobs(bool(state.get("defer", False)))

    def start_jobs(defer: bool = False) -> None:
        """Start every provisioning job (initial cycle now, or as a clock timer due now with ``defer``), and again
        after each sandbox reset."""
        state["autostart"] = True
        state["defer"] = defer
        for job in list(tenant.jobs.values()):
            job.start(defer=defer)

    control.on_reset(reset)
    control.provide_state("entra", lambda: _state(tenant))
    _install_errors(app, clock)
    app.include_router(control.router)
    app.include_router(_sandbox_router(tenant, lambda: state["tokens"]))
    app.include_router(_graph_router(tenant))
    app.state.start_provisioning = start_jobs
    if start_provisioning:
        start_jobs()
    return app


# --- errors ------------------------------------------------------------------------------------------------------
def _install_errors(app: FastAPI, clock: Clock) -> None:
    counter = {"n": 0}

    def respond(request: Request, err: GraphError) -> JSONResponse:
        counter["n"] += 1
        rid = f"00000000-0000-4000-8000-{counter['n']:012d}"
        body = err.envelope(iso(clock.now()) or "", rid, request.headers.get("client-request-id"))
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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return respond(
            request, GraphError(500, "InternalServerError", f"Unexpected error: {type(exc).__name__}: {exc}")
        )


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None


async def _json_object(request: Request) -> dict[str, Any]:
    body = await _json(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _list(request: Request, items: list[dict[str, Any]], context: str, apply_filter: bool = True) -> dict[str, Any]:
    """Return a Graph collection, applying ``$filter`` (when asked) and ``$top``."""
    if apply_filter:
        try:
            pred = parse_filter(request.query_params.get("$filter"))
        except FilterError as exc:
            raise bad_request(str(exc)) from None
        items = [i for i in items if pred is None or pred(i)]
    top = request.query_params.get("$top")
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            raise bad_request(f"Invalid value {top!r} for query option $top; it must be a positive integer.")
        items = items[: int(top)]
    return {"@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{context}", "value": items}


# --- sandbox -----------------------------------------------------------------------------------------------------
def _sandbox_router(tenant: Tenant, tokens: Callable[[], dict[str, str]]) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", tags=["sandbox"])

    @router.get("/tokens")
    def list_tokens() -> dict[str, Any]:
        return {"graph_tokens": tokens()}

    @router.post("/tokens")
    async def mint(request: Request) -> Any:
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("identity"), str):
            raise bad_request('Give {"identity": "<name>", "mfa": false, "acrs": []} naming a seeded identity.')
        acrs = body.get("acrs") or []
        if not isinstance(acrs, list) or not all(isinstance(a, str) for a in acrs):
            raise bad_request("acrs must be a list of authentication context claim values such as ['c1'].")
        with tenant.lock:
            token = tenant.directory.mint_token(body["identity"], mfa=bool(body.get("mfa", False)), acrs=tuple(acrs))
            caller = tenant.directory.tokens[token]
        return {
            "access_token": token,
            "token_type": "Bearer",
            "identity": caller.name,
            "kind": caller.kind,
            "id": caller.id,
        }

    @router.get("/provisioning")
    def provisioning() -> Any:
        return _state(tenant)["provisioning"]

    @router.post("/provisioning/target")
    async def retarget(request: Request) -> Any:
        """Point a provisioning job at any SCIM server: ``{"scim_url", "scim_token", "service_principal_id"?}``."""
        body = await _json(request)
        if not isinstance(body, dict):
            raise bad_request('Give {"scim_url": "https://.../scim/v2/", "scim_token": "..."}.')
        url, token = body.get("scim_url"), body.get("scim_token")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            raise bad_request(f"scim_url {url!r} must be an http(s) URL such as http://127.0.0.1:8080/scim/v2/")
        if not isinstance(token, str):
            raise bad_request("scim_token must be a string (the SCIM bearer token).")
        sp_id = body.get("service_principal_id")
        sp = tenant.directory.service_principal(sp_id) if isinstance(sp_id, str) else tenant.identity_center_app()
        if sp is None:
            raise bad_request("There is no enterprise application to provision from; add one to the world.")
        target = ScimTarget(url, token)
        if sp.id in tenant.jobs:
            await run_in_threadpool(tenant.jobs[sp.id].retarget, target)
        else:
            tenant.add_job(sp.id, target)
        return tenant.jobs[sp.id].to_json()

    return router


def _state(tenant: Tenant) -> dict[str, Any]:
    with tenant.lock:
        return {
            "users": len(tenant.directory.users),
            "groups": {g.displayName: list(g.members) for g in tenant.directory.groups.values()},
            "provisioning": {
                sp_id: {
                    "job": job.to_json(),
                    "origin": job.origin,
                    "cyclesRun": job.cycles_run,
                    "fastPath": [r.to_json() for r in job.fast_path],
                    "target": job.target.url,
                    "users": {k: {"scimId": v.scim_id, "active": v.active} for k, v in job.users.items()},
                    "groups": {k: {"scimId": v.scim_id, "members": sorted(v.members)} for k, v in job.groups.items()},
                }
                for sp_id, job in tenant.jobs.items()
            },
        }


# --- Graph -------------------------------------------------------------------------------------------------------
def _graph_router(tenant: Tenant) -> APIRouter:
    router = APIRouter(prefix=V1)
    d = tenant.directory

    def caller(request: Request) -> Caller:
        with tenant.lock:
            return d.caller_for(request.headers.get("authorization"))

    def admin(request: Request) -> Caller:
        who = caller(request)
        if not who.is_admin:
            raise forbidden()
        return who

    # --- directory -------------------------------------------------------------------------------------------
    @router.get("/me")
    def me(request: Request) -> Any:
        who = caller(request)
        if not who.is_user:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        with tenant.lock:
            return d.user(who.id).to_json()

    @router.get("/users")
    def list_users(request: Request) -> Any:
        caller(request)
        with tenant.lock:
            return _list(request, [u.to_json() for u in d.users.values()], "users")

    @router.post("/users", status_code=201)
    async def create_user(request: Request) -> Any:
        admin(request)
        body = await _json_object(request)
        with tenant.lock:
            return d.add_user(body).to_json()

    @router.get("/users/{user_id}")
    def get_user(request: Request, user_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return d.user(user_id).to_json()

    @router.get("/groups")
    def list_groups(request: Request) -> Any:
        caller(request)
        with tenant.lock:
            return _list(request, [g.to_json() for g in d.groups.values()], "groups")

    @router.post("/groups", status_code=201)
    async def create_group(request: Request) -> Any:
        admin(request)
        body = await _json_object(request)
        if body.get("securityEnabled") is False:
            raise bad_request("Only security groups can be PIM-managed in this sandbox; set securityEnabled true.")
        with tenant.lock:
            return d.add_group({k: v for k, v in body.items() if k != "members@odata.bind"}).to_json()

    @router.get("/groups/{group_id}")
    def get_group(request: Request, group_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return d.group(group_id).to_json()

    @router.get("/groups/{group_id}/members")
    def list_members(request: Request, group_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return _list(request, [d.object_json(m) for m in d.group(group_id).members], "directoryObjects")

    @router.get("/groups/{group_id}/owners")
    def list_owners(request: Request, group_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return _list(request, [d.object_json(m) for m in d.group(group_id).owners], "directoryObjects")

    @router.post("/groups/{group_id}/members/$ref", status_code=204)
    async def add_member(request: Request, group_id: str) -> Response:
        admin(request)
        body = await _json(request)
        ref = body.get("@odata.id") if isinstance(body, dict) else None
        if not isinstance(ref, str) or "/" not in ref:
            raise bad_request('Give {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}.')
        with tenant.lock:
            if not d.add_member(group_id, ref.rstrip("/").rsplit("/", 1)[-1], via_pim=False):
                raise bad_request(
                    "One or more added object references already exist for the following modified properties: 'members'.",
                    code="Request_BadRequest",
                )
        return Response(status_code=204)

    @router.delete("/groups/{group_id}/members/{member_id}/$ref", status_code=204)
    def remove_member(request: Request, group_id: str, member_id: str) -> Response:
        admin(request)
        with tenant.lock:
            if not d.remove_member(group_id, member_id, via_pim=False):
                raise not_found("directoryObject", member_id)
        return Response(status_code=204)

    @router.get("/servicePrincipals")
    def list_sps(request: Request) -> Any:
        caller(request)
        with tenant.lock:
            return _list(request, [s.to_json() for s in d.service_principals.values()], "servicePrincipals")

    @router.get("/servicePrincipals/{sp_id}")
    def get_sp(request: Request, sp_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return d.service_principal(sp_id).to_json()

    @router.get("/servicePrincipals/{sp_id}/appRoleAssignedTo")
    def list_assigned(request: Request, sp_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return _list(request, [a.to_json() for a in d.service_principal(sp_id).assignments], "appRoleAssignments")

    @router.post("/servicePrincipals/{sp_id}/appRoleAssignedTo", status_code=201)
    async def assign(request: Request, sp_id: str) -> Any:
        admin(request)
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("principalId"), str):
            raise bad_request("Property 'principalId' is required.")
        if body.get("resourceId") not in (None, sp_id):
            raise bad_request(f"resourceId must be this service principal ({sp_id}).")
        with tenant.lock:
            return d.assign(sp_id, body["principalId"], body.get("appRoleId")).to_json()

    @router.delete("/servicePrincipals/{sp_id}/appRoleAssignedTo/{assignment_id}", status_code=204)
    def unassign(request: Request, sp_id: str, assignment_id: str) -> Response:
        admin(request)
        with tenant.lock:
            d.unassign(sp_id, assignment_id)
        return Response(status_code=204)

    # --- synchronization jobs ------------------------------------------------------------------------------------
    @router.get("/servicePrincipals/{sp_id}/synchronization/jobs")
    def list_jobs(request: Request, sp_id: str) -> Any:
        admin(request)
        jobs = [tenant.jobs[sp_id].to_json()] if sp_id in tenant.jobs else []
        d.service_principal(sp_id)
        return _list(request, jobs, "synchronizationJobs", apply_filter=False)

    @router.get("/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}")
    def get_job(request: Request, sp_id: str, job_id: str) -> Any:
        admin(request)
        return tenant.job(sp_id, job_id).to_json()

    async def job_action(request: Request, sp_id: str, job_id: str, action: str) -> Response:
        admin(request)
        job = tenant.job(sp_id, job_id)
        fn = {"start": job.start, "pause": job.pause, "restart": job.restart}[action]
        await run_in_threadpool(fn)
        return Response(status_code=204)

    for action_name in ("start", "pause", "restart"):

        async def route(request: Request, sp_id: str, job_id: str, _a: str = action_name) -> Response:
            return await job_action(request, sp_id, job_id, _a)

        router.add_api_route(
            f"/servicePrincipals/{{sp_id}}/synchronization/jobs/{{job_id}}/{action_name}",
            route,
            methods=["POST"],
            status_code=204,
        )

    @router.post("/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/provisionOnDemand")
    async def on_demand(request: Request, sp_id: str, job_id: str) -> Any:
        admin(request)
        job = tenant.job(sp_id, job_id)
        body = await _json(request)
        return await run_in_threadpool(job.provision_on_demand, body)

    # --- PIM for Groups -------------------------------------------------------------------------------------------
    for kind in (ASSIGNMENT, ELIGIBILITY):
        _pim_routes(router, tenant, kind, caller)
    _approval_routes(router, tenant, caller)
    _policy_routes(router, tenant, caller, admin)

    # --- audit -----------------------------------------------------------------------------------------------------
    @router.get("/auditLogs/directoryAudits")
    def directory_audits(request: Request) -> Any:
        admin(request)
        with tenant.lock:
            return _list(request, list(reversed(tenant.audit.entries)), "auditLogs/directoryAudits")

    @router.get("/auditLogs/provisioning")
    def provisioning_logs(request: Request) -> Any:
        admin(request)
        entries = [e for job in tenant.jobs.values() for e in job.logs]
        entries.sort(key=lambda e: e["activityDateTime"] or "", reverse=True)
        return _list(request, entries, "auditLogs/provisioning")

    return router


def _pim_routes(router: APIRouter, tenant: Tenant, kind: str, caller: Callable[[Request], Caller]) -> None:
    pim = tenant.pim
    base = f"{PIM[len(V1) :]}/{kind}ScheduleRequests"
    context = f"identityGovernance/privilegedAccess/group/{kind}ScheduleRequests"

    async def create(request: Request) -> Any:
        who = caller(request)
        body = await _json(request)
        with tenant.lock:
            result = pim.create_request(kind, body, who)
        return JSONResponse(status_code=201, content=result)

    def list_all(request: Request) -> Any:
        who = caller(request)
        with tenant.lock:
            items = pim.list_requests(kind, request.query_params.get("$filter"), who)
            return _list(request, [pim.request_json(r) for r in items], context, apply_filter=False)

    def by_current_user(request: Request, on: str) -> Any:
        who = caller(request)
        with tenant.lock:
            items = pim.requests_for_current_user(kind, on.strip("'\""), request.query_params.get("$filter"), who)
            return _list(request, [pim.request_json(r) for r in items], context, apply_filter=False)

    def get_one(request: Request, request_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return pim.request_json(pim.get_request(kind, request_id))

    def cancel(request: Request, request_id: str) -> Response:
        who = caller(request)
        with tenant.lock:
            pim.cancel(kind, request_id, who)
        return Response(status_code=204)

    router.add_api_route(base, create, methods=["POST"], status_code=201)
    router.add_api_route(base, list_all, methods=["GET"])
    router.add_api_route(base + "/filterByCurrentUser(on={on})", by_current_user, methods=["GET"])
    router.add_api_route(base + "/{request_id}", get_one, methods=["GET"])
    router.add_api_route(base + "/{request_id}/cancel", cancel, methods=["POST"], status_code=204)

    for suffix, instances in (("Schedules", False), ("ScheduleInstances", True)):
        path = f"{PIM[len(V1) :]}/{kind}{suffix}"
        ctx = f"identityGovernance/privilegedAccess/group/{kind}{suffix}"

        def list_schedules(request: Request, _i: bool = instances, _c: str = ctx) -> Any:
            who = caller(request)
            with tenant.lock:
                items = pim.list_schedules(kind, _i, request.query_params.get("$filter"), who)
            return _list(request, items, _c, apply_filter=False)

        def mine(request: Request, on: str, _i: bool = instances, _c: str = ctx) -> Any:
            who = caller(request)
            if on.strip("'\"").lower() != "principal":
                raise bad_request("filterByCurrentUser on schedules supports on='principal'.")
            with tenant.lock:
                items = pim.list_schedules(kind, _i, request.query_params.get("$filter"), who, current_user=True)
            return _list(request, items, _c, apply_filter=False)

        def one(request: Request, ident: str, _i: bool = instances) -> Any:
            caller(request)
            with tenant.lock:
                return pim.get_schedule(kind, ident, _i)

        router.add_api_route(path, list_schedules, methods=["GET"])
        router.add_api_route(path + "/filterByCurrentUser(on={on})", mine, methods=["GET"])
        router.add_api_route(path + "/{ident}", one, methods=["GET"])


def _approval_routes(router: APIRouter, tenant: Tenant, caller: Callable[[Request], Caller]) -> None:
    pim = tenant.pim
    base = f"{PIM[len(V1) :]}/assignmentApprovals/{{approval_id}}"

    def get_approval(request: Request, approval_id: str) -> Any:
        who = caller(request)
        with tenant.lock:
            return pim.approval(approval_id, who)

    def list_steps(request: Request, approval_id: str) -> Any:
        who = caller(request)
        with tenant.lock:
            return _list(request, pim.approval(approval_id, who)["stages"], "approvalStages", apply_filter=False)

    def get_step(request: Request, approval_id: str, stage_id: str) -> Any:
        who = caller(request)
        with tenant.lock:
            for stage in pim.approval(approval_id, who)["stages"]:
                if stage["id"].lower() == stage_id.lower():
                    return stage
        raise not_found("approvalStage", stage_id)

    async def decide(request: Request, approval_id: str, stage_id: str) -> Response:
        who = caller(request)
        body = await _json(request)
        with tenant.lock:
            pim.decide(approval_id, stage_id, body, who)
        return Response(status_code=204)

    router.add_api_route(base, get_approval, methods=["GET"])
    for seg in ("steps", "stages"):
        router.add_api_route(f"{base}/{seg}", list_steps, methods=["GET"])
        router.add_api_route(f"{base}/{seg}/{{stage_id}}", get_step, methods=["GET"])
        router.add_api_route(f"{base}/{seg}/{{stage_id}}", decide, methods=["PATCH"], status_code=204)


def _policy_routes(
    router: APIRouter, tenant: Tenant, caller: Callable[[Request], Caller], admin: Callable[[Request], Caller]
) -> None:
    pim = tenant.pim

    def expand_rules(request: Request) -> bool:
        return "rules" in (request.query_params.get("$expand") or "")

    def expand_assignment(request: Request) -> tuple[bool, bool]:
        expand = request.query_params.get("$expand") or ""
        return "policy" in expand, "rules" in expand

    def rule_or_404(policy: Policy, rule_id: str) -> dict[str, Any]:
        rule = policy.rule(rule_id)
        if rule is None:
            raise not_found("unifiedRoleManagementPolicyRule", rule_id)
        return rule

    @router.get("/policies/roleManagementPolicies")
    def list_policies(request: Request) -> Any:
        who = caller(request)
        with tenant.lock:
            items = [
                p.to_json(expand_rules(request)) for p in pim.scoped_policies(request.query_params.get("$filter"), who)
            ]
        return _list(request, items, "policies/roleManagementPolicies")

    @router.get("/policies/roleManagementPolicies/{policy_id}")
    def get_policy(request: Request, policy_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return pim.policy_by_id(policy_id).to_json(expand_rules(request))

    @router.get("/policies/roleManagementPolicies/{policy_id}/rules")
    def list_rules(request: Request, policy_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return _list(request, list(pim.policy_by_id(policy_id).rules), "rules")

    @router.get("/policies/roleManagementPolicies/{policy_id}/rules/{rule_id}")
    def get_rule(request: Request, policy_id: str, rule_id: str) -> Any:
        caller(request)
        with tenant.lock:
            return rule_or_404(pim.policy_by_id(policy_id), rule_id)

    @router.patch("/policies/roleManagementPolicies/{policy_id}/rules/{rule_id}", status_code=204)
    async def patch_rule(request: Request, policy_id: str, rule_id: str) -> Response:
        who = admin(request)
        body = await _json(request)
        with tenant.lock:
            policy = pim.policy_by_id(policy_id)
            rule = rule_or_404(policy, rule_id)
            updated = validate_rule_patch(rule, body)
            policy.rules[policy.rules.index(rule)] = updated
            policy.last_modified = iso(tenant.clock.now())
            policy.last_modified_by = who.identity_set()
            tenant.audit.record(
                "Update role setting in PIM",
                initiated_by=who,
                targets=[{"id": policy.group_id, "displayName": None, "type": "Group"}],
                correlation_id=tenant.directory.new_id(),
                details={"RuleId": updated["id"]},
            )
        return Response(status_code=204)

    @router.get("/policies/roleManagementPolicyAssignments")
    def list_policy_assignments(request: Request) -> Any:
        who = caller(request)
        expand = expand_assignment(request)
        with tenant.lock:
            items = [p.assignment_json(*expand) for p in pim.scoped_policies(request.query_params.get("$filter"), who)]
        return _list(request, items, "policies/roleManagementPolicyAssignments")

    @router.get("/policies/roleManagementPolicyAssignments/{assignment_id}")
    def get_policy_assignment(request: Request, assignment_id: str) -> Any:
        caller(request)
        expand = expand_assignment(request)
        with tenant.lock:
            for p in pim.policies.values():
                if p.assignment_id.lower() == assignment_id.lower():
                    return p.assignment_json(*expand)
        raise not_found("unifiedRoleManagementPolicyAssignment", assignment_id)
