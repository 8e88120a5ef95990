"""Pause and resume for scaled clocks: the sim clock, the ``/_sandbox/clock/pause|resume`` routes, the dashboard."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fakekit.control import SandboxControl
from sim.clock import ManualClock, ScaledClock


def test_a_paused_scaled_clock_holds_still_and_resumes_where_it_stopped() -> None:
    clock = ScaledClock(3600)  # one virtual hour per real second
    clock.pause()
    held = clock.time()
    time.sleep(0.05)
    assert clock.paused and clock.time() == held
    clock.resume()
    assert not clock.paused
    time.sleep(0.05)
    assert held < clock.time() < held + 3600  # runs again from the held instant, not from where it would be


def test_pause_routes_answer_for_scaled_clocks_and_refuse_others_naming_the_field() -> None:
    scaled = FastAPI()
    scaled.include_router(SandboxControl(ScaledClock(60)).router)
    client = TestClient(scaled)
    assert client.post("/_sandbox/clock/pause").json()["paused"] is True
    assert client.get("/_sandbox/clock").json()["paused"] is True
    assert client.post("/_sandbox/clock/resume").json()["paused"] is False
    manual = FastAPI()
    manual.include_router(SandboxControl(ManualClock()).router)
    refused = TestClient(manual).post("/_sandbox/clock/pause")
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "clock"
    assert "only a scaled clock can pause; this one is manual" in refused.json()["error"]["message"]
