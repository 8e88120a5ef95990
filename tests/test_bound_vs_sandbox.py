"""Done-when for the failure modes: the served sandbox, with N = 0, 1, 2 injected removal failures, never outlives
``jitbox bound --failed-removals N`` (called as a user would), and for N >= 1 it outlives the nominal bound.

The walk is the seed's (1 h activation, 8 h portal, 1 h permission set, signin_snapshot [AWS-BLOG]) over real HTTP
(:func:`jitbox.serve.start_sandbox`): after the Identity Center add, ``POST /_sandbox/faults`` makes the next N
``PATCH /Groups`` answer 500, which the provisioning job retries on the next cycle [E-PLOGS]. The worst-case user
signs in one second before each cycle until the removal succeeds, then launches one minute before that portal
session ends; the credentials' expiry is the observed effective end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from cli_support import bound_json

from jitbox.demo import ACCOUNT, PERMISSION_SET, PIM, _Calls, _setup
from jitbox.serve import start_sandbox
from sim.clock import ManualClock
from sim.settings import load_settings

SEED_FLAGS = ("--activation", "1h", "--portal", "8h", "--permission-set", "1h")


def _cli_bound(failed: int) -> dict[str, Any]:
    return bound_json(*SEED_FLAGS, "--failed-removals", str(failed))


def _removed(c: _Calls, group: str) -> float | None:
    """Return the Unix time of the first successful SCIM PATCH that removed a member of ``group``, or None."""
    for event in c._ok("request log", c.http.get(f"{c.aws}/_sandbox/requests"))["requests"]:
        if event.get("eventName") != "PatchGroup" or not str(event.get("path", "")).endswith(group):
            continue
        ops = ((event.get("requestParameters") or {}).get("httpBody") or {}).get("Operations") or []
        if event.get("status") == 204 and ops and str(ops[0].get("op", "")).lower() == "remove":
            return datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00")).timestamp()
    return None


def _walk(failed: int) -> tuple[float, float, int]:
    """Return (removal, effective end) in seconds from activation start, and how many PATCHes got the injected 500."""
    s = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    clock = ManualClock()
    with start_sandbox(clock, seed=11, options={"seed": 11}, settings=s) as sb:
        c = _Calls(sb)
        try:
            gid, rich, idc_group, _ps = _setup(c)
            t0 = clock.time()
            body = {
                "accessId": "member",
                "principalId": rich,
                "groupId": gid,
                "action": "selfActivate",
                "justification": "EC2 incident",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
            }
            c.graph_call("rich", "POST", f"{PIM}/assignmentScheduleRequests", "selfActivate", 201, json=body)
            c.advance(30 * 60)  # the fast-path add (2-10 min [E-AWS]) is done
            rules = [{"route": "PATCH Groups", "status": 500, "count": failed}] if failed else []
            c._ok("inject faults", c.http.post(f"{c.aws}/_sandbox/faults", json={"rules": rules}))
            status = c._ok("provisioning", c.http.get(str(c.cfg["graph_sandbox_url"]) + "provisioning"))
            origin = float(next(iter(status.values()))["origin"])
            cycle = origin + s.cycle_interval * (1 + (clock.time() - origin) // s.cycle_interval)
            token = ""
            removal: float | None = None
            while removal is None:
                assert cycle - t0 < 12 * 3600, "the removal never happened"
                c.advance(cycle - 1 - clock.time())
                token = c.sandbox_aws("signin", {"user_name": "rich.roe@jitbox.example"}, "sign-in")["accessToken"]
                c.advance(2)
                removal = _removed(c, idc_group)
                cycle += s.cycle_interval
            # the worst-case user: signed in one second before the removal, launches just before the session ends
            c.advance(removal - 1 + s.portal_session - 60 - clock.time())
            launch = c.portal("/federation/credentials", token, "launch", role_name=PERMISSION_SET, account_id=ACCOUNT)
            c._ok("late launch", launch)
            expires = launch.json()["roleCredentials"]["expiration"] / 1000
            log = c._ok("request log", c.http.get(f"{c.aws}/_sandbox/requests"))["requests"]
            answered = sum(e.get("eventName") == "PatchGroup" and e.get("status") == 500 for e in log)
        finally:
            c.close()
    return removal - t0, expires - t0, answered


@pytest.mark.parametrize("failed", [0, 1, 2])
def test_sandbox_with_failed_removals_stays_within_jitbox_bound(failed: int) -> None:
    removal, effective_end, answered = _walk(failed)
    assert answered == failed  # every injected 500 hit a removal attempt
    doc = _cli_bound(failed)
    assert removal <= doc["bound"]["idc_removal"]
    assert effective_end <= doc["bound"]["effective_end"]
    nominal = doc["nominal"]
    if failed:
        assert removal > nominal["idc_removal"]
        assert effective_end > nominal["effective_end"]
    # the cycles run at the job's origin (the activation's start here) + k x 40 min: the expiry at 1 h is carried by
    # the 80-min cycle, and each failed attempt is retried on the next cycle [E-PLOGS]
    assert removal == pytest.approx((80 + 40 * failed) * 60, abs=1.0)
    assert any("failed removal" in c or "removal attempt succeeds" in c for c in doc["conditions"])
