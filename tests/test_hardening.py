"""Named regressions of the fuzzing findings of issue 14: every malformed request answers 4xx in its protocol's own
error format, never a 5xx, never exception text; limits on PATCH operations, request-log bytes and fault rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fakekit.body import MAX_BODY_BYTES, MAX_DEPTH, BodyError, json_depth, parse_json_body
from fakekit.guard import INTERNAL_MESSAGE
from pim_fake.app import create_app as create_entra
from scim_server.app import ScimOptions
from scim_server.app import create_app as create_idc
from scim_server.aws.http import JSON11
from scim_server.patch_rules import MAX_PATCH_OPERATIONS
from scim_server.sandbox import HIDDEN, MAX_FAULT_RULES, RequestLog, mask_body
from sim.clock import ManualClock
from sim.durations import DurationError, parse_duration

PIM = "/v1.0/identityGovernance/privilegedAccess/group"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


class Idc:
    def __init__(self) -> None:
        self.app = create_idc(ManualClock(), options=ScimOptions(rate_limit_rps=0), seed=3)
        self.ctx = self.app.state.idc
        self.c = TestClient(self.app, raise_server_exceptions=False)
        self.h = {"Authorization": f"Bearer {self.ctx.tokens.first_valid().secret}", "Content-Type": "application/json"}
        self.base = self.ctx.scim_path().rstrip("/")

    def scim(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Any:
        content = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.c.request(method, f"{self.base}/{path}", headers=self.h, content=content)


class Graph:
    def __init__(self) -> None:
        self.app = create_entra(ManualClock())
        self.c = TestClient(self.app, raise_server_exceptions=False)
        tokens = self.app.state.graph_tokens
        self.admin = {"Authorization": f"Bearer {tokens['admin']}"}
        self.rich = {"Authorization": f"Bearer {tokens['rich']}"}
        d = self.app.state.entra.directory
        self.ids = {u.name: u.id for u in d.users.values()}
        self.groups = {g.displayName: g.id for g in d.groups.values()}


@pytest.fixture
def idc() -> Idc:
    return Idc()


@pytest.fixture
def graph() -> Graph:
    return Graph()


def _scim_400(resp: Any, status: int = 400) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["schemas"] == [SCIM_ERROR] and body["status"] == str(status)


# --- the body reader ---------------------------------------------------------------------------------------------
def test_body_reader_refuses_deep_large_and_non_utf8_bodies() -> None:
    assert parse_json_body(_nested(MAX_DEPTH).encode()) == json.loads(_nested(MAX_DEPTH))
    for raw, kind in ((_nested(MAX_DEPTH + 1), "too_deep"), (_nested(5000), "too_deep"), ("\xff", "invalid")):
        with pytest.raises(BodyError) as info:
            parse_json_body(raw.encode("latin-1") if kind == "invalid" else raw.encode())
        assert info.value.kind == kind
    assert json_depth({"a": [{"b": 1}]}) == 3


@pytest.mark.parametrize("depth", [500, 990, 5000])
def test_scim_deeply_nested_json_is_a_scim_400(idc: Idc, depth: int) -> None:
    body = '{"schemas": ' + _nested(depth) + "}"
    _scim_400(idc.scim("POST", "Users", raw=body.encode()))
    _scim_400(idc.scim("PATCH", "Groups/x", raw=body.encode()))
    assert idc.c.get("/_sandbox/requests").status_code == 200  # the masker had nothing unbounded to walk


def test_scim_body_over_the_size_limit_is_a_413(idc: Idc) -> None:
    raw = b'{"userName": "' + b"a" * MAX_BODY_BYTES + b'"}'
    _scim_400(idc.scim("POST", "Users", raw=raw), status=413)


@pytest.mark.parametrize("depth", [500, 990, 5000])
def test_aws_json11_and_graph_and_sandbox_deep_json_are_their_own_400s(idc: Idc, graph: Graph, depth: int) -> None:
    raw = _nested(depth).encode()
    r = idc.c.post("/", content=raw, headers={"X-Amz-Target": "AWSIdentityStore.ListUsers", "Content-Type": JSON11})
    assert r.status_code == 400 and r.json()["__type"] == "SerializationException", r.text
    r = graph.c.post("/v1.0/groups", content=raw, headers={**graph.admin, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest", r.text
    for c in (idc.c, graph.c):
        r = c.post("/_sandbox/clock/advance", content=raw)
        assert r.status_code == 400 and r.json()["error"]["field"] == "body", r.text
    r = idc.c.post("/_sandbox/faults", content=raw)
    assert r.status_code == 400 and r.json()["error"]["field"] == "body", r.text


# --- Graph field types and date-times ----------------------------------------------------------------------------
def test_odata_filter_with_500_nested_parentheses_is_a_graph_400(graph: Graph) -> None:
    text = "(" * 500 + "id eq 'x'" + ")" * 500
    r = graph.c.get("/v1.0/groups", headers=graph.admin, params={"$filter": text})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest", r.text
    many = " or ".join(f"id eq '{i}'" for i in range(2000))
    r = graph.c.get("/v1.0/groups", headers=graph.admin, params={"$filter": many})
    assert r.status_code == 400, r.text
    fine = "(" * 20 + "displayName eq 'AWS - Amazon EC2 Admin'" + ")" * 20
    r = graph.c.get("/v1.0/groups", headers=graph.admin, params={"$filter": fine})
    assert r.status_code == 200 and len(r.json()["value"]) == 1, r.text


@pytest.mark.parametrize("group_types", ["Unified", 5, {"a": 1}, [1], None])
def test_group_types_that_is_not_a_list_of_strings_is_a_400(graph: Graph, group_types: Any) -> None:
    r = graph.c.post("/v1.0/groups", headers=graph.admin, json={"displayName": "G", "groupTypes": group_types})
    if group_types is None:
        assert r.status_code == 201, r.text
    else:
        assert r.status_code == 400 and "groupTypes" in r.json()["error"]["message"], r.text


def _activation(graph: Graph, **over: Any) -> dict[str, Any]:
    return {
        "accessId": "member",
        "action": "selfActivate",
        "principalId": graph.ids["rich"],
        "groupId": graph.groups["AWS - Amazon EC2 Admin"],
        "justification": "incident 42",
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
        **over,
    }


@pytest.mark.parametrize("ticket", [5, ["INC-1"], {"n": 1}, True])
def test_non_string_ticket_number_with_the_ticketing_rule_on_is_a_400(graph: Graph, ticket: Any) -> None:
    rule = {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
        "enabledRules": ["Justification", "Ticketing"],
    }
    policies = graph.c.get(
        f"/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '{graph.groups['AWS - Amazon EC2 Admin']}'"
        " and scopeType eq 'Group' and roleDefinitionId eq 'member'",
        headers=graph.admin,
    ).json()["value"]
    pid = policies[0]["policyId"]
    r = graph.c.patch(
        f"/v1.0/policies/roleManagementPolicies/{pid}/rules/Enablement_EndUser_Assignment",
        headers=graph.admin,
        json=rule,
    )
    assert r.status_code == 204, r.text
    body = _activation(graph, ticketInfo={"ticketNumber": ticket, "ticketSystem": "ServiceNow"})
    r = graph.c.post(f"{PIM}/assignmentScheduleRequests", headers=graph.rich, json=body)
    assert r.status_code == 400 and "ticketInfo.ticketNumber" in r.json()["error"]["message"], r.text


@pytest.mark.parametrize(
    "start", ["9999-12-31T00:00:00Z", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9500-01-01T00:00:00"]
)
def test_a_schedule_near_year_9999_is_a_400_and_listings_keep_working(graph: Graph, start: str) -> None:
    gid = graph.groups["AWS - Amazon EC2 Admin"]
    body = {
        "accessId": "member",
        "action": "adminAssign",
        "principalId": graph.ids["jane"],
        "groupId": gid,
        "justification": "far future",
        "scheduleInfo": {"startDateTime": start, "expiration": {"type": "afterDuration", "duration": "P365D"}},
    }
    r = graph.c.post(f"{PIM}/eligibilityScheduleRequests", headers=graph.admin, json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest", r.text
    listing = graph.c.get(f"{PIM}/eligibilitySchedules", headers=graph.admin, params={"$filter": f"groupId eq '{gid}'"})
    assert listing.status_code == 200, listing.text


def test_a_schedule_ending_past_year_9000_is_a_400(graph: Graph) -> None:
    body = _activation(graph, scheduleInfo={"expiration": {"type": "afterDuration", "duration": "P9999999D"}})
    body.update(action="adminAssign", principalId=graph.ids["jane"])
    r = graph.c.post(f"{PIM}/eligibilityScheduleRequests", headers=graph.admin, json=body)
    assert r.status_code == 400, r.text


def test_an_unhandled_exception_answers_the_graph_500_without_its_text(graph: Graph) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    graph.app.add_api_route("/v1.0/boom", boom)
    r = graph.c.get("/v1.0/boom", headers=graph.admin)
    assert r.status_code == 500 and r.json()["error"]["message"] == INTERNAL_MESSAGE
    assert "secret" not in r.text and "RuntimeError" not in r.text


def test_an_unhandled_exception_answers_each_aws_protocol_500_without_its_text(idc: Idc) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    idc.app.add_api_route("/assignment/boom", boom)
    idc.app.add_api_route("/_sandbox/boom", boom)
    r = idc.c.get("/assignment/boom")
    assert r.status_code == 500 and r.headers["x-amzn-ErrorType"] == "InternalServerException"
    r2 = idc.c.get("/_sandbox/boom")
    assert r2.status_code == 500 and r2.json()["error"]["code"] == "InternalError"
    assert "secret" not in r.text + r2.text


# --- limits --------------------------------------------------------------------------------------------------------
def test_a_patch_with_more_operations_than_the_limit_is_a_400_and_fast(idc: Idc) -> None:
    gid = idc.scim(
        "POST", "Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}
    ).json()["id"]
    op = {"op": "add", "path": "displayName", "value": "x"}
    big = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op] * 40_000}
    _scim_400(idc.scim("PATCH", f"Groups/{gid}", big), status=413)  # 2 MB: over the body limit
    _scim_400(idc.scim("PATCH", f"Groups/{gid}", {**big, "Operations": [op] * 5_000}))
    uid = idc.scim("POST", "Users", _user("a@example.com")).json()["id"]
    _scim_400(idc.scim("PATCH", f"Users/{uid}", {**big, "Operations": [op] * (MAX_PATCH_OPERATIONS + 1)}))
    entry = idc.c.get("/_sandbox/requests").json()["requests"][-1]
    assert str(MAX_PATCH_OPERATIONS) in entry["reason"]


def _user(name: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "displayName": "A B",
        "name": {"givenName": "A", "familyName": "B"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


def test_request_log_is_capped_in_bytes_and_large_bodies_are_logged_by_size() -> None:
    log = RequestLog(max_bytes=50_000)
    for i in range(400):
        log.add({"requestID": str(i), "requestParameters": {"httpBody": {"a": "x" * 100_000}}})
    assert log.size_bytes() <= 50_000
    last = log.entries()[-1]
    assert last["requestParameters"]["httpBody"]["truncated"] is True and last["requestID"] == "399"


def test_fault_rules_are_capped(idc: Idc) -> None:
    rules = [{"route": "GET Users", "status": 429, "count": 1}] * (MAX_FAULT_RULES + 1)
    r = idc.c.post("/_sandbox/faults", json={"rules": rules})
    assert r.status_code == 400 and r.json()["error"]["field"] == "rules", r.text
    assert idc.c.post("/_sandbox/faults", json={"rules": rules[:MAX_FAULT_RULES]}).status_code == 200
    r = idc.c.post("/_sandbox/faults", json={"rules": rules[:1], "append": True})
    assert r.status_code == 400, r.text


# --- secret hygiene ------------------------------------------------------------------------------------------------
def test_request_log_masks_every_query_parameter_and_echoed_value(idc: Idc) -> None:
    idc.scim("POST", "Users", _user("secret.person@example.com"))
    idc.scim("POST", "Users", _user("secret.person@example.com"))  # 409 echoes the name in its reason
    idc.c.get(f"{idc.base}/Users?access_token=tok123&startIndex=1&count=5", headers=idc.h)
    text = json.dumps(idc.c.get("/_sandbox/requests").json())
    assert "secret.person" not in text and "tok123" not in text
    entry = idc.c.get("/_sandbox/requests").json()["requests"][-1]
    assert entry["query"] == {"access_token": HIDDEN, "startIndex": "1", "count": "5"}
    assert mask_body(json.loads(_nested(200)))  # the masker stops at its depth, no RecursionError


def test_request_log_hides_every_value_a_request_carried_wherever_it_appears(idc: Idc) -> None:
    """Unquoted filter values, unknown parameter names, paging parameters that are not numbers, path segments, a
    wrong tenant id, PATCH ops and paths, unknown body keys, and messages that repeat any of them unquoted."""
    m = "zq.secret"
    patch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    uid = idc.scim("POST", "Users", _user("ok.person@example.com")).json()["id"]
    queries = [f"filter=userName eq {m}", f"filter={m}", f'filter=userName eq "{m}', f"{m}=1", f"count={m}"]
    queries += [f"startIndex={m}", f"attributes={m}", f"sortBy={m}", f"cursor={m}"]
    for query in queries:
        idc.c.get(f"{idc.base}/Users?{query}", headers=idc.h)
    for method, path, body in [
        ("GET", f"Users/{m}", None),
        ("DELETE", f"Groups/{m}", None),
        ("GET", m, None),
        ("PATCH", f"Users/{uid}", {"schemas": [patch], "Operations": [{"op": "replace", "path": m, "value": "x"}]}),
        ("PATCH", f"Users/{uid}", {"schemas": [patch], "Operations": [{"op": m, "path": "displayName"}]}),
        ("PATCH", f"Users/{uid}", {"schemas": [patch], "Operations": [{"op": "replace", "value": {m: "x"}}]}),
        ("POST", "Users", {**_user("other@example.com"), m: "x"}),
        ("POST", "Groups", {"displayName": m, "members": [{"value": m}]}),
    ]:
        assert idc.scim(method, path, body).status_code in (400, 404, 409), (method, path)
    idc.c.get(f"/{m}/scim/v2/Users", headers=idc.h)
    log = idc.c.get("/_sandbox/requests").json()["requests"]
    assert m not in json.dumps(log)
    # what is structure stays readable
    idc.c.get(f'{idc.base}/Users?filter=id eq "{uid}"&count=5', headers=idc.h)
    add = {"op": "add", "path": "members", "value": [{"value": uid}]}
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "readable"}
    gid = idc.scim("POST", "Groups", group).json()["id"]
    idc.scim("PATCH", f"Groups/{gid}", {"schemas": [patch], "Operations": [add]})
    *_, listing, _create, patched = idc.c.get("/_sandbox/requests").json()["requests"]
    assert listing["query"] == {"filter": f'id eq "{uid}"', "count": "5"}
    assert patched["path"].endswith(f"/scim/v2/Groups/{gid}")
    assert patched["requestParameters"]["httpBody"]["Operations"] == [add]


def test_request_log_reasons_keep_what_is_not_personal(idc: Idc) -> None:
    """A new user found reasons masked into uselessness: the fake's own template text, a media type, a paging number
    and AWS's quoted attribute paths are kept; a personal value next to them is still hidden."""
    patch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "kept"}
    gid = idc.scim("POST", "Groups", group).json()["id"]
    bad_value = {"schemas": [patch], "Operations": [{"op": "add", "path": "members", "value": "zq.secret"}]}
    assert idc.scim("PATCH", f"Groups/{gid}", bad_value).status_code == 400
    headers = {**idc.h, "Content-Type": "text/plain"}
    assert idc.c.post(f"{idc.base}/Users", content=b"{}", headers=headers).status_code == 415
    assert idc.c.get(f"{idc.base}/Users?count=500", headers=idc.h).status_code == 400
    no_given = {**_user("zq.secret@example.com"), "name": {"familyName": "B"}}
    assert idc.scim("POST", "Users", no_given).status_code == 400
    *_, patched, media, paging, named = idc.c.get("/_sandbox/requests").json()["requests"]
    assert "{value: <user id>}" in patched["reason"]
    assert "text/plain" in media["reason"]
    assert "got 500" in paging["reason"]
    assert "Value at 'name.givenName'" in named["errorMessage"]
    assert "zq.secret" not in json.dumps([patched, media, paging, named])


