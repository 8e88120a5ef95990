"""Issue 14: a provisioning engine that cannot die.

A SCIM target served over HTTP that answers garbage (a 201 without ``"id"``, non-JSON 2xx bodies, a 302, a
timeout-like refused connection) and then recovers: every failure is a logged, classified provisioning failure, the
cycle timer stays armed, ``POST /_sandbox/clock/advance`` keeps answering 200, the job's status tells the truth, and
once the target is healthy provisioning resumes and converges. An exception in jitbox's own code is survived too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jitbox.serve import RunningSandbox, start_sandbox
from sim.clock import ManualClock

PIM = "/identityGovernance/privilegedAccess/group"
EC2 = "AWS - Amazon EC2 Admin"
ALL = "AWS - All users"
RICH = "rich.roe@jitbox.example"
INCOMPATIBLE = "SystemForCrossDomainIdentityManagementServiceIncompatible"


class Garbage:
    """A SCIM proxy in front of the Identity Center fake that answers garbage while ``mode`` is not ``"ok"``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "ok"
        self.seen = 0
        self.lock = threading.Lock()
        self.http = httpx2.Client(timeout=30)

    async def handle(self, request: Request) -> Response:
        with self.lock:
            mode = self.mode
            self.seen += 1
        if mode == "no-id":  # every write answers 201 without "id"; reads answer an empty list
            if request.method == "GET":
                return Response('{"Resources": [], "totalResults": 0}', 200, media_type="application/scim+json")
            return Response('{"schemas": [], "userName": "x"}', 201, media_type="application/scim+json")
        if mode == "not-json":
            return Response("<html>gateway says hi</html>", 200, media_type="text/html")
        if mode == "redirect":
            return Response("", 302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
        body = await request.body()
        path = request.url.path
        resp = self.http.request(
            request.method,
            self.upstream + path,
            params=dict(request.query_params),
            content=body,
            headers={k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")},
        )
        return Response(resp.content, resp.status_code, media_type=resp.headers.get("content-type"))


def _app(proxy: Garbage) -> Starlette:
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", proxy.handle, methods=methods)])


def _ec2_members(sandbox: RunningSandbox) -> set[str]:
    dump = sandbox.idc.store.dump()
    names = {u["id"]: u["userName"] for u in dump["users"]}
    gid = next((g["id"] for g in dump["groups"] if g["displayName"] == EC2), None)
    return set() if gid is None else {names[m] for m in dump["memberships"][gid]}


def _advance(http: httpx2.Client, cfg: dict[str, Any], duration: str) -> dict[str, Any]:
    r = http.post(cfg["graph_sandbox_url"] + "clock/advance", json={"duration": duration})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["pending_timers"] >= 1  # the recurring cycle is always armed
    assert body["timer_errors"] == 0  # nothing escaped into the clock
    return body


def _admin(sandbox: RunningSandbox) -> Callable[[], dict[str, str]]:
    """Return a function giving the admin's current Graph auth header (tokens expire on the sandbox clock)."""
    return lambda: {"Authorization": f"Bearer {sandbox.config()['graph_tokens']['admin']}"}


def _job(http: httpx2.Client, cfg: dict[str, Any], admin: dict[str, str]) -> dict[str, Any]:
    sp = http.get(f"{cfg['graph_url']}/servicePrincipals", headers=admin).json()["value"][0]
    jobs = http.get(f"{cfg['graph_url']}/servicePrincipals/{sp['id']}/synchronization/jobs", headers=admin)
    assert jobs.status_code == 200
    job: dict[str, Any] = jobs.json()["value"][0]
    return job


def _activate(http: httpx2.Client, cfg: dict[str, Any], who: str, group: str, duration: str) -> None:
    tokens = http.get(cfg["graph_sandbox_url"] + "tokens").json()["graph_tokens"]  # current (tokens expire)
    h = {"Authorization": f"Bearer {tokens[who]}"}
    me = http.get(f"{cfg['graph_url']}/me", headers=h).json()
    groups = http.get(f"{cfg['graph_url']}/groups", headers=h).json()["value"]
    gid = next(g["id"] for g in groups if g["displayName"] == group)
    r = http.post(
        f"{cfg['graph_url']}{PIM}/assignmentScheduleRequests",
        headers=h,
        json={
            "accessId": "member",
            "action": "selfActivate",
            "principalId": me["id"],
            "groupId": gid,
            "justification": "garbage target test",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": duration}},
        },
    )
    assert r.status_code == 201, r.text


def test_a_target_answering_garbage_is_survived_and_provisioning_converges_after_it_recovers() -> None:
    with start_sandbox(ManualClock(), seed=5) as sandbox, httpx2.Client(timeout=30) as http:
        proxy = Garbage(sandbox.scim_url)
        served = sandbox.serve_app("garbage", _app(proxy))
        cfg = sandbox.config()
        admin = _admin(sandbox)
        r = http.post(
            cfg["graph_sandbox_url"] + "provisioning/target",
            json={"scim_url": served.base_url + "/", "scim_token": sandbox.scim_token},
        )
        assert r.status_code == 200, r.text
        assert _job(http, cfg, admin())["status"]["lastExecution"]["state"] == "Succeeded"

        # a new in-scope user per garbage answer: 201 without "id", a non-JSON 200, a 302
        groups = http.get(f"{cfg['graph_url']}/groups", headers=admin()).json()["value"]
        all_users = next(g["id"] for g in groups if g["displayName"] == ALL)
        logs_before = len(http.get(f"{cfg['graph_url']}/auditLogs/provisioning", headers=admin()).json()["value"])
        for mode in ("no-id", "not-json", "redirect"):
            upn = f"{mode}@jitbox.example"
            new = http.post(
                f"{cfg['graph_url']}/users",
                headers=admin(),
                json={
                    "displayName": mode,
                    "givenName": mode,  # AWS requires given name and surname, else the user is never sent
                    "surname": "Garbage",
                    "userPrincipalName": upn,
                    "mailNickname": mode,
                    "accountEnabled": True,
                },
            )
            assert new.status_code == 201, new.text
            ref = {"@odata.id": f"{cfg['graph_url']}/directoryObjects/{new.json()['id']}"}
            added = http.post(f"{cfg['graph_url']}/groups/{all_users}/members/$ref", headers=admin(), json=ref)
            assert added.status_code == 204, added.text
            proxy.mode = mode
            seen = proxy.seen
            _advance(http, cfg, "PT41M")
            assert proxy.seen > seen  # the cycle ran against the garbage
            job = _job(http, cfg, admin())
            assert job["status"]["code"] == "Active"  # true: the job runs, it is not quarantined
            assert job["status"]["lastExecution"]["state"] == "Failed"
            assert job["status"]["lastExecution"]["error"]["code"] == INCOMPATIBLE
            assert job["nextCycleDateTime"] is not None
            assert any(e["objectId"] and e["error"] == INCOMPATIBLE for e in job["escrows"])
        assert job["status"]["countSuccessiveCompleteFailures"] == 3
        logs = http.get(f"{cfg['graph_url']}/auditLogs/provisioning", headers=admin()).json()["value"]
        failures = [e for e in logs[: len(logs) - logs_before] if e["provisioningStatusInfo"]["status"] == "failure"]
        assert {e["sourceIdentity"]["displayName"] for e in failures} == {"no-id", "not-json", "redirect"}
        for entry in failures:
            info = entry["provisioningStatusInfo"]["errorInfo"]
            assert info["errorCode"] == INCOMPATIBLE and info["errorCategory"] == "NonServiceFailure" and info["reason"]
            assert entry["provisioningSteps"][-1]["status"] == "failure"
        scim_users = {u["userName"] for u in sandbox.idc.store.dump()["users"]}
        assert not {"no-id@jitbox.example", "not-json@jitbox.example", "redirect@jitbox.example"} & scim_users

        # the target recovers: the escrow retries (6 h at most [E-QUAR]) and the cycles converge
        proxy.mode = "ok"
        _advance(http, cfg, "PT7H")
        job = _job(http, cfg, admin())
        assert job["status"]["code"] == "Active" and job["escrows"] == []
        assert job["status"]["lastExecution"]["state"] == "Succeeded"
        assert job["status"]["countSuccessiveCompleteFailures"] == 0
        scim_users = {u["userName"] for u in sandbox.idc.store.dump()["users"]}
        assert {"no-id@jitbox.example", "not-json@jitbox.example", "redirect@jitbox.example"} <= scim_users
        _activate(http, cfg, "rich", EC2, "PT1H")
        _advance(http, cfg, "PT11M")
        assert _ec2_members(sandbox) == {RICH}  # fast path works again
        _advance(http, cfg, "PT2H")
        assert _ec2_members(sandbox) == set()


def test_an_exception_in_our_own_code_is_logged_and_the_cycle_re_arms() -> None:
    with start_sandbox(ManualClock(), seed=5) as sandbox, httpx2.Client(timeout=30) as http:
        cfg = sandbox.config()
        admin = _admin(sandbox)
        tenant = sandbox.servers["entra"].server.config.app.state.entra
        job = next(iter(tenant.jobs.values()))
        real = job.view.snapshot
        calls = {"n": 0}

        def broken(as_of: float | None = None) -> Any:
            calls["n"] += 1
            raise KeyError("a bug in the directory view")

        job.view.snapshot = broken
        _advance(http, cfg, "PT41M")
        assert calls["n"] >= 1
        status = _job(http, cfg, admin())
        assert status["status"]["code"] == "Active"
        assert status["status"]["lastExecution"]["state"] == "Failed"
        assert status["status"]["lastExecution"]["error"]["code"] == "InternalError"
        assert "KeyError" in status["status"]["lastExecution"]["error"]["message"]
        assert status["nextCycleDateTime"] is not None
        logs = http.get(f"{cfg['graph_url']}/auditLogs/provisioning", headers=admin()).json()["value"]
        assert logs[0]["provisioningStatusInfo"]["errorInfo"]["errorCode"] == "InternalError"
        job.view.snapshot = real
        _activate(http, cfg, "rich", EC2, "PT1H")
        _advance(http, cfg, "PT41M")
        assert _ec2_members(sandbox) == {RICH}
        assert _job(http, cfg, admin())["status"]["lastExecution"]["state"] == "Succeeded"


def test_a_raising_timer_never_makes_clock_advance_fail() -> None:
    with start_sandbox(ManualClock(), seed=5) as sandbox, httpx2.Client(timeout=30) as http:
        cfg = sandbox.config()

        def boom() -> None:
            raise RuntimeError("callback bug")

        sandbox.clock.call_later(60, boom, name="boom")
        r = http.post(cfg["graph_sandbox_url"] + "clock/advance", json={"duration": "PT41M"})
        assert r.status_code == 200 and r.json()["timer_errors"] == 1
        assert r.json()["pending_timers"] >= 1
        assert sandbox.clock.timer_errors[0][0] == "boom"
