"""End to end through ``jitbox serve``'s sandbox: Entra-shaped SCIM requests change the identity store, and the AWS
APIs (boto3, configured only by the config JSON's environment) see the change on the shared clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import botocore.credentials
import botocore.tokens
import httpx2 as httpx
import pytest
from botocore.exceptions import ClientError

from jitbox.serve import RunningSandbox, start_sandbox
from scim_server.aws.testing import boto3_kwargs
from scim_server.testing import entra_add_member, entra_disable, entra_group, entra_remove_member, entra_user
from sim.clock import ManualClock, WallClock

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


def test_botocore_sso_credential_provider_uses_the_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An ``sso_session`` profile plus the token cache ``aws sso login`` writes: botocore's own SSO credential
    provider calls GetRoleCredentials on the sandbox (via ``AWS_ENDPOINT_URL_SSO``) [BC-cred][SDK-ssocred].

    botocore checks credential expiry against the real time, so this runs the sandbox on the wall clock.
    """
    with start_sandbox(WallClock(), seed=22, extensions=[]) as sandbox:
        _sso_profile_flow(sandbox, monkeypatch, tmp_path)


def _sso_profile_flow(sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = sandbox.config()
    url = config["aws_endpoint_url"]
    store = sandbox.idc.store
    alice = store.create_user({"userName": "alice", "displayName": "A", "name": {"givenName": "A", "familyName": "B"}})[
        "id"
    ]
    admin = boto3.client("sso-admin", **boto3_kwargs(url))
    arn = config["aws_instance_arn"]
    ps = admin.create_permission_set(InstanceArn=arn, Name="Admin", SessionDuration="PT3H")["PermissionSet"][
        "PermissionSetArn"
    ]
    admin.create_account_assignment(
        InstanceArn=arn,
        TargetId=ACCOUNT,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=alice,
    )
    control = httpx.Client(base_url=url)
    control.post("/_sandbox/clock/advance", json={"seconds": 5})

    oidc = boto3.client("sso-oidc", **boto3_kwargs(url))  # what `aws sso login` does
    client = oidc.register_client(clientName="botocore-test", clientType="public")
    secret = {"clientId": client["clientId"], "clientSecret": client["clientSecret"]}
    auth = oidc.start_device_authorization(**secret, startUrl="https://d-example.awsapps.com/start")
    control.post("/_sandbox/aws/device/approve", json={"user_code": auth["userCode"], "user_id": alice})
    token = oidc.create_token(
        **secret, grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=auth["deviceCode"]
    )

    (tmp_path / "config").write_text(
        "[profile jit]\nsso_session = sandbox\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = us-east-1\n"
        "[sso-session sandbox]\nsso_start_url = https://d-example.awsapps.com/start\nsso_region = us-east-1\n"
    )
    cache = tmp_path / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    expires = datetime.now(UTC) + timedelta(seconds=token["expiresIn"])
    (cache / (hashlib.sha1(b"sandbox").hexdigest() + ".json")).write_text(
        json.dumps(
            {
                "startUrl": "https://d-example.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": token["accessToken"],
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    # botocore resolves ~/.aws/sso/cache once at import; point both readers at this test's cache
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    credentials = boto3.session.Session(profile_name="jit").get_credentials()
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA")
    key = frozen.access_key
    status = control.get(f"/_sandbox/aws/role-sessions/{key}").json()
    assert status["allowed"] and status["expiration"] - status["launch"] == 3 * 3600
