"""Differential test on approvals, expiry and the access plane: the served sandbox (``jitbox.sandbox()``: fake Entra →
provisioning over SCIM HTTP → fake Identity Center with its access portal, uvicorn on loopback, one manual clock)
against the simulator's event engine (:func:`sim.engine.simulate`) on the same case.

A case: a few users; a PIM policy with or without approval; per user a request time, a requested duration, the
approver's delay (acting in time, acting after the 24 h window, or never acting — the request then expires
[E-APPRV]), an optional self-deactivation (refused within 5 min of activation [E-ASSIGN]) and the user's sign-in
and launch delays. The Identity Center side runs the case's portal session and entitlement mode.

The sandbox side is driven only through the interfaces a user has: Graph (selfActivate, the approver's decision,
selfDeactivate, the approval policy), the AWS access portal (sign-in, then ``sso:GetRoleCredentials`` through boto3)
and the SCIM request log (``GET /_sandbox/requests``) to see when a membership reached or left Identity Center. Each
user signs in ``signin`` after their membership reaches Identity Center, launches ``launch`` later and launches again
when the role credentials expire while the activation is still meant to last. The effective end is the expiry of
the last role credentials the portal handed out.

The simulator runs the same case (:class:`sim.population.ListDist` replays the per-user values). For every
activation the approval outcome, time to access, Identity Center membership interval, number of launches and
effective end must be equal.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import httpx2
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from pim_support import many_users_world

import jitbox
from jitbox.world import World
from sim.engine import simulate_events
from sim.population import ExplicitArrivals, ListDist, Population
from sim.settings import APPROVAL_TIMEOUT, EntitlementMode, Settings

EC2 = "AWS - Amazon EC2 Admin"
ACCOUNT = "111122223333"
PERMISSION_SET = "EC2AdminAccess"
USERS = 4
MIN = 60.0
FAST_LATENCY = 5 * MIN + 30
"""One fast-path latency (min = max) so both sides agree on it [E-AWS]; off the whole-minute grid the cases draw
requests, deactivations and expiries on, so no export falls on the same instant as a removal: at such a tie the sandbox
runs its due timer before the client's request, while the model counts the removal first (no reference orders
simultaneous events)."""
SANDBOX_SETTINGS = Settings(
    membership_latency_max=0, fast_path_latency_min=FAST_LATENCY, fast_path_latency_max=FAST_LATENCY
)
PIM = "identityGovernance/privilegedAccess/group"


def _world() -> World:
    entra = many_users_world(USERS)  # an administrator and u0..u3, all eligible for EC2 and in "AWS - All users"
    identity_center = {
        "accounts": [{"id": ACCOUNT, "name": "workloads-prod", "email": "aws@jitbox.example"}],
        "permission_sets": [{"name": PERMISSION_SET, "session_duration": "PT1H"}],
        "account_assignments": [{"account": ACCOUNT, "permission_set": PERMISSION_SET, "group": EC2}],
    }
    return World(name="differential", entra=entra, identity_center=identity_center)


# --- the cases -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserCase:
    """One user's part of a case; durations in seconds."""

    request: float
    duration: float
    approver_delay: float | None
    """When the approver acts after the request (None: never; >= 24 h: too late [E-APPRV])."""
    deactivate_after: float | None
    """When the user self-deactivates after activation start (None: never)."""
    signin: float
    launch: float


