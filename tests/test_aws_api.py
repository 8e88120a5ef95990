"""boto3 drives every identitystore, sso-admin and sso (portal) operation against the app served by uvicorn.

Each test also pins an error case: boto3 must raise the right exception class with the right message, parsed
from the fake's AWS error shapes (``__type`` for JSON 1.1, ``x-amzn-ErrorType`` for REST-JSON) [BC-parsers].
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from aws_support import ACCOUNT, Sandbox, error_of, served_sandbox
from botocore.exceptions import ClientError

from scim_server.aws.testing import boto3_kwargs


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with served_sandbox() as sandbox:
        yield sandbox


# --- identitystore ------------------------------------------------------------------------------------


def test_identitystore_reads_users_and_groups_from_the_scim_store(sb: Sandbox) -> None:
    alice = sb.user("alice", externalId="entra-1")
    bob = sb.user("bob", active=False)
    admins = sb.group("AWS-Admins", externalId="g-1")
    users = sb.ids.list_users(IdentityStoreId=sb.sid)["Users"]
    assert [u["UserName"] for u in users] == ["alice", "bob"]
    described = sb.ids.describe_user(IdentityStoreId=sb.sid, UserId=alice)
    assert described["Name"] == {"GivenName": "Alice", "FamilyName": "Tester"}
    assert described["Emails"] == [{"Value": "alice@example.com", "Type": "work", "Primary": True}]
    assert described["UserStatus"] == "ENABLED"
    assert described["ExternalIds"] == [{"Issuer": "SCIM", "Id": "entra-1"}]
    assert sb.ids.describe_user(IdentityStoreId=sb.sid, UserId=bob)["UserStatus"] == "DISABLED"
    assert sb.ids.describe_group(IdentityStoreId=sb.sid, GroupId=admins)["DisplayName"] == "AWS-Admins"
    groups = sb.ids.list_groups(
        IdentityStoreId=sb.sid, Filters=[{"AttributePath": "DisplayName", "AttributeValue": "AWS-Admins"}]
    )
    assert [g["GroupId"] for g in groups["Groups"]] == [admins]
    by_name = sb.ids.list_users(
        IdentityStoreId=sb.sid, Filters=[{"AttributePath": "UserName", "AttributeValue": "bob"}]
    )
    assert [u["UserId"] for u in by_name["Users"]] == [bob]

    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.describe_user(IdentityStoreId=sb.sid, UserId="0000000000-00000000-0000-4000-8000-000000000000")
    assert exc.value.response["ResourceType"] == "USER"
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.describe_group(IdentityStoreId=sb.sid, GroupId="0000000000-00000000-0000-4000-8000-000000000000")
    assert exc.value.response["ResourceType"] == "GROUP"
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.list_users(IdentityStoreId="d-0000000000")
    assert "d-0000000000 does not exist" in error_of(exc)[1]


def test_identitystore_pagination_with_next_token(sb: Sandbox) -> None:
    for i in range(5):
        sb.user(f"user{i}")
    first = sb.ids.list_users(IdentityStoreId=sb.sid, MaxResults=2)
    assert len(first["Users"]) == 2 and "NextToken" in first
    names = [u["UserName"] for u in first["Users"]]
    token = first["NextToken"]
    while token:
        page = sb.ids.list_users(IdentityStoreId=sb.sid, MaxResults=2, NextToken=token)
        names += [u["UserName"] for u in page["Users"]]
        token = page.get("NextToken")
    assert names == [f"user{i}" for i in range(5)]
    paginator = sb.ids.get_paginator("list_users")
    assert (
        sum(len(p["Users"]) for p in paginator.paginate(IdentityStoreId=sb.sid, PaginationConfig={"PageSize": 2})) == 5
    )
    with pytest.raises(sb.ids.exceptions.ValidationException) as exc:
        sb.ids.list_users(IdentityStoreId=sb.sid, NextToken="not-a-token")
    assert "NextToken" in error_of(exc)[1]


def test_identitystore_get_user_id_and_get_group_id(sb: Sandbox) -> None:
    alice = sb.user("alice", externalId="entra-1")
    admins = sb.group("AWS-Admins", externalId="g-1")
    by_name = sb.ids.get_user_id(
        IdentityStoreId=sb.sid,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "UserName", "AttributeValue": "ALICE"}},
    )
    assert by_name["UserId"] == alice
    by_email = sb.ids.get_user_id(
        IdentityStoreId=sb.sid,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "Emails.Value", "AttributeValue": "alice@example.com"}
        },
    )
    assert by_email["UserId"] == alice
    by_ext = sb.ids.get_user_id(
        IdentityStoreId=sb.sid, AlternateIdentifier={"ExternalId": {"Issuer": "SCIM", "Id": "entra-1"}}
    )
    assert by_ext["UserId"] == alice
    group = sb.ids.get_group_id(
        IdentityStoreId=sb.sid,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "DisplayName", "AttributeValue": "AWS-Admins"}},
    )
    assert group["GroupId"] == admins
    assert (
        sb.ids.get_group_id(
            IdentityStoreId=sb.sid, AlternateIdentifier={"ExternalId": {"Issuer": "SCIM", "Id": "g-1"}}
        )["GroupId"]
        == admins
    )
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException):
        sb.ids.get_user_id(
            IdentityStoreId=sb.sid,
            AlternateIdentifier={"UniqueAttribute": {"AttributePath": "UserName", "AttributeValue": "nobody"}},
        )
    with pytest.raises(sb.ids.exceptions.ValidationException) as exc:
        sb.ids.get_group_id(
            IdentityStoreId=sb.sid,
            AlternateIdentifier={"UniqueAttribute": {"AttributePath": "Description", "AttributeValue": "x"}},
        )
    assert "Description" in error_of(exc)[1]


def test_identitystore_membership_operations_write_the_shared_store(sb: Sandbox) -> None:
    alice, bob = sb.user("alice"), sb.user("bob")
    admins, readers = sb.group("AWS-Admins"), sb.group("AWS-Readers")
    created = sb.ids.create_group_membership(IdentityStoreId=sb.sid, GroupId=admins, MemberId={"UserId": alice})
    assert sb.store.is_member(admins, alice)  # the SCIM side sees it at once
    sb.store.add_members(readers, [alice, bob])  # and SCIM-side changes are visible to identitystore
    mid = sb.ids.get_group_membership_id(IdentityStoreId=sb.sid, GroupId=admins, MemberId={"UserId": alice})[
        "MembershipId"
    ]
    assert mid == created["MembershipId"]
    listed = sb.ids.list_group_memberships(IdentityStoreId=sb.sid, GroupId=readers)["GroupMemberships"]
    assert [m["MemberId"]["UserId"] for m in listed] == [alice, bob]
    for_alice = sb.ids.list_group_memberships_for_member(IdentityStoreId=sb.sid, MemberId={"UserId": alice})
    assert [m["GroupId"] for m in for_alice["GroupMemberships"]] == [admins, readers]
    results = sb.ids.is_member_in_groups(IdentityStoreId=sb.sid, MemberId={"UserId": bob}, GroupIds=[admins, readers])
    assert [r["MembershipExists"] for r in results["Results"]] == [False, True]
    described = sb.ids.describe_group_membership(IdentityStoreId=sb.sid, MembershipId=mid)
    assert described["GroupId"] == admins and described["MemberId"] == {"UserId": alice}

    with pytest.raises(sb.ids.exceptions.ConflictException) as exc:
        sb.ids.create_group_membership(IdentityStoreId=sb.sid, GroupId=admins, MemberId={"UserId": alice})
    assert exc.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"
    sb.ids.delete_group_membership(IdentityStoreId=sb.sid, MembershipId=mid)
    assert not sb.store.is_member(admins, alice)
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.delete_group_membership(IdentityStoreId=sb.sid, MembershipId=mid)
    assert exc.value.response["ResourceType"] == "GROUP_MEMBERSHIP"
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.get_group_membership_id(IdentityStoreId=sb.sid, GroupId=admins, MemberId={"UserId": alice})
    assert "not a member" in error_of(exc)[1]
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException):
        sb.ids.create_group_membership(IdentityStoreId=sb.sid, GroupId=admins, MemberId={"UserId": "0000000000-x"})


# --- sso-admin -----------------------------------------------------------------------------------------


def test_permission_sets_crud_and_session_duration_limits(sb: Sandbox) -> None:
    created = sb.admin.create_permission_set(
        InstanceArn=sb.arn, Name="Admin", Description="admins", SessionDuration="PT4H"
    )
    ps = created["PermissionSet"]
    assert ps["PermissionSetArn"].startswith(f"arn:aws:sso:::permissionSet/{sb.arn.rsplit('/', 1)[1]}/ps-")
    assert ps["SessionDuration"] == "PT4H"
    default = sb.admin.create_permission_set(InstanceArn=sb.arn, Name="ReadOnly")["PermissionSet"]
    assert default["SessionDuration"] == "PT1H"
    described = sb.admin.describe_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps["PermissionSetArn"])
    assert described["PermissionSet"]["Description"] == "admins"
    sb.admin.update_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps["PermissionSetArn"], SessionDuration="PT12H")
    updated = sb.admin.describe_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps["PermissionSetArn"])
    assert updated["PermissionSet"]["SessionDuration"] == "PT12H"
    arns = sb.admin.list_permission_sets(InstanceArn=sb.arn, MaxResults=1)
    assert arns["PermissionSets"] == [ps["PermissionSetArn"]] and "NextToken" in arns
    rest = sb.admin.list_permission_sets(InstanceArn=sb.arn, NextToken=arns["NextToken"])
    assert rest["PermissionSets"] == [default["PermissionSetArn"]]

    for bad, limit in (("PT13H", "maximum of PT12H"), ("PT30M", "minimum of PT1H")):
        with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
            sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Bad", SessionDuration=bad)
        assert limit in error_of(exc)[1] and "SessionDuration" in error_of(exc)[1]
    with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
        sb.admin.update_permission_set(
            InstanceArn=sb.arn, PermissionSetArn=ps["PermissionSetArn"], SessionDuration="1 day"
        )
    assert "ISO-8601" in error_of(exc)[1]
    with pytest.raises(sb.admin.exceptions.ConflictException):
        sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Admin")
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException):
        sb.admin.create_permission_set(InstanceArn="arn:aws:sso:::instance/ssoins-0000000000000000", Name="X")
    sb.admin.delete_permission_set(InstanceArn=sb.arn, PermissionSetArn=default["PermissionSetArn"])
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException) as exc:
        sb.admin.describe_permission_set(InstanceArn=sb.arn, PermissionSetArn=default["PermissionSetArn"])
    assert default["PermissionSetArn"] in error_of(exc)[1]


def test_account_assignments_are_asynchronous_on_the_clock(sb: Sandbox) -> None:
    alice = sb.user("alice")
    admins = sb.group("AWS-Admins")
    ps = sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Admin")["PermissionSet"]["PermissionSetArn"]
    args = {"InstanceArn": sb.arn, "TargetId": ACCOUNT, "TargetType": "AWS_ACCOUNT", "PermissionSetArn": ps}
    status = sb.admin.create_account_assignment(**args, PrincipalType="GROUP", PrincipalId=admins)
    request_id = status["AccountAssignmentCreationStatus"]["RequestId"]
    assert status["AccountAssignmentCreationStatus"]["Status"] == "IN_PROGRESS"
    assert (
        sb.admin.list_account_assignments(InstanceArn=sb.arn, AccountId=ACCOUNT, PermissionSetArn=ps)[
            "AccountAssignments"
        ]
        == []
    )
    sb.advance(5)
    polled = sb.admin.describe_account_assignment_creation_status(
        InstanceArn=sb.arn, AccountAssignmentCreationRequestId=request_id
    )
    assert polled["AccountAssignmentCreationStatus"]["Status"] == "SUCCEEDED"
    sb.admin.create_account_assignment(**args, PrincipalType="USER", PrincipalId=alice)
    sb.advance(5)
    listed = sb.admin.list_account_assignments(InstanceArn=sb.arn, AccountId=ACCOUNT, PermissionSetArn=ps)[
        "AccountAssignments"
    ]
    assert {(a["PrincipalType"], a["PrincipalId"]) for a in listed} == {("GROUP", admins), ("USER", alice)}
    mine = sb.admin.list_account_assignments_for_principal(
        InstanceArn=sb.arn, PrincipalId=alice, PrincipalType="USER", Filter={"AccountId": ACCOUNT}
    )["AccountAssignments"]
    assert mine == [{"AccountId": ACCOUNT, "PermissionSetArn": ps, "PrincipalId": alice, "PrincipalType": "USER"}]
    sb.store.add_members(admins, [alice])
    switch = sb.http.post("/_sandbox/aws/settings", json={"user_assignments_include_groups": True})
    assert switch.status_code == 200  # UNCONFIRMED whether AWS lists group-derived rows for a USER
    with_groups = sb.admin.list_account_assignments_for_principal(
        InstanceArn=sb.arn, PrincipalId=alice, PrincipalType="USER"
    )
    assert {(a["PrincipalType"], a["PrincipalId"]) for a in with_groups["AccountAssignments"]} == {
        ("USER", alice),
        ("GROUP", admins),
    }
    sb.http.post("/_sandbox/aws/settings", json={"user_assignments_include_groups": False})

    with pytest.raises(sb.admin.exceptions.ConflictException):
        sb.admin.delete_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)
    deletion = sb.admin.delete_account_assignment(**args, PrincipalType="USER", PrincipalId=alice)
    deletion_id = deletion["AccountAssignmentDeletionStatus"]["RequestId"]
    assert deletion["AccountAssignmentDeletionStatus"]["Status"] == "IN_PROGRESS"
    sb.advance(5)
    polled = sb.admin.describe_account_assignment_deletion_status(
        InstanceArn=sb.arn, AccountAssignmentDeletionRequestId=deletion_id
    )
    assert polled["AccountAssignmentDeletionStatus"]["Status"] == "SUCCEEDED"
    assert (
        sb.admin.list_account_assignments_for_principal(InstanceArn=sb.arn, PrincipalId=alice, PrincipalType="USER")[
            "AccountAssignments"
        ]
        == []
    )

    with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
        sb.admin.create_account_assignment(
            **{**args, "TargetId": "12345678901x"}, PrincipalType="USER", PrincipalId=alice
        )
    assert "12-digit" in error_of(exc)[1]
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException) as exc:
        sb.admin.create_account_assignment(**args, PrincipalType="USER", PrincipalId="0000000000-nobody")
    assert "does not exist" in error_of(exc)[1]
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException):
        sb.admin.describe_account_assignment_creation_status(
            InstanceArn=sb.arn, AccountAssignmentCreationRequestId=deletion_id
        )


def test_provision_permission_set_and_list_instances(sb: Sandbox) -> None:
    instances = sb.admin.list_instances()["Instances"]
    assert len(instances) == 1 and instances[0]["IdentityStoreId"].startswith("d-")
    assert instances[0]["Status"] == "ACTIVE"
    ps = sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Admin")["PermissionSet"]["PermissionSetArn"]
    status = sb.admin.provision_permission_set(
        InstanceArn=sb.arn, PermissionSetArn=ps, TargetType="AWS_ACCOUNT", TargetId=ACCOUNT
    )
    request_id = status["PermissionSetProvisioningStatus"]["RequestId"]
    assert status["PermissionSetProvisioningStatus"]["Status"] == "IN_PROGRESS"
    sb.advance(5)
    polled = sb.admin.describe_permission_set_provisioning_status(
        InstanceArn=sb.arn, ProvisionPermissionSetRequestId=request_id
    )
    assert polled["PermissionSetProvisioningStatus"]["Status"] == "SUCCEEDED"
    assert polled["PermissionSetProvisioningStatus"]["AccountId"] == ACCOUNT
    with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
        sb.admin.provision_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, TargetType="AWS_ACCOUNT")
    assert "TargetId" in error_of(exc)[1]


# --- sso portal ----------------------------------------------------------------------------------------


def test_portal_lists_accounts_roles_and_issues_credentials(sb: Sandbox) -> None:
    alice = sb.user("alice")
    admins = sb.group("AWS-Admins")
    sb.store.add_members(admins, [alice])
    assert (
        sb.http.post(
            "/_sandbox/aws/accounts", json={"account_id": ACCOUNT, "name": "prod", "email": "prod@example.com"}
        ).status_code
        == 200
    )
    ps = sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Admin", SessionDuration="PT2H")["PermissionSet"][
        "PermissionSetArn"
    ]
    sb.admin.create_account_assignment(
        InstanceArn=sb.arn,
        TargetId=ACCOUNT,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="GROUP",
        PrincipalId=admins,
    )
    sb.advance(5)
    token = sb.signin(alice)
    accounts = sb.sso.list_accounts(accessToken=token)["accountList"]
    assert accounts == [{"accountId": ACCOUNT, "accountName": "prod", "emailAddress": "prod@example.com"}]
    roles = sb.sso.list_account_roles(accessToken=token, accountId=ACCOUNT)["roleList"]
    assert roles == [{"roleName": "Admin", "accountId": ACCOUNT}]
    launch = sb.clock.time()
    creds = sb.sso.get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="Admin")["roleCredentials"]
    assert creds["accessKeyId"].startswith("ASIA") and creds["secretAccessKey"] and creds["sessionToken"]
    assert creds["expiration"] == round((launch + 2 * 3600) * 1000)  # epoch milliseconds [BC-sso][GH-cli7340]

    with pytest.raises(ClientError) as exc:
        sb.sso.get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="NotAssigned")
    assert error_of(exc) == ("ForbiddenException", "No access")
    with pytest.raises(sb.sso.exceptions.InvalidRequestException):
        sb.sso.list_accounts(accessToken=token, nextToken="garbage")
    sb.sso.logout(accessToken=token)
    with pytest.raises(sb.sso.exceptions.UnauthorizedException) as exc:
        sb.sso.list_accounts(accessToken=token)
    assert error_of(exc)[1] == "Session token not found or invalid"
    response = sb.http.get("/assignment/accounts", headers={"x-amz-sso_bearer_token": "nope"})
    assert response.status_code == 401 and response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert response.headers["x-amzn-RequestId"]


def test_portal_pagination(sb: Sandbox) -> None:
    alice = sb.user("alice")
    ps = sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Admin")["PermissionSet"]["PermissionSetArn"]
    accounts = [f"{i:012d}" for i in range(1, 4)]
    for account in accounts:
        sb.admin.create_account_assignment(
            InstanceArn=sb.arn,
            TargetId=account,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType="USER",
            PrincipalId=alice,
        )
    sb.advance(5)
    token = sb.signin(alice)
    paginator = sb.sso.get_paginator("list_accounts")
    pages = list(paginator.paginate(accessToken=token, PaginationConfig={"PageSize": 2}))
    assert [len(p["accountList"]) for p in pages] == [2, 1]
    assert [a["accountId"] for p in pages for a in p["accountList"]] == accounts


# --- protocol edges --------------------------------------------------------------------------------------


def test_json11_protocol_errors_are_aws_shaped(sb: Sandbox) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    unknown = sb.http.post("/", headers={**headers, "X-Amz-Target": "AWSIdentityStore.Nope"}, content="{}")
    assert unknown.status_code == 400 and unknown.json()["__type"] == "UnknownOperationException"
    assert unknown.headers["x-amzn-RequestId"]
    garbage = sb.http.post("/", headers={**headers, "X-Amz-Target": "AWSIdentityStore.ListUsers"}, content="{not json")
    assert garbage.status_code == 400 and garbage.json()["__type"] == "SerializationException"
    wrong_type = sb.http.post(
        "/", headers={**headers, "X-Amz-Target": "SWBExternalService.CreatePermissionSet"},
        json={"InstanceArn": sb.arn, "Name": ["x"]},
    )  # fmt: skip
    assert wrong_type.status_code == 400 and wrong_type.json()["__type"] == "ValidationException"
    assert "Name" in wrong_type.json()["Message"]


def test_sandbox_signin_refuses_unknown_and_disabled_users(sb: Sandbox) -> None:
    bob = sb.user("bob", active=False)
    missing = sb.http.post("/_sandbox/aws/signin", json={"user_id": "0000000000-nobody"})
    assert missing.status_code == 404 and "not provisioned" in missing.json()["error"]["message"]
    disabled = sb.http.post("/_sandbox/aws/signin", json={"user_id": bob})
    assert disabled.status_code == 401 and "disabled" in disabled.json()["error"]["message"]
    by_name = sb.http.post("/_sandbox/aws/signin", json={"user_name": "nobody"})
    assert by_name.status_code == 404
    bad_setting = sb.http.post("/_sandbox/aws/settings", json={"portal_session": "10m"})
    assert bad_setting.status_code == 400 and "portal_session" in bad_setting.json()["error"]["message"]
    unknown = sb.http.post("/_sandbox/aws/settings", json={"colour": "blue"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["message"]
    half_bad = sb.http.post("/_sandbox/aws/settings", json={"portal_session": "1h", "disabled_user_mode": "bogus"})
    assert half_bad.status_code == 400 and "disabled_user_mode" in half_bad.json()["error"]["message"]
    assert sb.http.get("/_sandbox/aws/settings").json()["portal_session"] == 8 * 3600  # nothing changed


# --- sso-oidc device flow --------------------------------------------------------------------------------


def test_sso_oidc_device_flow_ends_in_a_portal_token(sb: Sandbox) -> None:
    alice = sb.user("alice")
    ps = sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Admin")["PermissionSet"]["PermissionSetArn"]
    sb.admin.create_account_assignment(
        InstanceArn=sb.arn,
        TargetId=ACCOUNT,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=alice,
    )
    sb.advance(5)
    oidc = boto3.client("sso-oidc", **boto3_kwargs(sb.url))
    client = oidc.register_client(clientName="jit-cli", clientType="public")
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl="https://d-example.awsapps.com/start"
    )
    assert auth["expiresIn"] == 600 and auth["interval"] == 1
    grant = "urn:ietf:params:oauth:grant-type:device_code"
    args = {
        "clientId": client["clientId"],
        "clientSecret": client["clientSecret"],
        "grantType": grant,
        "deviceCode": auth["deviceCode"],
    }
    with pytest.raises(oidc.exceptions.AuthorizationPendingException) as pending:
        oidc.create_token(**args)
    assert pending.value.response["error"] == "authorization_pending"
    approved = sb.http.post("/_sandbox/aws/device/approve", json={"user_code": auth["userCode"], "user_name": "alice"})
    assert approved.status_code == 200, approved.text
    token = oidc.create_token(**args)
    assert token["tokenType"] == "Bearer" and token["expiresIn"] == 8 * 3600  # the portal session [UG-uis]
    assert [a["accountId"] for a in sb.sso.list_accounts(accessToken=token["accessToken"])["accountList"]] == [ACCOUNT]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**args)  # a device code is redeemed once
    with pytest.raises(oidc.exceptions.InvalidClientException):
        oidc.create_token(**{**args, "clientSecret": "wrong"})
    with pytest.raises(oidc.exceptions.UnsupportedGrantTypeException):
        oidc.create_token(**{**args, "grantType": "refresh_token"})
    late = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl="https://x"
    )
    sb.advance(600)
    with pytest.raises(oidc.exceptions.ExpiredTokenException):
        oidc.create_token(**{**args, "deviceCode": late["deviceCode"]})


def test_assignment_of_a_deleted_user_lingers_and_can_be_deleted(sb: Sandbox) -> None:
    bob = sb.user("bob")
    ps = sb.admin.create_permission_set(InstanceArn=sb.arn, Name="Admin")["PermissionSet"]["PermissionSetArn"]
    args = {"InstanceArn": sb.arn, "TargetId": ACCOUNT, "TargetType": "AWS_ACCOUNT", "PermissionSetArn": ps}
    sb.admin.create_account_assignment(**args, PrincipalType="USER", PrincipalId=bob)
    sb.advance(5)
    sb.store.delete_user(bob)  # the assignment keeps the old id [UG-trouble][GH-assoutil93]
    listed = sb.admin.list_account_assignments(InstanceArn=sb.arn, AccountId=ACCOUNT, PermissionSetArn=ps)
    assert [a["PrincipalId"] for a in listed["AccountAssignments"]] == [bob]
    status = sb.admin.delete_account_assignment(**args, PrincipalType="USER", PrincipalId=bob)
    assert status["AccountAssignmentDeletionStatus"]["Status"] == "IN_PROGRESS"
    with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
        sb.admin.delete_account_assignment(**args, PrincipalType="ROBOT", PrincipalId=bob)
    assert "PrincipalType" in error_of(exc)[1]
