"""The provisioning engine against jitbox's Identity Center fake and scim2-server, on the virtual clock.

Timing assertions compare observed SCIM PATCH times with what :mod:`sim.rules` predicts for the same inputs.
"""

from __future__ import annotations

import json
import math

import pytest
from pim_support import PIM, make_sandbox, many_users_world

from pim_fake.provisioning import EngineOptions, EscrowSchedule, QuarantineMode, RetryPolicy
from sim.rules import idc_add_time, idc_remove_time
from sim.settings import Settings

EC2 = "AWS - Amazon EC2 Admin"
ALL = "AWS - All users"
RICH = "rich.roe@jitbox.example"


@pytest.mark.parametrize("target", ["jitbox", "scim2"])
def test_initial_cycle_creates_assigned_users_and_groups_empty_then_members(target: str) -> None:
    sb = make_sandbox(target=target, aad_opt=target == "scim2")
    assert sb.memberships() == {EC2: set(), ALL: {RICH, "jane.doe@jitbox.example", "mateo.jackson@jitbox.example"}}
    assert all(sb.active_users().values())
    assert "admin@jitbox.example" not in sb.active_users()  # the admin is not assigned: out of scope
    methods = [(m, u.split("/v2/")[-1].split("?")[0].split("/")[0]) for _, m, u, _ in sb.calls]
    # match first, then create: GET Users before POST Users; groups POSTed empty, members PATCHed afterwards
    assert methods.index(("GET", "Users")) < methods.index(("POST", "Users"))
    posts = [b for _, m, u, b in sb.calls if m == "POST" and u.endswith("/Groups")]
    assert posts and all("members" not in b for b in posts)
    gets = [u for _, m, u, _ in sb.calls if m == "GET" and "/Groups" in u]
    assert all("excludedAttributes=members" in u and "filter=displayName" in u for u in gets)


@pytest.mark.parametrize("target", ["jitbox", "scim2"])
def test_activation_expiry_and_deactivation_reach_the_target(target: str) -> None:
    sb = make_sandbox(target=target, aad_opt=target == "scim2")
    sb.activate("rich", duration="PT1H")
    sb.clock.advance(10 * 60)
    assert RICH in sb.memberships()[EC2]
    sb.clock.advance(2 * 3600)
    assert RICH not in sb.memberships()[EC2]
    assert sb.memberships()[ALL] == {RICH, "jane.doe@jitbox.example", "mateo.jackson@jitbox.example"}


def test_fast_path_add_time_equals_sim_rules_prediction() -> None:
    s = Settings()
    sb = make_sandbox(settings=s)
    origin = sb.job.origin
    assert origin is not None
    sb.clock.advance(7 * 60 + 3)
    sb.activate("rich", duration="PT1H")
    record = sb.job.fast_path[-1]
    assert record.fast and s.fast_path_latency_min <= record.latency <= s.fast_path_latency_max
    sb.clock.advance(3 * 3600)
    adds, removes = sb.patch_times("Add"), sb.patch_times("Remove")
    entra_add = record.at
    entra_remove = entra_add + 3600
    expected_add = origin + idc_add_time(entra_add - origin, entra_remove - origin, True, record.latency, s)  # type: ignore[operator]
    expected_remove = origin + idc_remove_time(entra_remove - origin, entra_remove - origin, s)
    assert adds[-1] == pytest.approx(expected_add, abs=1e-6)
    assert removes[-1] == pytest.approx(expected_remove, abs=1e-6)
    assert 120 <= adds[-1] - entra_add <= 600


def test_sixth_activation_within_ten_seconds_waits_for_next_cycle() -> None:
    s = Settings()
    sb = make_sandbox(settings=s, world=many_users_world(6))
    origin = sb.job.origin
    assert origin is not None
    sb.clock.advance(100)
    for i in range(6):
        sb.activate(f"u{i}", duration="PT2H")
        sb.clock.advance(1)
    records = sb.job.fast_path
    assert [r.fast for r in records] == [True] * 5 + [False]
    sb.clock.advance(3600)
    add_times = {}
    ec2_scim = sb.job.groups[sb.group_id(EC2)].scim_id
    for t, method, url, body in sb.calls:
        if method == "PATCH" and url.endswith(ec2_scim) and body["Operations"][0]["op"] == "Add":
            for v in body["Operations"][0]["value"]:
                add_times.setdefault(v["value"], t)
    scim_ids = {uid: u.scim_id for uid, u in sb.job.users.items()}
    for r in records:
        expected = origin + idc_add_time(r.at - origin, math.inf, r.fast, r.latency, s)  # type: ignore[operator]
        assert add_times[scim_ids[r.user_id]] == pytest.approx(expected, abs=1e-6)
    sixth = records[-1]
    assert add_times[scim_ids[sixth.user_id]] == pytest.approx(origin + 2400)


