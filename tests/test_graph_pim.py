"""Fake Entra over HTTP: PIM for Groups requests, rules, approvals, schedules, errors (Graph v1.0 shapes)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pim_fake.app import create_app
from sim.clock import ManualClock
from sim.settings import Settings

PIM = "/v1.0/identityGovernance/privilegedAccess/group"
ASR = f"{PIM}/assignmentScheduleRequests"
ESR = f"{PIM}/eligibilityScheduleRequests"
EC2 = "AWS - Amazon EC2 Admin"


class Entra:
    def __init__(self, settings: Settings | None = None) -> None:
        self.clock = ManualClock()
        self.app = create_app(self.clock, settings)
        self.c = TestClient(self.app, raise_server_exceptions=False)
        self.tokens: dict[str, str] = self.app.state.graph_tokens
        d = self.app.state.entra.directory
        self.ids = {u.name: u.id for u in d.users.values()}
        self.groups = {g.displayName: g.id for g in d.groups.values()}

    def h(self, who: str) -> dict[str, str]:
        token = self.tokens.get(who, who)
        return {"Authorization": f"Bearer {token}"}

    def token(self, who: str, **claims: Any) -> str:
        r = self.c.post("/_sandbox/tokens", json={"identity": who, **claims})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def activate(self, who: str = "rich", token: str | None = None, **over: Any) -> Any:
        body: dict[str, Any] = {
            "accessId": "member",
            "action": "selfActivate",
            "principalId": self.ids[who],
            "groupId": self.groups[EC2],
            "justification": "incident 42",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
        }
        body.update(over)
        return self.c.post(ASR, headers=self.h(token or who), json=body)

    def members(self, group: str = EC2) -> list[str]:
        r = self.c.get(f"/v1.0/groups/{self.groups[group]}/members", headers=self.h("admin"))
        return [m["displayName"] for m in r.json()["value"]]

    def policy(self, role: str = "member") -> dict[str, Any]:
        r = self.c.get(
            "/v1.0/policies/roleManagementPolicyAssignments",
            headers=self.h("admin"),
            params={
                "$filter": f"scopeId eq '{self.groups[EC2]}' and scopeType eq 'Group' and roleDefinitionId eq '{role}'",
                "$expand": "policy($expand=rules)",
            },
        )
        assert r.status_code == 200, r.text
        return r.json()["value"][0]["policy"]  # type: ignore[no-any-return]

    def patch_rule(self, rule_id: str, body: dict[str, Any], who: str = "admin") -> Any:
        pid = self.policy()["id"]
        return self.c.patch(
            f"/v1.0/policies/roleManagementPolicies/{pid}/rules/{rule_id}", headers=self.h(who), json=body
        )

    def audits(self) -> list[str]:
        r = self.c.get("/v1.0/auditLogs/directoryAudits", headers=self.h("admin"))
        return [e["activityDisplayName"] for e in r.json()["value"]]


@pytest.fixture
def e() -> Entra:
    return Entra()


def err(r: Any) -> tuple[int, str, str]:
    body = r.json()["error"]
    assert set(body["innerError"]) == {"date", "request-id", "client-request-id"}
    return r.status_code, body["code"], body["message"]


# --- authentication -------------------------------------------------------------------------------------------
def test_missing_and_wrong_tokens_get_graph_401(e: Entra) -> None:
    assert err(e.c.get("/v1.0/me"))[:2] == (401, "InvalidAuthenticationToken")
    r = e.c.get("/v1.0/me", headers={"Authorization": "Bearer not-a-token"})
    assert err(r)[:2] == (401, "InvalidAuthenticationToken") and r.headers["www-authenticate"] == "Bearer"
    assert e.c.get("/v1.0/me", headers=e.h("rich")).json()["displayName"] == "Rich Roe"
    assert err(e.c.get("/v1.0/me", headers=e.h("automation")))[0] == 400  # app-only token has no /me


def test_sandbox_token_minting(e: Entra) -> None:
    r = e.c.post("/_sandbox/tokens", json={"identity": "ghost"})
    assert r.status_code == 400 and "known identities" in r.json()["error"]["message"]
    assert e.c.post("/_sandbox/tokens", json={"identity": "automation"}).json()["kind"] == "app"
    assert e.c.post("/_sandbox/tokens", json={"identity": "rich", "acrs": "c1"}).status_code == 400
    assert e.c.get("/_sandbox/tokens").json()["graph_tokens"]["rich"] == e.tokens["rich"]


# --- directory ------------------------------------------------------------------------------------------------------
def test_users_and_groups_crud_and_errors(e: Entra) -> None:
    r = e.c.post(
        "/v1.0/users", headers=e.h("admin"), json={"displayName": "Nia", "userPrincipalName": "nia@jitbox.example"}
    )
    assert r.status_code == 201 and r.json()["userPrincipalName"] == "nia@jitbox.example"
    assert err(e.c.post("/v1.0/users", headers=e.h("rich"), json={}))[:2] == (403, "Authorization_RequestDenied")
    assert err(e.c.post("/v1.0/users", headers=e.h("admin"), json={"displayName": "x"}))[0] == 400
    dup = e.c.post(
        "/v1.0/users", headers=e.h("admin"), json={"displayName": "N", "userPrincipalName": "NIA@jitbox.example"}
    )
    assert err(dup)[:2] == (400, "Request_BadRequest")
    assert err(e.c.post("/v1.0/users", headers=e.h("admin"), content=b"{nope"))[:2] == (400, "BadRequest")
    assert err(e.c.get("/v1.0/users/unknown", headers=e.h("admin")))[:2] == (404, "Request_ResourceNotFound")
    users = e.c.get("/v1.0/users", headers=e.h("rich"), params={"$filter": "displayName eq 'Rich Roe'"}).json()["value"]
    assert [u["id"] for u in users] == [e.ids["rich"]]
    g = e.c.post("/v1.0/groups", headers=e.h("admin"), json={"displayName": "AWS - S3", "mailNickname": "s3"}).json()
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{e.ids['jane']}"}
    assert e.c.post(f"/v1.0/groups/{g['id']}/members/$ref", headers=e.h("admin"), json=ref).status_code == 204
    assert err(e.c.post(f"/v1.0/groups/{g['id']}/members/$ref", headers=e.h("admin"), json=ref))[0] == 400
    assert e.c.get(f"/v1.0/groups/{g['id']}/members", headers=e.h("rich")).json()["value"][0]["id"] == e.ids["jane"]
    assert e.c.delete(f"/v1.0/groups/{g['id']}/members/{e.ids['jane']}/$ref", headers=e.h("admin")).status_code == 204
    assert err(e.c.delete(f"/v1.0/groups/{g['id']}/members/{e.ids['jane']}/$ref", headers=e.h("admin")))[0] == 404
    assert e.c.get(f"/v1.0/groups/{g['id']}", headers=e.h("rich")).json()["displayName"] == "AWS - S3"


def test_enterprise_app_assignments(e: Entra) -> None:
    sps = e.c.get("/v1.0/servicePrincipals", headers=e.h("admin")).json()["value"]
    assert [s["displayName"] for s in sps] == ["AWS IAM Identity Center"]
    base = f"/v1.0/servicePrincipals/{sps[0]['id']}/appRoleAssignedTo"
    assigned = e.c.get(base, headers=e.h("admin")).json()["value"]
    assert {a["principalDisplayName"] for a in assigned} == {EC2, "AWS - All users"}
    r = e.c.post(base, headers=e.h("admin"), json={"principalId": e.ids["admin"], "resourceId": sps[0]["id"]})
    assert r.status_code == 201 and r.json()["principalType"] == "User"
    assert err(e.c.post(base, headers=e.h("admin"), json={"principalId": e.ids["admin"]}))[0] == 409
    assert e.c.delete(f"{base}/{r.json()['id']}", headers=e.h("admin")).status_code == 204
    assert err(e.c.delete(f"{base}/{r.json()['id']}", headers=e.h("admin")))[0] == 404


# --- self activation -----------------------------------------------------------------------------------------------
def test_self_activate_is_provisioned_adds_membership_and_audits(e: Entra) -> None:
    r = e.activate(
        accessId="MEMBER",
        action="SelfActivate",
        scheduleInfo={"expiration": {"type": "AfterDuration", "duration": "PT2H"}},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["action"], body["accessId"]) == ("Provisioned", "selfActivate", "member")
    assert body["scheduleInfo"]["expiration"] == {"type": "afterDuration", "endDateTime": None, "duration": "PT2H"}
    assert body["ticketInfo"] == {"ticketNumber": None, "ticketSystem": None}
    assert body["targetScheduleId"] == f"{e.groups[EC2]}_member_{body['id']}"
    assert body["createdBy"]["user"]["id"] == e.ids["rich"]
    assert e.members() == ["Rich Roe"]  # within seconds [E-ACT]
    inst = e.c.get(
        f"{PIM}/assignmentScheduleInstances", headers=e.h("rich"), params={"$filter": f"groupId eq '{e.groups[EC2]}'"}
    )
    row = inst.json()["value"][0]
    assert row["assignmentType"] == "activated" and row["memberType"] == "direct"
    assert row["endDateTime"] == "2025-06-03T11:00:00Z"
    sched = e.c.get(
        f"{PIM}/assignmentSchedules", headers=e.h("rich"), params={"$filter": f"principalId eq '{e.ids['rich']}'"}
    )
    assert sched.json()["value"][0]["createdUsing"] == body["id"]
    got = e.c.get(f"{ASR}/{body['id']}", headers=e.h("rich")).json()
    assert got == body
    assert e.audits()[:2] == [
        "Add member to role completed (PIM activation)",
        "Add member to role requested (PIM activation)",
    ]
    audit = e.c.get("/v1.0/auditLogs/directoryAudits", headers=e.h("admin")).json()["value"][0]
    assert audit["category"] == "GroupManagement" and audit["loggedByService"] == "PIM"
    assert audit["correlationId"] == body["id"]


def test_expiry_removes_membership_on_the_clock(e: Entra) -> None:
    e.activate()
    e.clock.advance(3599)
    assert e.members() == ["Rich Roe"]
    e.clock.advance(1)
    assert e.members() == []
    assert "Remove member from role (PIM activation expired)" in e.audits()
    inst = e.c.get(
        f"{PIM}/assignmentScheduleInstances", headers=e.h("rich"), params={"$filter": f"groupId eq '{e.groups[EC2]}'"}
    )
    assert inst.json()["value"] == []


def test_activation_needs_a_valid_eligibility(e: Entra) -> None:
    assert err(e.activate("jane")) == (
        400,
        "RoleAssignmentRequestPolicyValidationFailed",
        'The following policy rules failed: ["EligibilityRule"]',
    )


@pytest.mark.parametrize(
    ("over", "rules"),
    [
        ({"scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT9H"}}}, ["ExpirationRule"]),
        ({"scheduleInfo": {"expiration": {"type": "noExpiration"}}}, ["ExpirationRule"]),
        ({"justification": "  "}, ["JustificationRule"]),
        (
            {"justification": None, "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P1D"}}},
            ["ExpirationRule", "JustificationRule"],
        ),
    ],
)
def test_end_user_rules_fail_with_the_documented_message(e: Entra, over: dict[str, Any], rules: list[str]) -> None:
    status, code, message = err(e.activate(**over))
    assert (status, code) == (400, "RoleAssignmentRequestPolicyValidationFailed")
    assert message == "The following policy rules failed: [" + ",".join(f'"{r}"' for r in rules) + "]"
    assert e.members() == []


def test_ticketing_and_mfa_rules(e: Entra) -> None:
    r = e.patch_rule(
        "Enablement_EndUser_Assignment",
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
            "enabledRules": ["Justification", "Ticketing", "MultiFactorAuthentication"],
        },
    )
    assert r.status_code == 204, r.text
    assert err(e.activate())[2] == 'The following policy rules failed: ["TicketingRule","MfaRule"]'
    mfa = e.token("rich", mfa=True)
    assert err(e.activate(token=mfa))[2] == 'The following policy rules failed: ["TicketingRule"]'
    r = e.activate(token=mfa, ticketInfo={"ticketNumber": "INC-1", "ticketSystem": "ServiceNow"})
    assert r.status_code == 201 and r.json()["ticketInfo"]["ticketNumber"] == "INC-1"


def test_authentication_context_rule(e: Entra) -> None:
    body = {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
        "isEnabled": True,
        "claimValue": "c1",
    }
    assert e.patch_rule("AuthenticationContext_EndUser_Assignment", body).status_code == 204
    assert err(e.activate())[1] == "RoleAssignmentRequestAcrsValidationFailed"
    assert e.activate(token=e.token("rich", acrs=["c1"])).status_code == 201


def test_activation_limits_follow_settings_and_policy_patch() -> None:
    e = Entra(Settings(activation_max="1h"))
    assert e.policy()["rules"][10]["maximumDuration"] == "PT1H"
    assert err(e.activate(scheduleInfo={"expiration": {"type": "afterDuration", "duration": "PT1H1M"}}))[1] == (
        "RoleAssignmentRequestPolicyValidationFailed"
    )
    ok = e.patch_rule(
        "Expiration_EndUser_Assignment",
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "isExpirationRequired": True,
            "maximumDuration": "PT1H45M",
        },
    )
    assert ok.status_code == 204
    assert e.activate(scheduleInfo={"expiration": {"type": "afterDuration", "duration": "PT1H45M"}}).status_code == 201


def test_second_activation_is_role_assignment_exists(e: Entra) -> None:
    assert e.activate().status_code == 201
    assert err(e.activate())[:3] == (400, "RoleAssignmentExists", "The Role assignment already exists.")


def test_self_deactivate_floor_and_revoked_status(e: Entra) -> None:
    e.activate()
    body = {**_req(e, "selfDeactivate"), "scheduleInfo": None}
    status, code, message = err(e.c.post(ASR, headers=e.h("rich"), json=body))
    assert (status, code) == (400, "ActiveDurationTooShort") and "5 minutes" in message
    e.clock.advance(300)
    r = e.c.post(ASR, headers=e.h("rich"), json=body)
    assert r.status_code == 201 and r.json()["status"] == "Revoked"
    assert e.members() == []
    assert err(e.c.post(ASR, headers=e.h("rich"), json=body))[1] == "RoleAssignmentDoesNotExist"
    assert e.audits()[:2] == [
        "Remove member from role completed (PIM deactivate)",
        "Remove member from role requested (PIM deactivate)",
    ]


def test_min_active_switch_off_allows_immediate_deactivation() -> None:
    e = Entra(Settings(enforce_min_active=False))
    e.activate()
    assert (
        e.c.post(ASR, headers=e.h("rich"), json={**_req(e, "selfDeactivate"), "scheduleInfo": None}).status_code == 201
    )


def test_self_actions_need_the_signed_in_user(e: Entra) -> None:
    assert err(e.activate(token="jane", principalId=e.ids["rich"]))[:2] == (403, "Authorization_RequestDenied")
    assert err(e.activate(token="automation"))[0] == 403


def test_future_start_adds_membership_when_it_starts(e: Entra) -> None:
    r = e.activate(
        scheduleInfo={
            "startDateTime": "2025-06-03T10:00:00Z",
            "expiration": {"type": "afterDuration", "duration": "PT1H"},
        }
    )
    assert r.status_code == 201 and r.json()["scheduleInfo"]["startDateTime"] == "2025-06-03T10:00:00Z"
    assert e.members() == []
    e.clock.advance(3600)
    assert e.members() == ["Rich Roe"]
    e.clock.advance(3600)
    assert e.members() == []


def test_owner_activation_changes_owners_not_members(e: Entra) -> None:
    caller = e.app.state.entra.directory.caller_for(f"Bearer {e.tokens['admin']}")
    e.app.state.entra.pim.create_request(
        "eligibility",
        {
            **_req(e, "adminAssign", "owner"),
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P30D"}},
        },
        caller,
    )
    assert e.activate(accessId="owner").status_code == 201
    assert e.members() == []
    owners = e.c.get(f"/v1.0/groups/{e.groups[EC2]}/owners", headers=e.h("admin")).json()["value"]
    assert [o["displayName"] for o in owners] == ["Rich Roe"]


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"action": "selfExtend"}, "InvalidRoleAssignmentRequest"),
        ({"action": "dance"}, "BadRequest"),
        ({"accessId": "admin"}, "BadRequest"),
        ({"groupId": None}, "BadRequest"),
        (
            {"scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P6M"}}},
            "InvalidRoleAssignmentRequest",
        ),
        (
            {"scheduleInfo": {"expiration": {"type": "afterDateTime", "duration": "PT1H"}}},
            "InvalidRoleAssignmentRequest",
        ),
        (
            {"scheduleInfo": {"recurrence": {"pattern": {}}, "expiration": {"type": "noExpiration"}}},
            "InvalidRoleAssignmentRequest",
        ),
        ({"scheduleInfo": {"expiration": {"type": "sometime"}}}, "BadRequest"),
        ({"scheduleInfo": {"startDateTime": "tomorrow"}}, "BadRequest"),
        ({"scheduleInfo": None}, "BadRequest"),
        ({"ticketInfo": "INC-1"}, "BadRequest"),
    ],
)
def test_malformed_requests_are_graph_400s(e: Entra, over: dict[str, Any], code: str) -> None:
    status, got, _ = err(e.activate(**over))
    assert (status, got) == (400, code)
    assert e.members() == []


def test_group_not_found_is_404(e: Entra) -> None:
    assert err(e.activate(groupId="00000000-0000-0000-0000-000000000000"))[:2] == (404, "Request_ResourceNotFound")


def test_validation_only_changes_nothing(e: Entra) -> None:
    r = e.activate(isValidationOnly=True)
    assert r.status_code == 201 and r.json()["isValidationOnly"] is True
    assert e.members() == []
    assert e.c.get(f"{ASR}/{r.json()['id']}", headers=e.h("rich")).status_code == 404


# --- lists -------------------------------------------------------------------------------------------------------------
def test_list_filters_and_filter_by_current_user(e: Entra) -> None:
    e.activate()
    gid = e.groups[EC2]
    assert err(e.c.get(ASR, headers=e.h("automation")))[0] == 400  # app-only must filter [G-ESR-LIST]
    rows = e.c.get(
        ASR, headers=e.h("automation"), params={"$filter": f"groupId eq '{gid}' and status eq 'Provisioned'"}
    ).json()["value"]
    assert len(rows) == 1
    assert e.c.get(ASR, headers=e.h("jane")).json()["value"] == []  # delegated: own requests
    mine = e.c.get(f"{ASR}/filterByCurrentUser(on='principal')", headers=e.h("rich")).json()["value"]
    assert len(mine) == 1
    created = e.c.get(f"{ASR}/filterByCurrentUser(on='createdBy')", headers=e.h("rich")).json()["value"]
    assert len(created) == 1
    assert err(e.c.get(f"{ASR}/filterByCurrentUser(on='everyone')", headers=e.h("rich")))[0] == 400
    assert err(e.c.get(f"{PIM}/assignmentScheduleInstances", headers=e.h("rich")))[0] == 400
    assert err(e.c.get(ASR, headers=e.h("automation"), params={"$filter": "groupId gt 3"}))[0] == 400
    top = e.c.get(ESR, headers=e.h("automation"), params={"$filter": f"groupId eq '{gid}'", "$top": "1"})
    assert len(top.json()["value"]) == 1
    esi = e.c.get(f"{PIM}/eligibilityScheduleInstances/filterByCurrentUser(on='principal')", headers=e.h("rich")).json()
    assert esi["value"][0]["eligibilityScheduleId"]
    one = e.c.get(f"{PIM}/eligibilitySchedules/{esi['value'][0]['eligibilityScheduleId']}", headers=e.h("rich"))
    assert one.status_code == 200 and one.json()["principalId"] == e.ids["rich"]


# --- eligibility and admin assignments ---------------------------------------------------------------------------------
def _req(e: Entra, action: str, access: str = "member", who: str = "rich") -> dict[str, Any]:
    return {
        "action": action,
        "accessId": access,
        "groupId": e.groups[EC2],
        "principalId": e.ids[who],
        "justification": "admin change",
    }


def test_eligibility_lifecycle(e: Entra) -> None:
    jane = {
        **_req(e, "AdminAssign", who="jane"),
        "scheduleInfo": {"expiration": {"type": "AfterDateTime", "endDateTime": "2025-12-01T00:00:00Z"}},
    }
    assert err(e.c.post(ESR, headers=e.h("rich"), json=jane))[0] == 403
    r = e.c.post(ESR, headers=e.h("admin"), json=jane)
    assert r.status_code == 201 and r.json()["action"] == "adminAssign"
    assert r.json()["scheduleInfo"]["expiration"]["type"] == "afterDateTime"
    assert err(e.c.post(ESR, headers=e.h("admin"), json=jane))[1] == "RoleAssignmentExists"
    assert e.activate("jane").status_code == 201
    perm = {**_req(e, "adminAssign", who="mateo"), "scheduleInfo": {"expiration": {"type": "noExpiration"}}}
    assert (
        err(e.c.post(ESR, headers=e.h("admin"), json=perm))[2]
        == 'The following policy rules failed: ["ExpirationRule"]'
    )
    long = {
        **_req(e, "adminAssign", who="mateo"),
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P366D"}},
    }
    assert err(e.c.post(ESR, headers=e.h("admin"), json=long))[1] == "RoleAssignmentRequestPolicyValidationFailed"
    ext = {
        **_req(e, "AdminExtend", who="jane"),
        "scheduleInfo": {"expiration": {"type": "afterDateTime", "endDateTime": "2026-01-01T00:00:00Z"}},
    }
    r = e.c.post(ESR, headers=e.h("admin"), json=ext)
    assert r.status_code == 201 and r.json()["status"] == "Provisioned"
    sched = e.c.get(
        f"{PIM}/eligibilitySchedules", headers=e.h("admin"), params={"$filter": f"principalId eq '{e.ids['jane']}'"}
    )
    assert sched.json()["value"][0]["scheduleInfo"]["expiration"]["endDateTime"] == "2026-01-01T00:00:00Z"
    e.clock.advance(300)  # an assignment can't be removed within five minutes of being assigned [E-ASSIGN]
    rm = e.c.post(ESR, headers=e.h("admin"), json=_req(e, "adminRemove", who="jane"))
    assert rm.status_code == 201 and rm.json()["status"] == "Revoked"
    assert (
        err(e.c.post(ESR, headers=e.h("admin"), json=_req(e, "adminRemove", who="jane")))[1]
        == "RoleAssignmentDoesNotExist"
    )
    assert (
        err(e.c.post(ESR, headers=e.h("rich"), json={**_req(e, "selfActivate"), "scheduleInfo": {}}))[1]
        == "InvalidRoleAssignmentRequest"
    )
    audits = e.audits()
    assert "Add eligible member to role in PIM completed (timebound)" in audits
    assert "Update eligible member in PIM requested (extend)" in audits
    assert "Remove eligible member from role in PIM completed (timebound)" in audits


def test_admin_active_assignment(e: Entra) -> None:
    body = {
        **_req(e, "adminAssign", who="jane"),
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P7D"}},
    }
    assert err(e.c.post(ASR, headers=e.h("admin"), json={**body, "justification": None}))[2] == (
        'The following policy rules failed: ["JustificationRule"]'
    )
    long = {**body, "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P181D"}}}
    assert err(e.c.post(ASR, headers=e.h("admin"), json=long))[1] == "RoleAssignmentRequestPolicyValidationFailed"
    r = e.c.post(ASR, headers=e.h("automation"), json=body)  # application permissions may assign
    assert r.status_code == 201 and r.json()["createdBy"] == {
        "application": {"id": r.json()["createdBy"]["application"]["id"], "displayName": "JIT automation (app-only)"}
    }
    assert e.members() == ["Jane Doe"]
    assert "Add member to role in PIM completed (timebound)" in e.audits()
    e.clock.advance(300)  # an assignment can't be removed within five minutes of being assigned [E-ASSIGN]
    rm = e.c.post(ASR, headers=e.h("admin"), json={**_req(e, "adminRemove", who="jane")})
    assert rm.status_code == 201 and e.members() == []


# --- approvals -------------------------------------------------------------------------------------------------------
def _require_approval(e: Entra, approver: str = "admin") -> None:
    body = {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
        "setting": {
            "isApprovalRequired": True,
            "isApprovalRequiredForExtension": False,
            "isRequestorJustificationRequired": True,
            "approvalMode": "SingleStage",
            "approvalStages": [
                {
                    "approvalStageTimeOutInDays": 1,
                    "isApproverJustificationRequired": True,
                    "escalationTimeInMinutes": 0,
                    "isEscalationEnabled": False,
                    "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": e.ids[approver]}],
                    "escalationApprovers": [],
                }
            ],
        },
    }
    r = e.patch_rule("Approval_EndUser_Assignment", body)
    assert r.status_code == 204, r.text


def test_approval_first_decision_wins_second_gets_409(e: Entra) -> None:
    _require_approval(e)
    r = e.activate()
    assert r.status_code == 201 and r.json()["status"] == "PendingApproval"
    rid = r.json()["approvalId"]
    assert e.members() == []
    appr = e.c.get(f"{PIM}/assignmentApprovals/{rid}", headers=e.h("admin")).json()
    stage = appr["stages"][0]
    assert (stage["status"], stage["reviewResult"], stage["assignedToMe"]) == ("InProgress", "NotReviewed", True)
    url = f"{PIM}/assignmentApprovals/{rid}/steps/{stage['id']}"
    assert err(e.c.patch(url, headers=e.h("jane"), json={"reviewResult": "Approve", "justification": "ok"}))[0] == 403
    assert (
        err(e.c.patch(url, headers=e.h("automation"), json={"reviewResult": "Approve", "justification": "ok"}))[0]
        == 403
    )
    assert (
        err(e.c.patch(url, headers=e.h("admin"), json={"reviewResult": "Approve"}))[0] == 400
    )  # justification required
    assert err(e.c.patch(url, headers=e.h("admin"), json={"reviewResult": "Maybe", "justification": "x"}))[0] == 400
    assert (
        e.c.patch(url, headers=e.h("admin"), json={"reviewResult": "Approve", "justification": "ok"}).status_code == 204
    )
    assert err(e.c.patch(url, headers=e.h("admin"), json={"reviewResult": "Deny", "justification": "late"}))[:2] == (
        409,
        "Conflict",
    )
    assert e.c.get(f"{ASR}/{rid}", headers=e.h("rich")).json()["status"] == "Provisioned"
    assert e.members() == ["Rich Roe"]
    assert "Add member to role request approved (PIM activation)" in e.audits()
    by_approver = e.c.get(f"{ASR}/filterByCurrentUser(on='approver')", headers=e.h("admin")).json()["value"]
    assert [x["id"] for x in by_approver] == [rid]
    stages = e.c.get(f"{PIM}/assignmentApprovals/{rid}/stages/{stage['id']}", headers=e.h("admin")).json()
    assert stages["reviewResult"] == "Approved"


def test_approval_deny_and_cancel(e: Entra) -> None:
    _require_approval(e)
    rid = e.activate().json()["id"]
    stage = e.c.get(f"{PIM}/assignmentApprovals/{rid}", headers=e.h("admin")).json()["stages"][0]["id"]
    url = f"{PIM}/assignmentApprovals/{rid}/steps/{stage}"
    assert e.c.patch(url, headers=e.h("admin"), json={"reviewResult": "Deny", "justification": "no"}).status_code == 204
    assert e.c.get(f"{ASR}/{rid}", headers=e.h("rich")).json()["status"] == "Denied"
    rid2 = e.activate().json()["id"]
    assert err(e.c.post(f"{ASR}/{rid2}/cancel", headers=e.h("jane")))[0] == 403
    assert e.c.post(f"{ASR}/{rid2}/cancel", headers=e.h("rich")).status_code == 204
    assert e.c.get(f"{ASR}/{rid2}", headers=e.h("rich")).json()["status"] == "Canceled"
    assert err(e.c.post(f"{ASR}/{rid2}/cancel", headers=e.h("rich")))[0] == 400
    assert err(e.c.post(f"{ASR}/nope/cancel", headers=e.h("rich")))[0] == 404
    assert "Add member to role canceled (PIM activation)" in e.audits()
    assert e.members() == []


def test_approval_expires_after_24_hours_on_the_clock(e: Entra) -> None:
    _require_approval(e)
    rid = e.activate().json()["id"]
    stage = e.c.get(f"{PIM}/assignmentApprovals/{rid}", headers=e.h("admin")).json()["stages"][0]["id"]
    e.clock.advance(24 * 3600 - 1)
    assert e.c.get(f"{ASR}/{rid}", headers=e.h("rich")).json()["status"] == "PendingApproval"
    e.clock.advance(1)
    assert e.c.get(f"{ASR}/{rid}", headers=e.h("rich")).json()["status"] == "Canceled"
    url = f"{PIM}/assignmentApprovals/{rid}/steps/{stage}"
    assert err(e.c.patch(url, headers=e.h("admin"), json={"reviewResult": "Approve", "justification": "ok"}))[0] == 409
    assert "PIM activation request expired" in e.audits()
    assert e.members() == []
    assert err(e.c.get(f"{PIM}/assignmentApprovals/unknown", headers=e.h("admin")))[0] == 404


# --- policies ----------------------------------------------------------------------------------------------------------
def test_policies_have_17_rules_with_group_defaults(e: Entra) -> None:
    gid = e.groups[EC2]
    assert err(e.c.get("/v1.0/policies/roleManagementPolicies", headers=e.h("admin")))[0] == 400
    r = e.c.get(
        "/v1.0/policies/roleManagementPolicies",
        headers=e.h("admin"),
        params={"$filter": f"scopeId eq '{gid}' and scopeType eq 'Group'", "$expand": "rules"},
    )
    policies = r.json()["value"]
    assert len(policies) == 2
    p = policies[0]
    assert p["id"].startswith(f"Group_{gid}_") and p["displayName"] == "Group" and p["isOrganizationDefault"] is False
    rules = {x["id"]: x for x in p["rules"]}
    assert len(rules) == 17
    assert rules["Expiration_Admin_Eligibility"]["maximumDuration"] == "P365D"
    assert rules["Expiration_Admin_Assignment"]["maximumDuration"] == "P180D"
    assert rules["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT8H"
    assert rules["Enablement_EndUser_Assignment"]["enabledRules"] == ["Justification"]
    assert rules["Approval_EndUser_Assignment"]["setting"]["isApprovalRequired"] is False
    assert rules["Approval_EndUser_Assignment"]["setting"]["approvalStages"][0]["approvalStageTimeOutInDays"] == 1
    assert rules["AuthenticationContext_EndUser_Assignment"]["isEnabled"] is False
    assert rules["Notification_Admin_Admin_Eligibility"]["target"]["caller"] == "Admin"
    pa = e.c.get(
        "/v1.0/policies/roleManagementPolicyAssignments",
        headers=e.h("admin"),
        params={"$filter": f"scopeId eq '{gid}' and scopeType eq 'Group'"},
    )
    ids = {a["roleDefinitionId"]: a["id"] for a in pa.json()["value"]}
    assert set(ids) == {"member", "owner"} and ids["member"].endswith("_member")
    assert (
        e.c.get(f"/v1.0/policies/roleManagementPolicyAssignments/{ids['owner']}", headers=e.h("admin")).json()[
            "roleDefinitionId"
        ]
        == "owner"
    )
    rule = e.c.get(
        f"/v1.0/policies/roleManagementPolicies/{p['id']}/rules/Expiration_EndUser_Assignment", headers=e.h("admin")
    )
    assert rule.json()["isExpirationRequired"] is True
    assert (
        len(e.c.get(f"/v1.0/policies/roleManagementPolicies/{p['id']}/rules", headers=e.h("admin")).json()["value"])
        == 17
    )
    assert "Onboarded resource to PIM" in e.audits()


@pytest.mark.parametrize(
    ("rule_id", "body", "fragment"),
    [
        ("Expiration_EndUser_Assignment", {"isExpirationRequired": True, "maximumDuration": "PT8H"}, "@odata.type"),
        (
            "Expiration_EndUser_Assignment",
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", "enabledRules": []},
            "does not match",
        ),
        (
            "Expiration_EndUser_Assignment",
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                "isExpirationRequired": True,
                "maximumDuration": "PT25H",
            },
            "outside the activation range",
        ),
        (
            "Expiration_EndUser_Assignment",
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                "isExpirationRequired": True,
                "maximumDuration": "P6M",
            },
            "maximumDuration",
        ),
        (
            "Enablement_EndUser_Assignment",
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
                "enabledRules": ["Fingerprint"],
            },
            "enabledRules",
        ),
        (
            "Approval_EndUser_Assignment",
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
                "setting": {"isApprovalRequired": True, "approvalStages": [{"primaryApprovers": []}]},
            },
            "At least one approver",
        ),
        (
            "Approval_EndUser_Assignment",
            {
                "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
                "setting": {"isApprovalRequired": False, "approvalStages": [{"approvalStageTimeOutInDays": 2}]},
            },
            "isn't configurable",
        ),
        (
            "Enablement_EndUser_Assignment",
            {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", "color": "red"},
            "color",
        ),
    ],
)
def test_rule_patch_validation(e: Entra, rule_id: str, body: dict[str, Any], fragment: str) -> None:
    status, code, message = err(e.patch_rule(rule_id, body))
    assert (status, code) == (400, "BadRequest") and fragment in message


def test_rule_patch_needs_admin_and_existing_rule(e: Entra) -> None:
    body = {"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule", "enabledRules": []}
    assert err(e.patch_rule("Enablement_EndUser_Assignment", body, who="rich"))[0] == 403
    assert err(e.patch_rule("Nope_Rule", body))[0] == 404
    assert e.patch_rule("Enablement_EndUser_Assignment", body).status_code == 204
    assert e.activate(justification=None).status_code == 201  # justification no longer required
    assert "Update role setting in PIM" in e.audits()


# --- misc --------------------------------------------------------------------------------------------------------------
def test_unknown_route_and_method_are_graph_errors(e: Entra) -> None:
    assert err(e.c.get("/v1.0/nothing/here", headers=e.h("admin")))[:2] == (404, "Request_ResourceNotFound")
    assert err(e.c.delete("/v1.0/users", headers=e.h("admin")))[0] == 405


def test_audit_filter(e: Entra) -> None:
    e.activate()
    r = e.c.get(
        "/v1.0/auditLogs/directoryAudits",
        headers=e.h("admin"),
        params={"$filter": "activityDisplayName eq 'Add member to role completed (PIM activation)'"},
    )
    assert len(r.json()["value"]) == 1
    assert err(e.c.get("/v1.0/auditLogs/directoryAudits", headers=e.h("rich")))[0] == 403


def test_sandbox_reset_reseeds_and_clock_advance(e: Entra) -> None:
    e.activate()
    old_group = e.groups[EC2]
    assert e.c.post("/_sandbox/reset").status_code == 200
    d = e.app.state.entra.directory
    e.groups = {g.displayName: g.id for g in d.groups.values()}
    assert old_group not in e.groups.values()  # issue 12: ids never repeat after a reset
    assert e.members() == []
    assert e.c.post("/_sandbox/clock/advance", json={"duration": "PT40M"}).json()["advanced_seconds"] == 2400
    assert e.c.get("/_sandbox/state").json()["entra"]["users"] == 4


def test_every_read_endpoint_answers_and_unknown_ids_are_404(e: Entra) -> None:
    req = e.activate().json()
    gid = e.groups[EC2]
    inst = e.c.get(f"{PIM}/assignmentScheduleInstances", headers=e.h("rich"), params={"$filter": f"groupId eq '{gid}'"})
    inst_id = inst.json()["value"][0]["id"]
    assert (
        e.c.get(f"{PIM}/assignmentScheduleInstances/{inst_id}", headers=e.h("rich")).json()["principalId"]
        == e.ids["rich"]
    )
    sched = e.c.get(f"{PIM}/assignmentSchedules/{req['targetScheduleId']}", headers=e.h("rich")).json()
    assert sched["assignmentType"] == "activated" and sched["status"] == "Provisioned"
    mine = e.c.get(f"{PIM}/assignmentSchedules/filterByCurrentUser(on='principal')", headers=e.h("rich")).json()
    assert [s["id"] for s in mine["value"]] == [req["targetScheduleId"]]
    eligible = e.c.get(f"{ESR}/filterByCurrentUser(on='principal')", headers=e.h("rich")).json()["value"]
    assert len(eligible) == 1 and eligible[0]["action"] == "adminAssign"
    assert e.c.get(f"{ESR}/{eligible[0]['id']}", headers=e.h("rich")).json()["status"] == "Provisioned"
    assert err(e.c.post(f"{ESR}/{eligible[0]['id']}/cancel", headers=e.h("admin")))[0] == 400  # not pending
    es = e.c.get(f"{PIM}/eligibilitySchedules", headers=e.h("admin"), params={"$filter": f"groupId eq '{gid}'"})
    assert [s["principalId"] for s in es.json()["value"]] == [e.ids["rich"]]
    policy = e.policy()
    got = e.c.get(
        f"/v1.0/policies/roleManagementPolicies/{policy['id']}", headers=e.h("rich"), params={"$expand": "rules"}
    )
    assert len(got.json()["rules"]) == 17
    for path in (
        f"{ASR}/nope",
        f"{ESR}/nope",
        f"{PIM}/assignmentSchedules/nope",
        f"{PIM}/eligibilityScheduleInstances/nope",
        "/v1.0/policies/roleManagementPolicies/nope",
        "/v1.0/policies/roleManagementPolicyAssignments/nope",
        f"/v1.0/policies/roleManagementPolicies/{policy['id']}/rules/nope",
        "/v1.0/groups/nope",
        "/v1.0/servicePrincipals/nope",
    ):
        assert err(e.c.get(path, headers=e.h("admin")))[:2] == (404, "Request_ResourceNotFound"), path


def test_admin_update_and_renew_of_an_active_assignment(e: Entra) -> None:
    body = {
        **_req(e, "adminAssign", who="jane"),
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT2H"}},
    }
    assert e.c.post(ASR, headers=e.h("admin"), json=body).status_code == 201
    upd = {
        **_req(e, "AdminUpdate", who="jane"),
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT4H"}},
    }
    r = e.c.post(ASR, headers=e.h("admin"), json=upd)
    assert r.status_code == 201 and r.json()["action"] == "adminUpdate"
    e.clock.advance(3 * 3600)
    assert e.members() == ["Jane Doe"]  # the update moved the end from 2 h to 4 h
    e.clock.advance(3600)
    assert e.members() == []
    renew = {
        **_req(e, "adminRenew", who="jane"),
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P1D"}},
    }
    r = e.c.post(ASR, headers=e.h("admin"), json=renew)
    assert r.status_code == 201 and r.json()["status"] == "Provisioned"
    assert e.members() == ["Jane Doe"]
    assert "Add member to role in PIM requested (renew)" in e.audits()
    assert err(e.c.post(ASR, headers=e.h("admin"), json=renew))[1] == "RoleAssignmentExists"
