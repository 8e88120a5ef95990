"""Issue 14: handlers never block the event loop for long ("a 40,000-operation PATCH blocked every route for 19.8 s").

Structural and deterministic: the CPU work of a heavy request — parsing a large JSON body, the SCIM handler (the
store's work), encoding its answer and masking the body into the request log — runs in a worker thread, never on the
event loop thread that serves every other connection; a light SCIM request (less work than the hand-off to a thread)
is answered on the loop. Each piece is wrapped with a recorder noting whether it ran where an
event loop is running. The latency a cheap GET sees while others send the heaviest legal requests is measured by
``python -m bench loop`` (wall-clock timing is too noisy for a shared CI machine).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

import fakekit.body
import scim_server.scim
from fakekit.body import MAX_BODY_BYTES, PARSE_INLINE_BYTES
from pim_fake.app import create_app as create_entra
from scim_server.app import ScimOptions
from scim_server.app import create_app as create_idc
from scim_server.patch_rules import MAX_PATCH_OPERATIONS
from scim_server.scim import INLINE_BODY_BYTES, is_light
from sim.clock import ManualClock


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _recording(fn: Callable[..., Any], seen: list[tuple[str, bool]], name: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        seen.append((name, _on_loop()))
        return fn(*args, **kwargs)

    return wrapper


def _big_user() -> dict[str, Any]:
    """A user body just under the 1 MiB limit (thousands of addresses)."""
    address = {"type": "work", "streetAddress": "1 Main Street", "locality": "Springfield", "postalCode": "12345"}
    n = (MAX_BODY_BYTES - 1000) // (len(json.dumps(address)) + 2)
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "big@example.com",
        "displayName": "Big",
        "name": {"givenName": "Big", "familyName": "Body"},
        "addresses": [address] * n,
    }


def test_heavy_scim_requests_are_parsed_handled_encoded_and_logged_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, bool]] = []
    for name in ("parse_json_body", "mask_body", "_json", "_log_entry"):
        monkeypatch.setattr(scim_server.scim, name, _recording(getattr(scim_server.scim, name), seen, name))
    app = create_idc(ManualClock(), plugins=[], options=ScimOptions(rate_limit_rps=0), seed=1, token_secret="t")
    store = app.state.idc.store
    members = [store.create_user({"userName": f"u{i}@example.com", "displayName": f"U {i}"})["id"] for i in range(100)]
    group = store.create_group({"displayName": "g"})["id"]
    base, auth = app.state.idc.scim_path(), {"Authorization": "Bearer t"}
    c = TestClient(app)
    big = json.dumps(_big_user()).encode()
    assert PARSE_INLINE_BYTES < len(big) < MAX_BODY_BYTES
    assert c.post(base + "Users", content=big, headers={**auth, "Content-Type": "application/scim+json"}).status_code
    ops = [{"op": "add", "path": "members", "value": [{"value": m}]} for m in members]
    assert len(ops) == MAX_PATCH_OPERATIONS
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
    assert len(json.dumps(patch)) > INLINE_BODY_BYTES
    assert c.patch(base + f"Groups/{group}", json=patch, headers=auth).status_code == 204
    assert c.get(base + "Users?count=100", headers=auth).status_code == 200
    assert c.delete(base + f"Groups/{group}", headers=auth).status_code == 204
    names = {name for name, _ in seen}
    assert names == {"parse_json_body", "mask_body", "_json", "_log_entry"}, names
    assert [s for s in seen if s[1]] == []  # none of it ran on the event loop
    assert group not in store.dump()["memberships"]


def test_light_scim_requests_are_answered_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter GET, a one-user create, a one-member PATCH and a refusal before the body is read cost less than the
    hand-off to a worker thread (``scim_server.scim.is_light``)."""
    seen: list[tuple[str, bool]] = []
    monkeypatch.setattr(scim_server.scim, "_log_entry", _recording(scim_server.scim._log_entry, seen, "log"))
    app = create_idc(ManualClock(), plugins=[], options=ScimOptions(rate_limit_rps=0), seed=1, token_secret="t")
    group = app.state.idc.store.create_group({"displayName": "g"})["id"]
    base, auth = app.state.idc.scim_path(), {"Authorization": "Bearer t"}
    c = TestClient(app)
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com",
        "displayName": "Ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
    }
    uid = c.post(base + "Users", json=user, headers=auth).json()["id"]
    assert c.get(base + 'Users?filter=userName eq "ada@example.com"', headers=auth).json()["totalResults"] == 1
    add = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]}  # fmt: skip
    assert c.patch(base + f"Groups/{group}", json=add, headers=auth).status_code == 204
    assert c.get(base + "Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert seen == [("log", True)] * 4
    assert is_light("GET", "Users", {"filter": 'userName eq "x"'}, None)
    assert not is_light("GET", "Users/", {}, None)
    assert not is_light("DELETE", "Groups/g-1", {}, None)
    assert not is_light("PATCH", "Groups/g-1", {}, b"x" * (INLINE_BODY_BYTES + 1))
    assert is_light("POST", "Users", {}, b"{}") and not is_light("POST", "Users", {}, b"{}", journaled=True)
    assert is_light("GET", "Users/u-1", {}, None, journaled=True)


def test_every_protocols_large_bodies_are_parsed_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, bool]] = []
    monkeypatch.setattr(fakekit.body, "parse_json_body", _recording(fakekit.body.parse_json_body, seen, "parse"))
    big = json.dumps({"displayName": "x", "padding": ["y" * 100] * 2000}).encode()  # ~200 KB
    small = json.dumps({"displayName": "x"}).encode()
    entra = create_entra(ManualClock())
    admin = {"Authorization": f"Bearer {entra.state.graph_tokens['admin']}", "Content-Type": "application/json"}
    graph = TestClient(entra)
    idc = TestClient(create_idc(ManualClock(), seed=1))
    amz = {"X-Amz-Target": "AWSIdentityStore.ListUsers", "Content-Type": "application/x-amz-json-1.1"}
    for body in (big, small):
        assert graph.post("/v1.0/groups", content=body, headers=admin).status_code < 500
        assert idc.post("/", content=body, headers=amz).status_code < 500
    assert [on_loop for _, on_loop in seen] == [False, False, True, True]  # large: a worker thread; small: inline


