"""boto3 drives the identitystore writes (Create/Update/DeleteUser, Create/Update/DeleteGroup) [BC-ids]: they
write the store the SCIM endpoint serves, follow the same user rules, and answer AWS's error shapes.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from aws_support import Sandbox, error_of, served_sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with served_sandbox() as sandbox:
        yield sandbox


def _rich(sb: Sandbox, **extra: object) -> dict[str, object]:
    return {
        "IdentityStoreId": sb.sid,
        "UserName": "rich.roe@example.com",
        "DisplayName": "Rich Roe",
        "Name": {"GivenName": "Rich", "FamilyName": "Roe"},
        "Emails": [{"Value": "rich.roe@example.com", "Type": "work", "Primary": True}],
        **extra,
    }


def test_create_user_is_visible_to_scim_and_describe(sb: Sandbox) -> None:
    created = sb.ids.create_user(**_rich(sb, Title="SRE lead"))
    uid = created["UserId"]
    assert created["IdentityStoreId"] == sb.sid
    assert created["UserArn"] == f"arn:aws:identitystore:::user/{uid}" and created["Revision"] == "1"
    described = sb.ids.describe_user(IdentityStoreId=sb.sid, UserId=uid)
    assert described["UserName"] == "rich.roe@example.com" and described["Title"] == "SRE lead"
    assert described["Name"] == {"GivenName": "Rich", "FamilyName": "Roe"}
    assert described["Emails"] == [{"Value": "rich.roe@example.com", "Type": "work", "Primary": True}]
    assert described["Revision"] == "1" and described["UserStatus"] == "ENABLED"
    scim = sb.store.get_user(uid)  # the same store the SCIM endpoint serves
    assert scim["userName"] == "rich.roe@example.com" and scim["name"]["givenName"] == "Rich"
    assert (
        sb.ids.get_user_id(
            IdentityStoreId=sb.sid,
            AlternateIdentifier={
                "UniqueAttribute": {"AttributePath": "UserName", "AttributeValue": "rich.roe@example.com"}
            },
        )["UserId"]
        == uid
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DisplayName": None}, "DisplayName is required"),
        ({"Name": {"FamilyName": "Roe"}}, "Name.GivenName"),
        ({"UserName": "rich roe"}, "UserName must be 1-128"),
        ({"Emails": [{"Value": "rich.roe@example.com", "Primary": False}]}, "primary"),
    ],
)
def test_create_user_validation_names_the_field(sb: Sandbox, change: dict[str, object], named: str) -> None:
    body = {k: v for k, v in {**_rich(sb), **change}.items() if v is not None}
    with pytest.raises(sb.ids.exceptions.ValidationException) as exc:
        sb.ids.create_user(**body)
    assert named in error_of(exc)[1]
    assert sb.ids.list_users(IdentityStoreId=sb.sid)["Users"] == []


def test_duplicate_user_name_or_group_name_is_a_uniqueness_conflict(sb: Sandbox) -> None:
    sb.ids.create_user(**_rich(sb))
    with pytest.raises(sb.ids.exceptions.ConflictException) as exc:
        sb.ids.create_user(**{k: v for k, v in _rich(sb, UserName="RICH.ROE@example.com").items() if k != "Emails"})
    assert exc.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"
    assert "UserName" in error_of(exc)[1]
    sb.ids.create_group(IdentityStoreId=sb.sid, DisplayName="AWS - Amazon EC2 Admin")
    with pytest.raises(sb.ids.exceptions.ConflictException) as exc:
        sb.ids.create_group(IdentityStoreId=sb.sid, DisplayName="aws - amazon ec2 admin")
    assert exc.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"


def test_update_user_sets_and_removes_attributes_with_revisions(sb: Sandbox) -> None:
    uid = sb.ids.create_user(**_rich(sb))["UserId"]
    updated = sb.ids.update_user(
        IdentityStoreId=sb.sid,
        UserId=uid,
        Operations=[
            {"AttributePath": "displayName", "AttributeValue": "Rich R. Roe"},
            {"AttributePath": "name.givenName", "AttributeValue": "Richard"},
            {"AttributePath": "Title", "AttributeValue": "On-call SRE"},
        ],
        Revision="1",
    )
    assert updated["Revision"] == "2"
    described = sb.ids.describe_user(IdentityStoreId=sb.sid, UserId=uid)
    assert described["DisplayName"] == "Rich R. Roe" and described["Title"] == "On-call SRE"
    assert described["Name"] == {"GivenName": "Richard", "FamilyName": "Roe"}
    sb.ids.update_user(IdentityStoreId=sb.sid, UserId=uid, Operations=[{"AttributePath": "title"}])
    assert "Title" not in sb.ids.describe_user(IdentityStoreId=sb.sid, UserId=uid)

    with pytest.raises(sb.ids.exceptions.ConflictException) as exc:  # revision 1 is stale now (3)
        sb.ids.update_user(
            IdentityStoreId=sb.sid, UserId=uid, Operations=[{"AttributePath": "nickName", "AttributeValue": "R"}],
            Revision="1",
        )  # fmt: skip
    assert exc.value.response["Reason"] == "CONCURRENT_MODIFICATION"
    with pytest.raises(sb.ids.exceptions.ValidationException) as exc:  # removing a required attribute
        sb.ids.update_user(IdentityStoreId=sb.sid, UserId=uid, Operations=[{"AttributePath": "displayName"}])
    assert "DisplayName" in error_of(exc)[1]
    with pytest.raises(sb.ids.exceptions.ValidationException) as exc:
        sb.ids.update_user(
            IdentityStoreId=sb.sid, UserId=uid, Operations=[{"AttributePath": "password", "AttributeValue": "x"}]
        )
    assert "'password'" in error_of(exc)[1]
    assert sb.ids.describe_user(IdentityStoreId=sb.sid, UserId=uid)["DisplayName"] == "Rich R. Roe"  # unchanged


def test_a_scim_change_bumps_the_revision(sb: Sandbox) -> None:
    uid = sb.ids.create_user(**_rich(sb))["UserId"]
    current = sb.store.get_user(uid)
    sb.store.replace_user(uid, {k: v for k, v in current.items() if k not in ("id", "meta")} | {"title": "x"})
    assert sb.ids.describe_user(IdentityStoreId=sb.sid, UserId=uid)["Revision"] == "2"


def test_delete_user_removes_it_and_its_memberships(sb: Sandbox) -> None:
    uid = sb.ids.create_user(**_rich(sb))["UserId"]
    gid = sb.ids.create_group(IdentityStoreId=sb.sid, DisplayName="AWS - Amazon EC2 Admin")["GroupId"]
    sb.ids.create_group_membership(IdentityStoreId=sb.sid, GroupId=gid, MemberId={"UserId": uid})
    sb.ids.delete_user(IdentityStoreId=sb.sid, UserId=uid)
    assert sb.ids.list_group_memberships(IdentityStoreId=sb.sid, GroupId=gid)["GroupMemberships"] == []
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.delete_user(IdentityStoreId=sb.sid, UserId=uid)
    assert exc.value.response["ResourceType"] == "USER"


def test_groups_create_update_delete(sb: Sandbox) -> None:
    created = sb.ids.create_group(
        IdentityStoreId=sb.sid, DisplayName="AWS - Amazon EC2 Admin", Description="Amazon EC2 administrator permissions"
    )
    gid = created["GroupId"]
    assert created["GroupArn"] == f"arn:aws:identitystore:::group/{gid}" and created["Revision"] == "1"
    described = sb.ids.describe_group(IdentityStoreId=sb.sid, GroupId=gid)
    assert described["Description"] == "Amazon EC2 administrator permissions"
    updated = sb.ids.update_group(
        IdentityStoreId=sb.sid,
        GroupId=gid,
        Operations=[
            {"AttributePath": "displayName", "AttributeValue": "AWS - EC2 Admin"},
            {"AttributePath": "description"},
        ],
    )
    assert updated["Revision"] == "2"
    described = sb.ids.describe_group(IdentityStoreId=sb.sid, GroupId=gid)
    assert described["DisplayName"] == "AWS - EC2 Admin" and "Description" not in described
    with pytest.raises(sb.ids.exceptions.ValidationException) as exc:
        sb.ids.update_group(
            IdentityStoreId=sb.sid, GroupId=gid, Operations=[{"AttributePath": "members", "AttributeValue": []}]
        )
    assert "DisplayName, Description" in error_of(exc)[1]
    sb.ids.delete_group(IdentityStoreId=sb.sid, GroupId=gid)
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.describe_group(IdentityStoreId=sb.sid, GroupId=gid)
    assert exc.value.response["ResourceType"] == "GROUP"


@pytest.mark.parametrize("name", ["Administrator", "AWSAdministrators"])
def test_reserved_group_names_are_refused(sb: Sandbox, name: str) -> None:
    with pytest.raises(sb.ids.exceptions.ValidationException) as exc:
        sb.ids.create_group(IdentityStoreId=sb.sid, DisplayName=name)
    assert "reserved" in error_of(exc)[1]


def test_writes_check_the_identity_store_id(sb: Sandbox) -> None:
    with pytest.raises(sb.ids.exceptions.ResourceNotFoundException) as exc:
        sb.ids.create_group(IdentityStoreId="d-0000000000", DisplayName="x")
    assert exc.value.response["ResourceType"] == "IDENTITY_STORE"


def test_bad_json_shapes_are_validation_errors_not_500(sb: Sandbox) -> None:
    for body in (
        {"IdentityStoreId": sb.sid, "UserName": "a", "Name": "not an object"},
        {"IdentityStoreId": sb.sid, "UserName": "a", "Emails": {"Value": "x"}},
        {"IdentityStoreId": sb.sid, "UserName": "a", "Name": {"GivenName": "A", "FamilyName": "B", "Nick": "R"}},
        {"IdentityStoreId": sb.sid, "UserId": "x", "Operations": "nope"},
    ):
        target = "UpdateUser" if "Operations" in body else "CreateUser"
        response = httpx.post(
            sb.url + "/",
            json=body,
            headers={"X-Amz-Target": f"AWSIdentityStore.{target}", "Content-Type": "application/x-amz-json-1.1"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["__type"] == "ValidationException"


def test_every_user_group_and_membership_answer_carries_its_arn(sb: Sandbox) -> None:
    """botocore's current identitystore model requires the ResourceArn members (``arn:aws:identitystore:::...``)."""
    uid = sb.ids.create_user(**_rich(sb))["UserId"]
    gid = sb.ids.create_group(IdentityStoreId=sb.sid, DisplayName="AWS - Amazon EC2 Admin")["GroupId"]
    by_name = sb.ids.get_user_id(
        IdentityStoreId=sb.sid,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "UserName", "AttributeValue": "rich.roe@example.com"}
        },
    )
    assert by_name["UserArn"] == f"arn:aws:identitystore:::user/{uid}"
    group = sb.ids.get_group_id(
        IdentityStoreId=sb.sid,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "DisplayName", "AttributeValue": "AWS - Amazon EC2 Admin"}
        },
    )
    assert group["GroupArn"] == f"arn:aws:identitystore:::group/{gid}"
    created = sb.ids.create_group_membership(IdentityStoreId=sb.sid, GroupId=gid, MemberId={"UserId": uid})
    mid = created["MembershipId"]
    assert created["MembershipArn"] == f"arn:aws:identitystore:::membership/{mid}"
    [listed] = sb.ids.list_group_memberships(IdentityStoreId=sb.sid, GroupId=gid)["GroupMemberships"]
    assert listed["MembershipArn"] == created["MembershipArn"]
    found = sb.ids.get_group_membership_id(IdentityStoreId=sb.sid, GroupId=gid, MemberId={"UserId": uid})
    assert found["MembershipArn"] == created["MembershipArn"]
    [user] = sb.ids.list_users(IdentityStoreId=sb.sid)["Users"]
    assert user["UserArn"] == by_name["UserArn"] and user["Revision"] == "1"
