"""The timeline dashboard (served beside the fakes) and the time every page takes on the seed's world."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.pages_support import SeededSandbox, seeded_sandbox

RICH = "rich.roe@jitbox.example"
JSON = {"accept": "application/json"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def walked() -> Iterator[SeededSandbox]:
    """The seed walked to 10:20: Rich activated at 9:00 for 1 h, signed in and launched at 9:10, removal at 10:20."""
    with seeded_sandbox() as s:
        cfg = s.sandbox.config()
        dash = httpx2.Client(base_url=cfg["dashboard_url"])
        myroles = httpx2.Client(base_url=cfg["myroles_url"], follow_redirects=True)
        myroles.post("signin", data={"identity": "rich"})
        done = myroles.post(
            "groups/activate", data={"groupId": s.world.group_id, "duration": "1", "justification": "EC2 incident"}
        )
        assert "status <strong>Provisioned</strong>" in done.text
        assert dash.post("api/advance", data={"duration": "10m"}, headers=JSON).status_code == 200
        portal = httpx2.Client(base_url=cfg["portal_url"], follow_redirects=True)
        portal.post("signin", data={"user_name": RICH})
        portal.post("credentials", data={"account_id": "111122223333", "role_name": "EC2AdminAccess"})
        for _ in range(2):  # 9:40 (nothing to remove yet), 10:20 (the removal, not accelerated [E-AWS])
            assert dash.post("api/next-cycle", headers=JSON).status_code == 200
        yield s


def test_dashboard_shows_each_hop_the_overhang_and_the_bound(walked: SeededSandbox) -> None:
    page = httpx2.get(walked.sandbox.config()["dashboard_url"])
    text = _text(page.text)
    assert "Sandbox time 2025-06-03 10:20:00 UTC" in text
    assert "next regular cycle 2025-06-03 11:00 UTC (in 40m)" in text
    assert "Rich Roe — AWS - Amazon EC2 Admin, activated 2025-06-03 09:00 UTC" in text
    assert "Intended end 2025-06-03 10:00 UTC (1h activation)" in text
    idc = r"Identity Center membership \(AWS - Amazon EC2 Admin\) 2025-06-03 09:(0[2-9]|10):\d\d UTC 2025-06-03 10:20:00 UTC 20m"
    assert re.search(idc, text), "added by the fast path in 2-10 min [E-AWS], removed on the 10:20 cycle"
    assert "Role session (EC2AdminAccess) 2025-06-03 09:10:00 UTC 2025-06-03 10:10:00 UTC 10m" in text
    assert "Portal session (lists EC2AdminAccess) 2025-06-03 09:10:00 UTC 2025-06-03 17:10:00 UTC 7h 10m" in text
    assert "Can still launch until 2025-06-03 17:10 UTC (live portal session), then a 1h role session" in text
    assert "Overhang 8h 10m past the intended end" in text  # 17:10 + 1 h - 10:00
    assert "Closed-form bound 2025-06-03 19:40 UTC (10h 40m 10s after activation)" in text  # jitbox bound, seed


def test_request_log_merges_the_three_sources_and_filters_by_user(walked: SeededSandbox) -> None:
    url = walked.sandbox.config()["dashboard_url"]
    everyone = _text(httpx2.get(url + "view").text)
    assert "SCIM PatchGroup Remove members 204 rich.roe@jitbox.example" in everyone
    assert "Graph Remove member from role (PIM activation expired) — AWS - Amazon EC2 Admin success" in everyone
    assert "AWS GetRoleCredentials EC2AdminAccess 200 rich.roe@jitbox.example" in everyone
    assert "SCIM ListUsers 200" in everyone
    rich = _text(httpx2.get(url + "view", params={"user": RICH}).text)
    assert "Request log for rich.roe@jitbox.example" in rich
    assert "SCIM ListUsers" not in rich and "AWS Portal sign-in (portal session starts) 200 rich.roe" in rich


def test_clock_controls_refuse_bad_durations_naming_the_field(walked: SeededSandbox) -> None:
    url = walked.sandbox.config()["dashboard_url"]
    bad = httpx2.post(url + "api/advance", data={"duration": "soon"}, headers=JSON)
    assert bad.status_code == 400 and bad.json()["field"] == "duration"
    assert bad.json()["message"].startswith("Advance by: 'soon' is not a duration")
    assert httpx2.post(url + "api/advance", data={"duration": "0"}, headers=JSON).status_code == 400
    plain = httpx2.post(url + "api/advance", data={"duration": "0s"})
    assert plain.status_code == 400 and plain.headers["content-type"].startswith("text/plain")


def _medians(client: TestClient, path: str, runs: int = 7) -> tuple[float, float]:
    """Return the median (wall seconds, process CPU seconds) of ``runs`` GETs of ``path`` after one warm-up.

    CPU time counts every thread of this process (the test client and the fakes' uvicorn threads), so it measures
    what the page costs without the waiting a loaded machine adds; wall time bounds what a user waits.
    """
    assert client.get(path).status_code == 200  # warm the templates
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        assert response.status_code == 200
    return statistics.median(wall), statistics.median(cpu)


def test_each_page_answers_in_under_200_ms_on_the_manual_clock(walked: SeededSandbox) -> None:
    servers = walked.sandbox.servers
    idc = TestClient(servers["idc"].server.config.app)
    entra = TestClient(servers["entra"].server.config.app)
    dash = TestClient(servers["dashboard"].server.config.app)
    idc.post("/start/signin", data={"user_name": RICH})
    entra.post("/myroles/signin", data={"identity": "rich"})
    pages = {
        "portal": (idc, "/start/"),
        "my roles": (entra, "/myroles/groups"),
        "activate": (entra, f"/myroles/groups/activate?groupId={walked.world.group_id}"),
        "dashboard": (dash, "/"),
        "dashboard view": (dash, "/view"),
    }
    medians = {name: _medians(client, path) for name, (client, path) in pages.items()}
    costly = {name: round(cpu * 1000) for name, (_wall, cpu) in medians.items() if cpu >= 0.2}
    assert not costly, f"pages costing 200 ms or more (median CPU ms): {costly}"
    slow = {name: round(wall * 1000) for name, (wall, _cpu) in medians.items() if wall >= 1.0}
    assert not slow, f"pages answering in a second or more even allowing for machine load (median ms): {slow}"


def test_config_and_jitbox_env_name_the_three_pages(walked: SeededSandbox) -> None:
    from jitbox.env import env_vars

    cfg = walked.sandbox.config()
    env = env_vars(cfg)
    for key, var in (("myroles_url", "MYROLES"), ("portal_url", "PORTAL"), ("dashboard_url", "DASHBOARD")):
        assert httpx2.get(cfg[key], follow_redirects=True).status_code == 200
        assert env[f"JITBOX_{var}_URL"] == cfg[key]


def test_dashboard_offers_pause_and_resume_only_for_a_scaled_clock(walked: SeededSandbox) -> None:
    url = walked.sandbox.config()["dashboard_url"]
    assert ">Pause</button>" not in httpx2.get(url).text  # manual clock
    refused = httpx2.post(url + "api/pause", headers=JSON)
    assert refused.status_code == 400 and "only a scaled clock can pause" in refused.json()["message"]


def test_dashboard_says_what_to_add_when_the_world_has_no_administrator(walked: SeededSandbox) -> None:
    from jitbox.dashboard import DashboardSources, create_dashboard

    cfg = {**walked.sandbox.config(), "graph_tokens": {"rich": walked.sandbox.config()["graph_tokens"]["rich"]}}
    page = TestClient(create_dashboard(DashboardSources.from_config(cfg))).get("/")
    assert page.status_code == 503
    assert "no identity of this Entra world is one: add a user with admin = true" in page.text


def test_dashboard_sends_the_sandbox_admin_token_when_bound_beyond_loopback() -> None:
    # beyond loopback the /_sandbox routes need the admin header; the dashboard reads them and must carry it
    from jitbox.serve import start_sandbox
    from sim.clock import ManualClock

    with start_sandbox(ManualClock(), host="0.0.0.0") as sandbox:
        cfg = sandbox.config()
        assert cfg["sandbox_admin_token"]
        dash = httpx2.Client(base_url=cfg["dashboard_url"].replace("0.0.0.0", "127.0.0.1"))
        page = dash.get("")
        assert page.status_code == 200, page.text
        assert RICH in _text(page.text)
        before = sandbox.clock.now()
        moved = dash.post("api/advance", data={"duration": "10m"}, headers=JSON)
        assert moved.status_code == 200, moved.text
        assert (sandbox.clock.now() - before).total_seconds() == 600


def test_serve_finds_the_dashboards_administrator_on_first_use_not_at_start() -> None:
    # looking the administrator up over Graph cost ~0.15 s of every `jitbox serve` start (issue 15's ready time)
    from jitbox.dashboard import DashboardSources
    from jitbox.serve import start_sandbox
    from sim.clock import ManualClock

    with start_sandbox(ManualClock()) as sandbox:
        state = sandbox.apps["dashboard"].state
        assert not isinstance(state.dashboard_src, DashboardSources)
        page = httpx2.get(sandbox.config()["dashboard_url"])
        assert page.status_code == 200 and RICH in _text(page.text)
        assert isinstance(state.dashboard_src, DashboardSources) and state.dashboard_src.admin == "admin"