def test_large_answers_of_graph_and_sandbox_routes_are_encoded_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FastAPI encodes a sync route's result on the event loop; ``fakekit.offloop`` encodes it in the worker thread
    (a 10,000-user ``GET /_sandbox/state`` takes over a second to encode)."""
    import fakekit.offloop

    seen: list[tuple[str, bool]] = []
    monkeypatch.setattr(fakekit.offloop, "jsonable_encoder", _recording(fakekit.offloop.jsonable_encoder, seen, "enc"))
    entra = create_entra(ManualClock())
    graph = TestClient(entra)
    admin = {"Authorization": f"Bearer {entra.state.graph_tokens['admin']}"}
    idc = TestClient(create_idc(ManualClock(), seed=1))
    answers = [
        graph.get("/v1.0/users", headers=admin),
        graph.get("/v1.0/auditLogs/directoryAudits", headers=admin),
        graph.post("/v1.0/groups", json={"displayName": "G", "mailEnabled": False, "securityEnabled": True,
                                         "mailNickname": "g"}, headers=admin),
        graph.get("/_sandbox/state"),
        idc.get("/_sandbox/state"),
        idc.get("/_sandbox/requests"),
    ]  # fmt: skip
    assert [r.status_code for r in answers] == [200, 200, 201, 200, 200, 200], [r.text[:200] for r in answers]
    assert len(seen) == len(answers) and not any(on_loop for _, on_loop in seen)
    assert answers[0].json()["value"] and "entra" in answers[3].json()
