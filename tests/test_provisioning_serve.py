"""``jitbox serve`` with the Entra fake: two uvicorn servers on 127.0.0.1, one clock, real HTTP between them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from jitbox.serve import start_sandbox
from sim.clock import ManualClock

PIM = "/identityGovernance/privilegedAccess/group"


def test_serve_starts_entra_with_seeded_world_and_provisions_on_the_shared_clock() -> None:
    with start_sandbox(ManualClock(), seed=3) as sandbox:
        cfg = sandbox.config()
        graph, tokens = cfg["graph_url"], cfg["graph_tokens"]
        assert graph.startswith("http://127.0.0.1:") and graph.endswith("/v1.0")
        assert {"admin", "rich"} <= set(tokens)
        with httpx2.Client(timeout=30) as http:
            rich = {"Authorization": f"Bearer {tokens['rich']}"}
            me = http.get(f"{graph}/me", headers=rich).json()
            assert me["displayName"] == "Rich Roe"
            groups = http.get(f"{graph}/groups", headers=rich).json()["value"]
            ec2 = next(g for g in groups if g["displayName"] == "AWS - Amazon EC2 Admin")
            r = http.post(
                f"{graph}{PIM}/assignmentScheduleRequests",
                headers=rich,
                json={
                    "accessId": "member",
                    "action": "selfActivate",
                    "principalId": me["id"],
                    "groupId": ec2["id"],
                    "justification": "seed walkthrough",
                    "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
                },
            )
            assert r.status_code == 201, r.text

            def ec2_members() -> set[str]:
                dump = sandbox.idc.store.dump()
                names = {u["id"]: u["userName"] for u in dump["users"]}
                gid = next(g["id"] for g in dump["groups"] if g["displayName"] == "AWS - Amazon EC2 Admin")
                return {names[m] for m in dump["memberships"][gid]}

            # issue 12: the initial cycle ran at start, so Identity Center holds the world's users before time moves
            assert len(sandbox.idc.store.dump()["users"]) == 3
            assert ec2_members() == set()  # the activation waits for the fast path (2-10 min)
            # advance on the Identity Center fake: the Entra fast path (2-10 min) runs on the same clock
            adv = http.post(cfg["scim_sandbox_url"] + "clock/advance", json={"duration": "PT11M"})
            assert adv.status_code == 200
            assert ec2_members() == {"rich.roe@jitbox.example"}
            # advance on the Entra fake: expiry, then the next regular cycle removes the membership
            adv = http.post(cfg["graph_sandbox_url"] + "clock/advance", json={"duration": "PT2H"})
            assert adv.status_code == 200
            assert ec2_members() == set()
            # the admin's token read at the start has expired on the clock (2 h 11 min later): Graph says so
            stale = http.get(f"{graph}/auditLogs/provisioning", headers={"Authorization": f"Bearer {tokens['admin']}"})
            assert stale.status_code == 401 and stale.json()["error"]["code"] == "InvalidAuthenticationToken"
            assert "expired" in stale.json()["error"]["message"]
            tokens = sandbox.config()["graph_tokens"]  # the config always holds current tokens
            logs = http.get(f"{graph}/auditLogs/provisioning", headers={"Authorization": f"Bearer {tokens['admin']}"})
            assert logs.status_code == 200 and logs.json()["value"]
            bad = http.get(f"{graph}/me", headers={"Authorization": "Bearer nope"})
            assert bad.status_code == 401 and bad.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_serve_world_file_replaces_the_seeded_directory(tmp_path: Path) -> None:
    world = tmp_path / "world.toml"
    world.write_text(
        """
[[users]]
name = "boss"
displayName = "Big Boss"
userPrincipalName = "boss@corp.example"
admin = true

[[users]]
name = "dev"
displayName = "Dee Veloper"
userPrincipalName = "dev@corp.example"

[[groups]]
displayName = "AWS - Admins"
eligible = ["dev"]

[[applications]]
displayName = "AWS IAM Identity Center"
assigned = ["AWS - Admins"]
""",
        encoding="utf-8",
    )
    with start_sandbox(ManualClock(), options={"entra_world": world}) as sandbox:
        cfg = sandbox.config()
        assert set(cfg["graph_tokens"]) == {"boss", "dev"}
        json.dumps(cfg)  # the config stays JSON-serialisable


def test_serve_rejects_a_bad_world_file_with_a_named_field(tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    world.write_text(json.dumps({"groups": [{"displayName": "G", "members": ["ghost"]}]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"groups\[0\]\.members: 'ghost'"):
        start_sandbox(ManualClock(), options={"entra_world": world})


def test_provisioning_can_be_pointed_at_another_scim_server_over_http() -> None:
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from scim2_server.memory import InMemoryStorage
    from scim2_server.testserver.application import BearerTokenApplication
    from scim2_server.testserver.cli import ThreadingWSGIServer
    from scim2_server.utils import load_default_provider

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    storage = InMemoryStorage()
    app = BearerTokenApplication(storage, load_default_provider(), bearer_tokens=["own-secret"])
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with start_sandbox(ManualClock()) as sandbox, httpx2.Client(timeout=30) as http:
            cfg = sandbox.config()
            target = cfg["graph_sandbox_url"] + "provisioning/target"
            bad = http.post(target, json={"scim_url": "ftp://x", "scim_token": "t"})
            assert bad.status_code == 400 and "scim_url" in bad.json()["error"]["message"]
            own = f"http://127.0.0.1:{server.server_port}/v2/?aadOptscim062020"
            assert "entra" in sandbox.servers
            job = sandbox_job(http, cfg)
            jid = job["id"]
            r = http.post(target, json={"scim_url": own, "scim_token": "own-secret"})
            assert r.status_code == 200 and r.json()["id"] == jid
            # a started job re-runs its initial cycle against the new target at once
            names = sorted(res.user_name for res in storage.resources if hasattr(res, "user_name"))
            assert names == ["jane.doe@jitbox.example", "mateo.jackson@jitbox.example", "rich.roe@jitbox.example"]
            # the Identity Center fake keeps only what the initial cycle at start gave it (issue 12), nothing more
            assert len(sandbox.idc.store.dump()["users"]) == 3
    finally:
        server.shutdown()
        thread.join(timeout=5)


def sandbox_job(http: httpx2.Client, cfg: dict[str, object]) -> dict[str, object]:
    tokens = cfg["graph_tokens"]
    assert isinstance(tokens, dict)
    h = {"Authorization": f"Bearer {tokens['admin']}"}
    sp = http.get(f"{cfg['graph_url']}/servicePrincipals", headers=h).json()["value"][0]
    jobs = http.get(f"{cfg['graph_url']}/servicePrincipals/{sp['id']}/synchronization/jobs", headers=h).json()
    return jobs["value"][0]  # type: ignore[no-any-return]


def test_serve_rejects_a_world_file_that_is_not_utf8(tmp_path: Path) -> None:
    world = tmp_path / "world.toml"
    world.write_bytes(b'[[users]]\nname = "\xff\xfe"\n')
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        start_sandbox(ManualClock(), options={"entra_world": world})
