"""``jitbox serve --state``: the Entra side (directory, PIM, approvals, policies, audit and provisioning logs, the
provisioning job and its timers, the manual clock) survives a restart: in-process (``start_sandbox`` twice on one
file) and through ``python -m jitbox serve --state F --clock manual`` killed with SIGKILL (the issue's Done-when)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from cli_support import code_under_test_env

from jitbox.serve import RunningSandbox, start_sandbox
from pim_fake.persist import EntraJournal, StateFormatError
from sim.clock import DEFAULT_EPOCH, ManualClock

PIM = "/v1.0/identityGovernance/privilegedAccess/group"
ASR = f"{PIM}/assignmentScheduleRequests"
ESR = f"{PIM}/eligibilityScheduleRequests"
EC2 = "AWS - Amazon EC2 Admin"


class Graph:
    """A Graph client on a running sandbox, with the config's tokens."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        cfg = sandbox.config()
        self.sandbox = sandbox
        self.c = httpx.Client(base_url=cfg["graph_url"].removesuffix("/v1.0"), timeout=30)
        self.tokens: dict[str, str] = dict(cfg["graph_tokens"])
        self.tenant = sandbox.apps["entra"].state.entra

    def h(self, who: str) -> dict[str, str]:
        """Return the bearer header of ``who``'s current default token (Graph tokens expire on the clock)."""
        return {"Authorization": f"Bearer {self.sandbox.apps['entra'].state.graph_tokens[who]}"}

    def uid(self, name: str) -> str:
        return next(u.id for u in self.tenant.directory.users.values() if u.name == name)

    def gid(self, display: str = EC2) -> str:
        return next(g.id for g in self.tenant.directory.groups.values() if g.displayName == display)

    def activate(self, who: str, duration: str = "PT1H") -> httpx.Response:
        body = {
            "accessId": "member", "action": "selfActivate", "principalId": self.uid(who), "groupId": self.gid(),
            "justification": "incident 42", "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": duration}},
        }  # fmt: skip
        return self.c.post(ASR, headers=self.h(who), json=body)

    def policy_rule(self, rule_id: str) -> dict[str, Any]:
        params = {"$filter": f"scopeId eq '{self.gid()}' and scopeType eq 'Group'", "$expand": "rules"}
        policies = self.c.get("/v1.0/policies/roleManagementPolicies", headers=self.h("admin"), params=params).json()
        member = next(p for p in policies["value"] if p["id"] in self._member_policy_ids())
        return next(r for r in member["rules"] if r["id"] == rule_id)  # type: ignore[no-any-return]

    def _member_policy_ids(self) -> set[str]:
        params = {"$filter": f"scopeId eq '{self.gid()}' and scopeType eq 'Group'"}
        pa = self.c.get("/v1.0/policies/roleManagementPolicyAssignments", headers=self.h("admin"), params=params)
        return {a["policyId"] for a in pa.json()["value"] if a["roleDefinitionId"] == "member"}

    def advance(self, seconds: float) -> dict[str, Any]:
        r = self.c.post("/_sandbox/clock/advance", json={"seconds": seconds})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def audits(self) -> list[dict[str, Any]]:
        return self.c.get("/v1.0/auditLogs/directoryAudits", headers=self.h("admin")).json()["value"]  # type: ignore[no-any-return]

    def provisioning_logs(self) -> list[dict[str, Any]]:
        return self.c.get("/v1.0/auditLogs/provisioning", headers=self.h("admin")).json()["value"]  # type: ignore[no-any-return]

    def eligibilities(self) -> list[dict[str, Any]]:
        params = {"$filter": f"groupId eq '{self.gid()}'"}
        r = self.c.get(f"{PIM}/eligibilitySchedules", headers=self.h("admin"), params=params)
        return r.json()["value"]  # type: ignore[no-any-return]

    def request(self, rid: str, who: str = "admin") -> dict[str, Any]:
        return self.c.get(f"{ASR}/{rid}", headers=self.h(who)).json()  # type: ignore[no-any-return]


