"""The AWS access portal page (``/start/`` on the Identity Center fake), driven over HTTP like a browser would."""

from __future__ import annotations

import re

import httpx2
import pytest

from tests.pages_support import SeededSandbox, seeded_sandbox

RICH = "rich.roe@jitbox.example"


@pytest.fixture(scope="module")
def seeded() -> SeededSandbox:
    with seeded_sandbox() as s:
        yield s


def _activate(s: SeededSandbox) -> None:
    cfg = s.sandbox.config()
    r = httpx2.post(
        cfg["graph_url"] + "/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
        headers={"Authorization": f"Bearer {cfg['graph_tokens']['rich']}"},
        json={
            "accessId": "member",
            "principalId": s.world.rich_id,
            "groupId": s.world.group_id,
            "action": "selfActivate",
            "justification": "EC2 incident",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
        },
    )
    assert r.status_code == 201, r.text


def test_portal_lists_the_permission_set_then_keeps_it_for_the_old_session_only(seeded: SeededSandbox) -> None:
    base = seeded.sandbox.scim_base
    old = httpx2.Client(base_url=base, follow_redirects=True)
    page = old.get("/start/")
    assert page.status_code == 200
    assert "Sign in to the AWS access portal" in page.text
    assert f'<option value="{RICH}">Rich Roe ({RICH})</option>' in page.text

    _activate(seeded)
    seeded.clock.advance(10 * 60)  # the fast path carries the membership to Identity Center in 2-10 min [E-AWS]
    listed = old.post("/start/signin", data={"user_name": RICH})
    assert listed.status_code == 200
    assert "workloads-prod" in listed.text and "<strong>EC2AdminAccess</strong>" in listed.text

    keys = old.post("/start/credentials", data={"account_id": "111122223333", "role_name": "EC2AdminAccess"})
    assert keys.status_code == 200
    assert "Get credentials for EC2AdminAccess" in keys.text
    expiry = re.search(r'id="creds-expiry">([^<]+)<', keys.text)
    assert expiry is not None and expiry.group(1) == "2025-06-03 10:10:00 UTC"  # launch at 9:10 + PT1H
    assert "AWS_ACCESS_KEY_ID</dt><dd>ASIA" in keys.text

    seeded.clock.advance(2 * 3600)  # past the activation's end (1:00) and the next cycle's removal
    assert "<strong>EC2AdminAccess</strong>" in old.get("/start/").text  # signin_snapshot [AWS-BLOG]
    fresh = httpx2.Client(base_url=base, follow_redirects=True)
    again = fresh.post("/start/signin", data={"user_name": RICH})
    assert "EC2AdminAccess" not in again.text
    assert "You do not have any applications or AWS accounts" in again.text

    out = old.post("/start/signout")
    assert "Sign in to the AWS access portal" in out.text


def test_portal_refuses_unknown_user_and_stale_session_with_the_api_message(seeded: SeededSandbox) -> None:
    client = httpx2.Client(base_url=seeded.sandbox.scim_base, follow_redirects=True)
    bad = client.post("/start/signin", data={"user_name": "nobody@jitbox.example"})
    assert bad.status_code == 404
    assert "Sign-in refused: no user with userName &#39;nobody@jitbox.example&#39;" in bad.text
    client.cookies.set("jitbox_portal", "aoaSTALE|rich|0", path="/start/")
    stale = client.get("/start/")
    assert stale.status_code == 200
    assert "Your portal session has ended (Session token not found or invalid). Sign in again." in stale.text
    denied = client.post("/start/credentials", data={"account_id": "111122223333", "role_name": "EC2AdminAccess"})
    assert denied.status_code == 401


def test_under_launch_check_the_old_session_lists_only_what_the_user_still_has() -> None:
    with seeded_sandbox(seed=12) as s:
        base = s.sandbox.scim_base
        _activate(s)
        s.clock.advance(10 * 60)
        old = httpx2.Client(base_url=base, follow_redirects=True)
        assert "<strong>EC2AdminAccess</strong>" in old.post("/start/signin", data={"user_name": RICH}).text
        mode = httpx2.post(base + "/_sandbox/aws/settings", json={"entitlement_mode": "launch_check"})
        assert mode.status_code == 200
        s.clock.advance(2 * 3600)  # the membership left Identity Center on the cycle after 10:00 [E-AWS]
        again = old.get("/start/")
        assert "EC2AdminAccess" not in again.text  # launch_check: the live list [UG-revoke]
        assert "You do not have any applications or AWS accounts" in again.text
