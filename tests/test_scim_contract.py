"""Contract tests: Entra's request sequences (Entra reference §4.5) and the AWS field reports (AWS reference §5)
replayed against the fake, asserting AWS's status codes and bodies."""

from __future__ import annotations

import re
from typing import Any

import pytest

from scim_server.errors import DETAIL_DUPLICATE, DETAIL_INVALID, DETAIL_REPLACE_MEMBERS
from scim_server.testing import (
    PATCH_SCHEMA,
    ScimTestClient,
    assert_aws_error,
    entra_add_member,
    entra_disable,
    entra_group,
    entra_remove_member,
    entra_user,
    scim_client,
)
from scim_server.user_rules import validate_user

ID_RE = re.compile(r"^[0-9a-f]{10}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def c() -> ScimTestClient:
    return scim_client()


def members_of(c: ScimTestClient, gid: str) -> set[str]:
    r = c.get(f'Users?filter=groups.value eq "{gid}"')
    assert r.status_code == 200
    return {u["id"] for u in r.json()["Resources"]}


# --- Entra's sequences (§4.5) --------------------------------------------------------------------------------------


def test_entra_test_connection_gets_an_empty_list_response(c: ScimTestClient) -> None:
    r = c.get('Users?filter=userName eq "6f1d2a6e-0b7e-4a43-9b9e-6b7d2f1c9a11"')
    assert r.status_code == 200
    assert r.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


def test_entra_user_create_query_then_post_gives_201_with_aws_id(c: ScimTestClient) -> None:
    assert c.get('Users?filter=userName eq "alice.smith@example.com"').json()["totalResults"] == 0
    r = c.post("Users", entra_user("alice.smith@example.com"))
    assert r.status_code == 201
    body = r.json()
    assert ID_RE.match(body["id"])
    assert body["userName"] == "alice.smith@example.com"
    assert body["emails"] == [{"value": "alice.smith@example.com", "type": "work", "primary": True}]
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["created"] == "2025-06-03T09:00:00Z"
    assert "groups" not in body and "roles" not in body
    assert r.headers["location"].endswith("/Users/" + body["id"])
    found = c.get('Users?filter=userName eq "ALICE.SMITH@example.com"').json()
    assert [u["id"] for u in found["Resources"]] == [body["id"]]  # userName matches case-insensitively


def test_entra_user_update_with_capitalised_replace_and_filtered_path(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("bob.jones@example.com")).json()["id"]
    ops = [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "bob.j@example.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Jonas"},
        {"op": "Replace", "path": "userName", "value": "bob.jonas@example.com"},
    ]
    r = c.patch(f"Users/{uid}", {"schemas": PATCH_SCHEMA, "Operations": ops})
    assert r.status_code == 200
    body = r.json()
    assert body["emails"][0]["value"] == "bob.j@example.com" and body["emails"][0]["primary"] is True
    assert body["name"]["familyName"] == "Jonas"
    assert body["userName"] == "bob.jonas@example.com"
    assert c.get('Users?filter=userName eq "bob.jones@example.com"').json()["totalResults"] == 0


@pytest.mark.parametrize("legacy", [True, False])
def test_entra_disable_accepts_boolean_and_legacy_string_false(c: ScimTestClient, legacy: bool) -> None:
    uid = c.post("Users", entra_user("carol.white@example.com")).json()["id"]
    r = c.patch(f"Users/{uid}", entra_disable(legacy_string=legacy))
    assert r.status_code == 200 and r.json()["active"] is False
    assert c.ctx.store.user_active(uid) is False


def test_string_boolean_switch_off_answers_400() -> None:
    from scim_server.app import ScimOptions

    c = scim_client(options=ScimOptions(rate_limit_rps=0, string_booleans=False))
    uid = c.post("Users", entra_user("dan.brown@example.com")).json()["id"]
    assert_aws_error(c.patch(f"Users/{uid}", entra_disable(legacy_string=True)), 400, DETAIL_INVALID)
    assert c.ctx.store.user_active(uid) is True