@dataclass(frozen=True)
class Case:
    approval: bool
    portal: float
    mode: EntitlementMode
    users: tuple[UserCase, ...]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Draw a case: users in request order, whole minutes (so expiries and requests often meet cycle starts)."""
    approval = draw(st.booleans())
    n = draw(st.integers(min_value=1, max_value=USERS))
    users = []
    for _ in range(n):
        duration = draw(st.integers(min_value=30, max_value=150))
        delay = None
        if approval:
            delay = draw(st.one_of(st.none(), st.integers(0, 120), st.integers(1430, 1450)))
        deactivate = draw(st.one_of(st.none(), st.integers(1, duration - 1)))
        users.append(
            UserCase(
                request=draw(st.integers(0, 90)) * MIN,
                duration=duration * MIN,
                approver_delay=None if delay is None else delay * MIN,
                deactivate_after=None if deactivate is None else deactivate * MIN,
                signin=draw(st.integers(0, 60)) * MIN,
                launch=draw(st.integers(0, 15)) * MIN,
            )
        )
    users.sort(key=lambda u: u.request)
    portal = draw(st.sampled_from([30, 60, 120, 480])) * MIN
    mode = draw(st.sampled_from(list(EntitlementMode)))
    return Case(approval, portal, mode, tuple(users))


# --- the simulator side ----------------------------------------------------------------------------------------------


def simulated(case: Case) -> dict[str, list[float]]:
    """Run the case through the event engine; return its per-activation columns as lists."""
    s = SANDBOX_SETTINGS.replace(
        approval_required=case.approval, portal_session=case.portal, entitlement_mode=case.mode
    )
    u = case.users
    population = Population(
        arrivals=[ExplicitArrivals(times=[x.request for x in u])],
        requested_duration=ListDist(values=[x.duration for x in u]),
        approver_delay=ListDist(values=[APPROVAL_TIMEOUT if x.approver_delay is None else x.approver_delay for x in u]),
        self_deactivate_probability=1.0,
        self_deactivate_after=ListDist(
            values=[x.duration if x.deactivate_after is None else x.deactivate_after for x in u]
        ),
        signin_delay=ListDist(values=[x.signin for x in u]),
        launch_delay=ListDist(values=[x.launch for x in u]),
    )
    result = simulate_events(s, population, seed=3)
    keys = ("outcome", "start", "time_to_access", "idc_start", "idc_end", "launches", "effective_end")
    return {k: [float(v) for v in result.columns[k]] for k in keys}


# --- the sandbox side ------------------------------------------------------------------------------------------------


@dataclass
class Driver:
    """The served sandbox plus the clients a user, an approver and an administrator would hold."""

    sb: Any
    aws: httpx2.Client
    sso: Any
    ids: Any

    def advance_to(self, t: float) -> None:
        now = self.now()
        if t > now:
            r = self.aws.post("/_sandbox/clock/advance", json={"seconds": t - now})
            assert r.status_code == 200, r.text

    def now(self) -> float:
        return float(self.sb.clock.time())

    def log(self) -> list[dict[str, Any]]:
        r = self.aws.get("/_sandbox/requests")
        assert r.status_code == 200, r.text
        entries: list[dict[str, Any]] = r.json()["requests"]
        return entries


@pytest.fixture(scope="module")
def driver() -> Iterator[Driver]:
    with jitbox.sandbox(world=_world(), settings=SANDBOX_SETTINGS, patch_env=False) as sb:
        url = sb.aws_endpoint_url
        kw = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
        with httpx2.Client(base_url=url, timeout=60.0) as aws:
            yield Driver(sb, aws, boto3.client("sso", **kw), boto3.client("identitystore", **kw))


@dataclass
class UserRun:
    """What the sandbox showed for one user (Unix seconds; None where a step never happened)."""

    case: UserCase
    name: str
    request_id: str = ""
    start: float | None = None
    end: float | None = None
    """The end of the intended window as the user knows it (expiry or an accepted self-deactivation)."""
    outcome: str = "not_required"
    added: float | None = None
    removed: float | None = None
    token: str = ""
    launches: int = 0
    expiry: float | None = None
    stopped: bool = False


@dataclass(order=True)
class _Action:
    at: float
    seq: int
    kind: str = field(compare=False)
    user: int = field(compare=False)


def _require_approval(g: httpx2.Client, group_id: str, approver_id: str, on: bool) -> None:
    """Turn the group's member activation approval on (the admin as the one approver) or off, through Graph."""
    r = g.get(
        "policies/roleManagementPolicyAssignments",
        params={"$filter": f"scopeId eq '{group_id}' and scopeType eq 'Group' and roleDefinitionId eq 'member'"},
    )
    assert r.status_code == 200, r.text
    policy_id = r.json()["value"][0]["policyId"]
    stage = {
        "approvalStageTimeOutInDays": 1,
        "isApproverJustificationRequired": True,
        "escalationTimeInMinutes": 0,
        "isEscalationEnabled": False,
        "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": approver_id}],
        "escalationApprovers": [],
    }
    body = {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
        "setting": {
            "isApprovalRequired": on,
            "isApprovalRequiredForExtension": False,
            "isRequestorJustificationRequired": True,
            "approvalMode": "SingleStage",
            "approvalStages": [stage],
        },
    }
    r = g.patch(f"policies/roleManagementPolicies/{policy_id}/rules/Approval_EndUser_Assignment", json=body)
    assert r.status_code == 204, r.text