def test_cycle_processing_delay_and_phase_follow_the_rules() -> None:
    s = Settings(cycle_processing=90, cycle_phase=600)
    sb = make_sandbox(settings=s)
    origin = sb.job.origin
    assert origin is not None
    sb.clock.advance(5 * 60)
    sb.activate("rich", duration="PT30M")
    r = sb.job.fast_path[-1]
    sb.clock.advance(4 * 3600)
    expected_remove = origin + idc_remove_time(r.at + 1800 - origin, r.at + 1800 - origin, s)
    assert sb.patch_times("Remove")[-1] == pytest.approx(expected_remove)
    assert (expected_remove - origin - 90 - 600) % 2400 == pytest.approx(0)


def test_activation_in_fixed_window_mode_uses_the_same_throttle_as_the_simulator() -> None:
    s = Settings(fast_path_window_mode="fixed")
    sb = make_sandbox(settings=s, world=many_users_world(7))
    sb.clock.advance(5)  # 5 s into the first 10-s window
    for i in range(7):
        sb.activate(f"u{i}")
    assert [r.fast for r in sb.job.fast_path] == [True] * 5 + [False] * 2


def test_converges_under_twenty_percent_429_and_500_faults() -> None:
    sb = make_sandbox(world=many_users_world(12), start=False)
    idc = sb.idc
    faults = TestClientFor(idc)
    r = faults.post(
        "/_sandbox/faults",
        json={
            "rules": [
                {"route": "*", "status": 429, "probability": 0.1},
                {"route": "*", "status": 500, "probability": 0.1},
            ]
        },
    )
    assert r.status_code == 200, r.text
    sb.job.start()
    for i in range(0, 12, 2):
        sb.activate(f"u{i}", duration="PT8H")
    sb.clock.advance(6 * 3600)
    failures = [e for e in sb.job.logs if e["provisioningStatusInfo"]["status"] == "failure"]
    assert failures, "the faults must have hit some calls"
    assert {e["provisioningStatusInfo"]["errorInfo"]["errorCode"] for e in failures} <= {
        "TooManyRequests",
        "InternalServerError",
    }
    expected = {f"u{i}@jitbox.example" for i in range(0, 12, 2)}
    assert sb.memberships()[EC2] == expected
    assert sb.memberships()[ALL] == {f"u{i}@jitbox.example" for i in range(12)}
    # the 8 h activations expire at a cycle start, so the removal is due one cycle later; give the faults several
    # regular cycles (each removal PATCH fails with probability 0.2, so 7 cycles leave ~1e-5 chance of no success)
    sb.clock.advance(7 * 3600)
    late = [(e["activityDateTime"], e["provisioningStatusInfo"]["status"]) for e in sb.job.logs[-6:]]
    assert sb.memberships()[EC2] == set(), late


def TestClientFor(app: object):
    from fastapi.testclient import TestClient

    return TestClient(app)  # type: ignore[arg-type]


def test_retry_after_is_honoured_on_the_clock_with_the_retry_after_switch() -> None:
    options = EngineOptions(adscim_group_schema=False, retry_policy=RetryPolicy.RETRY_AFTER)
    sb = make_sandbox(target="scim2", aad_opt=True, start=False, options=options)
    real = sb.scim_client.request
    state = {"n": 0}

    def flaky(method: str, url: str, **kw: object):  # type: ignore[no-untyped-def]
        import httpx2

        if method == "POST" and url.endswith("/Users") and state["n"] == 0:
            state["n"] += 1
            return httpx2.Response(429, headers={"Retry-After": "30"}, request=httpx2.Request(method, url))
        return real(method, url, **kw)  # type: ignore[arg-type]

    sb.job.client.request = flaky  # type: ignore[method-assign]
    sb.job.start()
    users_before = set(sb.active_users())
    assert len(users_before) == 2  # one of three users throttled
    sb.clock.advance(29)
    assert len(sb.active_users()) == 2
    sb.clock.advance(1)
    assert len(sb.active_users()) == 3


