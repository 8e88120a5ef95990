"""Schemathesis against the published OpenAPI documents of every jitbox API: no input may answer a 5xx.

Four APIs, each on its own fresh app (so fuzzing one cannot starve another, e.g. by deleting the SCIM token):

- SCIM: ``GET /_sandbox/openapi/scim.json`` of the Identity Center fake, with the tenant's bearer token;
- AWS: ``GET /_sandbox/openapi/aws.json`` (JSON 1.1 on ``X-Amz-Target``, the portal and sso-oidc routes);
- Graph: ``GET /_sandbox/openapi/graph.json`` of the Entra fake, with the seeded admin's token;
- sandbox: ``GET /_sandbox/openapi/sandbox.json`` of both fakes (the control plane), on manual clocks with no
  provisioning job running (a 366-day advance would otherwise run ~13,000 cycles per call).

Every response is counted by status through a counting ASGI wrapper. ``make fuzz`` (the ``slow`` test) sends at
least :data:`FUZZ_REQUESTS` per API and prints the counts; ``make test`` runs :data:`SLICE_REQUESTS` per API. Both
fail on any response with status >= 500.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pim_fake.app import create_app as create_entra
from scim_server.app import ScimOptions
from scim_server.app import create_app as create_idc
from sim.clock import ManualClock

FUZZ_REQUESTS = int(os.environ.get("JITBOX_FUZZ_REQUESTS", "10000"))
"""Requests per API in ``make fuzz`` (the issue's bar: >= 10,000)."""

SLICE_REQUESTS = 100
"""Requests per API in ``make test`` (a bounded slice: a few seconds each)."""

REPORT = os.environ.get("JITBOX_FUZZ_REPORT", "")
"""When set, the counts are also written there as JSON."""


@schemathesis.serializer("application/x-amz-json-1.1")
def _amz_json(ctx: Any, value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass
class Counting:
    """ASGI wrapper counting response statuses (the spec fetch excluded)."""

    app: ASGIApp
    statuses: Counter[int] = field(default_factory=Counter)
    fivexx: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and "/_sandbox/openapi/" not in scope.get("path", ""):
                status = int(message["status"])
                self.statuses[status] += 1
                if status >= 500 and len(self.fivexx) < 20:
                    self.fivexx.append(f"{scope.get('method')} {scope.get('path')}?{scope.get('query_string', b'')!r}")
            await send(message)

        await self.app(scope, receive, watch)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@dataclass
class Target:
    """One API to fuzz: its apps (each with its spec path) and the headers every request carries."""

    name: str
    apps: list[tuple[Counting, str, dict[str, str]]]

    def counts(self) -> tuple[int, int]:
        return sum(c.total for c, _, _ in self.apps), sum(c.errors for c, _, _ in self.apps)


def _idc() -> tuple[Any, dict[str, str]]:
    app = create_idc(ManualClock(), options=ScimOptions(rate_limit_rps=0), seed=11)
    token = app.state.idc.tokens.first_valid().secret
    return app, {"Authorization": f"Bearer {token}"}


def _entra() -> tuple[Any, dict[str, str]]:
    app = create_entra(ManualClock(), seed=11)
    return app, {"Authorization": f"Bearer {app.state.graph_tokens['admin']}"}


def _targets() -> dict[str, Callable[[], Target]]:
    def scim() -> Target:
        app, auth = _idc()
        return Target("SCIM", [(Counting(app), "/_sandbox/openapi/scim.json", auth)])

    def aws() -> Target:
        app, _ = _idc()
        return Target("AWS", [(Counting(app), "/_sandbox/openapi/aws.json", {})])

    def graph() -> Target:
        app, auth = _entra()
        return Target("Graph", [(Counting(app), "/_sandbox/openapi/graph.json", auth)])

    def sandbox() -> Target:
        idc, _ = _idc()
        entra, _ = _entra()
        spec = "/_sandbox/openapi/sandbox.json"
        return Target("sandbox", [(Counting(idc), spec, {}), (Counting(entra), spec, {})])

    return {"SCIM": scim, "AWS": aws, "Graph": graph, "sandbox": sandbox}


def fuzz(target: Target, requests: int, per_round: int = 100) -> tuple[int, int]:
    """Send at least ``requests`` requests to ``target`` (round-robin over its operations); return (total, 5xx)."""
    operations = []
    for counting, spec, headers in target.apps:
        schema = schemathesis.openapi.from_asgi(spec, counting)
        client = TestClient(counting, raise_server_exceptions=False)
        operations += [(result.ok(), headers, client) for result in schema.get_all_operations()]
    assert operations, f"{target.name}: the published document lists no operation"
    while target.counts()[0] < requests:
        before = target.counts()[0]
        for operation, headers, client in operations:
            _run(operation, headers, client, per_round)
        assert target.counts()[0] > before, f"{target.name}: a round sent no request"
    return target.counts()


def _send(client: TestClient, case: Any, headers: dict[str, str]) -> None:
    """Send one generated case through ``client`` (one in-process client per app: schemathesis's own call builds a
    new one per request, ~100 ms each)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers={**headers, **(case.headers or {})})
    data = kwargs.pop("data", None)
    if isinstance(data, str | bytes):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    kwargs.pop("cookies", None)
    client.request(**kwargs)


def _run(operation: Any, headers: dict[str, str], client: TestClient, examples: int) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    def one(case: Any) -> None:
        _send(client, case, headers)

    one()


def _report(name: str, target: Target, total: int, errors: int) -> str:
    statuses = Counter[int]()
    for counting, _, _ in target.apps:
        statuses.update(counting.statuses)
    samples = [s for counting, _, _ in target.apps for s in counting.fivexx]
    line = f"fuzz {name}: {total} requests, {errors} with status >= 500, by status {dict(sorted(statuses.items()))}"
    if samples:
        line += f"; first 5xx: {samples[:5]}"
    return line


@pytest.mark.parametrize("api", ["SCIM", "AWS", "Graph", "sandbox"])
def test_a_bounded_slice_of_fuzzed_requests_answers_no_5xx(api: str) -> None:
    target = _targets()[api]()
    total, errors = fuzz(target, SLICE_REQUESTS, per_round=5)
    assert total >= SLICE_REQUESTS and errors == 0, _report(api, target, total, errors)


@pytest.mark.slow
@pytest.mark.parametrize("api", ["SCIM", "AWS", "Graph", "sandbox"])
def test_make_fuzz_sends_10000_requests_per_api_and_no_5xx(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = _targets()[api]()
    total, errors = fuzz(target, FUZZ_REQUESTS)
    line = _report(api, target, total, errors)
    with capsys.disabled():
        print("\n" + line, flush=True)
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as out:
            out.write(json.dumps({"api": api, "requests": total, "status_5xx": errors}) + "\n")
    assert total >= FUZZ_REQUESTS and errors == 0, line
