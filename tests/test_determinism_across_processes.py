"""Same seed, same output — also across processes, whose str hashes differ (PYTHONHASHSEED)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
from scim_server.app import create_app
from scim_server.sandbox import FaultRule
from sim.clock import ManualClock

app = create_app(ManualClock(), seed=3)
faults = app.state.idc.faults
faults.set_rules([FaultRule(method="*", resource="*", status=429, probability=0.3)])
print("".join("x" if faults.decide("PATCH", "Groups") else "." for _ in range(200)))
print(app.state.idc.tenant_id)
"""


def _run(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_seeded_fault_injection_and_ids_do_not_depend_on_the_process_hash_seed() -> None:
    first, second = _run("1"), _run("2")
    assert first == second
    assert "x" in first and "." in first
