"""Bad input to the AWS APIs answers an AWS-shaped 4xx, never a 500 or a traceback, and changes nothing.

Hypothesis sends random JSON bodies to every JSON 1.1 operation and random query strings to the portal routes
through the ASGI app (in-process; the boto3 tests cover the wire).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from scim_server.app import create_app
from scim_server.aws.http import JSON11
from sim.clock import ManualClock

APP = create_app(ManualClock(), seed=5)
CLIENT = TestClient(APP, raise_server_exceptions=False)
STORE = APP.state.idc.store
PLANE = APP.state.idc.extras["aws"]
USER = STORE.create_user({"userName": "fuzz", "displayName": "F", "name": {"givenName": "F", "familyName": "Z"}})["id"]
GROUP = STORE.create_group({"displayName": "fuzzers"})["id"]
PS = PLANE.create_permission_set("Fuzz")

IDS_OPS = [
    "ListUsers", "ListGroups", "DescribeUser", "DescribeGroup", "GetUserId", "GetGroupId", "ListGroupMemberships",
    "ListGroupMembershipsForMember", "IsMemberInGroups", "GetGroupMembershipId", "CreateGroupMembership",
    "DeleteGroupMembership", "DescribeGroupMembership",
]  # fmt: skip
ADMIN_OPS = [
    "ListInstances", "CreatePermissionSet", "DescribePermissionSet", "UpdatePermissionSet", "DeletePermissionSet",
    "ListPermissionSets", "CreateAccountAssignment", "DeleteAccountAssignment",
    "DescribeAccountAssignmentCreationStatus", "DescribeAccountAssignmentDeletionStatus", "ListAccountAssignments",
    "ListAccountAssignmentsForPrincipal", "ProvisionPermissionSet", "DescribePermissionSetProvisioningStatus",
]  # fmt: skip
KEYS = [
    "IdentityStoreId", "InstanceArn", "UserId", "GroupId", "MemberId", "GroupIds", "MembershipId", "Filters",
    "AlternateIdentifier", "MaxResults", "NextToken", "Name", "SessionDuration", "PermissionSetArn", "TargetId",
    "TargetType", "PrincipalType", "PrincipalId", "Filter", "AccountId", "Description", "RelayState",
    "AccountAssignmentCreationRequestId", "ProvisionPermissionSetRequestId",
]  # fmt: skip
GOOD = {
    "IdentityStoreId": PLANE.identity_store_id,
    "InstanceArn": PLANE.instance_arn,
    "UserId": USER,
    "GroupId": GROUP,
    "PrincipalId": USER,
    "PermissionSetArn": PS.arn,
    "MemberId": {"UserId": USER},
}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 200), st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from([*list(GOOD.values())[:6], "USER", "GROUP", "AWS_ACCOUNT", "PT2H", "PT99H", "123456789012"]),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from([*KEYS, "Id", "Issuer", "AttributePath", "AttributeValue", "ExternalId", "UniqueAttribute"]), inner, max_size=3)), max_leaves=6)  # fmt: skip
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def _snapshot() -> str:
    return json.dumps([STORE.dump(), sorted(PLANE.permission_sets)], sort_keys=True, default=str)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.one_of(
        st.sampled_from(
            [f"AWSIdentityStore.{op}" for op in IDS_OPS] + [f"SWBExternalService.{op}" for op in ADMIN_OPS]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    ),
    body=bodies,
    keep_good=st.booleans(),
)
def test_random_json11_requests_never_answer_500(target: str, body: dict[str, Any], keep_good: bool) -> None:
    payload = {**GOOD, **body} if keep_good else body
    response = CLIENT.post("/", headers={"X-Amz-Target": target, "Content-Type": JSON11}, content=json.dumps(payload))
    assert response.status_code < 500, (target, payload, response.text)
    assert response.headers["x-amzn-RequestId"]
    if response.status_code >= 400:
        data = response.json()
        assert data["__type"] and isinstance(data["Message"], str)


@hsettings(max_examples=150, deadline=None)
@given(
    target=st.sampled_from(
        [f"AWSIdentityStore.{op}" for op in IDS_OPS] + [f"SWBExternalService.{op}" for op in ADMIN_OPS]
    ),
    body=bodies,
)
def test_rejected_requests_change_nothing(target: str, body: dict[str, Any]) -> None:
    before = _snapshot()
    response = CLIENT.post("/", headers={"X-Amz-Target": target, "Content-Type": JSON11}, content=json.dumps(body))
    if response.status_code >= 400:
        assert _snapshot() == before, (target, body, response.text)


@hsettings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(["/assignment/accounts", "/assignment/roles", "/federation/credentials", "/logout"]),
    params=st.dictionaries(
        st.sampled_from(["account_id", "role_name", "max_result", "next_token"]), st.text(max_size=15), max_size=4
    ),
    token=st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=10)),
)
def test_random_portal_requests_never_answer_500(path: str, params: dict[str, str], token: str | None) -> None:
    headers = {} if token is None else {"x-amz-sso_bearer_token": token}
    method = CLIENT.post if path == "/logout" else CLIENT.get
    response = method(path, params=params, headers=headers)
    assert response.status_code < 500, response.text
    assert response.status_code == 400 or response.status_code == 401, response.text
    assert response.headers["x-amzn-ErrorType"] in ("UnauthorizedException", "InvalidRequestException")


@hsettings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(["/client/register", "/device_authorization", "/token"]),
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(
                ["clientName", "clientType", "clientId", "clientSecret", "startUrl", "grantType", "deviceCode"]
            ),
            st.one_of(st.none(), st.integers(), st.text(max_size=12), st.just("public")),
            max_size=5,
        ),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_random_sso_oidc_requests_answer_oauth_errors(path: str, body: Any) -> None:
    response = CLIENT.post(path, content=json.dumps(body))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["x-amzn-ErrorType"].endswith("Exception")
        assert response.json()["error"] and response.json()["error_description"]
