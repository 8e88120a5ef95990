"""``jitbox serve`` with the Entra fake: two uvicorn servers on 127.0.0.1, one clock, real HTTP between them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from sim.clock import ManualClock
from sim.serve import start_sandbox

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

            assert sandbox.idc.store.dump()["users"] == []  # manual clock: the initial cycle waits for time to move
            # advance on the Identity Center fake: the Entra fast path (2-10 min) runs on the same clock
            adv = http.post(cfg["scim_sandbox_url"] + "clock/advance", json={"duration": "PT11M"})
            assert adv.status_code == 200
            assert ec2_members() == {"rich.roe@jitbox.example"}
            # advance on the Entra fake: expiry, then the next regular cycle removes the membership
            adv = http.post(cfg["graph_sandbox_url"] + "clock/advance", json={"duration": "PT2H"})
            assert adv.status_code == 200
            assert ec2_members() == set()
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
