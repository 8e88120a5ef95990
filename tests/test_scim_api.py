"""The SCIM endpoint's rules one by one: auth and tokens, filters, paging, discovery, unsupported operations,
non-JSON bodies, sandbox controls (requests log, faults, rate limit), and fuzzing that never yields a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scim_server.app import ScimOptions
from scim_server.sandbox import HIDDEN, RateLimiter
from scim_server.testing import (
    PATCH_SCHEMA,
    ScimTestClient,
    assert_aws_error,
    entra_add_member,
    entra_group,
    entra_user,
    scim_client,
)
from scim_server.tokens import TOKEN_LIFETIME
from sim.clock import ManualClock


@pytest.fixture
def c() -> ScimTestClient:
    return scim_client()


# --- auth and tokens ---------------------------------------------------------------------------------------------


def test_missing_wrong_token_or_wrong_tenant_is_401(c: ScimTestClient) -> None:
    assert_aws_error(c.get("Users", headers={}), 401)
    assert_aws_error(c.get("Users", headers={"Authorization": "Bearer wrong"}), 401)
    assert_aws_error(c.get("Users", headers={"Authorization": "Basic dGVzdC10b2tlbg=="}), 401)
    other = c.http.get("/other-tenant/scim/v2/Users", headers=c.headers)
    assert_aws_error(other, 401)
    assert c.get("Users").status_code == 200


def test_token_expires_after_one_year_on_the_injected_clock() -> None:
    clock = ManualClock()
    c = scim_client(clock)
    clock.advance(TOKEN_LIFETIME - 1)
    assert c.get("Users").status_code == 200
    clock.advance(1)
    assert_aws_error(c.get("Users"), 401)
    assert c.sandbox("GET", "tokens").json()["tokens"][0]["expired"] is True


def test_at_most_two_tokens_and_rotation(c: ScimTestClient) -> None:
    second = c.sandbox("POST", "tokens")
    assert second.status_code == 200
    secret = second.json()["secret"]
    assert c.get("Users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    third = c.sandbox("POST", "tokens")
    assert third.status_code == 409 and "up to 2" in third.json()["error"]["message"]
    first_id = c.sandbox("GET", "tokens").json()["tokens"][0]["id"]
    assert "secret" not in c.sandbox("GET", "tokens").json()["tokens"][0]
    assert c.sandbox("DELETE", f"tokens/{first_id}").status_code == 200
    assert_aws_error(c.get("Users"), 401)  # the deleted token no longer works
    assert c.sandbox("POST", "tokens").status_code == 200
    assert c.sandbox("DELETE", "tokens/nope").status_code == 404


# --- filters -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flt",
    [
        'userName co "a"',
        'userName sw "a"',
        'userName eq "a" or userName eq "b"',
        'not (userName eq "a")',
        "userName pr",
        'displayName eq "a"',
        'emails.value eq "a@example.com"',
        'userName eq "a" and externalId eq "b"',
        'manager eq "x"',
        "userName eq",
        "userName eq 5",
        "((",
    ],
)
def test_unsupported_user_filters_are_400(c: ScimTestClient, flt: str) -> None:
    assert_aws_error(c.get("Users", params={"filter": flt}), 400)


@pytest.mark.parametrize("flt", ['displayName co "a"', 'id eq "x"', 'members.display eq "a"', 'userName eq "a"'])
def test_unsupported_group_filters_are_400(c: ScimTestClient, flt: str) -> None:
    assert_aws_error(c.get("Groups", params={"filter": flt}), 400)


def test_supported_user_filters(c: ScimTestClient) -> None:
    boss = c.post("Users", entra_user("boss@example.com", external_id="B")).json()["id"]
    body = entra_user("emp@example.com", external_id="E")
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {"manager": {"value": boss}}
    emp = c.post("Users", body).json()["id"]

    def ids(flt: str) -> list[str]:
        r = c.get("Users", params={"filter": flt})
        assert r.status_code == 200, r.text
        return [u["id"] for u in r.json()["Resources"]]

    assert ids('USERNAME eq "EMP@example.com"') == [emp]
    assert ids('externalId eq "E"') == [emp]
    assert ids('externalId eq "e"') == []  # externalId is case-exact
    assert ids(f'id eq "{emp}"') == [emp]
    assert ids(f'id eq "{emp}" and manager eq "{boss}"') == [emp]
    assert ids(f'manager eq "{boss}" and id eq "{emp}"') == [emp]
    assert ids(f'id eq "{boss}" and manager eq "{boss}"') == []
    assert ids('groups.value eq "no-such-group"') == []


def test_group_filters_by_display_name_and_external_id(c: ScimTestClient) -> None:
    gid = c.post("Groups", entra_group("Readers", external_id="obj-1")).json()["id"]
    assert [g["id"] for g in c.get("Groups", params={"filter": 'displayName eq "readers"'}).json()["Resources"]] == [
        gid
    ]
    assert c.get("Groups", params={"filter": 'externalId eq "obj-1"'}).json()["totalResults"] == 1


# --- paging ------------------------------------------------------------------------------------------------------


def test_cursor_paging_walks_every_user_once_and_count_limits(c: ScimTestClient) -> None:
    made = [c.post("Users", entra_user(f"p{i}@example.com")).json()["id"] for i in range(23)]
    seen: list[str] = []
    r = c.get("Users", params={"cursor": "", "count": 10})
    while True:
        body = r.json()
        assert r.status_code == 200 and "totalResults" not in body and body["itemsPerPage"] == len(body["Resources"])
        seen += [u["id"] for u in body["Resources"]]
        if "nextCursor" not in body:
            break
        r = c.get("Users", params={"cursor": body["nextCursor"], "count": 10})
    assert seen == made
    plain = c.get("Users", params={"count": 5}).json()
    assert plain["totalResults"] == 23 and plain["itemsPerPage"] == 5 and plain["startIndex"] == 1
    assert c.get("Users").json()["itemsPerPage"] == 23


def test_cursor_paging_over_group_members_and_filter_pinning(c: ScimTestClient) -> None:
    gid = c.post("Groups", entra_group("Many")).json()["id"]
    users = [c.post("Users", entra_user(f"m{i}@example.com")).json()["id"] for i in range(7)]
    c.patch(f"Groups/{gid}", entra_add_member(*users))
    flt = f'groups.value eq "{gid}"'
    first = c.get("Users", params={"filter": flt, "cursor": "", "count": 4}).json()
    second = c.get("Users", params={"filter": flt, "cursor": first["nextCursor"], "count": 4}).json()
    assert [u["id"] for u in first["Resources"] + second["Resources"]] == users
    assert "nextCursor" not in second
    # a cursor cannot be reused with another filter (as Floci does; AWS UNCONFIRMED)
    assert_aws_error(c.get("Users", params={"filter": 'userName eq "x"', "cursor": first["nextCursor"]}), 400)
    assert_aws_error(c.get("Users", params={"cursor": "!!bad!!"}), 400)
    assert_aws_error(c.get("Users", params={"cursor": "Zm9v"}), 400)


@pytest.mark.parametrize(
    "params",
    [
        {"count": "0"},
        {"count": "101"},
        {"count": "ten"},
        {"startIndex": "1"},
        {"attributes": "userName"},
        {"excludedAttributes": "emails"},
    ],
)
def test_rejected_paging_parameters(c: ScimTestClient, params: dict[str, str]) -> None:
    assert_aws_error(c.get("Users", params=params), 400)


# --- discovery, PUT, unsupported, bodies ----------------------------------------------------------------------------


def test_service_provider_config_schemas_and_resource_types(c: ScimTestClient) -> None:
    spc = c.get("ServiceProviderConfig").json()
    assert spc["bulk"]["supported"] is False and spc["patch"]["supported"] is True
    assert spc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    schemas = c.get("Schemas").json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert "urn:ietf:params:scim:schemas:core:2.0:User" in ids
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in ids
    assert c.get("Schemas/urn:ietf:params:scim:schemas:core:2.0:Group").json()["name"] == "Group"
    assert_aws_error(c.get("Schemas/urn:nope"), 404)
    rts = c.get("ResourceTypes").json()["Resources"]
    assert [r["endpoint"] for r in rts] == ["/Users", "/Groups"]


def test_put_user_replaces_and_keeps_uniqueness(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("rui.s@example.com")).json()["id"]
    c.post("Users", entra_user("sam.t@example.com"))
    body = entra_user("rui.s@example.com")
    body["title"] = "Engineer"
    body["userName"] = "rui s@example.com"  # PutUser allows spaces [DG-putuser]
    r = c.put(f"Users/{uid}", body)
    assert r.status_code == 200 and r.json()["title"] == "Engineer"
    clash = entra_user("sam.t@example.com")
    assert_aws_error(c.put(f"Users/{uid}", clash), 409)
    assert_aws_error(c.put("Users/0000000000-00000000-0000-4000-8000-000000000000", body), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "Me"), ("POST", "Bulk"), ("POST", ".search"), ("POST", "Users/.search"), ("PUT", "Groups/x")],
)
def test_unsupported_endpoints_answer_aws_400(c: ScimTestClient, method: str, path: str) -> None:
    assert_aws_error(c.request(method, path, json={}), 400)


def test_non_json_and_broken_bodies(c: ScimTestClient) -> None:
    assert_aws_error(
        c.request("POST", "Users", content=b"userName=x", headers={**c.headers, "content-type": "text/plain"}), 415
    )
    ct = {**c.headers, "content-type": "application/scim+json"}
    assert_aws_error(c.request("POST", "Users", content=b"{not json", headers=ct), 400)
    assert_aws_error(c.request("POST", "Users", content=b"", headers=ct), 400)
    assert_aws_error(c.request("POST", "Users", content=b"[1,2]", headers=ct), 400)
    assert_aws_error(c.get("Nope"), 404)
    assert_aws_error(c.get("Users/x/y"), 404)
    assert_aws_error(c.delete("Users/nope"), 404)
    assert_aws_error(c.patch("Groups/nope", entra_add_member()), 404)


# --- sandbox controls --------------------------------------------------------------------------------------------


def test_requests_log_is_cloudtrail_like_and_masks_personal_data(c: ScimTestClient) -> None:
    assert c.get("Users", params={"filter": 'userName eq "tia.u@example.com"'}).status_code == 200
    uid = c.post("Users", entra_user("tia.u@example.com")).json()["id"]
    c.get("Users", headers={})
    entries = c.sandbox("GET", "requests").json()["requests"]
    create, denied = entries[-2], entries[-1]
    assert create["eventSource"] == "identitystore-scim.amazonaws.com" and create["eventName"] == "CreateUser"
    assert create["status"] == 201 and create["userIdentity"]["type"] == "WebIdentityUser"
    body = create["requestParameters"]["httpBody"]
    assert body["userName"] == HIDDEN and body["emails"][0]["value"] == HIDDEN and body["emails"][0]["type"] == "work"
    assert "tia" not in json.dumps(entries)
    assert entries[-3]["query"] == {"filter": f'userName eq "{HIDDEN}"'} and entries[-3]["eventName"] == "ListUsers"
    assert denied["status"] == 401 and denied["errorCode"] == "UnauthorizedException"
    assert uid
    assert c.sandbox("DELETE", "requests").status_code == 200
    assert c.sandbox("GET", "requests").json()["requests"] == []


def test_fault_sequence_then_pass_through(c: ScimTestClient) -> None:
    r = c.sandbox("POST", "faults", json={"rules": [{"route": "GET Users", "sequence": [429, 500, 200]}]})
    assert r.status_code == 200
    assert_aws_error(c.get("Users"), 429)
    assert_aws_error(c.get("Users"), 500)
    assert c.get("Groups").status_code == 200  # other routes untouched
    assert c.get("Users").status_code == 200
    assert c.get("Users").status_code == 200
    assert c.sandbox("GET", "faults").json()["rules"] == []
    log = c.sandbox("GET", "requests").json()["requests"]
    assert [e["status"] for e in log] == [429, 500, 200, 200, 200]
    assert log[0]["errorCode"] == "ThrottlingException"


def test_fault_count_and_probability_are_seeded() -> None:
    def run() -> list[int]:
        c = scim_client(seed=3)
        c.sandbox("POST", "faults", json={"rules": [{"route": "* Users", "status": 500, "probability": 0.5}]})
        return [c.get("Users").status_code for _ in range(30)]

    first = run()
    assert first == run() and 0 < first.count(500) < 30
    c = scim_client()
    c.sandbox("POST", "faults", json={"rules": [{"route": "*", "status": 429, "count": 2}]})
    assert [c.get("Groups").status_code for _ in range(3)] == [429, 429, 200]


@pytest.mark.parametrize(
    "rules",
    [
        {"rules": [{"route": "FETCH Users", "status": 429}]},
        {"rules": [{"route": "GET Users", "status": 404}]},
        {"rules": [{"route": "GET Users", "probability": 2, "status": 500}]},
        {"rules": [{"route": "GET Users"}]},
        {"rules": [{"route": "GET Users", "latency_ms": 99999}]},
        {"rules": "nope"},
        {"rules": [{"route": "GET Users", "status": 429, "bogus": 1}]},
        {"rules": [{"route": "GET Users", "status": 429, "retry_after": -1}]},
        {"rules": [{"route": "GET Users", "status": 429, "retry_after": "soon"}]},
    ],
)
def test_bad_fault_rules_are_sandbox_400s_naming_the_field(c: ScimTestClient, rules: dict[str, Any]) -> None:
    r = c.sandbox("POST", "faults", json=rules)
    assert r.status_code == 400 and r.json()["error"]["field"] == "rules"


def test_injected_faults_carry_retry_after_when_asked(c: ScimTestClient) -> None:
    rule = {"route": "GET Groups", "sequence": [429, 500, 200], "retry_after": 120}
    assert c.sandbox("POST", "faults", json={"rules": [rule]}).json()["rules"][0]["retry_after"] == 120
    answers = [c.get("Groups") for _ in range(3)]
    assert [(r.status_code, r.headers.get("Retry-After")) for r in answers] == [(429, "120"), (500, "120"), (200, None)]
    c.sandbox("POST", "faults", json={"rules": [{"route": "GET Groups", "status": 429, "count": 1}]})
    assert "Retry-After" not in c.get("Groups").headers


def test_injected_latency_delays_the_response(c: ScimTestClient) -> None:
    import time

    c.sandbox("POST", "faults", json={"rules": [{"route": "GET Groups", "latency_ms": 150, "count": 1}]})
    start = time.monotonic()
    assert c.get("Groups").status_code == 200
    assert time.monotonic() - start >= 0.14


def test_default_rate_limit_answers_429_throttling() -> None:
    c = scim_client(options=ScimOptions(rate_limit_rps=5))
    c.ctx.limiter = RateLimiter(5, timer=lambda: 0.0)  # real time stands still: nothing refills the bucket
    statuses = [c.get("Groups").status_code for _ in range(12)]
    assert statuses[:5] == [200] * 5 and 429 in statuses
    assert ScimOptions().rate_limit_rps == 0.0  # issue 12: off by default (AWS publishes no SCIM rate)
    assert c.sandbox("POST", "rate-limit", json={"rps": 0}).json() == {"rps": 0.0}
    assert c.get("Groups").status_code == 200
    assert c.sandbox("POST", "rate-limit", json={"rps": -1}).status_code == 400


def test_rate_limit_bucket_refills_with_real_time_only() -> None:
    now = [0.0]
    limiter = RateLimiter(2, timer=lambda: now[0])
    assert [limiter.allow() for _ in range(3)] == [True, True, False]
    now[0] += 0.5  # half a second refills one of the two tokens
    assert [limiter.allow(), limiter.allow()] == [True, False]
    now[0] += 10  # the burst is capped at rps
    assert [limiter.allow() for _ in range(3)] == [True, True, False]


def test_reset_and_state(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("uma.v@example.com")).json()["id"]
    state = c.sandbox("GET", "state").json()["identity_store"]
    assert [u["id"] for u in state["users"]] == [uid]
    assert c.sandbox("POST", "reset").status_code == 200
    assert c.sandbox("GET", "state").json()["identity_store"]["users"] == []
    assert c.get("Users").json()["totalResults"] == 0  # the token survives a reset


def test_clock_advance_moves_meta_last_modified(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("val.w@example.com")).json()["id"]
    c.sandbox("POST", "clock/advance", json={"duration": "PT40M"})
    op = {"schemas": PATCH_SCHEMA, "Operations": [{"op": "replace", "path": "title", "value": "x"}]}
    meta = c.patch(f"Users/{uid}", op).json()["meta"]
    assert meta["created"] == "2025-06-03T09:00:00Z" and meta["lastModified"] == "2025-06-03T09:40:00Z"


# --- fuzzing: random bodies and filters never give a 5xx ------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "userName",
        "displayName",
        "name",
        "emails",
        "schemas",
        "Operations",
        "op",
        "path",
        "value",
        "members",
        "externalId",
        "active",
        "groups",
        "roles",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ]
)
_bodies = st.dictionaries(_keys, _json_values, max_size=6) | _json_values
_FUZZ = scim_client()
_FUZZ_UID = _FUZZ.post("Users", entra_user("fuzz.me@example.com")).json()["id"]
_FUZZ_GID = _FUZZ.post("Groups", entra_group("Fuzz")).json()["id"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["POST Users", "PUT Users/{u}", "PATCH Users/{u}", "POST Groups", "PATCH Groups/{g}"]),
    body=_bodies,
)
def test_random_bodies_never_5xx(method: str, body: Any) -> None:
    verb, path = method.split(" ")
    r = _FUZZ.request(verb, path.format(u=_FUZZ_UID, g=_FUZZ_GID), json=body)
    assert r.status_code < 500, r.text


@settings(max_examples=100, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda a, op, v, join, b: f"{a} {op} {v}{join}{b}",
            st.sampled_from(
                [
                    "userName",
                    "externalId",
                    "groups.value",
                    "id",
                    "manager",
                    "members.value",
                    "displayName",
                    "member",
                    'emails[type eq "work"].value',
                    "meta.created",
                ]
            ),
            st.sampled_from(["eq", "ne", "co", "sw", "pr", "gt", "EQ"]),
            st.sampled_from(['"x"', "1", "true", "null", '"' + "a" * 3, '"\\"']),
            st.sampled_from(["", " and ", " or ", " AND "]),
            st.sampled_from(["", 'id eq "y"', 'manager eq "z"', "(", 'not (userName eq "q")']),
        ),
    ),
    resource=st.sampled_from(["Users", "Groups"]),
    count=st.sampled_from([None, "1", "100", "-5", "x"]),
)
def test_random_filters_never_5xx(text: str, resource: str, count: str | None) -> None:
    params = {"filter": text} if count is None else {"filter": text, "count": count}
    r = _FUZZ.get(resource, params=params)
    assert r.status_code in (200, 400, 404), r.text


_user_keys = st.sampled_from(
    [
        "userName",
        "displayName",
        "name",
        "emails",
        "externalId",
        "active",
        "roles",
        "phoneNumbers",
        "addresses",
        "title",
        "locale",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "schemas",
        "groups",
    ]
)
_paths = st.sampled_from(
    [
        None,
        "active",
        "userName",
        "displayName",
        "name.givenName",
        "name",
        "emails",
        'emails[type eq "work"].value',
        'emails[type eq "home"]',
        "members",
        'members[value eq "x"]',
        "externalId",
        "title",
        "roles",
        "groups",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "bogus[",
        "x.y.z",
    ]
)
_ops = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove", "copy", 3])},
    optional={"path": _paths, "value": _json_values},
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_user_keys, value=_json_values, resource=st.sampled_from(["Users", "Users/{u}"]))
def test_valid_user_with_one_random_attribute_never_5xx(key: str, value: Any, resource: str) -> None:
    body = entra_user("mutant@example.com")
    body[key] = value
    verb = "POST" if resource == "Users" else "PUT"
    r = _FUZZ.request(verb, resource.format(u=_FUZZ_UID), json=body)
    assert r.status_code < 500, r.text
    if r.status_code == 201:
        assert _FUZZ.delete(f"Users/{r.json()['id']}").status_code == 204


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_ops, min_size=1, max_size=3), target=st.sampled_from(["Users/{u}", "Groups/{g}"]))
def test_random_patch_operations_never_5xx(ops: list[dict[str, Any]], target: str) -> None:
    r = _FUZZ.patch(target.format(u=_FUZZ_UID, g=_FUZZ_GID), {"schemas": PATCH_SCHEMA, "Operations": ops})
    assert r.status_code < 500, r.text


def test_switches_can_change_at_run_time(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("wes.x@example.com")).json()["id"]
    opts = c.sandbox("GET", "scim/options").json()
    assert opts == {
        "rate_limit_rps": 0.0,
        "string_booleans": True,
        "put_user_status": 200,
        "replace_empty_members_quirk": False,
    }
    r = c.sandbox("POST", "scim/options", json={"string_booleans": False, "put_user_status": 201})
    assert r.json()["string_booleans"] is False and r.json()["put_user_status"] == 201
    assert_aws_error(
        c.patch(
            f"Users/{uid}",
            {"schemas": PATCH_SCHEMA, "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
        ),
        400,
    )
    assert c.put(f"Users/{uid}", entra_user("wes.x@example.com")).status_code == 201
    for bad in ({"put_user_status": 204}, {"string_booleans": "no"}, {"nope": 1}, {"rate_limit_rps": -2}):
        r = c.sandbox("POST", "scim/options", json=bad)
        assert r.status_code == 400 and r.json()["error"]["field"] == next(iter(bad))


@pytest.mark.slow
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(_ops, min_size=1, max_size=4),
    target=st.sampled_from(["Users/{u}", "Groups/{g}"]),
    key=_user_keys,
    value=_json_values,
)
def test_long_fuzz_never_5xx(ops: list[dict[str, Any]], target: str, key: str, value: Any) -> None:
    r = _FUZZ.patch(target.format(u=_FUZZ_UID, g=_FUZZ_GID), {"schemas": PATCH_SCHEMA, "Operations": ops})
    assert r.status_code < 500, r.text
    body = entra_user("long.fuzz@example.com") | {key: value}
    r = _FUZZ.post("Users", body)
    assert r.status_code < 500, r.text
    if r.status_code == 201:
        _FUZZ.delete(f"Users/{r.json()['id']}")


def test_same_seed_same_responses_byte_for_byte() -> None:
    def run() -> list[bytes]:
        c = scim_client(seed=11)
        out = [c.post("Users", entra_user("same.seed@example.com")).content]
        uid = json.loads(out[0])["id"]
        gid = c.post("Groups", entra_group("Seeded")).json()["id"]
        out.append(c.patch(f"Groups/{gid}", entra_add_member(uid)).content)
        out.append(c.post("Users", entra_user("same.seed@example.com")).content)  # 409 with a request id
        out.append(c.get("Users", params={"filter": f'groups.value eq "{gid}"', "cursor": ""}).content)
        out.append(json.dumps(c.sandbox("GET", "requests").json()).encode())
        return out

    assert run() == run()
