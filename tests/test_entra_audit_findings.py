"""The 2026-11-29 audit findings against Microsoft's and AWS's documents, each through the HTTP API.

Sources: ``../shared/reference/entra-pim-provisioning.md`` and ``aws-identity-center.md`` ("Additions from the
2026-11-29 audit"); the rows are in ``docs/fidelity.md``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from pim_support import PIM, Sandbox, make_sandbox, many_users_world

from pim_fake.app import create_app
from pim_fake.provisioning import ScimTarget
from scim_server.app import ScimOptions
from scim_server.app import create_app as create_idc
from sim.clock import ManualClock
from sim.settings import Settings

ASR = f"{PIM}/assignmentScheduleRequests"
ESR = f"{PIM}/eligibilityScheduleRequests"
EC2 = "AWS - Amazon EC2 Admin"


class Graph:
    """The fake Entra on a manual clock, seeded world."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.clock = ManualClock()
        app = create_app(self.clock, settings)
        self.c = TestClient(app, raise_server_exceptions=False)
        self.tokens: dict[str, str] = app.state.graph_tokens
        d = app.state.entra.directory
        self.ids = {u.name: u.id for u in d.users.values()}
        self.groups = {g.displayName: g.id for g in d.groups.values()}

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def req(self, action: str, who: str, duration: str | None = "PT1H", group: str = EC2) -> dict[str, Any]:
        body: dict[str, Any] = {
            "action": action,
            "accessId": "member",
            "groupId": self.groups.get(group, group),
            "principalId": self.ids[who],
            "justification": "audit finding",
        }
        if duration is not None:
            body["scheduleInfo"] = {"expiration": {"type": "afterDuration", "duration": duration}}
        return body

    def post(self, path: str, body: dict[str, Any], who: str = "admin") -> Any:
        return self.c.post(path, headers=self.h(who), json=body)

    def members(self, group: str = EC2) -> list[str]:
        gid = self.groups.get(group, group)
        return [
            m["displayName"] for m in self.c.get(f"/v1.0/groups/{gid}/members", headers=self.h("admin")).json()["value"]
        ]


def code(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


# --- PIM for Groups: five minutes at least (groups-assign-member-owner) --------------------------------------------
@pytest.mark.parametrize("path", [ASR, ESR])
def test_admin_assignment_or_eligibility_under_five_minutes_is_refused(path: str) -> None:
    g = Graph()
    r = g.post(path, g.req("adminAssign", "jane", "PT4M59S"))
    assert code(r) == (400, "InvalidRoleAssignmentRequest") and "five minutes" in r.json()["error"]["message"]
    assert g.post(path, g.req("adminAssign", "jane", "PT1M")).status_code == 400
    assert g.post(path, g.req("adminAssign", "jane", "PT5M")).status_code == 201
    shorter = g.post(path, g.req("adminUpdate", "jane", "PT2M"))
    assert code(shorter) == (400, "InvalidRoleAssignmentRequest")


@pytest.mark.parametrize("path", [ASR, ESR])
def test_admin_remove_within_five_minutes_of_assignment_is_refused(path: str) -> None:
    g = Graph()
    assert g.post(path, g.req("adminAssign", "jane", "P1D")).status_code == 201
    g.clock.advance(299)
    r = g.post(path, g.req("adminRemove", "jane", None))
    assert code(r) == (400, "ActiveDurationTooShort")
    g.clock.advance(1)
    r = g.post(path, g.req("adminRemove", "jane", None))
    assert r.status_code == 201 and r.json()["status"] == "Revoked"


def test_admin_remove_of_an_activation_window_counts_from_the_assignment_not_the_request() -> None:
    g = Graph()
    assert g.post(ASR, g.req("adminAssign", "jane", "PT2H")).status_code == 201
    assert g.members() == ["Jane Doe"]
    g.clock.advance(600)
    assert g.post(ASR, g.req("adminRemove", "jane", None)).status_code == 201
    assert g.members() == []


# --- a second selfActivate while one waits for approval ------------------------------------------------------------
def _require_approval(g: Graph) -> None:
    policy = g.c.get(
        "/v1.0/policies/roleManagementPolicyAssignments",
        headers=g.h("admin"),
        params={"$filter": f"scopeId eq '{g.groups[EC2]}' and scopeType eq 'Group' and roleDefinitionId eq 'member'"},
    ).json()["value"][0]["policyId"]
    stage = {
        "approvalStageTimeOutInDays": 1,
        "isApproverJustificationRequired": True,
        "escalationTimeInMinutes": 0,
        "isEscalationEnabled": False,
        "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": g.ids["admin"]}],
        "escalationApprovers": [],
    }
    body = {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
        "setting": {"isApprovalRequired": True, "approvalMode": "SingleStage", "approvalStages": [stage]},
    }
    r = g.c.patch(
        f"/v1.0/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment",
        headers=g.h("admin"),
        json=body,
    )
    assert r.status_code == 204, r.text


