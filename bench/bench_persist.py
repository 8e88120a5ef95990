"""What ``jitbox serve --state`` costs per request on an enterprise-sized tenant (issue 14).

The sandbox is started as ``jitbox serve`` starts it (both fakes in one process, one manual clock) in a world of
``BENCH_PERSIST_USERS`` users (10,000) in ``BENCH_PROV_GROUPS``-style groups (bench_provision's world: 1,000
groups, 3 memberships each, all assigned to the enterprise application) plus one PIM group with
``ELIGIBLE`` eligible users, twice: without a state file and with one. Through Graph over HTTP it times
``ACTIVATIONS`` self-activations (each written to the file before its 201 is sent), as many ``GET /v1.0/me``
(nothing changes: the flush finds nothing to write), the advance that runs their fast-path exports (each timer
writes what it changed), one flush of the whole tenant with nothing changed (the cost a timer pays at least), and
the restart on the state file (restore + re-arm). Run: ``python -m bench persist``.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from bench.bench_provision import build_world

USERS = int(os.environ.get("BENCH_PERSIST_USERS", "10000"))
ELIGIBLE = 60
ACTIVATIONS = 50
PIM_GROUP = "AWS - JIT admins"


def _world(users: int) -> dict[str, Any]:
    world = build_world(users, max(1, users // 10), 3)
    eligible = [row["name"] for row in world["users"][1 : ELIGIBLE + 1]]
    world["groups"].append({"displayName": PIM_GROUP, "members": [], "eligible": eligible})
    world["applications"][0]["assigned"].append(PIM_GROUP)
    return world


def _ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.1f} ms, p90 {sorted(samples)[int(len(samples) * 0.9)] * 1000:.1f} ms"


def _run(world_file: Path, state: Path | None) -> dict[str, Any]:
    from jitbox.serve import start_sandbox
    from sim.clock import ManualClock

    began = time.perf_counter()
    sandbox = start_sandbox(ManualClock(), world=world_file, state_path=state, extensions=None)
    start = time.perf_counter() - began
    out: dict[str, Any] = {"start": start}
    with sandbox, httpx2.Client(timeout=600.0) as client:
        cfg = sandbox.config()
        graph = cfg["graph_url"]
        tenant = sandbox.apps["entra"].state.entra
        gid = next(g.id for g in tenant.directory.groups.values() if g.displayName == PIM_GROUP)
        names = [f"user{i:06d}" for i in range(ACTIVATIONS)]
        posts, gets = [], []
        for name in names:
            uid = next(u.id for u in tenant.directory.users.values() if u.name == name)
            headers = {"Authorization": f"Bearer {cfg['graph_tokens'][name]}"}
            body = {
                "accessId": "member", "action": "selfActivate", "principalId": uid, "groupId": gid,
                "justification": "bench", "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
            }  # fmt: skip
            t0 = time.perf_counter()
            r = client.post(
                f"{graph}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
                json=body,
                headers=headers,
            )
            posts.append(time.perf_counter() - t0)
            r.raise_for_status()
            t0 = time.perf_counter()
            client.get(f"{graph}/me", headers=headers).raise_for_status()
            gets.append(time.perf_counter() - t0)
        out["post"], out["get"] = posts, gets
        t0 = time.perf_counter()
        client.post(cfg["graph_sandbox_url"] + "clock/advance", json={"seconds": 600}).raise_for_status()
        out["advance"] = time.perf_counter() - t0
        persist = sandbox.apps["entra"].state.persist
        if persist is not None:
            t0 = time.perf_counter()
            persist.flush(force=True)
            out["flush"] = time.perf_counter() - t0
    if state is not None:
        t0 = time.perf_counter()
        with start_sandbox(ManualClock(), world=world_file, state_path=state, extensions=None):
            out["restart"] = time.perf_counter() - t0
        out["size"] = state.stat().st_size
    return out


def main() -> None:
    """Print the per-request cost of ``--state`` on a tenant of ``USERS`` users."""
    with tempfile.TemporaryDirectory() as tmp:
        world_file = Path(tmp) / "world.json"
        world_file.write_text(json.dumps(_world(USERS)), encoding="utf-8")
        plain = _run(world_file, None)
        kept = _run(world_file, Path(tmp) / "state.sqlite")
    print(f"tenant: {USERS} users, {max(1, USERS // 10)} groups + 1 PIM group ({ELIGIBLE} eligible)")
    print(f"start:                without --state {plain['start']:.1f} s, with --state {kept['start']:.1f} s")
    print(f"POST activation:      without {_ms(plain['post'])}; with {_ms(kept['post'])}")
    print(f"GET /me:              without {_ms(plain['get'])}; with {_ms(kept['get'])}")
    print(f"advance (fast paths): without {plain['advance']:.2f} s; with {kept['advance']:.2f} s")
    print(f"flush, nothing changed (a timer's minimum): {kept['flush'] * 1000:.1f} ms")
    print(f"restart on the state file: {kept['restart']:.1f} s; file {kept['size'] / 1e6:.1f} MB")
