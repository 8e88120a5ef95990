"""boto3 drives the sso-admin operations users of permission sets expect: managed and inline policies,
DescribeInstance, and the asynchronous DeleteAccountAssignment / ProvisionPermissionSet with their status calls
[BC-ssoadmin]. Each test pins the error class and message a user would see for bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aws_support import ACCOUNT, Sandbox, error_of, served_sandbox

from scim_server.aws.plane import AccessPlane

EC2_FULL = "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
READ_ONLY = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*"}]}
)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with served_sandbox() as sandbox:
        yield sandbox


def _permission_set(sb: Sandbox, name: str = "EC2AdminAccess") -> str:
    arn: str = sb.admin.create_permission_set(InstanceArn=sb.arn, Name=name, SessionDuration="PT1H")["PermissionSet"][
        "PermissionSetArn"
    ]
    return arn


def test_managed_policies_attach_list_detach(sb: Sandbox) -> None:
    ps = _permission_set(sb)
    assert (
        sb.admin.attach_managed_policy_to_permission_set(
            InstanceArn=sb.arn, PermissionSetArn=ps, ManagedPolicyArn=EC2_FULL
        )["ResponseMetadata"]["HTTPStatusCode"]
        == 200
    )
    sb.admin.attach_managed_policy_to_permission_set(
        InstanceArn=sb.arn, PermissionSetArn=ps, ManagedPolicyArn=READ_ONLY
    )
    listed = sb.admin.list_managed_policies_in_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)
    assert listed["AttachedManagedPolicies"] == [
        {"Name": "AmazonEC2FullAccess", "Arn": EC2_FULL},
        {"Name": "ViewOnlyAccess", "Arn": READ_ONLY},
    ]
    page = sb.admin.list_managed_policies_in_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, MaxResults=1)
    assert [p["Name"] for p in page["AttachedManagedPolicies"]] == ["AmazonEC2FullAccess"]
    rest = sb.admin.list_managed_policies_in_permission_set(
        InstanceArn=sb.arn, PermissionSetArn=ps, NextToken=page["NextToken"]
    )
    assert [p["Name"] for p in rest["AttachedManagedPolicies"]] == ["ViewOnlyAccess"] and "NextToken" not in rest

    with pytest.raises(sb.admin.exceptions.ConflictException) as exc:
        sb.admin.attach_managed_policy_to_permission_set(
            InstanceArn=sb.arn, PermissionSetArn=ps, ManagedPolicyArn=EC2_FULL
        )
    assert "already attached" in error_of(exc)[1]

    sb.admin.detach_managed_policy_from_permission_set(
        InstanceArn=sb.arn, PermissionSetArn=ps, ManagedPolicyArn=EC2_FULL
    )
    listed = sb.admin.list_managed_policies_in_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)
    assert [p["Arn"] for p in listed["AttachedManagedPolicies"]] == [READ_ONLY]
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException) as exc:
        sb.admin.detach_managed_policy_from_permission_set(
            InstanceArn=sb.arn, PermissionSetArn=ps, ManagedPolicyArn=EC2_FULL
        )
    assert "is not attached" in error_of(exc)[1]


@pytest.mark.parametrize(
    "bad",
    [
        "AmazonEC2FullAccess-policy",  # a name, not an ARN
        "arn:aws:iam::123456789012:policy/Mine",  # a customer managed policy is a different operation
        "arn:aws:iam::aws:role/AmazonEC2FullAccess",
    ],
)
def test_attach_refuses_what_is_not_an_aws_managed_policy_arn(sb: Sandbox, bad: str) -> None:
    ps = _permission_set(sb)
    with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
        sb.admin.attach_managed_policy_to_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, ManagedPolicyArn=bad)
    assert "ManagedPolicyArn" in error_of(exc)[1]
    assert (
        sb.admin.list_managed_policies_in_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)[
            "AttachedManagedPolicies"
        ]
        == []
    )


def test_policy_operations_on_an_unknown_permission_set_or_instance(sb: Sandbox) -> None:
    ps = _permission_set(sb)
    missing = ps[:-4] + "0000"
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException) as exc:
        sb.admin.attach_managed_policy_to_permission_set(
            InstanceArn=sb.arn, PermissionSetArn=missing, ManagedPolicyArn=EC2_FULL
        )
    assert missing in error_of(exc)[1]
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException):
        sb.admin.get_inline_policy_for_permission_set(InstanceArn=sb.arn, PermissionSetArn=missing)
    other = "arn:aws:sso:::instance/ssoins-0000000000000000"
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException) as exc:
        sb.admin.list_managed_policies_in_permission_set(InstanceArn=other, PermissionSetArn=ps)
    assert sb.arn in error_of(exc)[1]  # names the sandbox's own instance


def test_inline_policy_put_get_replace_delete(sb: Sandbox) -> None:
    ps = _permission_set(sb)
    assert sb.admin.get_inline_policy_for_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)["InlinePolicy"] == ""
    sb.admin.put_inline_policy_to_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, InlinePolicy=POLICY)
    got = sb.admin.get_inline_policy_for_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)["InlinePolicy"]
    assert json.loads(got) == json.loads(POLICY)
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    sb.admin.put_inline_policy_to_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, InlinePolicy=allow)
    got = sb.admin.get_inline_policy_for_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)["InlinePolicy"]
    assert json.loads(got)["Statement"][0]["Action"] == "s3:*"  # one inline policy: a put replaces it
    sb.admin.delete_inline_policy_from_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)
    assert sb.admin.get_inline_policy_for_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)["InlinePolicy"] == ""


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ("{not json", "not valid JSON"),
        ('{"Version": "2012-10-17"}', '"Statement"'),
        ("[1, 2]", '"Statement"'),
        (json.dumps({"Statement": [], "Sid": "x" * 10_300}), "non-whitespace"),
        ('{"Statement": []}' + " " * 32_768, "maximum is 32768"),
    ],
)
def test_inline_policy_limits_and_syntax(sb: Sandbox, document: str, named: str) -> None:
    ps = _permission_set(sb)
    with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
        sb.admin.put_inline_policy_to_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, InlinePolicy=document)
    code, message = error_of(exc)
    assert code == "ValidationException" and "InlinePolicy" in message and named in message
    assert sb.admin.get_inline_policy_for_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps)["InlinePolicy"] == ""


def test_describe_instance(sb: Sandbox) -> None:
    described = sb.admin.describe_instance(InstanceArn=sb.arn)
    assert described["InstanceArn"] == sb.arn and described["IdentityStoreId"] == sb.sid
    assert described["Status"] == "ACTIVE"
    assert (
        described["IdentityStoreArn"] == f"arn:aws:identitystore::{described['OwnerAccountId']}:identitystore/{sb.sid}"
    )
    with pytest.raises(sb.admin.exceptions.ValidationException) as exc:
        sb.admin.describe_instance(InstanceArn="arn:aws:sso:::instance/ssoins-0000000000000000")
    assert sb.arn in error_of(exc)[1]


def test_policies_survive_in_the_plane_state(sb: Sandbox) -> None:
    """The plane's saved state (``jitbox serve --state``) carries the policies."""
    ps = _permission_set(sb)
    sb.admin.attach_managed_policy_to_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, ManagedPolicyArn=EC2_FULL)
    sb.admin.put_inline_policy_to_permission_set(InstanceArn=sb.arn, PermissionSetArn=ps, InlinePolicy=POLICY)
    state = json.loads(json.dumps(sb.plane.to_state()))
    copy = AccessPlane(sb.clock, sb.plane.directory, sb.plane.history, seed="other")
    copy.load_state(state)
    assert copy.permission_sets[ps].managed_policies == [EC2_FULL]
    assert copy.permission_sets[ps].inline_policy == POLICY


