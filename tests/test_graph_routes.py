"""The Graph app's published routes: no internal parameter in any signature, so a query string cannot steer one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pim_support import make_sandbox

from pim_fake.app import create_app
from sim.clock import ManualClock


def test_no_route_publishes_a_parameter_starting_with_underscore() -> None:
    spec = TestClient(create_app(ManualClock())).get("/_sandbox/openapi.json").json()
    params = [
        (method.upper(), path, p["in"], p["name"])
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        for p in op.get("parameters", [])
    ]
    assert ("GET", "/v1.0/users/{user_id}", "path", "user_id") in params
    assert [p for p in params if p[3].startswith("_")] == []


def test_job_start_ignores_an_underscore_query_parameter() -> None:
    sb = make_sandbox(start=False)
    sp = sb.tenant.identity_center_app()
    assert sp is not None
    base = f"/v1.0/servicePrincipals/{sp.id}/synchronization/jobs"
    jid = sb.graph.get(base, headers=sb.h("admin")).json()["value"][0]["id"]
    assert sb.graph.post(f"{base}/{jid}/start?_a=pause", headers=sb.h("admin")).status_code == 204
    job = sb.graph.get(f"{base}/{jid}", headers=sb.h("admin")).json()
    assert job["status"]["code"] == "Active"