def test_fault_rules_are_capped_at_100() -> None:
    assert MAX_FAULT_RULES == 100  # the cap test_fault_rules_are_capped exercises


def test_serve_beyond_loopback_says_that_control_routes_need_the_admin_token(tmp_path: Any) -> None:
    from cli_support import serve_banner

    from fakekit.guard import ADMIN_HEADER

    with serve_banner("--host", "0.0.0.0", config=tmp_path / "cfg.json") as (text, cfg):
        token = cfg["sandbox_admin_token"]
        assert "listening beyond loopback: every /_sandbox route (but /_sandbox/health) needs the header" in text
        assert f"{ADMIN_HEADER}: {token}" in text, text


@pytest.mark.parametrize("text", ["PT۱H", "PT1H ", " PT1H", "۱h", "1h ", "PT1H\u00a0"])
def test_duration_parser_refuses_unicode_digits_and_surrounding_space(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)
    assert parse_duration("PT1H") == 3600 and parse_duration("1h 30m") == 5400


# --- the guarded control plane -------------------------------------------------------------------------------------
def test_sandbox_routes_need_the_admin_token_beyond_loopback_and_stay_open_on_loopback() -> None:
    import httpx2

    from fakekit.guard import ADMIN_HEADER, is_loopback
    from jitbox.serve import start_sandbox

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with start_sandbox(ManualClock(), host="0.0.0.0", extensions=[]) as sandbox:
        token = sandbox.config()["sandbox_admin_token"]
        base = f"http://127.0.0.1:{sandbox.servers['idc'].port}"
        refused = httpx2.post(f"{base}/_sandbox/tokens")
        assert refused.status_code == 401 and refused.json()["error"]["field"] == ADMIN_HEADER
        assert httpx2.post(f"{base}/_sandbox/reset", headers={ADMIN_HEADER: "wrong"}).status_code == 401
        assert httpx2.get(f"{base}/_sandbox/health").status_code == 200
        assert httpx2.get(f"{base}/_sandbox/clock", headers={ADMIN_HEADER: token}).status_code == 200
        scim = httpx2.get(sandbox.scim_url + "Users", headers={"Authorization": f"Bearer {sandbox.scim_token}"})
        assert scim.status_code == 200  # the protocol routes keep their own auth
    with start_sandbox(ManualClock(), host="127.0.0.1", extensions=[]) as sandbox:
        assert "sandbox_admin_token" not in sandbox.config()
        assert httpx2.get(f"{sandbox.scim_base}/_sandbox/clock").status_code == 200