class SandboxRun:
    """Play one case on the served sandbox, as the users, the approver and the clock would."""

    def __init__(self, d: Driver, case: Case) -> None:
        self.d = d
        self.case = case
        d.sb.reset(clock=True)
        r = d.aws.post("/_sandbox/aws/settings", json={"portal_session": case.portal, "entitlement_mode": case.mode})
        assert r.status_code == 200, r.text
        status = httpx2.get(d.sb.config()["graph_sandbox_url"] + "provisioning", timeout=60.0).json()
        self.origin = float(next(iter(status.values()))["origin"])
        store = d.sb.config()["aws_identity_store_id"]

        def alt(path: str, value: str) -> dict[str, Any]:
            return {"UniqueAttribute": {"AttributePath": path, "AttributeValue": value}}

        self.group = d.ids.get_group_id(IdentityStoreId=store, AlternateIdentifier=alt("displayName", EC2))["GroupId"]
        self.users = [UserRun(u, f"u{i}") for i, u in enumerate(case.users)]
        self.idc_user = {
            d.ids.get_user_id(IdentityStoreId=store, AlternateIdentifier=alt("userName", f"{r.name}@jitbox.example"))[
                "UserId"
            ]: i
            for i, r in enumerate(self.users)
        }
        self.admin = d.sb.graph("admin")
        self.group_id = self.admin.get("groups", params={"$filter": f"displayName eq '{EC2}'"}).json()["value"][0]["id"]
        admin_id = self.admin.get("me").json()["id"]
        _require_approval(self.admin, self.group_id, admin_id, case.approval)
        self.actions: list[_Action] = []
        self.seq = 0
        self.seen = 0

    def push(self, at: float, kind: str, user: int) -> None:
        self.seq += 1
        heapq.heappush(self.actions, _Action(at, self.seq, kind, user))

    def run(self) -> list[UserRun]:
        cycle = SANDBOX_SETTINGS.cycle_interval
        for i, u in enumerate(self.users):
            self.push(self.origin + u.case.request, "request", i)
        while self.actions or self._awaiting_add():
            t = self.actions[0].at if self.actions else math.inf
            if self._awaiting_add():  # stop at each instant an add may reach Identity Center, to see when it did
                k = math.floor((self.d.now() - self.origin) / cycle) + 1
                t = min(t, self.origin + k * cycle, *self._fast_path_instants())
            self.d.advance_to(t)
            self._read_log()
            while self.actions and self.actions[0].at <= self.d.now():
                a = heapq.heappop(self.actions)
                getattr(self, "_" + a.kind)(a.user)
                self._read_log()
        ends = [u.end for u in self.users if u.end is not None]
        if ends:  # let every removal reach Identity Center: the next cycle after the last intended end
            self.d.advance_to(max(ends) + 2 * cycle)
            self._read_log()
        self.admin.close()
        return self.users

    def _awaiting_add(self) -> bool:
        """Return True while an activation has not reached Identity Center and still may (it has not ended)."""
        now = self.d.now()
        return any(u.start is not None and u.added is None and u.end is not None and u.end > now for u in self.users)

    def _fast_path_instants(self) -> list[float]:
        now = self.d.now()
        out = [u.start + FAST_LATENCY for u in self.users if u.start is not None and u.added is None]
        return [t for t in out if t > now] or [math.inf]

    def _read_log(self) -> None:
        log = self.d.log()
        for e in log[self.seen :]:
            if e.get("eventName") != "PatchGroup" or not str(e.get("path", "")).endswith(self.group):
                continue
            if not 200 <= int(e.get("status", 0)) < 300:
                continue
            at = datetime.fromisoformat(str(e["eventTime"]).replace("Z", "+00:00")).timestamp()
            for op in ((e.get("requestParameters") or {}).get("httpBody") or {}).get("Operations") or []:
                for v in op.get("value") or []:
                    i = self.idc_user.get(v.get("value"))
                    if i is None:
                        continue
                    u = self.users[i]
                    if op["op"].lower() == "add" and u.added is None:
                        u.added = at
                        self.push(at + u.case.signin, "signin", i)
                    elif op["op"].lower() == "remove" and u.removed is None:
                        u.removed = at
        self.seen = len(log)

    # --- the actions ---------------------------------------------------------------------------------------------
    def _request(self, i: int) -> None:
        u = self.users[i]
        req = self.d.sb.activate(u.name, EC2, u.case.duration)
        u.request_id = req["id"]
        if req["status"] == "PendingApproval":
            if u.case.approver_delay is not None:
                self.push(self.d.now() + u.case.approver_delay, "approve", i)
            return
        self._started(i)

    def _started(self, i: int) -> None:
        u = self.users[i]
        u.start = self.d.now()
        u.end = u.start + u.case.duration
        if u.case.deactivate_after is not None:
            self.push(u.start + u.case.deactivate_after, "deactivate", i)

    def _approve(self, i: int) -> None:
        u = self.users[i]
        stage = self.admin.get(f"{PIM}/assignmentApprovals/{u.request_id}").json()["stages"][0]["id"]
        r = self.admin.patch(
            f"{PIM}/assignmentApprovals/{u.request_id}/steps/{stage}",
            json={"reviewResult": "Approve", "justification": "differential test"},
        )
        if r.status_code == 409:  # the 24-hour window has passed [E-APPRV]
            u.outcome = "expired"
            return
        assert r.status_code == 204, r.text
        u.outcome = "approved"
        self._started(i)

    def _deactivate(self, i: int) -> None:
        u = self.users[i]
        with self.d.sb.graph(u.name) as g:
            me = g.get("me").json()["id"]
            body = {"accessId": "member", "principalId": me, "groupId": self.group_id, "action": "selfDeactivate"}
            r = g.post(f"{PIM}/assignmentScheduleRequests", json=body)
        if r.status_code == 201:
            u.end = self.d.now()
            return
        assert r.json()["error"]["code"] == "ActiveDurationTooShort", r.text  # within 5 min [E-ASSIGN]

    def _signin(self, i: int) -> None:
        u = self.users[i]
        u.token = self.d.sb.signin(u.name)
        self.push(self.d.now() + u.case.launch, "launch", i)

    def _launch(self, i: int) -> None:
        u = self.users[i]
        assert u.end is not None
        if u.launches and self.d.now() >= u.end:  # the activation is over: no relaunch
            return
        try:
            creds = self.d.sso.get_role_credentials(roleName=PERMISSION_SET, accountId=ACCOUNT, accessToken=u.token)
        except ClientError:
            return  # refused: no more launches with this session
        u.launches += 1
        u.expiry = creds["roleCredentials"]["expiration"] / 1000
        if u.launches < 24:
            self.push(u.expiry, "launch", i)


