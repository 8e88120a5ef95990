"""Helpers for the fake-Entra tests (no tests here): an Entra fake wired to a SCIM target in-process.

Two targets: jitbox's Identity Center fake (``scim_server.app.create_app``) and scim2-server (an independent SCIM
implementation, test-only dependency). The provisioning engine talks to either over HTTP through httpx2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.utils import load_default_provider

from fakekit.serving import serve_in_thread
from pim_fake.app import create_app
from pim_fake.provisioning import EngineOptions, ProvisioningJob
from pim_fake.tenant import Tenant
from scim_server.app import ScimOptions
from scim_server.app import create_app as create_idc
from sim.clock import ManualClock
from sim.settings import Settings

PIM = "/v1.0/identityGovernance/privilegedAccess/group"


@dataclass
class Sandbox:
    """An Entra fake (``graph``) provisioning into a SCIM target on one manual clock."""

    clock: ManualClock
    graph: TestClient
    tokens: dict[str, str]
    target: str
    scim_client: httpx2.Client
    idc: Any = None
    scim2: InMemoryStorage | None = None
    calls: list[tuple[float, str, str, Any]] = field(default_factory=list)
    served: Any = None
    """The uvicorn-served Identity Center app when the SCIM client talks real HTTP (``scim_timeout``)."""

    def close(self) -> None:
        """Stop the served Identity Center app, if any."""
        if self.served is not None:
            self.scim_client.close()
            self.served.stop()
            self.served = None

    def sandbox_post(self, path: str, body: Any) -> httpx2.Response:
        """POST ``body`` to the Identity Center fake's ``/_sandbox/<path>``. When served, with a client of its own:
        the job's SCIM client gives up after ``scim_timeout`` (a fraction of a second in the timeout runs), which a
        test's own control call must not inherit on a loaded machine."""
        if self.served is None:
            return self.scim_client.post(f"/_sandbox/{path}", json=body)
        with httpx2.Client(base_url=self.served.base_url, timeout=30.0) as control:
            return control.post(f"/_sandbox/{path}", json=body)

    @property
    def tenant(self) -> Tenant:
        return self.graph.app.state.entra  # type: ignore[attr-defined,no-any-return]

    @property
    def job(self) -> ProvisioningJob:
        return next(iter(self.tenant.jobs.values()))

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def user_id(self, name: str) -> str:
        return next(u.id for u in self.tenant.directory.users.values() if u.name == name)

    def group_id(self, display: str) -> str:
        return next(g.id for g in self.tenant.directory.groups.values() if g.displayName == display)

    def activate(self, who: str, group: str = "AWS - Amazon EC2 Admin", duration: str = "PT1H") -> dict[str, Any]:
        r = self.graph.post(
            f"{PIM}/assignmentScheduleRequests",
            headers=self.h(who),
            json={
                "accessId": "member",
                "action": "selfActivate",
                "principalId": self.user_id(who),
                "groupId": self.group_id(group),
                "justification": "incident 42",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": duration}},
            },
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def memberships(self) -> dict[str, set[str]]:
        """Return the target's group displayName → set of member userNames."""
        if self.idc is not None:
            dump = self.idc.state.idc.store.dump()
            names = {u["id"]: u["userName"] for u in dump["users"]}
            groups = {g["id"]: g["displayName"] for g in dump["groups"]}
            return {groups[g]: {names[m] for m in ms} for g, ms in dump["memberships"].items()}
        assert self.scim2 is not None
        users = {r.id: r.user_name for r in self.scim2.resources if hasattr(r, "user_name")}
        out: dict[str, set[str]] = {}
        for r in self.scim2.resources:
            if hasattr(r, "display_name") and not hasattr(r, "user_name"):
                out[r.display_name] = {users[m.value] for m in (r.members or [])}
        return out

    def active_users(self) -> dict[str, bool]:
        """Return the target's userName → active."""
        if self.idc is not None:
            return {u["userName"]: bool(u.get("active", True)) for u in self.idc.state.idc.store.dump()["users"]}
        assert self.scim2 is not None
        return {r.user_name: bool(r.active) for r in self.scim2.resources if hasattr(r, "user_name")}

    def patch_times(self, op: str) -> list[float]:
        """Return the clock times of group PATCHes carrying member op ``op`` (Add/Remove, any case)."""
        out = []
        for t, method, url, body in self.calls:
            ops = body.get("Operations", []) if method == "PATCH" and "/Groups/" in url and body else []
            if any(o.get("op", "").lower() == op.lower() for o in ops):
                out.append(t)
        return out


def _recording(client: httpx2.Client, clock: ManualClock, calls: list[tuple[float, str, str, Any]]) -> None:
    import json

    def hook(request: httpx2.Request) -> None:
        body = json.loads(request.content) if request.content else None
        calls.append((clock.time(), request.method, str(request.url), body))

    client.event_hooks = {"request": [hook], "response": []}


def make_sandbox(
    *,
    target: str = "jitbox",
    settings: Settings | None = None,
    world: dict[str, Any] | None = None,
    options: EngineOptions | None = None,
    seed: int = 7,
    start: bool = True,
    token: str | None = None,
    aad_opt: bool = False,
    scim_timeout: float | None = None,
) -> Sandbox:
    """Build an Entra fake whose provisioning job targets ``jitbox`` (IdC fake) or ``scim2`` (scim2-server).

    With ``scim_timeout`` the Identity Center fake is served by uvicorn on loopback and the job's SCIM client is a
    real HTTP client that gives up after ``scim_timeout`` seconds (so an injected ``latency_ms`` is a timeout);
    call :meth:`Sandbox.close` when done.
    """
    clock = ManualClock()
    calls: list[tuple[float, str, str, Any]] = []
    idc = None
    storage = None
    served = None
    if target == "jitbox":
        idc = create_idc(clock, options=ScimOptions(rate_limit_rps=0), plugins=[], seed=seed)
        scim_client: httpx2.Client = TestClient(idc, raise_server_exceptions=False)
        ctx = idc.state.idc
        base = "http://testserver" + ctx.scim_path()
        if scim_timeout is not None:
            served = serve_in_thread("idc-test", idc, "127.0.0.1", 0)
            scim_client = httpx2.Client(base_url=served.base_url, timeout=scim_timeout)
            base = served.base_url + ctx.scim_path()
        secret = ctx.tokens.first_valid().secret
    else:
        storage = InMemoryStorage()
        app = BearerTokenApplication(storage, load_default_provider(), bearer_tokens=["scim2-secret"])
        scim_client = httpx2.Client(transport=httpx2.WSGITransport(app=app))
        base = "http://scim2.test/v2"
        secret = "scim2-secret"
        options = options or EngineOptions(adscim_group_schema=False)
    if aad_opt:
        base = base.rstrip("/") + "/?aadOptscim062020"
    _recording(scim_client, clock, calls)
    graph_app = create_app(
        clock,
        settings,
        world=world,
        seed=seed,
        scim_url=base,
        scim_token=token if token is not None else secret,
        scim_client=scim_client,
        engine_options=options,
        start_provisioning=start,
    )
    graph = TestClient(graph_app, raise_server_exceptions=False)
    return Sandbox(clock, graph, graph_app.state.graph_tokens, target, scim_client, idc, storage, calls, served)


def many_users_world(n: int, eligible_all: bool = True) -> dict[str, Any]:
    """Return a world with an admin and ``n`` users u0..u{n-1}, all eligible for the EC2 group."""
    users: list[dict[str, Any]] = [
        {"name": "admin", "displayName": "Alex Admin", "userPrincipalName": "admin@jitbox.example", "admin": True}
    ]
    names = [f"u{i}" for i in range(n)]
    users += [
        {
            "name": u,
            "displayName": f"User {u}",
            "givenName": "User",
            "surname": u,
            "userPrincipalName": f"{u}@jitbox.example",
        }
        for u in names
    ]
    return {
        "users": users,
        "groups": [
            {"displayName": "AWS - Amazon EC2 Admin", "members": [], "eligible": names if eligible_all else []},
            {"displayName": "AWS - All users", "members": names},
        ],
        "applications": [
            {"displayName": "AWS IAM Identity Center", "assigned": ["AWS - Amazon EC2 Admin", "AWS - All users"]}
        ],
        "clients": [{"name": "automation"}],
    }