def test_delete_account_assignment_is_asynchronous_and_needs_an_existing_assignment(sb: Sandbox) -> None:
    ps = _permission_set(sb)
    group = sb.group("AWS - Amazon EC2 Admin")
    args = {
        "InstanceArn": sb.arn,
        "TargetId": ACCOUNT,
        "TargetType": "AWS_ACCOUNT",
        "PermissionSetArn": ps,
        "PrincipalType": "GROUP",
        "PrincipalId": group,
    }
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException):
        sb.admin.delete_account_assignment(**args)
    sb.admin.create_account_assignment(**args)
    sb.advance(5)
    deletion = sb.admin.delete_account_assignment(**args)["AccountAssignmentDeletionStatus"]
    assert deletion["Status"] == "IN_PROGRESS"
    listed = sb.admin.list_account_assignments(InstanceArn=sb.arn, AccountId=ACCOUNT, PermissionSetArn=ps)
    assert len(listed["AccountAssignments"]) == 1  # still in effect until the request finishes
    sb.advance(5)
    polled = sb.admin.describe_account_assignment_deletion_status(
        InstanceArn=sb.arn, AccountAssignmentDeletionRequestId=deletion["RequestId"]
    )["AccountAssignmentDeletionStatus"]
    assert polled["Status"] == "SUCCEEDED" and polled["PrincipalId"] == group
    listed = sb.admin.list_account_assignments(InstanceArn=sb.arn, AccountId=ACCOUNT, PermissionSetArn=ps)
    assert listed["AccountAssignments"] == []
    with pytest.raises(sb.admin.exceptions.ResourceNotFoundException):
        sb.admin.describe_account_assignment_deletion_status(
            InstanceArn=sb.arn, AccountAssignmentDeletionRequestId="00000000-0000-4000-8000-000000000000"
        )