def test_second_self_activate_while_one_is_pending_is_refused_by_default() -> None:
    g = Graph()
    _require_approval(g)
    first = g.post(ASR, g.req("selfActivate", "rich"), who="rich")
    assert first.status_code == 201 and first.json()["status"] == "PendingApproval"
    r = g.post(ASR, g.req("selfActivate", "rich"), who="rich")
    assert code(r) == (400, "PendingRoleAssignmentRequest")
    assert g.c.post(f"{ASR}/{first.json()['id']}/cancel", headers=g.h("rich")).status_code == 204
    assert g.post(ASR, g.req("selfActivate", "rich"), who="rich").status_code == 201


def test_pending_duplicate_switch_off_allows_a_second_pending_request() -> None:
    g = Graph(Settings(refuse_pending_duplicate=False))
    _require_approval(g)
    for _ in range(2):
        r = g.post(ASR, g.req("selfActivate", "rich"), who="rich")
        assert r.status_code == 201 and r.json()["status"] == "PendingApproval"


# --- who did it: displayName and UPN, not the sandbox handle --------------------------------------------------------
def test_created_by_and_audit_initiated_by_carry_display_name_and_upn() -> None:
    g = Graph()
    r = g.post(ASR, g.req("selfActivate", "rich"), who="rich")
    assert r.json()["createdBy"] == {
        "user": {"id": g.ids["rich"], "displayName": "Rich Roe", "userPrincipalName": "rich.roe@jitbox.example"}
    }
    audits = g.c.get("/v1.0/auditLogs/directoryAudits", headers=g.h("admin")).json()["value"]
    mine = [a for a in audits if a["correlationId"] == r.json()["id"]]
    users = [a["initiatedBy"]["user"] for a in mine if "user" in a["initiatedBy"]]
    assert users and all(u["displayName"] == "Rich Roe" for u in users)
    assert all(u["userPrincipalName"] == "rich.roe@jitbox.example" for u in users)
    assert '"rich"' not in json.dumps([r.json()["createdBy"], *users])  # never the sandbox handle


# --- Microsoft 365 groups can be PIM-managed (concept-pim-for-groups) ----------------------------------------------
def test_microsoft_365_group_can_be_created_and_pim_managed() -> None:
    g = Graph()
    body = {
        "displayName": "AWS - M365 Admins",
        "mailNickname": "m365admins",
        "groupTypes": ["Unified"],
        "mailEnabled": True,
        "securityEnabled": False,
    }
    r = g.post("/v1.0/groups", body)
    assert r.status_code == 201 and r.json()["groupTypes"] == ["Unified"]
    gid = r.json()["id"]
    assert g.post(ESR, g.req("adminAssign", "rich", "P30D", group=gid)).status_code == 201
    assert g.post(ASR, g.req("selfActivate", "rich", group=gid), who="rich").status_code == 201
    assert g.members(gid) == ["Rich Roe"]
    distribution = {"displayName": "Newsletter", "mailNickname": "news", "mailEnabled": True, "securityEnabled": False}
    assert code(g.post("/v1.0/groups", distribution))[0] == 400
    dynamic = {**body, "displayName": "Dyn", "groupTypes": ["Unified", "DynamicMembership"]}
    assert code(g.post("/v1.0/groups", dynamic))[0] == 400


