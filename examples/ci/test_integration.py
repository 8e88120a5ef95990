"""Integration test: the team's JIT helper against the sandbox, step by step through the seed walkthrough."""

from __future__ import annotations

import boto3
from jit_tool import aws_roles, request_access

GROUP = "AWS - Amazon EC2 Admin"
ACCOUNT = "111122223333"


def test_request_access_reaches_aws_within_the_fast_path_and_ends_after_expiry(jitbox_sandbox) -> None:
    sb = jitbox_sandbox
    status = request_access(sb.graph_url, sb.token("rich"), GROUP, "PT1H", "INC-1234: disk full on web-1")
    assert status == "Provisioned"
    assert aws_roles(sb.signin("rich"), ACCOUNT) == []  # Entra has the member; AWS not yet

    sb.clock.advance("PT10M")  # the fast path: 2-10 minutes [E-AWS]
    token = sb.signin("rich")
    assert aws_roles(token, ACCOUNT) == ["EC2AdminAccess"]
    creds = boto3.client("sso").get_role_credentials(accessToken=token, accountId=ACCOUNT, roleName="EC2AdminAccess")
    assert creds["roleCredentials"]["accessKeyId"]

    sb.clock.advance("PT50M")  # the activation expires at 1 h
    sb.clock.advance("PT41M")  # removal waits for the next regular ~40-minute cycle [E-AWS]
    assert aws_roles(sb.signin("rich"), ACCOUNT) == []  # a fresh sign-in sees nothing


def test_an_ineligible_user_is_refused_by_graph(jitbox_sandbox) -> None:
    import urllib.error

    import pytest

    with pytest.raises(urllib.error.HTTPError) as refused:
        request_access(jitbox_sandbox.graph_url, jitbox_sandbox.token("jane"), GROUP, "PT1H", "curious")
    assert refused.value.code == 400
