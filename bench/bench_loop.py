"""Does one heavy client freeze the Identity Center fake? The latency of a cheap SCIM GET while others send the
heaviest legal requests (issue 14: "a 40,000-operation PATCH blocked every route for 19.8 s").

The fake runs in its own process under uvicorn (``bench.bench_scim --serve jitbox N``: N users preloaded, 10 groups).
A probe thread sends ``GET /scim/v2/ServiceProviderConfig`` every 10 ms, first on the idle server, then while
:data:`HEAVY_THREADS` client threads loop over the heaviest legal requests:

- ``PATCH /Groups/{id}`` with 100 operations (the cap, :data:`scim_server.patch_rules.MAX_PATCH_OPERATIONS`), each
  adding one member, then the same 100 removed;
- ``GET /Users?count=100`` (the largest page) and ``GET /Groups?count=100`` (groups with members);
- ``GET /Users?filter=userName eq "..."``;
- ``POST /Users`` with a body just under the 1 MiB limit (:data:`fakekit.body.MAX_BODY_BYTES`): parsed, checked and
  masked into the request log, then refused by the AWS rules.

Printed: the probe's p50 / p99 / max latency idle and under load (ms), and the heavy requests' count and statuses.
Run: ``python -m bench loop``; ``BENCH_LOOP_USERS`` (10000) and ``BENCH_LOOP_SECONDS`` (20) change the size and the
loaded time.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
from collections import Counter
from typing import Any

from bench.bench_scim import _start

HEAVY_THREADS = 3
PROBE_EVERY = 0.01


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _big_user(size: int) -> bytes:
    """Return a POST /Users body just under ``size`` bytes: a user with thousands of addresses."""
    address = {"type": "work", "streetAddress": "1 Main Street", "locality": "Springfield", "postalCode": "12345"}
    user: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "big@example.com",
        "displayName": "Big",
        "name": {"givenName": "Big", "familyName": "Body"},
        "addresses": [],
    }
    step = len(json.dumps(address)) + 2
    user["addresses"] = [address] * ((size - 400) // step)
    body = json.dumps(user).encode()
    assert len(body) < size, len(body)
    return body


def _heavy_plan(info: dict[str, Any], rng: random.Random) -> list[tuple[str, str, bytes | None]]:
    base, users, groups = info["base"], info["users"], info["groups"]
    patch_op = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    members = rng.sample(users, 100)
    add = [{"op": "add", "path": "members", "value": [{"value": m}]} for m in members]
    remove = [{"op": "remove", "path": f'members[value eq "{m}"]'} for m in members]
    group = rng.choice(groups)
    return [
        ("PATCH", f"{base}Groups/{group}", json.dumps({"schemas": [patch_op], "Operations": add}).encode()),
        ("GET", f"{base}Users?count=100", None),
        ("GET", f"{base}Groups?count=100", None),
        ("GET", f"{base}Users?filter=userName%20eq%20%22u{rng.randrange(info['n'])}%40example.com%22", None),
        ("POST", f"{base}Users", _big_user(1024 * 1024)),
        ("PATCH", f"{base}Groups/{group}", json.dumps({"schemas": [patch_op], "Operations": remove}).encode()),
    ]


def _probe(info: dict[str, Any], stop: threading.Event, out: list[float]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=120)
    headers = {"Authorization": info["auth"]}
    while not stop.is_set():
        t0 = time.perf_counter()
        conn.request("GET", info["base"] + "ServiceProviderConfig", headers=headers)
        response = conn.getresponse()
        response.read()
        out.append(time.perf_counter() - t0)
        assert response.status == 200, response.status
        time.sleep(PROBE_EVERY)


def _heavy(info: dict[str, Any], seed: int, stop: threading.Event, statuses: Counter[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=120)
    headers = {"Authorization": info["auth"], "Content-Type": "application/scim+json"}
    rng = random.Random(seed)
    while not stop.is_set():
        for method, path, body in _heavy_plan(info, rng):
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            statuses[f"{method} {response.status}"] += 1
            if stop.is_set():
                break


def measure(info: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Return the probe's latencies (ms) idle and under load, and the heavy requests' statuses."""
    idle: list[float] = []
    stop = threading.Event()
    probe = threading.Thread(target=_probe, args=(info, stop, idle))
    probe.start()
    time.sleep(min(5.0, seconds / 4))
    stop.set()
    probe.join()
    loaded: list[float] = []
    statuses: Counter[str] = Counter()
    stop = threading.Event()
    threads = [threading.Thread(target=_heavy, args=(info, i, stop, statuses)) for i in range(HEAVY_THREADS)]
    threads.append(threading.Thread(target=_probe, args=(info, stop, loaded)))
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()

    def summary(values: list[float]) -> dict[str, float]:
        ms = [v * 1000 for v in values]
        return {"n": len(ms), "p50": _percentile(ms, 0.5), "p99": _percentile(ms, 0.99), "max": max(ms)}

    return {"idle": summary(idle), "loaded": summary(loaded), "heavy": dict(sorted(statuses.items()))}


def main() -> None:
    """Start the fake with the users preloaded, measure, print."""
    n = int(os.environ.get("BENCH_LOOP_USERS", "10000"))
    seconds = float(os.environ.get("BENCH_LOOP_SECONDS", "20"))
    proc, info = _start("jitbox", n)
    try:
        result = measure(info, seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for phase in ("idle", "loaded"):
        r = result[phase]
        print(
            f"GET ServiceProviderConfig {phase:<6} ({r['n']:>5} probes): p50 {r['p50']:7.2f} ms  "
            f"p99 {r['p99']:8.2f} ms  max {r['max']:8.2f} ms",
            flush=True,
        )
    print(f"heavy requests by {HEAVY_THREADS} threads over {seconds:g} s at {n} users: {result['heavy']}", flush=True)


if __name__ == "__main__":
    main()
