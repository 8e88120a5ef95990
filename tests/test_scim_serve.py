"""The fake over real HTTP (uvicorn on 127.0.0.1): concurrency, restart with --state, and ``jitbox serve``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
from cli_support import REPO_ROOT, code_under_test_env
from typer.testing import CliRunner

from jitbox.cli import app as cli_app
from jitbox.serve import start_sandbox
from scim_server.app import ScimOptions
from scim_server.testing import entra_add_member, entra_group, entra_user
from sim.clock import ManualClock


def test_fifty_concurrent_member_patches_lose_none() -> None:
    with start_sandbox(
        ManualClock(), plugins=[], extensions=[], scim_options=ScimOptions(rate_limit_rps=0), seed=2
    ) as sb:
        headers = {"Authorization": f"Bearer {sb.scim_token}"}
        with httpx2.Client(base_url=sb.scim_url, headers=headers, timeout=30) as client:
            gid = client.post("Groups", json=entra_group("Crowd")).json()["id"]
            uids = [client.post("Users", json=entra_user(f"c{i}@example.com")).json()["id"] for i in range(50)]

        limits = httpx2.Limits(max_connections=50, max_keepalive_connections=50)
        with httpx2.Client(base_url=sb.scim_url, headers=headers, timeout=30, limits=limits) as shared:

            def add(uid: str) -> int:
                return int(shared.patch(f"Groups/{gid}", json=entra_add_member(uid)).status_code)

            with ThreadPoolExecutor(max_workers=50) as pool:
                statuses = list(pool.map(add, uids))
        assert statuses == [204] * 50
        with httpx2.Client(base_url=sb.scim_url, headers=headers, timeout=30) as client:
            listed = client.get("Users", params={"filter": f'groups.value eq "{gid}"'}).json()
        assert listed["totalResults"] == 50
        assert {u["id"] for u in listed["Resources"]} == set(uids)
        assert sb.scim_url.startswith("http://127.0.0.1:")


def test_state_file_keeps_every_acknowledged_write_across_restart(tmp_path: Path) -> None:
    state = tmp_path / "idc.db"
    clock = ManualClock()
    with start_sandbox(
        clock, plugins=[], extensions=[], state_path=state, scim_options=ScimOptions(rate_limit_rps=0)
    ) as sb:
        url, token = sb.scim_url, sb.scim_token
        h = {"Authorization": f"Bearer {token}"}
        with httpx2.Client(base_url=url, headers=h) as client:
            uid = client.post("Users", json=entra_user("keep.me@example.com")).json()["id"]
            gid = client.post("Groups", json=entra_group("Kept")).json()["id"]
            assert client.patch(f"Groups/{gid}", json=entra_add_member(uid)).status_code == 204
            op = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Keeper"}],
            }
            assert client.patch(f"Users/{uid}", json=op).status_code == 200
    with start_sandbox(
        clock, plugins=[], extensions=[], state_path=state, scim_options=ScimOptions(rate_limit_rps=0)
    ) as sb2:
        assert sb2.scim_token == token
        assert sb2.scim_url.split("/", 3)[3] == url.split("/", 3)[3]  # same tenant path
        with httpx2.Client(base_url=sb2.scim_url, headers={"Authorization": f"Bearer {token}"}) as client:
            assert client.get(f"Users/{uid}").json()["title"] == "Keeper"
            members = client.get("Users", params={"filter": f'groups.value eq "{gid}"'}).json()["Resources"]
            assert [m["id"] for m in members] == [uid]


def test_serve_cli_writes_config_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jitbox", "serve", "--config-out", str(cfg_path), "--seed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=code_under_test_env(),
    )
    try:
        deadline = time.monotonic() + 30
        while not cfg_path.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        cfg = json.loads(cfg_path.read_text())
        assert cfg["scim_url"].startswith("http://127.0.0.1:") and cfg["scim_url"].endswith("/scim/v2/")
        r = httpx2.get(cfg["scim_url"] + "Users", headers={"Authorization": f"Bearer {cfg['scim_token']}"})
        assert r.status_code == 200 and r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert cfg["scim_url"] in out and cfg["scim_token"] in out and "stopped." in out


def test_serve_cli_bad_flags_name_the_flag() -> None:
    runner = CliRunner()
    r = runner.invoke(cli_app, ["serve", "--clock", "fast"])
    assert r.exit_code == 2 and "--clock 'fast'" in r.output
    r = runner.invoke(cli_app, ["serve", "--port", "70000"])
    assert r.exit_code == 2 and "--port 70000" in r.output
    r = runner.invoke(cli_app, ["serve", "--rate-limit", "-1"])
    assert r.exit_code == 2 and "--rate-limit" in r.output


def test_serve_cli_rejects_bad_put_user_status() -> None:
    r = CliRunner().invoke(cli_app, ["serve", "--put-user-status", "204"])
    assert r.exit_code == 2 and "--put-user-status 204" in r.output


def test_serve_cli_names_a_corrupt_state_file(tmp_path: Path) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    r = CliRunner().invoke(cli_app, ["serve", "--state", str(bad)])
    assert r.exit_code == 2 and f"--state {bad}" in r.output


def test_scaled_clock_is_started_so_timers_fire() -> None:
    import threading

    from sim.clock import ScaledClock

    fired = threading.Event()
    clock = ScaledClock(36000)  # one virtual hour per 0.1 real second
    with start_sandbox(clock, plugins=[], extensions=[]) as sb:
        clock.call_later(3600, fired.set)
        assert fired.wait(timeout=5)
        assert sb.config()["clock"] == "scaled:36000"


def test_concurrent_creates_of_one_user_name_make_exactly_one_user() -> None:
    with start_sandbox(
        ManualClock(), plugins=[], extensions=[], scim_options=ScimOptions(rate_limit_rps=0), seed=3
    ) as sb:
        headers = {"Authorization": f"Bearer {sb.scim_token}"}
        limits = httpx2.Limits(max_connections=20, max_keepalive_connections=20)
        with httpx2.Client(base_url=sb.scim_url, headers=headers, timeout=30, limits=limits) as shared:

            def create(_: int) -> int:
                return int(shared.post("Users", json=entra_user("same@example.com")).status_code)

            with ThreadPoolExecutor(max_workers=20) as pool:
                statuses = sorted(pool.map(create, range(20)))
            listed = shared.get("Users", params={"filter": 'userName eq "same@example.com"'}).json()
        assert statuses == [201] + [409] * 19
        assert listed["totalResults"] == 1


def test_scim_paths_skip_the_router_but_head_still_reaches_the_scim_endpoint() -> None:
    with start_sandbox(ManualClock(), plugins=[], extensions=[], seed=5) as sb:
        with httpx2.Client(timeout=30) as client:
            head = client.head(sb.scim_url + "Users", headers={"Authorization": f"Bearer {sb.scim_token}"})
            bad = client.get(sb.scim_url + "Users", headers={"Authorization": "Bearer wrong"})
            other = client.get(sb.scim_base + "/_sandbox/health")
        assert head.status_code == 400  # HEAD is no SCIM operation: AWS's 400, through the catch-all route
        assert bad.status_code == 401 and bad.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert other.status_code == 200
