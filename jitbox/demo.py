"""The sandbox half of ``jitbox demo``: the seed walkthrough [AWS-BLOG] replayed over real HTTP.

It starts the fakes in-process on 127.0.0.1 (:func:`jitbox.serve.start_sandbox`, manual clock) and plays the blog's
steps through the same APIs a user's code would call — Microsoft Graph on the Entra fake, SCIM between the fakes,
sso-admin / identitystore (JSON 1.1) and the portal API on the Identity Center fake — moving virtual time with
``POST /_sandbox/clock/advance``:

1. the initial provisioning cycle creates the users and groups in Identity Center [E-HOW];
2. the admin creates the ``EC2AdminAccess`` permission set (PT1H) and assigns the group to an account; sets the
   group's PIM activation maximum to 1 hour (``PATCH .../rules/Expiration_EndUser_Assignment``);
3. Rich Roe self-activates for 1 hour; the fast path carries the membership to AWS in 2–10 min [E-AWS];
4. Rich signs in to the portal at 0:59 and launches the permission set;
5. the activation expires at 1:00; the removal waits for the next regular cycle [E-AWS];
6. at 8:58 Rich launches again from the same portal session: allowed under ``signin_snapshot`` [AWS-BLOG],
   refused under ``launch_check`` [UG-revoke]; a fresh sign-in sees nothing.

Every observed instant is checked against :mod:`sim.rules` for the same inputs (the Entra add time and fast-path
latency the fake drew), and the window against :func:`sim.bounds.worst_case`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx2
from rich import box
from rich.console import Console
from rich.table import Table

from jitbox.serve import RunningSandbox, start_sandbox
from sim import rules
from sim.bounds import worst_case
from sim.clock import ManualClock
from sim.durations import format_duration
from sim.failure_modes import degraded_cases
from sim.settings import Settings, load_settings

__all__ = ["DemoError", "SandboxDemo", "SeedWorld", "run_sandbox_demo", "setup_seed_world"]

GROUP = "AWS - Amazon EC2 Admin"
ACCOUNT = "111122223333"
PERMISSION_SET = "EC2AdminAccess"
PIM = "/identityGovernance/privilegedAccess/group"


class DemoError(RuntimeError):
    """A step of the sandbox demo got an answer it did not expect; the message names the step and the answer."""


@dataclass
class SandboxDemo:
    """What the sandbox did, in seconds after the activation request, and what :mod:`sim.rules` predicts."""

    settings: Settings
    rows: list[tuple[float, str, str]] = field(default_factory=list)
    checks: list[tuple[str, float, float]] = field(default_factory=list)
    """``(what, observed, predicted)`` pairs, seconds after the activation request."""
    launch_at_858: dict[str, bool] = field(default_factory=dict)
    credentials_expire: float = math.nan

    def row(self, t: float, step: str, detail: str) -> None:
        """Record one timeline row."""
        self.rows.append((t, step, detail))

    @property
    def agrees(self) -> bool:
        """True when every observed instant equals the simulator's prediction.

        The request log stamps events to the second, so an instant agrees when it is the prediction truncated to
        the second.
        """
        return all(observed == math.floor(predicted) for _what, observed, predicted in self.checks)


class _Calls:
    """Thin HTTP helpers over the served fakes; any unexpected answer raises :class:`DemoError`."""

    def __init__(self, sb: RunningSandbox) -> None:
        cfg = sb.config()
        self.sb = sb
        self.cfg = cfg
        self.aws = str(cfg["aws_endpoint_url"])
        self.graph = str(cfg["graph_url"])
        self.http = httpx2.Client(timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def _ok(self, what: str, response: httpx2.Response, *codes: int) -> Any:
        if response.status_code not in (codes or (200,)):
            raise DemoError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def advance(self, seconds: float) -> None:
        self._ok("advance clock", self.http.post(f"{self.aws}/_sandbox/clock/advance", json={"seconds": seconds}))

    def graph_call(self, who: str, method: str, path: str, what: str, *codes: int, **kw: Any) -> Any:
        # Graph tokens expire on the sandbox clock (pim_fake.tokens): read the current one for every call
        headers = {"Authorization": f"Bearer {self.sb.config()['graph_tokens'][who]}"}
        return self._ok(what, self.http.request(method, self.graph + path, headers=headers, **kw), *codes)

    def aws_json(self, target: str, body: dict[str, Any], what: str) -> Any:
        headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
        return self._ok(what, self.http.post(self.aws + "/", json=body, headers=headers))

    def portal(self, path: str, token: str, what: str, **params: str) -> httpx2.Response:
        return self.http.get(self.aws + path, params=params, headers={"x-amz-sso_bearer_token": token})

    def sandbox_aws(self, path: str, body: dict[str, Any], what: str) -> Any:
        return self._ok(what, self.http.post(f"{self.aws}/_sandbox/aws/{path}", json=body))

    def scim_patch_times(self, group_scim_id: str) -> list[tuple[float, str]]:
        """Return ``(unix time, op)`` of every SCIM PATCH on the group, from the CloudTrail-like request log."""
        log = self._ok("request log", self.http.get(f"{self.aws}/_sandbox/requests"))
        events = log["requests"]
        out = []
        for event in events:
            if event.get("eventName") == "PatchGroup" and str(event.get("path", "")).endswith(group_scim_id):
                when = datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00")).timestamp()
                ops = event.get("requestParameters", {}).get("httpBody", {}).get("Operations", [])
                out.append((when, str(ops[0].get("op", "")).lower() if ops else ""))
        return out


def _setup(c: _Calls) -> tuple[str, str, str, str]:
    """Steps 1–2; return (Entra group id, Rich's Entra id, Identity Center group id, permission set ARN).

    The sandbox starts in the seed's world (``jitbox/worlds/seed.toml``): the initial cycle has provisioned the
    group, and EC2AdminAccess (PT1H) is assigned to it in the account; the demo reads them back over the AWS APIs.
    """
    ids = c.cfg["aws_identity_store_id"]
    arn = c.cfg["aws_instance_arn"]
    idc_group = c.aws_json(
        "AWSIdentityStore.GetGroupId",
        {
            "IdentityStoreId": ids,
            "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": GROUP}},
        },
        "identitystore GetGroupId after the initial cycle",
    )["GroupId"]
    ps = ""
    for candidate in c.aws_json("SWBExternalService.ListPermissionSets", {"InstanceArn": arn}, "ListPermissionSets")[
        "PermissionSets"
    ]:
        described = c.aws_json(
            "SWBExternalService.DescribePermissionSet",
            {"InstanceArn": arn, "PermissionSetArn": candidate},
            "DescribePermissionSet",
        )["PermissionSet"]
        if described["Name"] == PERMISSION_SET:
            ps = candidate
    if not ps:
        raise DemoError(f"the world has no permission set {PERMISSION_SET}")
    assigned = c.aws_json(
        "SWBExternalService.ListAccountAssignments",
        {"InstanceArn": arn, "AccountId": ACCOUNT, "PermissionSetArn": ps},
        "ListAccountAssignments",
    )["AccountAssignments"]
    if not any(a["PrincipalId"] == idc_group for a in assigned):
        raise DemoError(f"the world does not assign {PERMISSION_SET} to {GROUP} in {ACCOUNT}")
    group = c.graph_call(
        "admin", "GET", "/groups", "find the PIM group", params={"$filter": f"displayName eq '{GROUP}'"}
    )
    gid = str(group["value"][0]["id"])
    assignments = c.graph_call(
        "admin",
        "GET",
        "/policies/roleManagementPolicyAssignments",
        "find the group's member policy",
        params={"$filter": f"scopeId eq '{gid}' and scopeType eq 'Group' and roleDefinitionId eq 'member'"},
    )
    policy = assignments["value"][0]["policyId"]
    rule_path = f"/policies/roleManagementPolicies/{policy}/rules/Expiration_EndUser_Assignment"
    rule = c.graph_call("admin", "GET", rule_path, "read the expiration rule")
    rule.pop("@odata.context", None)
    rule["maximumDuration"] = "PT1H"
    c.graph_call("admin", "PATCH", rule_path, "set activation maximum to 1 hour", 204, json=rule)
    rich = str(c.graph_call("rich", "GET", "/me", "who is Rich")["id"])
    return gid, rich, idc_group, ps


@dataclass(frozen=True)
class SeedWorld:
    """The seed's world once set up: Entra group and Rich's ids, Identity Center group id, permission set ARN."""

    group_id: str
    rich_id: str
    idc_group_id: str
    permission_set_arn: str


def setup_seed_world(sb: RunningSandbox) -> SeedWorld:
    """Read the seed's world back over the sandbox's public APIs and set the group's activation maximum to 1 hour
    (steps 1–2 above); return its ids."""
    c = _Calls(sb)
    try:
        return SeedWorld(*_setup(c))
    finally:
        c.close()


def run_sandbox_demo(settings: Settings | None = None, *, seed: int = 7) -> SandboxDemo:
    """Replay the seed walkthrough over HTTP on an in-process sandbox; return the timeline and the checks."""
    s = settings or load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    demo = SandboxDemo(s)
    clock = ManualClock()
    with start_sandbox(clock, seed=seed, options={"seed": seed}, settings=s) as sb:
        c = _Calls(sb)
        try:
            _play(c, sb, clock, demo)
        finally:
            c.close()
    return demo


def _play(c: _Calls, sb: RunningSandbox, clock: ManualClock, demo: SandboxDemo) -> None:
    s = demo.settings
    gid, rich, idc_group, _ps = _setup(c)
    group_scim = idc_group  # Identity Center's group id is its SCIM id
    t0 = clock.time()
    c.graph_call(
        "rich",
        "POST",
        f"{PIM}/assignmentScheduleRequests",
        "Rich self-activates for 1 hour",
        201,
        json={
            "accessId": "member",
            "principalId": rich,
            "groupId": gid,
            "action": "selfActivate",
            "justification": "EC2 incident",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
        },
    )
    demo.row(0, "selfActivate (Graph)", "201 Provisioned; Entra membership added [E-ACT]")
    status = c._ok("provisioning status", c.http.get(str(c.cfg["graph_sandbox_url"]) + "provisioning"))
    job = next(iter(status.values()))
    decision = job["fastPath"][-1]

    c.advance(59 * 60)  # 0:59
    token = c.sandbox_aws("signin", {"user_name": "rich.roe@jitbox.example"}, "portal sign-in")["accessToken"]
    roles = c.portal("/assignment/roles", token, "list roles", account_id=ACCOUNT).json().get("roleList", [])
    demo.row(59 * 60, "portal sign-in + ListAccountRoles", f"{len(roles)} role(s): {[r['roleName'] for r in roles]}")
    first = c.portal("/federation/credentials", token, "launch", role_name=PERMISSION_SET, account_id=ACCOUNT)
    c._ok("GetRoleCredentials at 0:59", first)
    demo.row(59 * 60, "GetRoleCredentials", "credentials issued, expire in 1h [UG23-howto]")

    c.advance(9 * 3600 - 59 * 60 - 120)  # to 8:58
    late = c.portal("/federation/credentials", token, "late launch", role_name=PERMISSION_SET, account_id=ACCOUNT)
    allowed = late.status_code == 200
    demo.launch_at_858[s.entitlement_mode.value] = allowed
    if allowed:
        demo.credentials_expire = late.json()["roleCredentials"]["expiration"] / 1000 - t0
    fresh = c.sandbox_aws("signin", {"user_name": "rich.roe@jitbox.example"}, "second sign-in")["accessToken"]
    fresh_roles = c.portal("/assignment/roles", fresh, "fresh roles", account_id=ACCOUNT).json().get("roleList", [])
    c.sandbox_aws("settings", {"entitlement_mode": "launch_check"}, "switch to launch_check")
    checked = c.portal("/federation/credentials", token, "launch_check", role_name=PERMISSION_SET, account_id=ACCOUNT)
    demo.launch_at_858["launch_check"] = checked.status_code == 200

    patches = [(t - t0, op) for t, op in c.scim_patch_times(group_scim)]
    idc_add = next((t for t, op in patches if op == "add"), math.nan)
    idc_remove = next((t for t, op in patches if op == "remove"), math.nan)
    demo.row(idc_add, "SCIM PATCH Add member (Entra → IdC)", f"fast path {format_duration(idc_add)} [E-AWS]")
    demo.row(s.activation_max, "activation expires", "PIM removes the Entra membership within seconds [E-ACT]")
    demo.row(idc_remove, "SCIM PATCH Remove member", "next regular ~40-min cycle; removal not accelerated [E-AWS]")
    verdict = "allowed" if allowed else "refused"
    demo.row(8 * 3600 + 58 * 60, f"launch from the 0:59 portal session: {verdict}", f"mode {s.entitlement_mode.value}")
    demo.row(8 * 3600 + 58 * 60, "fresh sign-in", f"{len(fresh_roles)} role(s): membership is gone")
    demo.row(
        8 * 3600 + 58 * 60,
        f"same launch under launch_check: {'allowed' if demo.launch_at_858['launch_check'] else 'refused'}",
        "[UG-revoke]",
    )
    if allowed:
        demo.row(demo.credentials_expire, "role session ends", "launch + 1h; 8h 58m after the intended end")
    demo.rows.sort(key=lambda r: r[0])
    _check_against_rules(demo, job, decision, t0, (idc_add, idc_remove), allowed)


def _check_against_rules(
    demo: SandboxDemo,
    job: dict[str, Any],
    decision: dict[str, Any],
    t0: float,
    observed: tuple[float, float],
    allowed: bool,
) -> None:
    """Append to ``demo.checks`` what the simulator's rules say for the same inputs next to what the sandbox did."""
    s = demo.settings
    idc_add, idc_remove = observed
    entra_add = float(decision["at"])
    intended_end = t0 + s.activation_max
    # The simulator's rules on the same inputs: the Entra times and the fast-path latency the fake drew.
    entra_remove = intended_end  # the Entra fake removes the membership at expiry
    # The provisioning job's cycles start at its origin (the initial cycle), so on the Unix axis the phase is
    # origin mod interval.
    on_axis = s.replace(cycle_phase=float(job["origin"]) % s.cycle_interval)
    predicted = rules.idc_membership(entra_add, entra_remove, intended_end, True, float(decision["latency"]), on_axis)
    if predicted is None:
        raise DemoError("the simulator's rules predict no Identity Center membership for the demo's inputs")
    demo.checks.append(("Identity Center add", idc_add, predicted.start - t0))
    demo.checks.append(("Identity Center removal", idc_remove, predicted.end - t0))
    signin = t0 + 59 * 60
    launch = t0 + 8 * 3600 + 58 * 60
    rule_says = rules.launch_allowed(predicted, signin, launch, intended_end, on_axis)
    demo.checks.append(("launch at 8:58 allowed (1 = yes)", float(allowed), float(rule_says)))
    if allowed:
        demo.checks.append(
            ("credentials expire", demo.credentials_expire, rules.role_session_end(launch, intended_end, on_axis) - t0)
        )


def render_sandbox_demo(demo: SandboxDemo, console: Console) -> None:
    """Print the sandbox timeline, the checks against the simulator, and the bound."""
    plain = not console.is_terminal
    table = Table(
        title="sandbox over HTTP: Graph → SCIM → Identity Center → portal", box=box.ASCII if plain else box.SIMPLE
    )
    table.add_column("t+", justify="right")
    table.add_column("what the sandbox did")
    table.add_column("why")
    for t, step, detail in demo.rows:
        table.add_row(format_duration(t), step, detail)
    console.print(table)
    checks = Table(title="sandbox vs simulator (sim.rules on the same inputs)", box=box.ASCII if plain else box.SIMPLE)
    checks.add_column("instant")
    checks.add_column("sandbox", justify="right")
    checks.add_column("simulator", justify="right")
    for what, observed, predicted in demo.checks:
        if "(1 = yes)" in what:
            checks.add_row(what.replace(" (1 = yes)", ""), str(bool(observed)), str(bool(predicted)))
        else:
            checks.add_row(what, format_duration(observed), format_duration(predicted))
    console.print(checks)
    bound = worst_case(demo.settings)
    console.print(
        f"sandbox and simulator agree: {'yes' if demo.agrees else 'NO'}; observed access until "
        f"{format_duration(demo.credentials_expire)} after a 1h activation; closed-form worst case "
        f"{format_duration(bound.effective_end)}",
        markup=False,
    )
    retried = degraded_cases(demo.settings)[0]  # one failed removal, retried on the next cycle [E-PLOGS]
    console.print(
        f"degraded case: {retried.title}: Identity Center removal {format_duration(retried.bound.idc_removal)}, "
        f"worst case {format_duration(retried.bound.effective_end)} {retried.source} "
        "(every failure mode: jitbox bound --failed-removals N)",
        markup=False,
    )