@pytest.mark.parametrize("value", ["yes", "no", "on", "1", 1, 0, 1.0, "True"])
def test_active_takes_only_a_json_boolean_on_create_replace_and_patch(c: ScimTestClient, value: Any) -> None:
    """A new user found pydantic's coercion at work: ``"active": "yes"`` (or 1, or "on") was stored as true."""
    assert_aws_error(c.post("Users", {**entra_user("gus.hale@example.com"), "active": value}), 400, DETAIL_INVALID)
    assert c.get('Users?filter=userName eq "gus.hale@example.com"').json()["totalResults"] == 0
    uid = c.post("Users", {**entra_user("gus.hale@example.com"), "active": True}).json()["id"]
    assert_aws_error(
        c.put(f"Users/{uid}", {**entra_user("gus.hale@example.com"), "active": value}), 400, DETAIL_INVALID
    )
    op = {"schemas": PATCH_SCHEMA, "Operations": [{"op": "replace", "path": "active", "value": value}]}
    r = c.patch(f"Users/{uid}", op)
    if value == "True":  # Entra's legacy string form, a PATCH form only, accepted while string_booleans is on
        assert r.status_code == 200 and r.json()["active"] is True
    else:
        assert_aws_error(r, 400, DETAIL_INVALID)
    assert c.ctx.store.user_active(uid) is True


def test_entra_group_create_membership_add_remove_rename_delete(c: ScimTestClient) -> None:
    u1 = c.post("Users", entra_user("erin.gray@example.com")).json()["id"]
    u2 = c.post("Users", entra_user("finn.green@example.com")).json()["id"]
    r = c.get('Groups?excludedAttributes=members&filter=displayName eq "AWS-Admins"')
    assert r.status_code == 200 and r.json()["totalResults"] == 0
    r = c.post("Groups", entra_group("AWS-Admins"))
    assert r.status_code == 201
    gid = r.json()["id"]
    assert ID_RE.match(gid) and r.json()["members"] == []
    assert c.get(f"Groups/{gid}?excludedAttributes=members").json()["members"] == []

    r = c.patch(f"Groups/{gid}", entra_add_member(u1, u2))
    assert r.status_code == 204 and r.content == b""
    assert members_of(c, gid) == {u1, u2}
    # members are never returned on group reads [DG-listgroups]
    assert c.get(f"Groups/{gid}").json()["members"] == []
    assert c.get("Groups").json()["Resources"][0]["members"] == []

    assert c.patch(f"Groups/{gid}", entra_remove_member(u1)).status_code == 204
    assert members_of(c, gid) == {u2}
    assert c.patch(f"Groups/{gid}", entra_remove_member(u2, filter_path=True)).status_code == 204
    assert members_of(c, gid) == set()

    rename = {"schemas": PATCH_SCHEMA, "Operations": [{"op": "Replace", "path": "displayName", "value": "AWS-Ops"}]}
    assert c.patch(f"Groups/{gid}", rename).status_code == 204
    assert c.get(f"Groups/{gid}").json()["displayName"] == "AWS-Ops"
    assert c.delete(f"Groups/{gid}").status_code == 204
    assert_aws_error(c.get(f"Groups/{gid}"), 404)


def test_membership_reads_both_ways_via_filters(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("gil.hart@example.com")).json()["id"]
    g1 = c.post("Groups", entra_group("G1")).json()["id"]
    g2 = c.post("Groups", entra_group("G2")).json()["id"]
    c.patch(f"Groups/{g1}", entra_add_member(uid))
    c.patch(f"Groups/{g2}", entra_add_member(uid))
    r = c.get(f'Groups?filter=members.value eq "{uid}"')
    assert [g["id"] for g in r.json()["Resources"]] == [g1, g2]
    assert c.get(f'Groups?filter=id eq "{g1}" and member eq "{uid}"').json()["totalResults"] == 1
    assert c.get(f'Groups?filter=member eq "{uid}" and id eq "{g1}"').json()["totalResults"] == 1
    # a non-existent member in the filter → 404 ResourceNotFoundException [DG-listgroups]
    assert_aws_error(c.get('Groups?filter=members.value eq "0000000000-00000000-0000-4000-8000-000000000000"'), 404)


# --- Field reports (§5) --------------------------------------------------------------------------------------------


