"""The fake IAM Identity Center SCIM endpoint against scim2-server (the reference Python SCIM server), over real HTTP.

For each store size (10,000 and 100,000 users by default) each server runs in its OWN process under uvicorn on
127.0.0.1 (so the load generator does not share its GIL), preloaded with the same users and 10 groups. The same
mixed workload is then sent by 4 client threads with persistent ``http.client`` connections:

- 50 % ``GET /Users?filter=userName eq "<existing user>"`` (Entra's matching query),
- 25 % ``POST /Users`` (a new user),
- 25 % ``PATCH /Groups/{id}`` adding one existing user (Entra's membership add).

Printed per server and size: requests/second, p50/p99 latency (ms), p50 per operation, the server process's CPU
time over the run's wall time (how many cores it kept busy: one Python process running Python code holds one GIL,
so ≈ 1 is its ceiling however many cores the machine has), and the process's resident memory growth per preloaded
user (RSS delta / users, after ``gc.collect()``). Then the throughput ratio
(jitbox / scim2-server) and, for jitbox, the filter/PATCH p50 at the largest size divided by the smallest (≈1 means
the cost does not depend on store size). Targets (issue 15): ratio ≥ 4 at both sizes, ≤ 1 KB per user.

Run: ``python -m bench scim`` (or ``python -m bench.bench_scim``). ``BENCH_SCIM_SIZES=2000,20000`` and
``BENCH_SCIM_REQUESTS=3000`` change the sizes and the request count.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from typing import Any

PY = sys.executable
GROUPS = 10
THREADS = 4


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _user(i: int, prefix: str = "u") -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"{prefix}{i}@example.com",
        "externalId": f"{prefix}-{i}",
        "displayName": f"User {prefix}{i}",
        "name": {"givenName": "Given", "familyName": f"Family{i}"},
        "emails": [{"value": f"{prefix}{i}@example.com", "type": "work", "primary": True}],
        "active": True,
    }


# --- server side (runs in a child process) ---------------------------------------------------------------------------


def _serve_jitbox(n: int) -> tuple[Any, str, str, list[str], list[str]]:
    from scim_server.app import ScimOptions, create_app
    from scim_server.user_rules import validate_user
    from sim.clock import ManualClock

    app = create_app(ManualClock(), plugins=[], options=ScimOptions(rate_limit_rps=0), seed=1, token_secret="bench")
    store = app.state.idc.store
    template = validate_user(_user(0))
    gc.collect()
    before = _rss_bytes()
    users = []
    for i in range(n):
        attrs = dict(template)
        attrs["userName"] = f"u{i}@example.com"
        attrs["externalId"] = f"u-{i}"
        attrs["displayName"] = f"User u{i}"
        attrs["name"] = {"givenName": "Given", "familyName": f"Family{i}"}
        attrs["emails"] = [{"value": f"u{i}@example.com", "type": "work", "primary": True}]
        users.append(store.create_user(attrs)["id"])
    gc.collect()
    per_user = (_rss_bytes() - before) / n
    groups = [store.create_group({"displayName": f"group-{g}"})["id"] for g in range(GROUPS)]
    _report_memory(per_user)
    return app, app.state.idc.scim_path(), "Bearer bench", users, groups


def _serve_scim2_server(n: int) -> tuple[Any, str, str, list[str], list[str]]:
    from scim2_models import EnterpriseUser, Group, ScimProvider, User
    from scim2_server.applications.asgi import ASGIApplication
    from scim2_server.memory import AsyncInMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    rts = load_default_resource_types()
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), rts.values(), config=load_default_service_provider_config()
    )
    storage = AsyncInMemoryStorage()
    app = ASGIApplication(storage, provider, ScimService(provider, secret="bench"))
    model = User[EnterpriseUser]
    gc.collect()
    before = _rss_bytes()
    users = []
    for i in range(n):
        body = _user(i)
        users.append(str(storage.storage.create(rts["User"], model.model_validate(body)).id))
    gc.collect()
    per_user = (_rss_bytes() - before) / n
    groups = [
        str(
            storage.storage.create(
                rts["Group"], Group.model_validate({"schemas": [str(Group.__schema__)], "displayName": f"group-{g}"})
            ).id
        )
        for g in range(GROUPS)
    ]
    _report_memory(per_user)
    return app, "/v2/", "", users, groups


def _report_memory(per_user: float) -> None:
    print(json.dumps({"memory_per_user": per_user}), flush=True)


def serve_child(kind: str, n: int) -> None:
    """Child process: preload ``n`` users, serve on a free port, print ids and port as JSON lines, run forever."""
    import uvicorn

    random.seed(0)
    app, base, auth, users, groups = (_serve_jitbox if kind == "jitbox" else _serve_scim2_server)(n)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        sample = random.sample(users, min(len(users), 5000))
        print(json.dumps({"port": port, "base": base, "auth": auth, "users": sample, "groups": groups}), flush=True)
        await task

    asyncio.run(run())


# --- load generator (parent process) ---------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _drive(info: dict[str, Any], requests: int, label: str) -> dict[str, Any]:
    port, base, auth = info["port"], info["base"], info["auth"]
    users: list[str] = info["users"]
    groups: list[str] = info["groups"]
    headers = {"Content-Type": "application/scim+json"}
    if auth:
        headers["Authorization"] = auth
    plan_rng = random.Random(42)
    plan: list[tuple[str, str, str, bytes | None]] = []
    new_ids = iter(range(10**9))
    for _ in range(requests):
        roll = plan_rng.random()
        if roll < 0.5:
            # filter by an existing userName: the sampled user ids map back to u<i> names via the preload order
            i = plan_rng.randrange(info["n"])
            path = f"{base}Users?filter=userName%20eq%20%22u{i}%40example.com%22"
            plan.append(("filter", "GET", path, None))
        elif roll < 0.75:
            body = json.dumps(_user(next(new_ids), prefix=f"{label}new")).encode()
            plan.append(("create", "POST", f"{base}Users", body))
        else:
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": plan_rng.choice(users)}]}],
            }
            plan.append(("patch", "PATCH", f"{base}Groups/{plan_rng.choice(groups)}", json.dumps(patch).encode()))
    lat: dict[str, list[float]] = {"filter": [], "create": [], "patch": []}
    errors: list[str] = []
    lock = threading.Lock()
    cursor = iter(range(len(plan)))

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local: dict[str, list[float]] = {"filter": [], "create": [], "patch": []}
        while True:
            with lock:
                idx = next(cursor, None)
            if idx is None:
                break
            op, method, path, body = plan[idx]
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            local[op].append(time.perf_counter() - t0)
            if resp.status >= 400:
                with lock:
                    errors.append(f"{op} {resp.status}")
        conn.close()
        with lock:
            for k, v in local.items():
                lat[k].extend(v)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    every = [x for v in lat.values() for x in v]
    return {
        "rps": len(every) / wall,
        "p50_ms": _percentile(every, 0.5) * 1000,
        "p99_ms": _percentile(every, 0.99) * 1000,
        "op_p50_ms": {k: _percentile(v, 0.5) * 1000 for k, v in lat.items()},
        "errors": len(errors),
        "error_sample": errors[:3],
    }


def _process_cpu(pid: int) -> float:
    """Return the CPU seconds (user + system, all threads) process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(kind: str, n: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [PY, "-m", "bench.bench_scim", "--serve", kind, str(n)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert proc.stdout is not None
    memory = json.loads(proc.stdout.readline())
    info = json.loads(proc.stdout.readline())
    info.update(memory, n=n)
    return proc, info


def main() -> None:
    """Run both servers at each size and print the comparison."""
    sizes = [int(s) for s in os.environ.get("BENCH_SCIM_SIZES", "10000,100000").split(",")]
    requests = int(os.environ.get("BENCH_SCIM_REQUESTS", "3000"))
    print(
        f"mixed workload: {requests} requests (50% filter userName, 25% create, 25% PATCH add member), "
        f"{THREADS} client threads, servers in their own uvicorn process on 127.0.0.1"
    )
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for n in sizes:
        for kind in ("jitbox", "scim2-server"):
            t0 = time.perf_counter()
            proc, info = _start(kind, n)
            load_s = time.perf_counter() - t0
            try:
                _drive(info, 200, f"warm{kind[:3]}")
                cpu_before, wall_before = _process_cpu(proc.pid), time.perf_counter()
                res = _drive(info, requests, f"run{kind[:3]}")
                res["cores"] = (_process_cpu(proc.pid) - cpu_before) / (time.perf_counter() - wall_before)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            res["memory_per_user"] = info["memory_per_user"]
            results[(kind, n)] = res
            ops = res["op_p50_ms"]
            print(
                f"{kind:<13} users={n:>7}  {res['rps']:8.0f} req/s  p50 {res['p50_ms']:6.2f} ms  "
                f"p99 {res['p99_ms']:7.2f} ms  [filter {ops['filter']:.2f} / create {ops['create']:.2f} / "
                f"patch {ops['patch']:.2f} ms p50]  server CPU {res['cores']:.2f} cores  "
                f"mem {res['memory_per_user']:7.0f} B/user  "
                f"errors {res['errors']} {res['error_sample']}  (preload+start {load_s:.1f} s)",
                flush=True,
            )
        ours, peer = results[("jitbox", n)], results[("scim2-server", n)]
        print(
            f"  ratio jitbox/scim2-server throughput at {n} users: {ours['rps'] / peer['rps']:.2f}x "
            f"(p99 {ours['p99_ms']:.2f} vs {peer['p99_ms']:.2f} ms)",
            flush=True,
        )
    ratios = [results[("jitbox", n)]["rps"] / results[("scim2-server", n)]["rps"] for n in sizes]
    memory = max(results[("jitbox", n)]["memory_per_user"] for n in sizes)
    print(
        f"  targets: throughput >= 4x scim2-server at every size: {min(ratios):.2f}x "
        f"{'MET' if min(ratios) >= 4 else 'MISSED'}; <= 1 KB per user: {memory:.0f} B "
        f"{'MET' if memory <= 1024 else 'MISSED'}",
        flush=True,
    )
    if len(sizes) > 1:
        small, large = results[("jitbox", sizes[0])], results[("jitbox", sizes[-1])]
        for op in ("filter", "patch"):
            scale = large["op_p50_ms"][op] / small["op_p50_ms"][op]
            print(f"  jitbox {op} p50 at {sizes[-1]} / at {sizes[0]} users: {scale:.2f} (≈1 = independent of size)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve_child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