def test_bad_token_quarantines_the_job_and_slows_cycles_to_daily() -> None:
    sb = make_sandbox(token="wrong-token")
    job = sb.job.to_json()
    assert job["status"]["code"] == "Quarantine"
    assert job["status"]["quarantine"]["reason"] == "EncounteredQuarantineException"
    waits = []
    last = sb.clock.time()
    for _ in range(7):
        nxt = sb.job.next_cycle
        assert nxt is not None
        waits.append(nxt - last)
        sb.clock.advance(nxt - sb.clock.time())
        last = nxt
    assert waits[0] == 2 * 2400 and waits[1] == 4 * 2400
    assert waits[-1] == 86400  # "gradually reduced to once per day"


def test_daily_quarantine_switch() -> None:
    sb = make_sandbox(token="wrong-token", options=EngineOptions(quarantine_mode=QuarantineMode.DAILY))
    assert sb.job.next_cycle == pytest.approx(sb.clock.time() + 86400)


def test_non_transient_failure_goes_to_escrow_with_documented_backoff() -> None:
    world = many_users_world(1)
    world["users"][1]["userPrincipalName"] = "bad\tname@jitbox.example"
    sb = make_sandbox(world=world)
    escrows = sb.job.to_json()["escrows"]
    assert len(escrows) == 1 and escrows[0]["failures"] == 1
    first = sb.clock.time()
    assert sb.job.escrow[("user", sb.user_id("u0"))].next_attempt == first + 6 * 3600
    sb.clock.advance(6 * 3600)
    assert sb.job.escrow[("user", sb.user_id("u0"))].next_attempt == first + 12 * 3600
    sb.clock.advance(6 * 3600)
    assert sb.job.escrow[("user", sb.user_id("u0"))].next_attempt == first + 24 * 3600


def test_exponential_escrow_switch() -> None:
    world = many_users_world(1)
    world["users"][1]["userPrincipalName"] = "bad\tname@jitbox.example"
    sb = make_sandbox(world=world, options=EngineOptions(escrow_schedule=EscrowSchedule.EXPONENTIAL))
    assert sb.job.escrow[("user", sb.user_id("u0"))].next_attempt == sb.clock.time() + 1800


def test_member_changes_are_batched_at_most_100_per_patch() -> None:
    sb = make_sandbox(world=many_users_world(150, eligible_all=False))
    sizes = [
        len(b["Operations"][0]["value"])
        for _, m, u, b in sb.calls
        if m == "PATCH" and "/Groups/" in u and b["Operations"][0]["op"] == "Add"
    ]
    assert sizes == [100, 50]
    assert len(sb.memberships()[ALL]) == 150


def test_legacy_and_aadoptscim062020_patch_forms() -> None:
    legacy = make_sandbox()
    legacy.activate("rich", duration="PT30M")
    legacy.clock.advance(3 * 3600)
    removes = [b for _, m, u, b in legacy.calls if m == "PATCH" and b["Operations"][0]["op"] == "Remove"]
    assert removes[0]["Operations"][0]["path"] == "members" and removes[0]["Operations"][0]["value"][0]["$ref"] is None
    flagged = make_sandbox(target="scim2", aad_opt=True)
    flagged.activate("rich", duration="PT30M")
    flagged.clock.advance(3 * 3600)
    ops = [b["Operations"][0] for _, m, u, b in flagged.calls if m == "PATCH" and "/Groups/" in u]
    assert ops[0]["op"] == "add"
    assert ops[-1] == {
        "op": "remove",
        "path": f'members[value eq "{flagged.job.users[flagged.user_id("rich")].scim_id}"]',
    }