def test_pre_existing_user_gives_409_duplicate(c: ScimTestClient) -> None:
    assert c.post("Users", entra_user("hana.ito@example.com")).status_code == 201
    assert_aws_error(c.post("Users", entra_user("HANA.ITO@example.com")), 409, DETAIL_DUPLICATE)
    assert c.ctx.store.user_count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"userName": "other@example.com", "emails": [{"primary": True, "type": "work", "value": "ivy@example.com"}]},
        {"userName": "other@example.com", "externalId": "ivy", "emails": None},
    ],
)
def test_duplicate_email_or_external_id_across_usernames_gives_409(c: ScimTestClient, change: dict[str, Any]) -> None:
    assert c.post("Users", entra_user("ivy@example.com", external_id="ivy")).status_code == 201
    body = {**entra_user("other@example.com", external_id="other"), **change}
    if body["emails"] is None:
        del body["emails"]
    assert_aws_error(c.post("Users", body), 409, DETAIL_DUPLICATE)


def test_more_than_100_member_changes_in_one_patch_is_400_and_changes_nothing(c: ScimTestClient) -> None:
    gid = c.post("Groups", entra_group("Big")).json()["id"]
    users = [c.ctx.store.create_user(validate_user(entra_user(f"u{i}@example.com")))["id"] for i in range(101)]
    assert_aws_error(c.patch(f"Groups/{gid}", entra_add_member(*users)), 400, DETAIL_INVALID)
    assert members_of(c, gid) == set()
    assert c.patch(f"Groups/{gid}", entra_add_member(*users[:100])).status_code == 204
    assert len(c.ctx.store.member_ids(gid)) == 100


def test_replace_members_and_remove_all_members_are_rejected(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("jay.kim@example.com")).json()["id"]
    gid = c.post("Groups", entra_group("Ops")).json()["id"]
    c.patch(f"Groups/{gid}", entra_add_member(uid))
    replace = {"schemas": PATCH_SCHEMA, "Operations": [{"op": "replace", "path": "members", "value": [{"value": uid}]}]}
    assert_aws_error(c.patch(f"Groups/{gid}", replace), 400, DETAIL_REPLACE_MEMBERS)
    remove_all = {"schemas": PATCH_SCHEMA, "Operations": [{"op": "remove", "path": "members"}]}
    assert_aws_error(c.patch(f"Groups/{gid}", remove_all), 400, DETAIL_REPLACE_MEMBERS)
    assert members_of(c, gid) == {uid}


def test_replace_empty_members_quirk_switch_reproduces_observed_204_no_change() -> None:
    from scim_server.app import ScimOptions

    c = scim_client(options=ScimOptions(rate_limit_rps=0, replace_empty_members_quirk=True))
    uid = c.post("Users", entra_user("kai.lee@example.com")).json()["id"]
    gid = c.post("Groups", entra_group("Q")).json()["id"]
    c.patch(f"Groups/{gid}", entra_add_member(uid))
    replace = {"schemas": PATCH_SCHEMA, "Operations": [{"op": "replace", "path": "members", "value": []}]}
    assert c.patch(f"Groups/{gid}", replace).status_code == 204
    assert members_of(c, gid) == {uid}


@pytest.mark.parametrize("attr", ["emails", "phoneNumbers", "addresses", "roles"])
def test_multi_valued_attributes_are_400_with_aws_message(c: ScimTestClient, attr: str) -> None:
    body = entra_user("leo.ma@example.com")
    values = {
        "emails": [
            {"primary": True, "type": "work", "value": "a@example.com"},
            {"type": "home", "value": "b@example.com"},
        ],
        "phoneNumbers": [{"type": "work", "value": "+1 555"}, {"type": "mobile", "value": "+1 556"}],
        "addresses": [{"type": "work", "country": "US"}, {"type": "home", "country": "FR"}],
        "roles": [{"value": "a"}, {"value": "b"}],
    }
    body[attr] = values[attr]
    assert_aws_error(c.post("Users", body), 400, f"List attribute {attr} exceeds allowed limit of 1")
    assert c.ctx.store.user_count() == 0


@pytest.mark.parametrize("missing", ["name.givenName", "name.familyName", "displayName", "userName"])
def test_missing_required_names_are_400_and_user_not_provisioned(c: ScimTestClient, missing: str) -> None:
    body = entra_user("mia.nova@example.com")
    if missing.startswith("name."):
        del body["name"][missing.split(".")[1]]
    else:
        del body[missing]
    body_err = assert_aws_error(c.post("Users", body), 400)
    if missing == "name.givenName":
        assert body_err["detail"].startswith("2 validation errors detected: Value at 'name.givenName'")
    assert c.ctx.store.user_count() == 0


