"""End to end through ``jitbox serve``'s sandbox: Entra-shaped SCIM requests change the identity store, and the AWS
APIs (boto3, configured only by the config JSON's environment) see the change on the shared clock.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx2 as httpx
import pytest
from botocore.exceptions import ClientError

from scim_server.testing import entra_add_member, entra_disable, entra_group, entra_remove_member, entra_user
from sim.clock import ManualClock
from sim.serve import RunningSandbox, start_sandbox

ACCOUNT = "123456789012"


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox(ManualClock(), seed=21, extensions=[]) as running:
        yield running


def test_scim_membership_changes_drive_portal_launches(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = sandbox.config()
    for name, value in config["aws_env"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = boto3.session.Session()
    admin, ids, sso = (session.client(name) for name in ("sso-admin", "identitystore", "sso"))
    scim = httpx.Client(base_url=config["scim_url"], headers={"Authorization": f"Bearer {config['scim_token']}"})
    control = httpx.Client(base_url=config["aws_endpoint_url"])

    user = scim.post("Users", json=entra_user("alice@example.com", external_id="e-1")).json()["id"]
    group = scim.post("Groups", json=entra_group("AWS-Admins")).json()["id"]
    arn = config["aws_instance_arn"]
    ps = admin.create_permission_set(InstanceArn=arn, Name="Admin")["PermissionSet"]["PermissionSetArn"]
    admin.create_account_assignment(
        InstanceArn=arn,
        TargetId=ACCOUNT,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="GROUP",
        PrincipalId=group,
    )
    assert control.post("/_sandbox/aws/settings", json={"entitlement_mode": "launch_check"}).status_code == 200
    assert control.post("/_sandbox/clock/advance", json={"seconds": 5}).status_code == 200

    assert scim.patch(f"Groups/{group}", json=entra_add_member(user)).status_code in (200, 204)
    sid = config["aws_identity_store_id"]
    assert ids.is_member_in_groups(IdentityStoreId=sid, MemberId={"UserId": user}, GroupIds=[group])["Results"][0][
        "MembershipExists"
    ]
    token = control.post("/_sandbox/aws/signin", json={"user_name": "alice@example.com"}).json()["accessToken"]
    creds = sso.get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="Admin")["roleCredentials"]
    assert creds["accessKeyId"].startswith("ASIA")

    assert control.post("/_sandbox/clock/advance", json={"duration": "PT40M"}).status_code == 200
    assert scim.patch(f"Groups/{group}", json=entra_remove_member(user)).status_code in (200, 204)
    with pytest.raises(ClientError) as exc:
        sso.get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="Admin")
    assert exc.value.response["Error"]["Code"] == "ForbiddenException"  # launch_check: no current entitlement
    still = control.get(f"/_sandbox/aws/role-sessions/{creds['accessKeyId']}").json()
    assert still["allowed"]  # issued 40 min ago, 1 h session: removal does not end it [TEAM-sec]

    assert scim.patch(f"Users/{user}", json=entra_disable()).status_code == 200
    assert ids.describe_user(IdentityStoreId=sid, UserId=user)["UserStatus"] == "DISABLED"
    refused = control.post("/_sandbox/aws/signin", json={"user_id": user})
    assert refused.status_code == 401

    state = control.get("/_sandbox/state").json()
    [interval] = state["membership_history"]["memberships"]
    assert interval["end"] - interval["start"] == 40 * 60