def test_unassigned_user_is_disabled_with_active_false_string_in_legacy_mode() -> None:
    sb = make_sandbox()
    tenant = sb.tenant
    all_users = sb.group_id(ALL)
    r = sb.graph.delete(f"/v1.0/groups/{all_users}/members/{sb.user_id('jane')}/$ref", headers=sb.h("admin"))
    assert r.status_code == 204
    sb.clock.advance(2400)
    assert sb.active_users()["jane.doe@jitbox.example"] is False
    body = [b for _, m, u, b in sb.calls if m == "PATCH" and "/Users/" in u][-1]
    assert body["Operations"] == [{"op": "Replace", "path": "active", "value": "False"}]
    assert tenant.jobs  # the job stays healthy
    assert sb.job.to_json()["status"]["code"] == "Active"


def test_provisioning_log_has_an_entry_step_for_every_scim_call() -> None:
    sb = make_sandbox()
    sb.activate("rich")
    sb.clock.advance(3 * 3600)
    r = sb.graph.get("/v1.0/auditLogs/provisioning", headers=sb.h("admin"))
    entries = r.json()["value"]
    steps = [s for e in entries for s in e["provisioningSteps"] if s["provisioningStepType"] in ("matching", "export")]
    assert len(steps) == len(sb.calls)
    e = entries[0]
    for key in (
        "id",
        "activityDateTime",
        "changeId",
        "cycleId",
        "jobId",
        "provisioningAction",
        "provisioningStatusInfo",
    ):
        assert key in e
    assert {x["provisioningAction"] for x in entries} <= {"create", "update", "disable", "delete", "other"}
    assert any(x["cycleId"].startswith("fastpath-") for x in entries)


def test_sync_job_api_start_pause_restart_status() -> None:
    sb = make_sandbox(start=False)
    sp = sb.tenant.identity_center_app()
    assert sp is not None
    base = f"/v1.0/servicePrincipals/{sp.id}/synchronization/jobs"
    jobs = sb.graph.get(base, headers=sb.h("admin")).json()["value"]
    assert jobs[0]["status"]["code"] == "NotRun" and jobs[0]["schedule"]["interval"] == "PT40M"
    jid = jobs[0]["id"]
    assert sb.graph.post(f"{base}/{jid}/start", headers=sb.h("admin")).status_code == 204
    assert sb.graph.get(f"{base}/{jid}", headers=sb.h("admin")).json()["status"]["code"] == "Active"
    assert len(sb.memberships()[ALL]) == 3
    assert sb.graph.post(f"{base}/{jid}/pause", headers=sb.h("admin")).status_code == 204
    status = sb.graph.get(f"{base}/{jid}", headers=sb.h("admin")).json()
    assert status["status"]["code"] == "Paused" and status["schedule"]["state"] == "Paused"
    sb.activate("rich")
    sb.clock.advance(1800)
    assert sb.memberships()[EC2] == set()  # paused: no fast path, no cycles
    assert (
        sb.graph.post(
            f"{base}/{jid}/restart", headers=sb.h("admin"), json={"criteria": {"resetScope": "Full"}}
        ).status_code
        == 204
    )
    assert sb.memberships()[EC2] == {RICH}
    assert sb.graph.post(f"{base}/nope/start", headers=sb.h("admin")).status_code == 404
    assert sb.graph.get(base, headers=sb.h("rich")).status_code == 403


def test_provision_on_demand_user_and_group_limits() -> None:
    sb = make_sandbox(world=many_users_world(6, eligible_all=False), start=False)
    sp = sb.tenant.identity_center_app()
    assert sp is not None
    jid = sb.job.id
    url = f"/v1.0/servicePrincipals/{sp.id}/synchronization/jobs/{jid}/provisionOnDemand"

    def body(oid: str, kind: str) -> dict[str, object]:
        return {"parameters": [{"subjects": [{"objectId": oid, "objectTypeName": kind}], "ruleId": "r1"}]}

    r = sb.graph.post(url, headers=sb.h("admin"), json=body(sb.user_id("u1"), "User"))
    assert r.status_code == 200 and json.loads(r.json()["key"]) == {"result": "Success", "details": {}}
    assert set(sb.active_users()) == {"u1@jitbox.example"}
    six = body(sb.group_id(ALL), "Group")
    six["parameters"][0]["subjects"][0]["links"] = {  # type: ignore[index]
        "members": [{"objectId": sb.user_id(f"u{i}"), "objectTypeName": "User"} for i in range(6)]
    }
    r = sb.graph.post(url, headers=sb.h("admin"), json=six)
    assert r.status_code == 400 and "up to 5 members" in r.json()["error"]["message"]
    r = sb.graph.post(url, headers=sb.h("admin"), json=body(sb.group_id(EC2), "Group"))
    assert r.status_code == 200
    assert sb.memberships()[EC2] == set()  # the (empty) privileged group exists in AWS first [E-AWS]
    r = sb.graph.post(url, headers=sb.h("admin"), json={"parameters": []})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"


