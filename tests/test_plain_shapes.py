"""The short cuts past scim2-models (``scim_server/plain_shapes.py``) answer exactly as the scim2-models path does.

Generated CreateUser/PutUser and PatchGroup bodies — the plain shapes Entra sends, bent in every way the short cuts
must notice (a key's spelling, an attribute outside their list, empty strings, values of another type, capitalised
verbs, filtered paths) — are validated twice, with the short cut and with it switched off. The outcomes must be
equal: the same stored attributes in the same order, or the same refusal (status, detail and logged reason).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import scim_server.patch_rules
import scim_server.user_rules
from scim_server.errors import ScimError
from scim_server.patch_rules import plan_group_patch
from scim_server.plain_shapes import plain_member_steps, plain_user
from scim_server.scim_schema import ENTERPRISE_URN, PATCH_URN, USER_URN
from scim_server.user_rules import validate_user

_TEXT = st.one_of(
    st.just(""),
    st.sampled_from(["x", "Given", "a@example.com", "Work", "work", "home", "other", "true", " "]),
    st.text(min_size=1, max_size=6),
)
_VALUE = st.one_of(_TEXT, st.none(), st.booleans(), st.integers(-2, 2), st.just([]), st.just({}))


def _entra_user() -> dict[str, Any]:
    return {
        "schemas": [USER_URN],
        "externalId": "e-1",
        "userName": "ada@example.com",
        "active": True,
        "displayName": "Ada Lovelace",
        "title": "Engineer",
        "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        "emails": [{"value": "ada@example.com", "type": "work", "primary": True}],
    }


@st.composite
def user_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = _entra_user()
    top = ["externalId", "userName", "displayName", "nickName", "title", "userType", "active", "locale",
           "username", "DisplayName", "profileUrl", "groups", "id", "meta"]  # fmt: skip
    for key in draw(st.lists(st.sampled_from(top), max_size=3)):
        body[key] = draw(_VALUE)
    for key in draw(st.lists(st.sampled_from(["formatted", "middleName", "honorificPrefix", "givenname",
                                              "familyName", "nickName"]), max_size=2)):  # fmt: skip
        body["name"][key] = draw(_VALUE)
    email = body["emails"][0]
    for key in draw(st.lists(st.sampled_from(["type", "primary", "value", "display", "Type"]), max_size=2)):
        email[key] = draw(st.one_of(_VALUE, st.sampled_from(["b@example.org", "not-an-address", "Other"])))
    if draw(st.booleans()):
        ent = draw(
            st.dictionaries(
                st.sampled_from(["department", "employeeNumber", "costCenter", "division", "Department", "manager"]),
                st.one_of(_VALUE, st.just({"value": "m-1"})),
                max_size=3,
            )
        )
        body[ENTERPRISE_URN] = ent
        if draw(st.booleans()):
            body["schemas"] = [USER_URN, ENTERPRISE_URN]
    if draw(st.booleans()):
        body["schemas"] = draw(st.sampled_from([[USER_URN.upper()], [USER_URN, "urn:x"], ["urn:x"]]))
    return body


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        return ("ok", json.dumps(run(), sort_keys=False, default=str))
    except ScimError as exc:
        return ("refused", exc.status, exc.detail, exc.reason)


@settings(max_examples=300)
@given(user_bodies(), st.booleans())
def test_a_user_body_gives_the_same_result_with_and_without_the_short_cut(
    body: dict[str, Any], replacing: bool
) -> None:
    fast = _outcome(lambda: validate_user(json.loads(json.dumps(body)), replacing=replacing))
    with mock.patch.object(scim_server.user_rules, "plain_user", lambda payload: None):
        slow = _outcome(lambda: validate_user(json.loads(json.dumps(body)), replacing=replacing))
    assert fast == slow


def test_entras_user_bodies_take_the_short_cut() -> None:
    body = _entra_user()
    body["schemas"] = [USER_URN, ENTERPRISE_URN]
    body[ENTERPRISE_URN] = {"department": "R&D", "employeeNumber": "7"}
    taken = plain_user({k: v for k, v in body.items()})
    assert taken is not None and list(taken) == [
        "externalId", "userName", "name", "displayName", "title", "active", "emails", ENTERPRISE_URN
    ]  # fmt: skip
    assert json.dumps(validate_user(body)) == json.dumps(taken)
    entra = {**_entra_user(), "meta": {"resourceType": "User"}, "roles": []}  # as the provisioning engine sends it
    entra["schemas"] = [USER_URN, ENTERPRISE_URN]
    with mock.patch.object(scim_server.user_rules, "plain_user", side_effect=plain_user) as short_cut:
        assert validate_user(entra) == validate_user(_entra_user())
    assert all(call.args[0] is not None and plain_user(call.args[0]) for call in short_cut.call_args_list)
    assert plain_user({**body, "userName": ""}) is None
    assert plain_user({**body, "username": "x"}) is None


_PLAIN_OP = st.builds(
    lambda verb, ids, ref: {
        "op": verb,
        "path": "members",
        "value": [{"$ref": None, "value": i} if ref else {"value": i} for i in ids],
    },
    st.sampled_from(["add", "remove", "Add", "Remove"]),
    st.lists(st.sampled_from(["u-1", "u-2", "u-3"]), min_size=1, max_size=3),
    st.booleans(),
)


@st.composite
def group_patches(draw: st.DrawFn) -> dict[str, Any]:
    ops = draw(st.lists(_PLAIN_OP, max_size=3)) if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 1 if ops else 3))):
        op: dict[str, Any] = {
            "op": draw(st.sampled_from(["add", "remove", "Add", "Remove", "ADD", "replace", "Replace", 3])),
            "path": draw(st.sampled_from(["members", "members", "Members", "displayName", 'members[value eq "u-1"]'])),
        }
        if draw(st.integers(0, 5)):
            members = draw(
                st.lists(
                    st.one_of(
                        st.builds(lambda v: {"value": v}, st.sampled_from(["u-1", "u-2", "", 7, None])),
                        st.just({"value": "u-3", "display": "U"}),
                        st.just({"$ref": None, "value": "u-1"}),
                        st.just({"$ref": "x", "value": "u-1"}),
                        st.just({"Value": "u-4"}),
                        st.just("u-5"),
                    ),
                    max_size=3,
                )
            )
            op["value"] = draw(st.one_of(st.just(members), st.just("name"), st.none()))
        if not draw(st.integers(0, 6)):
            op["extra"] = 1
        ops.insert(draw(st.integers(0, len(ops))), op)
    body: dict[str, Any] = {"schemas": [PATCH_URN], "Operations": ops}
    variant = draw(st.integers(0, 12))
    if variant == 0:
        body["schemas"] = [PATCH_URN.upper()]
    elif variant == 1:
        body["operations"] = body.pop("Operations")
    elif variant == 2:
        body["Operations"] = {"op": "add"}
    return body


def _plan(body: dict[str, Any]) -> Any:
    try:
        plan = plan_group_patch(json.loads(json.dumps(body)))
    except ScimError as exc:
        return ("refused", exc.status, exc.detail, exc.reason)
    return ("ok", plan.steps, plan.attrs, plan.removed_attrs, plan.no_op)


@settings(max_examples=300)
@given(group_patches())
def test_a_group_patch_gives_the_same_plan_with_and_without_the_short_cut(body: dict[str, Any]) -> None:
    fast = _plan(body)
    with mock.patch.object(scim_server.patch_rules, "plain_member_steps", lambda data: None):
        slow = _plan(body)
    assert fast == slow


def test_entras_member_patches_take_the_short_cut() -> None:
    body = {
        "schemas": [PATCH_URN],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u-1"}, {"value": "u-2"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u-3"}]},
        ],
    }
    assert plain_member_steps(body) == [("add", ["u-1", "u-2"]), ("remove", ["u-3"])]
    assert plan_group_patch(body).steps == [("add", ["u-1", "u-2"]), ("remove", ["u-3"])]
    assert plain_member_steps({**body, "Operations": [{"op": "replace", "path": "members", "value": []}]}) is None
