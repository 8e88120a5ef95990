"""Portal and role sessions on the virtual clock: the seed's timeline, countermeasures, disabled users, and the
sandbox held equal to the simulator's rules (:mod:`sim.rules`) for the same inputs.

Seed [AWS-BLOG]: portal session 8 h, permission set 1 h. The user signs in at 0:59 while entitled, the Identity
Center membership is removed at 1:40, and a launch at 8:58 still works under ``signin_snapshot`` but not under
``launch_check`` (or ``cached_1h``); the role credentials expire 1 h after the launch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import boto3
import httpx2 as httpx
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from scim_server.app import create_app
from scim_server.aws import AccessPlane, AwsError, MembershipHistory, StoreDirectory, track_history
from scim_server.aws.testing import boto3_kwargs, serve
from scim_server.store import Store
from sim.clock import ManualClock
from sim.rules import (
    Interval,
    latest_launch,
    launch_allowed,
    role_session_allowed,
    role_session_end,
    worst_effective_end,
)
from sim.settings import EntitlementMode, Settings

ACCOUNT = "123456789012"
H, M = 3600.0, 60.0


class Seed:
    """A served sandbox with alice, group AWS-Admins assigned Admin (PT1H) on ACCOUNT; t = 0 is ``self.t0``."""

    def __init__(self, url: str, clock: ManualClock, store: Store) -> None:
        self.url, self.clock, self.store = url, clock, store
        self.http = httpx.Client(base_url=url)
        self.ids = boto3.client("identitystore", **boto3_kwargs(url))
        self.admin = boto3.client("sso-admin", **boto3_kwargs(url))
        self.sso = boto3.client("sso", **boto3_kwargs(url))
        self.setup()

    def setup(self) -> None:
        """Create alice, AWS-Admins and Admin (PT1H) assigned on ACCOUNT; wait for the assignment; t = 0."""
        clock, store = self.clock, self.store
        instance = self.admin.list_instances()["Instances"][0]
        self.sid, self.arn = instance["IdentityStoreId"], instance["InstanceArn"]
        self.alice = store.create_user(
            {"userName": "alice", "displayName": "Alice", "name": {"givenName": "Alice", "familyName": "A"}}
        )["id"]
        self.group = store.create_group({"displayName": "AWS-Admins"})["id"]
        ps = self.admin.create_permission_set(InstanceArn=self.arn, Name="Admin", SessionDuration="PT1H")
        self.ps = ps["PermissionSet"]["PermissionSetArn"]
        self.admin.create_account_assignment(
            InstanceArn=self.arn, TargetId=ACCOUNT, TargetType="AWS_ACCOUNT", PermissionSetArn=self.ps,
            PrincipalType="GROUP", PrincipalId=self.group,
        )  # fmt: skip
        self.advance_to(0.0, origin=clock.time() + 10)
        self.membership: str | None = None

    def advance_to(self, t: float, origin: float | None = None) -> None:
        if origin is not None:
            self.t0 = origin
        delta = self.t0 + t - self.clock.time()
        assert delta >= 0
        assert self.http.post("/_sandbox/clock/advance", json={"seconds": delta}).status_code == 200

    def settings(self, **changes: Any) -> dict[str, Any]:
        response = self.http.post("/_sandbox/aws/settings", json=changes)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def add_member(self) -> None:
        self.membership = self.ids.create_group_membership(
            IdentityStoreId=self.sid, GroupId=self.group, MemberId={"UserId": self.alice}
        )["MembershipId"]

    def remove_member(self) -> None:
        self.ids.delete_group_membership(IdentityStoreId=self.sid, MembershipId=self.membership)

    def signin(self, user_id: str | None = None) -> str:
        response = self.http.post("/_sandbox/aws/signin", json={"user_id": user_id or self.alice})
        assert response.status_code == 200, response.text
        token: str = response.json()["accessToken"]
        return token

    def launch(self, token: str) -> dict[str, Any]:
        creds: dict[str, Any] = self.sso.get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="Admin")[
            "roleCredentials"
        ]
        return creds

    def role_status(self, key: str, t: float) -> dict[str, Any]:
        response = self.http.get(f"/_sandbox/aws/role-sessions/{key}", params={"at": self.t0 + t})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def seed() -> Iterator[Seed]:
    clock = ManualClock()
    app = create_app(clock, seed=11)
    with serve(app) as url:
        yield Seed(url, clock, app.state.idc.store)


@pytest.mark.parametrize("mode", list(EntitlementMode))
def test_seed_timeline_launch_at_858_depends_on_entitlement_mode(seed: Seed, mode: EntitlementMode) -> None:
    seed.settings(entitlement_mode=mode.value)
    seed.add_member()  # 0:00 the membership reaches Identity Center
    seed.advance_to(59 * M)
    token = seed.signin()  # 0:59 sign in while entitled
    seed.advance_to(1 * H + 40 * M)
    seed.remove_member()  # 1:40 membership removed
    seed.advance_to(8 * H + 58 * M)  # 8:58 launch
    expected = launch_allowed(Interval(0.0, 100 * M), 59 * M, 538 * M, math.inf, Settings(entitlement_mode=mode))
    access = seed.http.get(f"/_sandbox/aws/access/{seed.alice}").json()
    assert access["can_launch"] is expected and not access["can_act"]
    assert access["portal_sessions"][0]["live"] and access["portal_sessions"][0]["end"] == seed.t0 + 8 * H + 59 * M
    if mode is EntitlementMode.SIGNIN_SNAPSHOT:
        creds = seed.launch(token)
        assert creds["expiration"] == round((seed.t0 + 9 * H + 58 * M) * 1000)  # launch + 1 h, epoch ms
        assert seed.role_status(creds["accessKeyId"], 9 * H + 57 * M)["allowed"]
        ended = seed.role_status(creds["accessKeyId"], 9 * H + 58 * M)
        assert not ended["allowed"] and ended["reason"] == "expired"
        assert expected is True
    else:
        with pytest.raises(ClientError) as exc:
            seed.launch(token)
        assert exc.value.response["Error"]["Code"] == "ForbiddenException"
        assert seed.sso.list_accounts(accessToken=token)["accountList"] == []
        assert expected is False


def test_portal_session_ends_after_eight_hours(seed: Seed) -> None:
    seed.add_member()
    seed.advance_to(59 * M)
    token = seed.signin()
    seed.advance_to(8 * H + 59 * M)  # exactly 8 h after sign-in: the session is over [UG-uis]
    with pytest.raises(seed.sso.exceptions.UnauthorizedException) as exc:
        seed.launch(token)
    assert exc.value.response["Error"]["Message"] == "Session token not found or invalid"


def test_portal_session_duration_change_applies_only_to_new_sessions(seed: Seed) -> None:
    seed.add_member()
    old = seed.signin()
    assert seed.settings(portal_session="PT1H")["portal_session"] == 3600
    new = seed.signin()
    seed.advance_to(2 * H)
    assert seed.launch(old)["accessKeyId"]  # the 8 h session keeps its duration [UG-uis]
    with pytest.raises(seed.sso.exceptions.UnauthorizedException):
        seed.launch(new)


def test_logout_does_not_end_role_sessions(seed: Seed) -> None:
    seed.add_member()
    token = seed.signin()
    creds = seed.launch(token)
    seed.sso.logout(accessToken=token)
    with pytest.raises(seed.sso.exceptions.UnauthorizedException):
        seed.sso.list_accounts(accessToken=token)
    assert seed.role_status(creds["accessKeyId"], 30 * M)["allowed"]  # [UG-endsess]
    admin_end = seed.http.post("/_sandbox/aws/sessions/end", json={"user_id": seed.alice})
    assert admin_end.json() == {"ended": 0}


def test_admin_end_sessions_stops_launches_but_not_issued_credentials(seed: Seed) -> None:
    seed.add_member()
    token = seed.signin()
    creds = seed.launch(token)
    assert seed.http.post("/_sandbox/aws/sessions/end", json={"user_id": seed.alice}).json() == {"ended": 1}
    with pytest.raises(seed.sso.exceptions.UnauthorizedException):
        seed.launch(token)
    assert seed.role_status(creds["accessKeyId"], 59 * M)["allowed"]


def test_token_issue_time_deny_ends_older_role_sessions(seed: Seed) -> None:
    seed.add_member()
    token = seed.signin()
    seed.advance_to(10 * M)
    old = seed.launch(token)
    seed.advance_to(30 * M)
    deny = seed.http.post("/_sandbox/aws/deny/token-issue-time", json={})
    assert deny.json()["before"] == seed.t0 + 30 * M
    assert seed.role_status(old["accessKeyId"], 29 * M)["allowed"]
    status = seed.role_status(old["accessKeyId"], 30 * M)
    assert not status["allowed"] and status["reason"] == "aws:TokenIssueTime deny"
    assert status["effective_end"] == seed.t0 + 30 * M
    seed.advance_to(31 * M)
    new = seed.launch(token)  # issued after the cutoff: unaffected [IAM-revoke]
    assert seed.role_status(new["accessKeyId"], 90 * M)["allowed"]


def test_per_user_deny_stops_every_session_of_that_user(seed: Seed) -> None:
    seed.add_member()
    token = seed.signin()
    creds = seed.launch(token)
    seed.advance_to(5 * M)
    deny = seed.http.post("/_sandbox/aws/deny/user", json={"user_id": seed.alice})
    assert deny.status_code == 200
    status = seed.role_status(creds["accessKeyId"], 5 * M)
    assert not status["allowed"] and status["reason"] == "per-user deny (identitystore:userId)"
    assert seed.role_status(creds["accessKeyId"], 4 * M)["allowed"]
    bad = seed.http.post("/_sandbox/aws/deny/user", json={"user_id": seed.alice, "at": "yesterday"})
    assert bad.status_code == 400 and "at" in bad.json()["error"]["message"]


@pytest.mark.parametrize("how", ["disable", "delete"])
@pytest.mark.parametrize(("mode", "launch_at_90m"), [("continue", True), ("cached_1h", False)])
def test_disabled_user_keeps_or_loses_launches_by_switch(seed: Seed, mode: str, launch_at_90m: bool, how: str) -> None:
    seed.settings(disabled_user_mode=mode)
    seed.add_member()
    token = seed.signin()
    seed.advance_to(30 * M)
    if how == "disable":
        body = seed.store.get_user(seed.alice)
        seed.store.replace_user(
            seed.alice, {k: v for k, v in body.items() if k not in ("id", "meta")} | {"active": False}
        )
    else:
        seed.store.delete_user(seed.alice)  # also removes the membership at 0:30 (signin_snapshot still saw it)
    refused = seed.http.post("/_sandbox/aws/signin", json={"user_id": seed.alice})
    assert refused.status_code == (401 if how == "disable" else 404)  # no new sign-in [UG23-auth]
    seed.advance_to(45 * M)
    assert seed.launch(token)["accessKeyId"]  # before the next hourly refresh, both modes allow it
    seed.advance_to(90 * M)
    if launch_at_90m:
        assert seed.launch(token)["accessKeyId"]  # [UG-revoke][UG-idsrc]
    else:
        with pytest.raises(ClientError) as exc:
            seed.launch(token)  # the 1:00 refresh saw the disabled user [UG23-auth]
        assert exc.value.response["Error"]["Code"] == "ForbiddenException"


def test_config_and_environment_variables_point_boto3_at_the_sandbox(
    seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(ManualClock(), seed=3)
    config = app.state.idc.config("http://127.0.0.1:9")
    assert config["aws_endpoint_url"] == "http://127.0.0.1:9"
    assert config["aws_env"]["AWS_ENDPOINT_URL_SSO_ADMIN"] == "http://127.0.0.1:9"
    env = app.state.idc.config(seed.url)["aws_env"]
    for name, value in {
        **env,
        "AWS_ENDPOINT_URL_IDENTITYSTORE": seed.url,
        "AWS_ENDPOINT_URL_SSO_ADMIN": seed.url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.session.Session().client("sso-admin")  # nothing but the environment
    assert client.list_instances()["Instances"][0]["InstanceArn"] == seed.arn


# --- the sandbox equals the simulator's rules -----------------------------------------------------------

minutes = st.integers(min_value=0, max_value=20 * 60).map(lambda m: m * M)


def _plane(settings: Settings) -> tuple[ManualClock, Store, AccessPlane, str, str, str]:
    clock = ManualClock()
    store = Store(clock, seed=1)
    history = MembershipHistory()
    track_history(store, history)
    plane = AccessPlane(clock, StoreDirectory(store), history, settings, assignment_delay=0, lock=store.lock)
    user = store.create_user({"userName": "u", "displayName": "U", "name": {"givenName": "U", "familyName": "U"}})["id"]
    group = store.create_group({"displayName": "g"})["id"]
    ps = plane.create_permission_set("Admin", session_duration="PT1H")
    plane.create_account_assignment(ACCOUNT, "AWS_ACCOUNT", ps.arn, "GROUP", group)
    return clock, store, plane, user, group, ps.arn


@hsettings(max_examples=150, deadline=None)
@given(
    add=minutes,
    length=st.integers(min_value=1, max_value=12 * 60).map(lambda m: m * M),
    signin=minutes,
    wait=st.integers(min_value=0, max_value=10 * 60).map(lambda m: m * M),
    portal=st.sampled_from([15 * M, 1 * H, 8 * H, 12 * H]),
    mode=st.sampled_from(list(EntitlementMode)),
)
def test_sandbox_launch_equals_sim_rules(
    add: float, length: float, signin: float, wait: float, portal: float, mode: EntitlementMode
) -> None:
    settings = Settings(portal_session=portal, entitlement_mode=mode)
    clock, store, plane, user, group, _ps = _plane(settings)
    t0 = clock.time()
    outcome: dict[str, Any] = {}
    tokens: list[str] = []

    def do_launch() -> None:
        try:
            role = plane.get_role_credentials(tokens[0], "Admin", ACCOUNT)
            outcome["expiration"] = role.expiration - t0
        except Exception as exc:  # the sandbox's refusal, in its AWS error shape
            outcome["error"] = getattr(exc, "code", repr(exc))

    clock.call_at(t0 + add, lambda: store.add_members(group, [user]))
    clock.call_at(t0 + add + length, lambda: store.remove_members(group, [user]))
    clock.call_at(t0 + signin, lambda: tokens.append(plane.sign_in(user).token))
    clock.call_at(t0 + signin + wait, do_launch)
    clock.advance(40 * H)

    expected = launch_allowed(Interval(add, add + length), signin, signin + wait, math.inf, settings)
    assert ("expiration" in outcome) == expected, outcome
    if expected:
        assert outcome["expiration"] == role_session_end(signin + wait, math.inf, settings)
    elif signin + wait >= signin + portal:
        assert outcome["error"] == "UnauthorizedException"
    else:
        assert outcome["error"] == "ForbiddenException"


@hsettings(max_examples=100, deadline=None)
@given(
    launch=minutes,
    check=minutes,
    deny=st.one_of(st.none(), minutes),
    user_deny=st.one_of(st.none(), minutes),
    hours=st.integers(min_value=1, max_value=12),
)
def test_sandbox_role_session_check_equals_sim_rules(
    launch: float, check: float, deny: float | None, user_deny: float | None, hours: int
) -> None:
    settings = Settings(permission_set_session=hours * H, deny_tokens_before_expiry=deny is not None)
    clock, store, plane, user, group, ps = _plane(Settings(portal_session=90 * 24 * H))
    plane.update_permission_set(ps, session_duration=f"PT{hours}H")
    t0 = clock.time()
    store.add_members(group, [user])
    token = plane.sign_in(user).token
    clock.advance(launch)
    role = plane.get_role_credentials(token, "Admin", ACCOUNT)
    if deny is not None:
        plane.deny_token_issue_time(t0 + deny)
    if user_deny is not None:
        plane.deny_user(user, t0 + user_deny)
    answer = plane.role_session_json(role, t0 + check)
    intended_end = deny if deny is not None and deny > launch else math.inf
    expected = role_session_allowed(launch, check, intended_end, settings, user_deny)
    assert answer["allowed"] is expected
    assert answer["expiration"] - t0 == launch + hours * H


@hsettings(max_examples=40, deadline=None)
@given(
    add=minutes,
    length=st.integers(min_value=1, max_value=12 * 60).map(lambda m: m * M),
    portal=st.sampled_from([15 * M, 1 * H, 8 * H, 24 * H]),
    mode=st.sampled_from(list(EntitlementMode)),
)
def test_sandbox_reaches_the_simulators_latest_launch_and_no_further(
    add: float, length: float, portal: float, mode: EntitlementMode
) -> None:
    """The worst-case user (signs in just before the membership goes) can launch until 2 s before
    :func:`sim.rules.latest_launch` but not at it; their credentials end 2 s before :func:`worst_effective_end`."""
    settings = Settings(portal_session=portal, entitlement_mode=mode)
    clock, store, plane, user, group, _ps = _plane(settings)
    t0 = clock.time()
    membership = Interval(add, add + length)
    latest = latest_launch(membership, math.inf, settings)
    worst = worst_effective_end(membership, math.inf, settings)
    assert latest is not None and worst is not None
    clock.call_at(t0 + add, lambda: store.add_members(group, [user]))
    clock.call_at(t0 + add + length, lambda: store.remove_members(group, [user]))
    clock.advance(min(add + length - 1, latest - 3))  # just before removal (and before the last launch)
    token = plane.sign_in(user).token
    clock.advance(t0 + latest - 2 - clock.time())
    role = plane.get_role_credentials(token, "Admin", ACCOUNT)
    assert role.expiration - t0 == worst - 2
    clock.advance(2)
    assert not plane.access_json(user, clock.time())["can_launch"]
    with pytest.raises(AwsError):
        plane.get_role_credentials(token, "Admin", ACCOUNT)


@pytest.fixture(scope="module")
def served_seed() -> Iterator[Seed]:
    clock = ManualClock()
    app = create_app(clock, seed=13)
    with serve(app) as url:
        yield Seed(url, clock, app.state.idc.store)


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    add=minutes,
    length=st.integers(min_value=1, max_value=12 * 60).map(lambda m: m * M),
    signin=minutes,
    wait=st.integers(min_value=0, max_value=10 * 60).map(lambda m: m * M),
    mode=st.sampled_from(list(EntitlementMode)),
)
def test_sandbox_over_http_equals_sim_rules(
    served_seed: Seed, add: float, length: float, signin: float, wait: float, mode: EntitlementMode
) -> None:
    """The same differential as above, driven only over HTTP: identitystore memberships, sandbox sign-in and clock,
    sso GetRoleCredentials (after ``POST /_sandbox/reset`` and a fresh setup per example)."""
    sb = served_seed
    assert sb.http.post("/_sandbox/reset").status_code == 200
    sb.setup()
    sb.settings(entitlement_mode=mode.value)
    tokens: list[str] = []
    outcome: list[bool] = []

    def launch() -> None:
        try:
            sb.launch(tokens[0])
            outcome.append(True)
        except ClientError:
            outcome.append(False)

    events = sorted(
        [(add, 0, sb.add_member), (add + length, 1, sb.remove_member), (signin, 2, lambda: tokens.append(sb.signin())),
         (signin + wait, 3, launch)],
        key=lambda e: (e[0], e[1]),
    )  # fmt: skip
    for at, _order, action in events:
        sb.advance_to(at)
        action()
    expected = launch_allowed(
        Interval(add, add + length), signin, signin + wait, math.inf, Settings(entitlement_mode=mode)
    )
    assert outcome == [expected]