def scim_members(sandbox: RunningSandbox, group: str = EC2) -> set[str]:
    """Return the userNames in the Identity Center group ``group`` (empty when the group is not there)."""
    dump = sandbox.idc.store.dump()
    names = {u["id"]: u["userName"] for u in dump["users"]}
    gid = next((g["id"] for g in dump["groups"] if g["displayName"] == group), None)
    return {names[m] for m in dump["memberships"].get(gid, [])}


APPROVAL = {
    "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
    "setting": {
        "isApprovalRequired": True, "isApprovalRequiredForExtension": False, "isRequestorJustificationRequired": True,
        "approvalMode": "SingleStage",
        "approvalStages": [{
            "approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": True, "escalationTimeInMinutes": 0,
            "isEscalationEnabled": False, "escalationApprovers": [],
            "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": "ADMIN"}],
        }],
    },
}  # fmt: skip


def _require_approval(g: Graph) -> None:
    body = json.loads(json.dumps(APPROVAL).replace("ADMIN", g.uid("admin")))
    [policy_id] = g._member_policy_ids()
    r = g.c.patch(
        f"/v1.0/policies/roleManagementPolicies/{policy_id}/rules/Approval_EndUser_Assignment",
        headers=g.h("admin"),
        json=body,
    )
    assert r.status_code == 204, r.text


def _make_eligible(g: Graph, who: str) -> None:
    body = {
        "accessId": "member", "action": "adminAssign", "principalId": g.uid(who), "groupId": g.gid(),
        "justification": "on call", "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P30D"}},
    }  # fmt: skip
    r = g.c.post(ESR, headers=g.h("admin"), json=body)
    assert r.status_code == 201, r.text


def _approve(g: Graph, rid: str) -> None:
    stage = g.c.get(f"{PIM}/assignmentApprovals/{rid}", headers=g.h("admin")).json()["stages"][0]["id"]
    url = f"{PIM}/assignmentApprovals/{rid}/steps/{stage}"
    r = g.c.patch(url, headers=g.h("admin"), json={"reviewResult": "Approve", "justification": "ok"})
    assert r.status_code == 204, r.text


def _sandbox(state: Path, clock: ManualClock | None = None) -> RunningSandbox:
    return start_sandbox(clock or ManualClock(), state_path=state, seed=4, extensions=None)


def _snapshot(g: Graph) -> dict[str, Any]:
    """Return the tenant's sandbox view without the target URL (the restarted SCIM endpoint has another port)."""
    snap = g.tenant.snapshot()
    for job in snap["provisioning"].values():
        job.pop("target")
    return snap  # type: ignore[no-any-return]


def _timers(sandbox: RunningSandbox) -> dict[str, float]:
    return {t.name: t.due for t in sandbox.clock.pending()}