# --- provisioning never invents attributes ------------------------------------------------------------------------
def _world_without_surname() -> dict[str, Any]:
    world = many_users_world(2)
    for u in world["users"]:
        if u["name"] == "u0":
            del u["surname"]
    return world


def _provisioning_logs(sb: Sandbox) -> list[dict[str, Any]]:
    r = sb.graph.get("/v1.0/auditLogs/provisioning", headers=sb.h("admin"))
    assert r.status_code == 200, r.text
    return r.json()["value"]  # type: ignore[no-any-return]


def test_user_without_surname_is_not_sent_and_their_activation_never_reaches_aws() -> None:
    sb = make_sandbox(world=_world_without_surname())
    assert set(sb.active_users()) == {"u1@jitbox.example"}
    posted = [b for _, m, u, b in sb.calls if m == "POST" and u.endswith("/Users")]
    assert [b["userName"] for b in posted] == ["u1@jitbox.example"]
    failed = [e for e in _provisioning_logs(sb) if e["provisioningStatusInfo"]["status"] == "failure"]
    assert [e["sourceIdentity"]["id"] for e in failed] == [sb.user_id("u0")]
    info = failed[0]["provisioningStatusInfo"]["errorInfo"]
    assert info["errorCode"] == "MandatoryFieldsMissing" and info["errorCategory"] == "NonServiceFailure"
    assert "name.familyName" in info["reason"]
    assert failed[0]["provisioningSteps"][-1]["status"] == "failure"
    sb.activate("u0")
    sb.activate("u1")
    sb.clock.advance(15 * 60)  # past the 2-10 min fast path
    assert sb.memberships()[EC2] == {"u1@jitbox.example"}
    sb.clock.advance(3 * 3600)  # and past every later cycle
    assert "u0@jitbox.example" not in sb.active_users()
    assert all("u0@jitbox.example" not in json.dumps(b) for _, _, _, b in sb.calls)
    sent = json.dumps([b for _, _, _, b in sb.calls])
    assert "User u0" not in sent  # the display name was never sent as a stand-in family name


def test_provisioned_user_gets_no_null_attribute_when_one_is_cleared() -> None:
    sb = make_sandbox(world=many_users_world(1))
    user = sb.tenant.directory.users[sb.user_id("u0")]
    user.givenName = None
    sb.clock.advance(2400)
    for _, method, url, body in sb.calls:
        if method == "PATCH" and "/Users/" in url:
            assert all(op.get("value") is not None for op in body["Operations"])
    assert sb.active_users()["u0@jitbox.example"] is True


# --- provisionOnDemand: group + up to 5 chosen members, result JSON in key, 5 per 10 s ----------------------------
def _on_demand(sb: Sandbox, object_id: str, kind: str, members: list[str] | None = None) -> Any:
    sp = sb.tenant.identity_center_app()
    assert sp is not None
    subject: dict[str, Any] = {"objectId": object_id, "objectTypeName": kind}
    if members is not None:
        subject["links"] = {"members": [{"objectId": m, "objectTypeName": "User"} for m in members]}
    return sb.graph.post(
        f"/v1.0/servicePrincipals/{sp.id}/synchronization/jobs/{sb.job.id}/provisionOnDemand",
        headers=sb.h("admin"),
        json={"parameters": [{"subjects": [subject], "ruleId": "r1"}]},
    )


def test_provision_on_demand_group_takes_the_chosen_members() -> None:
    sb = make_sandbox(world=many_users_world(8, eligible_all=False), start=False)
    ALL = "AWS - All users"
    chosen = [sb.user_id("u2"), sb.user_id("u5")]
    r = _on_demand(sb, sb.group_id(ALL), "Group", chosen)
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.type"] == "#microsoft.graph.stringKeyStringValuePair"
    assert json.loads(body["key"]) == {"result": "Success", "details": {}}
    change = json.loads(body["value"])
    assert {e["sourceIdentity"]["id"] for e in change} == {*chosen, sb.group_id(ALL)}
    assert sb.memberships()[ALL] == {"u2@jitbox.example", "u5@jitbox.example"}  # 8 members, 2 chosen
    r = _on_demand(sb, sb.group_id(EC2), "Group")
    assert r.status_code == 200 and sb.memberships()[EC2] == set()
    six = [sb.user_id(f"u{i}") for i in range(6)]
    r = _on_demand(sb, sb.group_id(ALL), "Group", six)
    assert code(r) == (400, "BadRequest") and "up to 5 members" in r.json()["error"]["message"]
    r = _on_demand(sb, sb.group_id(EC2), "Group", [sb.user_id("u1")])
    assert code(r) == (400, "BadRequest") and "not a direct member" in r.json()["error"]["message"]