def test_the_state_file_is_created_owner_only(tmp_path: Any) -> None:
    import stat

    from fakekit.persist import SqliteJournal

    journal = SqliteJournal(tmp_path / "state.db")
    journal.put("meta", "k", '"v"')
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    journal.close()


def test_provisioning_retargets_only_to_loopback_unless_allowed(graph: Graph) -> None:
    url = "/_sandbox/provisioning/target"
    r = graph.c.post(url, json={"scim_url": "http://198.51.100.7/scim/v2/", "scim_token": "t"})
    assert r.status_code == 400 and "allow_remote" in r.json()["error"]["message"], r.text
    r = graph.c.post(url, json={"scim_url": "http://198.51.100.7/scim/v2/", "scim_token": "t", "allow_remote": "yes"})
    assert r.status_code == 400, r.text


# --- make fuzz findings outside HTTP ---------------------------------------------------------------------------------
def test_a_cycle_phase_of_the_smallest_float_puts_the_first_cycle_after_t0_in_every_path() -> None:
    """``make fuzz`` (tests/test_engine_oracle.py long fuzz): with ``cycle_phase = 5e-324`` the quotient
    ``(0 - phase) / interval`` underflows to -0.0, so the rules skipped the cycle at 5e-324 that is strictly after an
    activation at t = 0, and the engine disagreed with the SimPy oracle (Identity Center membership 187 s late)."""
    import sys
    from pathlib import Path

    import numpy as np

    from sim.engine import simulate_events
    from sim.population import ExplicitArrivals, Population
    from sim.rules import next_cycle_after
    from sim.settings import Settings
    from sim.vector import next_cycle_after_v

    tiny = 5e-324
    assert next_cycle_after(0.0, 2520.0, tiny) == tiny
    assert next_cycle_after(tiny, 2520.0, tiny) == tiny + 2520.0
    assert list(next_cycle_after_v(np.array([0.0, tiny, np.nan]), 2520.0, tiny)[:2]) == [tiny, tiny + 2520.0]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.bench_sim import simpy_simulate

    s = Settings(cycle_interval=2520.0, cycle_phase=tiny, cycle_processing=248.0, membership_latency_max=0.0)
    p = Population(arrivals=[ExplicitArrivals(times=[0.0, 10.0])])
    engine = simulate_events(s, p, 0).columns["idc_start"]
    assert list(engine) == list(simpy_simulate(s, p, 0)["idc_start"])
    assert engine[0] == tiny + 248.0
