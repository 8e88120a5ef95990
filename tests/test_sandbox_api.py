"""Issue 12: ``jitbox.sandbox()`` (context manager, decorator), its one API, and the pytest fixtures under @given."""

from __future__ import annotations

import os

import boto3
import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitbox
from jitbox.sandbox_api import Sandbox, SandboxError

EC2 = "AWS - Amazon EC2 Admin"
ACCOUNT = "111122223333"


def ec2_members(sb: Sandbox) -> list[str]:
    """Return the userNames in the EC2 group as a boto3 user sees them (clients from the environment alone)."""
    ids = boto3.client("identitystore")
    store = sb.config()["aws_identity_store_id"]
    gid = ids.get_group_id(
        IdentityStoreId=store,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": EC2}},
    )["GroupId"]
    members = ids.list_group_memberships(IdentityStoreId=store, GroupId=gid)["GroupMemberships"]
    return sorted(ids.describe_user(IdentityStoreId=store, UserId=m["MemberId"]["UserId"])["UserName"] for m in members)


def test_context_manager_points_boto3_at_the_sandbox_and_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with jitbox.sandbox() as sb:
        assert os.environ["AWS_ENDPOINT_URL"] == sb.aws_endpoint_url and "AWS_PROFILE" not in os.environ
        admin = boto3.client("sso-admin")  # nothing but the environment
        (arn,) = admin.list_permission_sets(InstanceArn=sb.config()["aws_instance_arn"])["PermissionSets"]
        assert arn.startswith("arn:aws:sso:::permissionSet/")
        assert jitbox.current_sandbox() is sb
    assert os.environ["AWS_PROFILE"] == "prod-admin" and "AWS_ENDPOINT_URL" not in os.environ
    with pytest.raises(SandboxError, match="no jitbox sandbox is active"):
        jitbox.current_sandbox()


def test_the_seed_walkthrough_through_the_sandbox_object() -> None:
    with jitbox.sandbox(settings={"activation_max": "PT1H"}) as sb:
        request = sb.activate("rich", EC2, "PT1H", justification="INC-42")
        assert request["status"] == "Provisioned"
        assert ec2_members(sb) == []
        sb.clock.advance("PT10M")  # the fast path reaches AWS in 2-10 min [E-AWS]
        assert ec2_members(sb) == ["rich.roe@jitbox.example"]
        token = sb.signin("rich")
        sso = sb.aws_client("sso")
        roles = sso.list_account_roles(accessToken=token, accountId=ACCOUNT)["roleList"]
        assert [r["roleName"] for r in roles] == ["EC2AdminAccess"]
        creds = sso.get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="EC2AdminAccess")
        assert creds["roleCredentials"]["accessKeyId"]
        sb.clock.advance("1h")  # expiry, then the next regular ~40-min cycle removes the membership
        sb.clock.advance(40 * 60)
        assert ec2_members(sb) == []
        with sb.graph("rich") as g:
            assert g.get("me").json()["displayName"] == "Rich Roe"
        with sb.graph() as g:  # the world's admin
            assert g.get("me").json()["userPrincipalName"] == "admin@jitbox.example"
        cfg = sb.config()
        assert cfg["now"] == "2025-06-03T10:50:00Z" and cfg["graph_tokens"]["rich"] == sb.token("rich")
        sb.reset(clock=True)
        assert sb.config()["now"] == "2025-06-03T09:00:00Z"


def test_clock_advance_takes_seconds_iso_and_short_durations_and_names_bad_input() -> None:
    with jitbox.sandbox() as sb:
        start = sb.clock.time()
        sb.clock.advance(60)
        sb.clock.advance("PT1M")
        sb.clock.advance("1m")
        assert sb.clock.time() == start + 180
        with pytest.raises(ValueError, match=r"clock.advance\('soon'\)"):
            sb.clock.advance("soon")
        with pytest.raises(ValueError, match="366 days"):
            sb.clock.advance("P400D")
        with pytest.raises(SandboxError, match="selfActivate: HTTP 400"):
            sb.activate("jane", EC2, "PT1H")  # jane is not eligible


def test_activate_without_a_justification_meets_the_policy_that_requires_one() -> None:
    """``sb.activate`` sends a justification by default; ``justification=None`` lets a test see the refusal."""
    with jitbox.sandbox() as sb:
        with pytest.raises(SandboxError, match="JustificationRule"):
            sb.activate("rich", "AWS - Amazon EC2 Admin", "PT1H", justification=None)
        assert sb.activate("rich", "AWS - Amazon EC2 Admin", "PT1H")["status"] == "Provisioned"


def test_decorator_runs_the_function_in_a_fresh_sandbox() -> None:
    seen: list[str] = []

    @jitbox.sandbox()
    def my_test() -> None:
        sb = jitbox.current_sandbox()
        seen.append(sb.aws_endpoint_url)
        assert os.environ["AWS_ENDPOINT_URL"] == sb.aws_endpoint_url

    my_test()
    my_test()
    assert len(seen) == 2 and all(u.startswith("http://127.0.0.1:") for u in seen)
    with pytest.raises(httpx2.TransportError):
        httpx2.get(seen[-1] + "/_sandbox/health", timeout=2)  # stopped after the call


def test_fixture_is_fresh_for_each_test_part_one(jitbox_sandbox: Sandbox) -> None:
    assert jitbox_sandbox.config()["now"] == "2025-06-03T09:00:00Z" and ec2_members(jitbox_sandbox) == []
    jitbox_sandbox.activate("rich", EC2)
    jitbox_sandbox.clock.advance("PT10M")
    assert ec2_members(jitbox_sandbox) == ["rich.roe@jitbox.example"]


def test_fixture_is_fresh_for_each_test_part_two(jitbox_sandbox: Sandbox) -> None:
    test_fixture_is_fresh_for_each_test_part_one(jitbox_sandbox)  # same start state whichever ran first


@settings(max_examples=5)
@given(wait=st.integers(0, 1800))
def test_fixture_under_given_without_suppressing_health_checks(jitbox_sandbox: Sandbox, wait: int) -> None:
    jitbox_sandbox.reset()  # examples share the fixture: start each from the world
    jitbox_sandbox.activate("rich", EC2, "PT1H")
    jitbox_sandbox.clock.advance(wait)
    members = ec2_members(jitbox_sandbox)
    if wait >= 600:  # the fast path's documented worst case, 10 min [E-AWS]
        assert members == ["rich.roe@jitbox.example"]
    if wait < 120:  # and its best case, 2 min
        assert members == []


def test_session_fixture_resets_between_tests_and_keeps_its_clock_moving(jitbox_sandbox_session: Sandbox) -> None:
    sb = jitbox_sandbox_session
    assert ec2_members(sb) == []
    sb.activate("rich", EC2)
    sb.clock.advance("PT15M")
    assert ec2_members(sb) == ["rich.roe@jitbox.example"]


def test_session_fixture_second_test_sees_the_world_again(jitbox_sandbox_session: Sandbox) -> None:
    test_session_fixture_resets_between_tests_and_keeps_its_clock_moving(jitbox_sandbox_session)