# --- the comparison --------------------------------------------------------------------------------------------------

OUTCOME = {"not_required": 0, "approved": 1, "expired": 3}


def check(d: Driver, case: Case) -> list[UserRun]:
    """Play ``case`` on the sandbox and the engine; assert equal outcomes, times to access, membership intervals,
    launches and effective ends for every activation."""
    run = SandboxRun(d, case)
    users = run.run()
    sim = simulated(case)
    origin = run.origin

    def rel(t: float | None) -> float:
        return math.nan if t is None else t - origin

    for i, u in enumerate(users):
        outcome = u.outcome
        if case.approval and u.start is None and outcome == "not_required":
            outcome = "expired"  # nobody acted: the request expired after 24 h [E-APPRV]
        got = {
            "outcome": float(OUTCOME[outcome]),
            "start": rel(u.start),
            "time_to_access": math.nan if u.added is None else u.added - origin - u.case.request,
            "idc_start": rel(u.added),
            "idc_end": rel(u.removed if u.added is not None else None),
            "launches": float(u.launches),
            "effective_end": rel(u.expiry),
        }
        want = {k: v[i] for k, v in sim.items()}
        for k, v in got.items():
            assert (math.isnan(v) and math.isnan(want[k])) or math.isclose(v, want[k], abs_tol=1e-6), (i, k, got, want)
    return users


@settings(max_examples=5, deadline=None)
@given(case=cases())
def test_approvals_expiry_and_sessions_equal_in_served_sandbox_and_engine(driver: Driver, case: Case) -> None:
    check(driver, case)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(case=cases())
def test_approvals_expiry_and_sessions_equal_in_served_sandbox_and_engine_fuzz(driver: Driver, case: Case) -> None:
    check(driver, case)


def test_an_approval_after_the_24_hour_window_and_a_refused_early_deactivation_match_the_engine(
    driver: Driver,
) -> None:
    users = (
        UserCase(0, 60 * MIN, 10 * MIN, 3 * MIN, 0, 0),  # approved after 10 min; deactivation at 3 min refused
        UserCase(0, 60 * MIN, 24 * 60 * MIN, None, 0, 0),  # the approver acts exactly at 24 h: too late
        UserCase(5 * MIN, 90 * MIN, 30 * MIN, 20 * MIN, 10 * MIN, 5 * MIN),  # self-deactivated after 20 min
    )
    runs = check(driver, Case(True, 480 * MIN, EntitlementMode.SIGNIN_SNAPSHOT, users))
    assert [r.outcome for r in runs] == ["approved", "expired", "approved"]
    first, late, early_end = runs
    assert first.start is not None and first.end == first.start + 60 * MIN  # the refused deactivation changed nothing
    assert late.added is None and late.expiry is None
    assert early_end.start is not None and early_end.end == early_end.start + 20 * MIN
    assert first.expiry is not None and early_end.expiry is not None