def test_entra_state_survives_a_restart_with_its_timers(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with _sandbox(state) as first:
        g = Graph(first)
        _require_approval(g)
        _make_eligible(g, "mateo")
        rich = g.activate("rich").json()
        assert rich["status"] == "PendingApproval"
        _approve(g, rich["id"])
        mateo = g.activate("mateo").json()  # left pending: its approval expires after 24 h
        assert mateo["status"] == "PendingApproval"
        g.advance(600)  # the fast path brings Rich to Identity Center within 2-10 min [E-AWS]
        assert scim_members(first) == {"rich.roe@jitbox.example"}
        before = {
            "now": first.clock.time(), "audits": g.audits(), "logs": g.provisioning_logs(),
            "eligible": g.eligibilities(), "rich": g.request(rich["id"]), "mateo": g.request(mateo["id"]),
            "rule": g.policy_rule("Approval_EndUser_Assignment"), "snapshot": _snapshot(g),
            "timers": _timers(first),
        }  # fmt: skip
        job = next(iter(g.tenant.jobs.values()))
        job_before = (job.id, job.cycles_run, job.origin, job.to_json())
        tokens = dict(g.tokens)
    kept = state.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("state.sqlite-*"))
    assert not [name for name, token in tokens.items() if token.encode() in kept]  # Graph tokens are not kept

    with _sandbox(state) as second:  # a fresh manual clock: it is put back at the saved time
        g = Graph(second)
        assert second.clock.time() == before["now"]
        assert g.audits() == before["audits"] and g.provisioning_logs() == before["logs"]
        assert g.eligibilities() == before["eligible"] and len(before["eligible"]) == 2
        assert g.request(rich["id"]) == before["rich"] and g.request(mateo["id"]) == before["mateo"]
        assert g.policy_rule("Approval_EndUser_Assignment") == before["rule"]
        assert before["rule"]["setting"]["isApprovalRequired"] is True
        assert _snapshot(g) == before["snapshot"]
        job = next(iter(g.tenant.jobs.values()))
        assert (job.id, job.cycles_run, job.origin, job.to_json()) == job_before
        timers = _timers(second)
        entra = {n: d for n, d in before["timers"].items() if n.startswith(("pim-", "cycle-"))}
        assert entra and {n: timers.get(n) for n in entra} == entra  # every Entra timer re-armed at its due time
        assert scim_members(second) == {"rich.roe@jitbox.example"}
        g.advance(3600 + 2400)  # past Rich's end and one more cycle: the removal reaches Identity Center [E-AWS]
        assert scim_members(second) == set()
        assert g.request(mateo["id"])["status"] == "PendingApproval"
        g.advance(24 * 3600)
        assert g.request(mateo["id"])["status"] == "Canceled"
        assert job.cycles_run > job_before[1] and job.last_execution is not None
        assert job.last_execution["initial"] is False  # the restart went on with incremental cycles
        activities = [a["activityDisplayName"] for a in g.audits()]
        assert "Remove member from role (PIM activation expired)" in activities
        assert "PIM activation request expired" in activities


def test_a_due_time_passed_while_down_fires_on_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with _sandbox(state) as first:
        g = Graph(first)
        g.activate("rich", "PT1H")
        g.advance(600)
        assert scim_members(first) == {"rich.roe@jitbox.example"}
        end = first.clock.time() + 3600
    later = ManualClock(DEFAULT_EPOCH.fromtimestamp(end + 3 * 3600, tz=DEFAULT_EPOCH.tzinfo))
    with _sandbox(state, later) as second:  # started after the end: the expiry and the missed cycle run at once
        g = Graph(second)
        assert second.clock.time() == end + 3 * 3600
        assert g.uid("rich") not in g.tenant.directory.groups[g.gid()].members
        assert "Remove member from role (PIM activation expired)" in [a["activityDisplayName"] for a in g.audits()]
        job = next(iter(g.tenant.jobs.values()))
        assert job.next_cycle is not None and second.clock.time() < job.next_cycle <= second.clock.time() + 2400
        g.advance(2400)  # the next regular cycle sends the removal [E-AWS]
        assert scim_members(second) == set()


