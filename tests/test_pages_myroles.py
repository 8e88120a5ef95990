"""Entra PIM "My roles" (``/myroles/`` on the Entra fake), driven over HTTP like a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import pytest

from tests.pages_support import SeededSandbox, seeded_sandbox


@pytest.fixture(scope="module")
def seeded() -> Iterator[SeededSandbox]:
    with seeded_sandbox() as s:
        yield s


def _alerts(html: str) -> list[str]:
    return [a.replace("&#34;", '"') for a in re.findall(r'role="alert">([^<]+)<', html)]


def test_my_roles_activates_refuses_what_the_policy_refuses_and_deactivates(seeded: SeededSandbox) -> None:
    cfg = seeded.sandbox.config()
    web = httpx2.Client(base_url=cfg["myroles_url"], follow_redirects=True)
    assert "Sign in to Privileged Identity Management" in web.get("").text
    groups = web.post("signin", data={"identity": "rich"})
    assert str(groups.url).endswith("/myroles/groups")
    assert 'aria-label="Activate AWS - Amazon EC2 Admin">Activate</a>' in groups.text
    assert "No active assignments." in groups.text
    gid = seeded.world.group_id
    form = web.get("groups/activate", params={"groupId": gid})
    assert "Activate – Member" in form.text and "Maximum 1h (the group's activation policy)." in form.text
    assert '<label for="justification">Justification (required)</label>' in form.text

    too_long = web.post("groups/activate", data={"groupId": gid, "duration": "2", "justification": "EC2 incident"})
    assert too_long.status_code == 400
    assert _alerts(too_long.text) == [
        'RoleAssignmentRequestPolicyValidationFailed: The following policy rules failed: ["ExpirationRule"]'
    ]
    no_reason = web.post("groups/activate", data={"groupId": gid, "duration": "1", "justification": ""})
    assert _alerts(no_reason.text) == [
        'RoleAssignmentRequestPolicyValidationFailed: The following policy rules failed: ["JustificationRule"]'
    ]
    not_a_number = web.post("groups/activate", data={"groupId": gid, "duration": "one", "justification": "x"})
    assert _alerts(not_a_number.text) == [
        "Duration (hours) must be a number of hours such as 1 or 1.5, got &#39;one&#39;"
    ]

    done = web.post("groups/activate", data={"groupId": gid, "duration": "1", "justification": "EC2 incident"})
    assert "status <strong>Provisioned</strong>" in done.text
    active = done.text.split('id="active-title"')[1].split("</section>")[0]
    assert "AWS - Amazon EC2 Admin" in active and "Activated" in active
    assert "2025-06-03 10:00 UTC" in active  # end = start + 1 h
    early = web.post("groups/deactivate", data={"groupId": gid, "accessId": "member"})
    assert early.status_code == 400
    assert "ActiveDurationTooShort" in _alerts(early.text)[0]
    seeded.clock.advance(6 * 60)
    later = web.post("groups/deactivate", data={"groupId": gid, "accessId": "member"})
    assert later.status_code == 200 and "No active assignments." in later.text
    assert "selfDeactivate — status <strong>Revoked</strong>" in later.text  # Graph's status for a deactivation


def test_my_roles_sign_in_refuses_unknown_identity_and_stale_token(seeded: SeededSandbox) -> None:
    web = httpx2.Client(base_url=seeded.sandbox.config()["myroles_url"], follow_redirects=True)
    bad = web.post("signin", data={"identity": "nobody"})
    assert bad.status_code >= 400 and "Sign-in refused:" in bad.text
    web.cookies.set("jitbox_myroles", "rich|not-a-token", path="/myroles/")
    stale = web.get("groups")
    assert "Sign in again: InvalidAuthenticationToken" in stale.text


def test_the_form_asks_for_a_ticket_when_the_policy_does_and_graph_refuses_without_one() -> None:
    with seeded_sandbox(seed=11) as s:
        cfg = s.sandbox.config()
        admin = {"Authorization": f"Bearer {cfg['graph_tokens']['admin']}"}
        graph = cfg["graph_url"]
        scope = f"scopeId eq '{s.world.group_id}' and scopeType eq 'Group' and roleDefinitionId eq 'member'"
        policy = httpx2.get(
            graph + "/policies/roleManagementPolicyAssignments", headers=admin, params={"$filter": scope}
        ).json()["value"][0]["policyId"]
        rule_url = f"{graph}/policies/roleManagementPolicies/{policy}/rules/Enablement_EndUser_Assignment"
        rule = httpx2.get(rule_url, headers=admin).json()
        rule.pop("@odata.context", None)
        rule["enabledRules"] = ["Justification", "Ticketing"]
        assert httpx2.patch(rule_url, headers=admin, json=rule).status_code == 204

        web = httpx2.Client(base_url=cfg["myroles_url"], follow_redirects=True)
        web.post("signin", data={"identity": "rich"})
        form = web.get("groups/activate", params={"groupId": s.world.group_id})
        assert '<label for="ticketNumber">Ticket number (required)</label>' in form.text
        data = {"groupId": s.world.group_id, "duration": "1", "justification": "EC2 incident"}
        missing = web.post("groups/activate", data=data)
        assert missing.status_code == 400
        assert _alerts(missing.text) == [
            'RoleAssignmentRequestPolicyValidationFailed: The following policy rules failed: ["TicketingRule"]'
        ]
        done = web.post("groups/activate", data={**data, "ticketNumber": "INC-42", "ticketSystem": "ServiceNow"})
        assert "status <strong>Provisioned</strong>" in done.text
