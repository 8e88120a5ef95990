"""The seed walkthrough [AWS-BLOG] as an integration developer does it: ``python -m jitbox serve`` in a subprocess,
then the real clients against it. The AWS CLI (awscli from the package registry, a dev dependency) does Steps 3
and 4 (create-permission-set, attach-managed-policy-to-permission-set, create-account-assignment) with the dummy
credentials of the config's ``aws_env``; msgraph-sdk does the Graph half (Rich Roe activates his eligible
membership with a justification); boto3 checks the provisioned membership; the AWS CLI ends with a role credential
for EC2AdminAccess from the portal API.

The served world is the shipped seed world without its permission sets and account assignments (a JSON copy of
``jitbox/worlds/seed.toml`` passed with ``--world``), so the CLI walks Steps 3 and 4 exactly as the post does them
in the console; the default world's own Identity Center side is ``tests/test_sandbox_world.py``'s.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import httpx2
import pytest
from cli_support import REPO_ROOT, code_under_test_env
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphServiceClient
from msgraph.generated.models.expiration_pattern import ExpirationPattern
from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
from msgraph.generated.models.privileged_access_group_assignment_schedule_request import (
    PrivilegedAccessGroupAssignmentScheduleRequest,
)
from msgraph.generated.models.privileged_access_group_relationships import PrivilegedAccessGroupRelationships
from msgraph.generated.models.request_schedule import RequestSchedule
from msgraph.generated.models.schedule_request_actions import ScheduleRequestActions
from msgraph.graph_request_adapter import GraphRequestAdapter

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # msgraph-sdk's own deprecations

ACCOUNT = "111122223333"
GROUP = "AWS - Amazon EC2 Admin"
RICH = "rich.roe@jitbox.example"
EC2_FULL = "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Run ``python -m jitbox serve`` (free ports, manual clock) and yield its config JSON."""
    cfg_path = tmp_path / "config.json"
    world = tomllib.loads((REPO_ROOT / "jitbox" / "worlds" / "seed.toml").read_text())
    world["identity_center"] = {"accounts": world["identity_center"]["accounts"]}  # Steps 3 and 4 are the test's
    world_path = tmp_path / "seed-before-step-3.json"
    world_path.write_text(json.dumps(world))
    serve = ["serve", "--port", "0", "--entra-port", "0", "--world", str(world_path), "--config-out", str(cfg_path)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "jitbox", *serve],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=code_under_test_env(),
    )
    try:
        deadline = time.monotonic() + 60
        while not cfg_path.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cfg_path.exists(), f"jitbox serve wrote no config: {proc.poll()=}"
        time.sleep(0.1)  # the file is written whole before the banner; give the writer a moment to close it
        yield json.loads(cfg_path.read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


class Cli:
    """``aws --endpoint-url URL ... --output json`` with the config's environment and no user AWS config."""

    def __init__(self, cfg: dict[str, Any], home: Path) -> None:
        assert AWS is not None, "the AWS CLI (awscli, a dev dependency) is not installed"
        self.cfg = cfg
        self.url = cfg["aws_endpoint_url"]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **cfg["aws_env"],
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(home / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        }

    def __call__(self, *args: str) -> Any:
        command = [str(AWS), "--endpoint-url", self.url, "--output", "json", *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
        assert done.returncode == 0, f"{' '.join(args[:2])} failed: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def fails(self, *args: str) -> str:
        command = [str(AWS), "--endpoint-url", self.url, "--output", "json", *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
        assert done.returncode != 0, f"{' '.join(args[:2])} should have failed: {done.stdout}"
        return done.stderr


class StaticToken(AccessTokenProvider):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


async def activate_with_msgraph_sdk(cfg: dict[str, Any]) -> str:
    """Rich Roe self-activates his eligible membership of the group, PT1H with a justification; return the status."""
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(cfg["graph_tokens"]["rich"])))
    adapter.base_url = cfg["graph_url"]
    graph = GraphServiceClient(request_adapter=adapter)
    me = await graph.me.get()
    groups = await graph.groups.get()
    ec2 = next(g for g in groups.value if g.display_name == GROUP)
    request = PrivilegedAccessGroupAssignmentScheduleRequest(
        access_id=PrivilegedAccessGroupRelationships.Member,
        principal_id=me.id,
        group_id=ec2.id,
        action=ScheduleRequestActions.SelfActivate,
        justification="On-call: EC2 fleet incident (seed walkthrough)",
        schedule_info=RequestSchedule(
            expiration=ExpirationPattern(type=ExpirationPatternType.AfterDuration, duration="PT1H")
        ),
    )
    created = await graph.identity_governance.privileged_access.group.assignment_schedule_requests.post(request)
    return str(created.status)


def advance(cfg: dict[str, Any], duration: str) -> None:
    r = httpx2.post(cfg["aws_endpoint_url"] + "/_sandbox/clock/advance", json={"duration": duration}, timeout=60)
    assert r.status_code == 200, r.text


def permission_set(cli: Cli, arn: str, name: str, policy: str, group_id: str) -> str:
    """Steps 3 and 4 with the CLI: create ``name`` (PT1H), attach ``policy``, assign ``group_id`` on the account."""
    ps = cli(
        "sso-admin", "create-permission-set", "--instance-arn", arn, "--name", name, "--session-duration", "PT1H",
        "--description", f"{name} (seed walkthrough)",
    )["PermissionSet"]["PermissionSetArn"]  # fmt: skip
    cli(
        "sso-admin", "attach-managed-policy-to-permission-set", "--instance-arn", arn, "--permission-set-arn", ps,
        "--managed-policy-arn", policy,
    )  # fmt: skip
    status = cli(
        "sso-admin", "create-account-assignment", "--instance-arn", arn, "--target-id", ACCOUNT,
        "--target-type", "AWS_ACCOUNT", "--permission-set-arn", ps, "--principal-type", "GROUP",
        "--principal-id", group_id,
    )["AccountAssignmentCreationStatus"]  # fmt: skip
    assert status["Status"] == "IN_PROGRESS"
    advance(cli.cfg, "PT5S")  # assignments are asynchronous: IN_PROGRESS, then SUCCEEDED
    polled = cli(
        "sso-admin", "describe-account-assignment-creation-status", "--instance-arn", arn,
        "--account-assignment-creation-request-id", status["RequestId"],
    )["AccountAssignmentCreationStatus"]  # fmt: skip
    assert polled["Status"] == "SUCCEEDED"
    return str(ps)


def managed_policies(cli: Cli, arn: str, ps: str) -> list[str]:
    listed = cli(
        "sso-admin", "list-managed-policies-in-permission-set", "--instance-arn", arn, "--permission-set-arn", ps
    )  # fmt: skip
    return [p["Arn"] for p in listed["AttachedManagedPolicies"]]


def test_seed_walkthrough_with_the_aws_cli_boto3_and_msgraph_sdk(served: dict[str, Any], tmp_path: Path) -> None:
    cfg = served
    cli = Cli(cfg, tmp_path)
    [instance] = cli("sso-admin", "list-instances")["Instances"]
    arn, store_id = instance["InstanceArn"], instance["IdentityStoreId"]
    assert cli("sso-admin", "describe-instance", "--instance-arn", arn)["Status"] == "ACTIVE"

    # Step 2's initial provisioning cycle put the group into Identity Center when the sandbox started
    group_id = cli(
        "identitystore", "get-group-id", "--identity-store-id", store_id, "--alternate-identifier",
        json.dumps({"UniqueAttribute": {"AttributePath": "DisplayName", "AttributeValue": GROUP}}),
    )["GroupId"]  # fmt: skip

    # Steps 3 and 4: EC2AdminAccess (PT1H, AmazonEC2FullAccess) assigned to the group on the account
    assert cli("sso-admin", "list-permission-sets", "--instance-arn", arn)["PermissionSets"] == []
    admin_ps = permission_set(cli, arn, "EC2AdminAccess", EC2_FULL, group_id)
    assert managed_policies(cli, arn, admin_ps) == [EC2_FULL]
    error = cli.fails(
        "sso-admin", "attach-managed-policy-to-permission-set", "--instance-arn", arn, "--permission-set-arn",
        admin_ps, "--managed-policy-arn", EC2_FULL,
    )  # fmt: skip
    assert "ConflictException" in error and "already attached" in error

    # The Graph half: Rich Roe activates with a justification; the fast path provisions within 2-10 min
    assert asyncio.run(activate_with_msgraph_sdk(cfg)) == "Provisioned"
    advance(cfg, "PT10M")
    ids = boto3.client(
        "identitystore", endpoint_url=cfg["aws_endpoint_url"], region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    rich_id = ids.get_user_id(
        IdentityStoreId=store_id,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "UserName", "AttributeValue": RICH}},
    )["UserId"]
    [result] = ids.is_member_in_groups(IdentityStoreId=store_id, MemberId={"UserId": rich_id}, GroupIds=[group_id])[
        "Results"
    ]
    assert result["MembershipExists"]

    # The access portal: sign in, list the roles, get a role credential for EC2AdminAccess with the CLI
    signin = httpx2.post(cfg["aws_endpoint_url"] + "/_sandbox/aws/signin", json={"user_name": RICH}, timeout=30)
    assert signin.status_code == 200, signin.text
    token = signin.json()["accessToken"]
    roles = cli("sso", "list-account-roles", "--account-id", ACCOUNT, "--access-token", token)["roleList"]
    assert [r["roleName"] for r in roles] == ["EC2AdminAccess"]
    creds = cli(
        "sso", "get-role-credentials", "--role-name", "EC2AdminAccess", "--account-id", ACCOUNT,
        "--access-token", token,
    )["roleCredentials"]  # fmt: skip
    assert creds["accessKeyId"].startswith("ASIA") and creds["secretAccessKey"] and creds["sessionToken"]
    now = httpx2.get(cfg["aws_endpoint_url"] + "/_sandbox/clock", timeout=30).json()["now"]
    launch_ms = int(datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp() * 1000)
    assert creds["expiration"] == launch_ms + 3600 * 1000  # the permission set's PT1H, epoch ms [UG23-howto][BC-sso]
