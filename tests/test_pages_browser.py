"""The seed's walkthrough in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Everything is found by accessible name (roles and labels) and asserted on what the pages show. Outside CI the test
skips when no browser is installed, saying how to install one; under ``CI=true`` a missing browser fails the run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.pages_support import seeded_sandbox

INSTALL = "install Chromium with `apt-get install -y chromium` (Debian/Ubuntu) or set JITBOX_CHROMIUM=/path/to/chrome"
RICH = "rich.roe@jitbox.example"


def chromium_path() -> str | None:
    """Return the Chromium to drive: ``$JITBOX_CHROMIUM``, else the first of chromium/chromium-browser on PATH."""
    explicit = os.environ.get("JITBOX_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests need a browser under CI=true: {reason}; {INSTALL}")
    pytest.skip(f"browser tests skipped: {reason}; {INSTALL}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    path = chromium_path()
    if path is None:
        _missing("no chromium executable found")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True)
        yield b
        b.close()


def _sandbox_time(page: Any) -> datetime:
    heading = page.get_by_role("heading", name=re.compile(r"^Sandbox time"))
    text = heading.inner_text().removeprefix("Sandbox time").strip()
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC")


def test_seed_walkthrough_in_a_browser(browser: Any) -> None:
    from playwright.sync_api import expect

    with seeded_sandbox() as s:
        cfg = s.sandbox.config()
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(15_000)
        roles = ctx.new_page()

        # PIM -> My roles -> Groups -> Activate, as the seed's test user [AWS-BLOG] (Figures 11-13)
        roles.goto(cfg["myroles_url"])
        roles.get_by_label("User").select_option(label="Rich Roe (rich.roe@jitbox.example)")
        roles.get_by_role("button", name="Sign in").click()
        expect(roles.get_by_role("heading", name="My roles | Groups")).to_be_visible()
        eligible = roles.get_by_role("region", name="Eligible assignments")
        eligible.get_by_role("link", name="Activate AWS - Amazon EC2 Admin").click()
        expect(roles.get_by_role("heading", name="Activate – Member")).to_be_visible()
        roles.get_by_label("Duration (hours)").fill("1")
        roles.get_by_label("Justification").fill("EC2 incident INC-42: on-call SRE lead")
        roles.get_by_role("button", name="Activate", exact=True).click()
        expect(roles.get_by_role("status")).to_contain_text("status Provisioned")
        active = roles.get_by_role("region", name="Active assignments")
        expect(active.get_by_role("row", name=re.compile("AWS - Amazon EC2 Admin"))).to_contain_text("Activated")
        expect(active).to_contain_text("2025-06-03 10:00 UTC")
        expect(active.get_by_role("button", name="Deactivate AWS - Amazon EC2 Admin")).to_be_visible()

        # the dashboard: advance until the membership reaches Identity Center (fast path, 2-10 min [E-AWS])
        dash = ctx.new_page()
        dash.goto(cfg["dashboard_url"])
        lanes = dash.get_by_role("table", name="Lanes of Rich Roe")
        idc_row = lanes.get_by_role("row", name=re.compile("^Identity Center membership"))
        expect(idc_row).to_contain_text("none")
        for _ in range(2):
            before = _sandbox_time(dash)
            dash.get_by_role("button", name="+10 minutes").click()
            expected = (before + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S UTC")
            expect(dash.get_by_role("heading", name=re.compile(r"^Sandbox time"))).to_contain_text(expected)
            if "still open" in idc_row.inner_text():
                break
        expect(idc_row).to_contain_text("still open")

        # the AWS access portal lists EC2AdminAccess; Access keys expire 1 hour after launch [UG23-howto]
        portal = ctx.new_page()
        portal.goto(cfg["portal_url"])
        portal.get_by_label("Username").select_option(RICH)
        portal.get_by_role("button", name="Sign in").click()
        accounts = portal.get_by_role("region", name=re.compile("^AWS accounts"))
        expect(accounts).to_contain_text("EC2AdminAccess")
        launched = _sandbox_time(dash)
        portal.get_by_role("button", name="Access keys for EC2AdminAccess in workloads-prod").click()
        creds = portal.get_by_role("region", name="Get credentials for EC2AdminAccess")
        expect(creds).to_be_visible()
        expiry = (launched + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S UTC")
        expect(creds.get_by_label("Role credentials")).to_contain_text(expiry)
        expect(creds).to_contain_text(re.compile(r"AWS_ACCESS_KEY_ID\s*ASIA[A-Z2-7]{16}"))

        # past the activation's end and past the next cycle, typed in "Advance by" and sent with the keyboard
        dash.bring_to_front()
        dash.get_by_label("Advance by").fill("1h")
        dash.get_by_label("Advance by").press("Enter")
        expect(dash.get_by_role("status")).to_contain_text("Advanced by 1h")
        dash.get_by_role("button", name="To next provisioning cycle").click()
        expect(dash.get_by_role("status")).to_contain_text("Advanced to the next provisioning cycle")
        expect(idc_row).not_to_contain_text("still open")

        # the old portal session still lists EC2AdminAccess (signin_snapshot [AWS-BLOG]); a fresh sign-in does not
        portal.goto(cfg["portal_url"])
        expect(portal.get_by_role("region", name=re.compile("^AWS accounts"))).to_contain_text("EC2AdminAccess")
        fresh_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        fresh = fresh_ctx.new_page()
        fresh.goto(cfg["portal_url"])
        fresh.get_by_label("Username").select_option(RICH)
        fresh.get_by_role("button", name="Sign in").click()
        fresh_accounts = fresh.get_by_role("region", name=re.compile("^AWS accounts"))
        expect(fresh_accounts).to_contain_text("You do not have any applications or AWS accounts")
        expect(fresh_accounts).not_to_contain_text("EC2AdminAccess")

        # the dashboard shows the overhang and the closed-form bound [AWS-BLOG]: portal 8 h + role 1 h past sign-in
        timeline = dash.get_by_role("article", name="Timeline of Rich Roe")
        expect(timeline).to_contain_text(re.compile(r"Overhang\s*8h 10m past the intended end"))
        expect(timeline).to_contain_text(re.compile(r"Closed-form bound\s*2025-06-03 19:40 UTC \(10h 40m 10s"))
        expect(timeline.get_by_role("img", name=re.compile("bound 19:40"))).to_be_visible()
        fresh_ctx.close()
        ctx.close()
