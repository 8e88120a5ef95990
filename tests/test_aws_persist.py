"""``jitbox serve --state``: the access plane (permission sets, assignments, unfinished requests, portal and role
sessions, countermeasures) and the membership history survive a restart, next to the identity store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import boto3
import httpx2 as httpx

from jitbox.serve import start_sandbox
from scim_server.aws.testing import boto3_kwargs
from sim.clock import DEFAULT_EPOCH, ManualClock

ACCOUNT = "123456789012"


def test_plane_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "idc.sqlite"
    with start_sandbox(ManualClock(), state_path=state, seed=4, extensions=[]) as first:
        url = first.config()["aws_endpoint_url"]
        store = first.idc.store
        alice = store.create_user(
            {"userName": "alice", "displayName": "A", "name": {"givenName": "A", "familyName": "B"}}
        )["id"]
        group = store.create_group({"displayName": "AWS-Admins"})["id"]
        store.add_members(group, [alice])
        admin = boto3.client("sso-admin", **boto3_kwargs(url))
        arn = admin.list_instances()["Instances"][0]["InstanceArn"]
        ps = admin.create_permission_set(InstanceArn=arn, Name="Admin", SessionDuration="PT2H")["PermissionSet"]
        pending = admin.create_account_assignment(
            InstanceArn=arn, TargetId=ACCOUNT, TargetType="AWS_ACCOUNT", PermissionSetArn=ps["PermissionSetArn"],
            PrincipalType="GROUP", PrincipalId=group,
        )["AccountAssignmentCreationStatus"]  # fmt: skip
        assert pending["Status"] == "IN_PROGRESS"  # the server stops before the 5 s have passed
        control = httpx.Client(base_url=url)
        assert control.post("/_sandbox/aws/settings", json={"entitlement_mode": "launch_check"}).status_code == 200
        token = control.post("/_sandbox/aws/signin", json={"user_id": alice}).json()["accessToken"]
        assert control.post("/_sandbox/aws/deny/user", json={"user_id": "someone-else"}).status_code == 200

    later = ManualClock(DEFAULT_EPOCH + timedelta(minutes=10))
    with start_sandbox(later, state_path=state, seed=4, extensions=[]) as second:
        url = second.config()["aws_endpoint_url"]
        admin = boto3.client("sso-admin", **boto3_kwargs(url))
        sso = boto3.client("sso", **boto3_kwargs(url))
        assert admin.list_instances()["Instances"][0]["InstanceArn"] == arn
        described = admin.describe_permission_set(InstanceArn=arn, PermissionSetArn=ps["PermissionSetArn"])
        assert described["PermissionSet"]["SessionDuration"] == "PT2H"
        status = admin.describe_account_assignment_creation_status(
            InstanceArn=arn, AccountAssignmentCreationRequestId=pending["RequestId"]
        )["AccountAssignmentCreationStatus"]
        assert status["Status"] == "SUCCEEDED"  # rescheduled on load; it was due while the server was down
        creds = sso.get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="Admin")["roleCredentials"]
        assert creds["expiration"] == round((later.time() + 2 * 3600) * 1000)
        dump = httpx.get(f"{url}/_sandbox/state").json()
        assert dump["access_plane"]["settings"]["entitlement_mode"] == "launch_check"
        [membership] = dump["membership_history"]["memberships"]
        assert membership["start"] == DEFAULT_EPOCH.timestamp()  # the original add time, not the restart
        assert dump["access_plane"]["user_denies"] == {"someone-else": DEFAULT_EPOCH.timestamp()}
    kept = state.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("idc.sqlite-*"))
    for secret in (token, creds["secretAccessKey"], creds["sessionToken"]):  # hashed, as AWS keeps them
        assert secret.encode() not in kept