def test_provision_on_demand_failure_and_skip_are_in_the_key() -> None:
    sb = make_sandbox(world=_world_without_surname(), start=False)
    r = _on_demand(sb, sb.user_id("u0"), "User")
    key = json.loads(r.json()["key"])
    assert key["result"] == "Failure" and key["details"]["errors"][0]["errorCode"] == "MandatoryFieldsMissing"
    outsider = sb.graph.post(
        "/v1.0/users", headers=sb.h("admin"), json={"displayName": "Out", "userPrincipalName": "out@jitbox.example"}
    ).json()["id"]
    sb.clock.advance(10)
    r = _on_demand(sb, outsider, "User")
    assert json.loads(r.json()["key"])["result"] == "Skipped" and json.loads(r.json()["value"]) == []


def test_provision_on_demand_is_rate_limited_to_five_per_ten_seconds() -> None:
    sb = make_sandbox(world=many_users_world(2, eligible_all=False), start=False)
    uid = sb.user_id("u0")
    for _ in range(5):
        assert _on_demand(sb, uid, "User").status_code == 200
        sb.clock.advance(1)
    r = _on_demand(sb, uid, "User")
    assert code(r) == (429, "TooManyRequests") and r.headers["Retry-After"] == "5"
    sb.clock.advance(5)
    assert _on_demand(sb, uid, "User").status_code == 200


# --- a 404 at the SCIM root quarantines the job -------------------------------------------------------------------
def test_404_at_the_scim_root_quarantines_the_job() -> None:
    sb = make_sandbox()
    nowhere = httpx2.Client(transport=httpx2.MockTransport(lambda request: httpx2.Response(404, text="Not Found")))
    sb.job.retarget(ScimTarget("http://scim.invalid/tenant/scim/v2/", "t"), client=nowhere)
    sp = sb.tenant.identity_center_app()
    assert sp is not None
    job = sb.graph.get(f"/v1.0/servicePrincipals/{sp.id}/synchronization/jobs/{sb.job.id}", headers=sb.h("admin"))
    status = job.json()["status"]
    assert status["code"] == "Quarantine"
    assert status["quarantine"]["reason"] == "EncounteredQuarantineException"
    assert "SCIM compliance issue" in status["quarantine"]["error"]["message"]
    failed = [e for e in _provisioning_logs(sb) if e["provisioningStatusInfo"]["status"] == "failure"]
    assert failed[-1]["provisioningStatusInfo"]["errorInfo"]["errorCode"] == (
        "SystemForCrossDomainIdentityManagementServiceIncompatible"
    )


# --- emails: any syntactically valid address (the SCIM fake) ------------------------------------------------------
@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("user@corp.local", 201),
        ("user@example.test", 201),
        ("ops@intranet.internal", 201),
        ("first.last+tag@sub.corp.lan", 201),
        ("bad@@corp.local", 400),
        ("no-at-sign", 400),
        ("user@localhost", 400),
        ("user@-corp.local", 400),
        ("a..b@corp.local", 400),
    ],
)
def test_scim_accepts_any_syntactically_valid_email(email: str, status: int) -> None:
    app = create_idc(ManualClock(), options=ScimOptions(rate_limit_rps=0), plugins=[], seed=3)
    c = TestClient(app, raise_server_exceptions=False)
    ctx = app.state.idc
    r = c.post(
        ctx.scim_path() + "/Users",
        headers={"Authorization": f"Bearer {ctx.tokens.first_valid().secret}"},
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "someone",
            "displayName": "Some One",
            "name": {"givenName": "Some", "familyName": "One"},
            "emails": [{"value": email, "type": "work", "primary": True}],
        },
    )
    assert r.status_code == status, r.text
    if status == 201:
        assert r.json()["emails"][0]["value"] == email