def test_email_must_be_primary_and_groups_rejected_on_create(c: ScimTestClient) -> None:
    body = entra_user("ned.olsen@example.com")
    body["emails"][0]["primary"] = False
    assert_aws_error(c.post("Users", body), 400, DETAIL_INVALID)
    body = entra_user("ned.olsen@example.com") | {"groups": [{"value": "x"}]}
    assert_aws_error(c.post("Users", body), 400, DETAIL_INVALID)
    assert c.ctx.store.user_count() == 0


def test_nested_groups_are_rejected(c: ScimTestClient) -> None:
    g1 = c.post("Groups", entra_group("Outer")).json()["id"]
    g2 = c.post("Groups", entra_group("Inner")).json()["id"]
    assert_aws_error(c.patch(f"Groups/{g1}", entra_add_member(g2)), 400)
    assert c.ctx.store.member_ids(g1) == []


def test_delete_and_recreate_gives_a_new_id(c: ScimTestClient) -> None:
    first = c.post("Users", entra_user("olga.p@example.com")).json()["id"]
    assert c.delete(f"Users/{first}").status_code == 204
    assert_aws_error(c.get(f"Users/{first}"), 404)
    second = c.post("Users", entra_user("olga.p@example.com")).json()["id"]
    assert second != first
    g1 = c.post("Groups", entra_group("Same")).json()["id"]
    c.delete(f"Groups/{g1}")
    assert c.post("Groups", entra_group("Same")).json()["id"] != g1


def test_duplicate_group_display_name_is_409(c: ScimTestClient) -> None:
    assert c.post("Groups", entra_group("Dup")).status_code == 201
    assert_aws_error(c.post("Groups", entra_group("dup", external_id="other")), 409, DETAIL_DUPLICATE)


def test_pathless_patch_touching_two_attributes_is_rejected_with_aws_text(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("pia.q@example.com")).json()["id"]
    op = {"op": "replace", "value": {"displayName": "P Q", "title": "Boss"}}
    body = assert_aws_error(c.patch(f"Users/{uid}", {"schemas": PATCH_SCHEMA, "Operations": [op]}), 400)
    assert body["detail"].startswith('Current PATCH support allows omitting "path" attribute only for Add and Replace')
    one = {"op": "replace", "value": {"title": "Boss"}}
    assert c.patch(f"Users/{uid}", {"schemas": PATCH_SCHEMA, "Operations": [one]}).json()["title"] == "Boss"


def test_patch_user_forbidden_operations(c: ScimTestClient) -> None:
    uid = c.post("Users", entra_user("quin.r@example.com")).json()["id"]
    bad_ops = [
        [{"op": "remove", "path": "userName"}],
        [{"op": "remove", "path": "active"}],
        [{"op": "replace", "path": "active", "value": False}, {"op": "replace", "path": "active", "value": True}],
        [{"op": "add", "path": "groups", "value": [{"value": "x"}]}],
        [{"op": "replace", "path": 'emails[type co "work"].value', "value": "x@example.com"}],
        [{"op": "remove"}],
        [{"op": "move", "path": "title", "value": "x"}],
    ]
    for ops in bad_ops:
        assert_aws_error(c.patch(f"Users/{uid}", {"schemas": PATCH_SCHEMA, "Operations": ops}), 400)
    assert c.get(f"Users/{uid}").json()["active"] is True


def test_enterprise_extension_patch_including_entra_string_manager(c: ScimTestClient) -> None:
    boss = c.post("Users", entra_user("boss.b@example.com")).json()["id"]
    uid = c.post("Users", entra_user("emp.e@example.com")).json()["id"]
    ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ops = [
        {"op": "Add", "path": f"{ent}:manager", "value": boss},
        {"op": "Replace", "path": f"{ent}:department", "value": "Engineering"},
    ]
    r = c.patch(f"Users/{uid}", {"schemas": PATCH_SCHEMA, "Operations": ops})
    assert r.status_code == 200, r.text
    assert r.json()[ent] == {"department": "Engineering", "manager": {"value": boss}}
    assert r.json()["schemas"][-1] == ent
    assert c.get("Users", params={"filter": f'id eq "{uid}" and manager eq "{boss}"'}).json()["totalResults"] == 1
