"""The code under test: a small just-in-time access helper a team might write (stdlib + boto3 only).

``request_access`` self-activates the caller's eligible PIM group membership through Microsoft Graph;
``aws_roles`` lists what the caller can launch in an AWS account through the access portal API (boto3 ``sso``).
Against production it would use real URLs and tokens; in CI it talks to the jitbox sandbox.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

import boto3

PIM_REQUESTS = "/identityGovernance/privilegedAccess/group/assignmentScheduleRequests"


def _graph(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def request_access(graph_url: str, token: str, group: str, duration: str, justification: str) -> str:
    """Self-activate membership of ``group`` (display name) for ``duration`` (ISO 8601); return the status."""
    me = _graph(graph_url, token, "GET", "/me")
    query = urllib.parse.quote(f"displayName eq '{group}'")
    groups = _graph(graph_url, token, "GET", f"/groups?$filter={query}")["value"]
    if not groups:
        raise LookupError(f"no group {group!r}")
    result = _graph(
        graph_url,
        token,
        "POST",
        PIM_REQUESTS,
        {
            "accessId": "member",
            "action": "selfActivate",
            "principalId": me["id"],
            "groupId": groups[0]["id"],
            "justification": justification,
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": duration}},
        },
    )
    return str(result["status"])


def aws_roles(portal_token: str, account_id: str) -> list[str]:
    """Return the permission sets the signed-in user can launch in ``account_id`` (boto3 from the environment)."""
    sso = boto3.client("sso")
    return [r["roleName"] for r in sso.list_account_roles(accessToken=portal_token, accountId=account_id)["roleList"]]