def test_reset_keeps_the_state_file_and_restarts_in_the_world(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with _sandbox(state) as first:
        g = Graph(first)
        _make_eligible(g, "mateo")
        r = g.c.post("/_sandbox/reset")
        assert r.status_code == 200, r.text
        assert state.exists()
        assert len(Graph(first).eligibilities()) == 1  # the world's own eligibility only
    assert state.exists()
    with _sandbox(state) as second:
        assert len(Graph(second).eligibilities()) == 1
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM records WHERE kind LIKE 'entra.%'").fetchone()[0] > 0


def test_a_state_file_of_another_format_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with _sandbox(state):
        pass
    with sqlite3.connect(state) as db:
        db.execute(
            "UPDATE records SET value = json_set(value, '$.format', 99) WHERE kind = 'entra.meta' AND key = 'tenant'"
        )
    with pytest.raises(StateFormatError, match="format 99"):
        _sandbox(state)
    assert EntraJournal  # the class the app keeps the tenant with


# --- the Done-when: kill -9 and restart `jitbox serve` on the same --state ------------------------------------
REPO_ROOT = Path(__file__).resolve().parent.parent


def _serve(state: Path, cfg: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start ``python -m jitbox serve --state STATE --clock manual`` on free ports; return it and its config."""
    cfg.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jitbox", "serve", "--state", str(state), "--clock", "manual", "--seed", "4",
         "--port", "0", "--entra-port", "0", "--config-out", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=code_under_test_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not cfg.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not cfg.exists():
        proc.kill()
        raise AssertionError(f"jitbox serve did not start: {proc.communicate()[1]}")
    return proc, json.loads(cfg.read_text())


class Remote:
    """Graph, SCIM and the sandbox clock of a `jitbox serve` process, through its config."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.graph = httpx.Client(base_url=cfg["graph_url"].removesuffix("/v1.0"), timeout=30)
        self.scim = httpx.Client(base_url=cfg["scim_url"], headers={"Authorization": f"Bearer {cfg['scim_token']}"})

    def h(self, who: str) -> dict[str, str]:
        """Return the bearer header of ``who``'s current token, read from the live config (tokens expire)."""
        tokens = self.graph.get("/_sandbox/config").json()["graph_tokens"]
        return {"Authorization": f"Bearer {tokens[who]}"}

    def get(self, path: str, **params: str) -> Any:
        r = self.graph.get(path, headers=self.h("admin"), params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def ids(self) -> tuple[str, str]:
        users = self.get("/v1.0/users")["value"]
        groups = self.get("/v1.0/groups")["value"]
        rich = next(u["id"] for u in users if u["displayName"] == "Rich Roe")
        return rich, next(g["id"] for g in groups if g["displayName"] == EC2)

    def advance(self, seconds: float) -> None:
        r = self.graph.post("/_sandbox/clock/advance", json={"seconds": seconds})
        assert r.status_code == 200, r.text

    def scim_members(self) -> list[str]:
        """Return the Identity Center user ids in the EC2 group (SCIM GET leaves members out, as AWS does)."""
        r = self.scim.get("Groups", params={"filter": f'displayName eq "{EC2}"'})
        assert r.status_code == 200, r.text
        [group] = r.json()["Resources"]
        store = httpx.get(self.cfg["scim_sandbox_url"] + "state").json()["identity_store"]
        return sorted(store["memberships"][group["id"]])

    def kept(self, gid: str) -> dict[str, Any]:
        """Return what must survive: eligibilities, the member policy's rules, the audit and provisioning logs."""
        policies = self.get(
            "/v1.0/policies/roleManagementPolicies",
            **{"$filter": f"scopeId eq '{gid}' and scopeType eq 'Group'", "$expand": "rules"},
        )["value"]
        return {
            "eligible": self.get(f"{PIM}/eligibilitySchedules", **{"$filter": f"groupId eq '{gid}'"})["value"],
            "policies": sorted(policies, key=lambda p: p["id"]),
            "audits": self.get("/v1.0/auditLogs/directoryAudits")["value"],
            "provisioning": self.get("/v1.0/auditLogs/provisioning")["value"],
        }


def _set_max_activation(r: Remote, gid: str, duration: str) -> None:
    assignments = r.get(
        "/v1.0/policies/roleManagementPolicyAssignments", **{"$filter": f"scopeId eq '{gid}' and scopeType eq 'Group'"}
    )
    policy = next(a["policyId"] for a in assignments["value"] if a["roleDefinitionId"] == "member")
    url = f"/v1.0/policies/roleManagementPolicies/{policy}/rules/Expiration_EndUser_Assignment"
    rule = r.graph.get(url, headers=r.h("admin")).json()
    body = {k: v for k, v in rule.items() if k != "id"} | {"maximumDuration": duration}
    resp = r.graph.patch(url, headers=r.h("admin"), json=body)
    assert resp.status_code == 204, resp.text


def test_sigkill_and_restart_removes_the_membership_on_the_next_cycle_after_expiry(tmp_path: Path) -> None:
    state, cfg = tmp_path / "state.sqlite", tmp_path / "config.json"
    proc, config = _serve(state, cfg)
    try:
        r = Remote(config)
        rich, gid = r.ids()
        _set_max_activation(r, gid, "PT2H")
        body = {
            "accessId": "member", "action": "selfActivate", "principalId": rich, "groupId": gid,
            "justification": "incident 42", "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
        }  # fmt: skip
        created = r.graph.post(ASR, headers={**r.h("rich")}, json=body)
        assert created.status_code == 201 and created.json()["status"] == "Provisioned", created.text
        r.advance(600)  # the fast path: in Identity Center within 2-10 min [E-AWS]
        members = r.scim_members()
        assert len(members) == 1
        kept = r.kept(gid)
        assert any(a["activityDisplayName"] == "Update role setting in PIM" for a in kept["audits"])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    proc, config = _serve(state, cfg)
    try:
        r = Remote(config)
        assert r.kept(gid) == kept  # eligibility, the policy change and both logs as they were
        assert r.scim_members() == members
        r.advance(3000)  # past the activation's end (1 h after it began): PIM removes the Entra membership
        assert r.scim_members() == members  # removals wait for the next regular cycle [E-AWS]
        r.advance(2400)  # one cycle
        assert r.scim_members() == []
        audits = [a["activityDisplayName"] for a in r.get("/v1.0/auditLogs/directoryAudits")["value"]]
        assert "Remove member from role (PIM activation expired)" in audits
        rule = r.kept(gid)["policies"]
        assert any(
            x["id"] == "Expiration_EndUser_Assignment" and x["maximumDuration"] == "PT2H"
            for p in rule
            for x in p["rules"]
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _records(journal: Any) -> dict[str, dict[str, Any]]:
    from pim_fake.persist import KINDS

    return {kind: {k: json.loads(v) for k, v in journal.load(kind)} for kind in KINDS}


def test_incremental_writes_equal_a_full_write_of_the_tenant(tmp_path: Path) -> None:
    """Every change marks what it touched: after many kinds of change, the file's records are exactly those a full
    write of the tenant produces (nothing missed, nothing stale)."""
    from fakekit.persist import SqliteJournal

    with _sandbox(tmp_path / "state.sqlite") as sb:
        g = Graph(sb)
        admin = g.h("admin")
        _make_eligible(g, "mateo")
        _make_eligible(g, "jane")
        rich = g.activate("rich").json()["id"]
        g.advance(400)
        body = {"action": "selfDeactivate", "accessId": "member", "groupId": g.gid(), "principalId": g.uid("rich")}
        assert g.c.post(ASR, headers=g.h("rich"), json=body).status_code == 201
        _require_approval(g)
        jane = g.activate("jane").json()["id"]
        _approve(g, jane)
        mateo = g.activate("mateo").json()["id"]
        assert g.c.post(f"{ASR}/{mateo}/cancel", headers=g.h("mateo")).status_code == 204
        remove = {"action": "adminRemove", "accessId": "member", "groupId": g.gid(), "principalId": g.uid("mateo")}
        assert g.c.post(ESR, headers=admin, json={**remove, "justification": "off call"}).status_code == 201
        new = g.c.post("/v1.0/users", headers=admin, json={"displayName": "Nia N", "userPrincipalName": "nia@jitbox.example",
                                                              "givenName": "Nia", "surname": "N"}).json()  # fmt: skip
        all_users = g.gid("AWS - All users")
        ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{new['id']}"}
        assert g.c.post(f"/v1.0/groups/{all_users}/members/$ref", headers=admin, json=ref).status_code == 204
        assert g.c.delete(f"/v1.0/groups/{all_users}/members/{g.uid('mateo')}/$ref", headers=admin).status_code == 204
        g.advance(5 * 3600)  # expiries and several cycles (the new user created, Mateo's membership removed)
        assert g.request(rich)["status"] == "Provisioned" and g.request(jane)["status"] == "Provisioned"
        incremental = _records(sb.journal)
        full = SqliteJournal(tmp_path / "full.sqlite")
        EntraJournal(full, g.tenant).flush(force=True)
        assert _records(full) == incremental
        assert len(incremental["entra.request"]) >= 7 and incremental["entra.job.user"]
