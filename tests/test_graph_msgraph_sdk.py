"""Smoke test with the real Microsoft Graph Python SDK (msgraph-sdk, test-only) against ``jitbox serve``'s Entra.

The SDK's request adapter is pointed at the served ``graph_url`` with a static bearer token from ``graph_tokens``.
Kiota's Python serializer writes ``timedelta`` durations as ``1:00:00`` rather than ISO 8601, so the duration is
passed as the ISO string ``PT1H`` (the fake, like the documented API, takes ISO 8601 [G-EXP]).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphServiceClient
from msgraph.generated.models.expiration_pattern import ExpirationPattern
from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.privileged_access_group_assignment_schedule_request import (
    PrivilegedAccessGroupAssignmentScheduleRequest,
)
from msgraph.generated.models.privileged_access_group_relationships import PrivilegedAccessGroupRelationships
from msgraph.generated.models.request_schedule import RequestSchedule
from msgraph.generated.models.schedule_request_actions import ScheduleRequestActions
from msgraph.graph_request_adapter import GraphRequestAdapter

from jitbox.serve import start_sandbox
from sim.clock import ManualClock

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's own deprecations


class StaticToken(AccessTokenProvider):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


def client_for(cfg: dict[str, Any], who: str) -> Any:
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(cfg["graph_tokens"][who])))
    adapter.base_url = cfg["graph_url"]
    return GraphServiceClient(request_adapter=adapter)


async def scenario(cfg: dict[str, Any]) -> None:
    rich = client_for(cfg, "rich")
    me = await rich.me.get()
    assert me.display_name == "Rich Roe"
    groups = await rich.groups.get()
    ec2 = next(g for g in groups.value if g.display_name == "AWS - Amazon EC2 Admin")
    body = PrivilegedAccessGroupAssignmentScheduleRequest(
        access_id=PrivilegedAccessGroupRelationships.Member,
        principal_id=me.id,
        group_id=ec2.id,
        action=ScheduleRequestActions.SelfActivate,
        justification="msgraph-sdk smoke test",
        schedule_info=RequestSchedule(
            expiration=ExpirationPattern(type=ExpirationPatternType.AfterDuration, duration="PT1H")
        ),
    )
    requests = rich.identity_governance.privileged_access.group.assignment_schedule_requests
    created = await requests.post(body)
    assert created.status == "Provisioned" and created.action == ScheduleRequestActions.SelfActivate
    try:
        await requests.post(body)
    except ODataError as exc:
        assert exc.response_status_code == 400 and exc.error.code == "RoleAssignmentExists"
    else:
        raise AssertionError("a second activation must fail with RoleAssignmentExists")
    members = await client_for(cfg, "admin").groups.by_group_id(ec2.id).members.get()
    assert [m.id for m in members.value] == [me.id]


def test_msgraph_sdk_activates_and_reads_errors_against_served_entra() -> None:
    with start_sandbox(ManualClock()) as sandbox:
        asyncio.run(scenario(sandbox.config()))