def test_same_seed_same_provisioning_history() -> None:
    def run() -> list[tuple[float, str, str]]:
        sb = make_sandbox(world=many_users_world(8), seed=11)
        for i in range(8):
            sb.activate(f"u{i}")
        sb.clock.advance(3 * 3600)
        return [(t, m, u.split("/v2/")[-1]) for t, m, u, _ in sb.calls]

    assert run() == run()


def test_membership_added_outside_pim_waits_for_the_cycle() -> None:
    sb = make_sandbox()
    origin = sb.job.origin
    assert origin is not None
    sb.clock.advance(60)
    r = sb.graph.post(
        f"/v1.0/groups/{sb.group_id(EC2)}/members/$ref",
        headers=sb.h("admin"),
        json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{sb.user_id('jane')}"},
    )
    assert r.status_code == 204
    assert sb.job.fast_path == []
    sb.clock.advance(2400)
    assert sb.patch_times("Add")[-1] == origin + 2400


def test_pim_graph_path_constant_is_used() -> None:
    assert PIM.endswith("/privilegedAccess/group")


def test_escrow_thresholds_quarantine_the_job() -> None:
    import httpx2

    sb = make_sandbox(start=False, options=EngineOptions(escrow_eval_min_failures=3, escrow_proportion=0.4))

    def refuse(method: str, url: str, **kw: object) -> httpx2.Response:
        return httpx2.Response(400, json={"detail": "bad"}, request=httpx2.Request(method, url))

    sb.job.client.request = refuse  # type: ignore[method-assign,assignment]
    sb.job.start()
    status = sb.job.to_json()["status"]
    assert status["code"] == "Quarantine"
    assert status["quarantine"]["reason"] == "EncounteredEscrowProportionThreshold"
    assert sb.job.next_cycle == sb.clock.time() + 2 * 2400


def test_expiry_exactly_at_a_cycle_start_is_removed_by_the_next_cycle() -> None:
    s = Settings()
    sb = make_sandbox(settings=s)
    origin = sb.job.origin
    assert origin is not None
    sb.clock.advance(20 * 60)
    sb.activate("rich", duration="PT1H")  # ends at origin + 80 min, the start of the second incremental cycle
    sb.clock.advance(3 * 3600)
    expected = origin + idc_remove_time(80 * 60, 80 * 60, s)
    assert expected == origin + 120 * 60  # "strictly after" [sim.rules.next_cycle_after]
    assert sb.patch_times("Remove") == [expected]


def test_quarantine_ends_when_the_target_recovers_and_config_events_are_audited() -> None:
    import httpx2

    sb = make_sandbox(start=False)
    real = sb.job.client.request

    def unauthorized(method: str, url: str, **kw: object) -> httpx2.Response:
        return httpx2.Response(401, json={"detail": "bad token"}, request=httpx2.Request(method, url))

    sb.job.client.request = unauthorized  # type: ignore[method-assign,assignment]
    sb.job.start()
    assert sb.job.to_json()["status"]["code"] == "Quarantine"
    sb.job.client.request = real  # type: ignore[method-assign]
    nxt = sb.job.next_cycle
    assert nxt is not None
    sb.clock.advance(nxt - sb.clock.time())
    job = sb.job.to_json()
    assert job["status"]["code"] == "Active" and job["status"]["quarantine"] is None
    assert len(sb.memberships()[ALL]) == 3
    assert sb.job.origin is not None and (job["nextCycleDateTime"] is not None)
    audits = sb.graph.get(
        "/v1.0/auditLogs/directoryAudits",
        headers=sb.h("admin"),
        params={"$filter": "category eq 'ProvisioningManagement'"},
    ).json()["value"]
    assert [a["activityDisplayName"] for a in reversed(audits)] == [
        "Enable/start provisioning configuration",
        "Quarantine",
    ]
