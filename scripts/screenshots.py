"""``make screenshots``: PNGs of the three pages at the seed's key instants, for the README (docs/screenshots/).

Starts the sandbox on the manual clock with the seed's settings and world (as ``jitbox demo`` does), walks the seed
in headless Chromium (Debian's ``chromium`` or ``$JITBOX_CHROMIUM``; Playwright drives it) and saves at 1280x800:

1. ``1-myroles-activate.png`` — My roles: "Activate – Member" for AWS - Amazon EC2 Admin, 1 hour, a justification;
2. ``2-myroles-active.png`` — the activation provisioned, ending 10:00;
3. ``3-portal-access-keys.png`` — 9:10: the portal lists EC2AdminAccess; Access keys expire at launch + 1 h;
4. ``4-dashboard-0910.png`` — 9:10: the membership reached Identity Center on the fast path;
5. ``5-portal-old-session.png`` — 10:20, after the removal: the 9:10 portal session still lists EC2AdminAccess;
6. ``6-portal-fresh-signin.png`` — 10:20: a fresh sign-in lists nothing;
7. ``7-dashboard-overhang.png`` — 10:20: the overhang and the closed-form bound.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from jitbox.demo import setup_seed_world
from jitbox.serve import start_sandbox
from sim.clock import ManualClock
from sim.settings import load_settings

RICH = "rich.roe@jitbox.example"


def _chromium() -> str:
    path = os.environ.get("JITBOX_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        sys.exit("make screenshots: no Chromium; install it with `apt-get install -y chromium` or set JITBOX_CHROMIUM")
    return path


def _shot(page: Page, out: Path, name: str) -> None:
    page.screenshot(path=str(out / name), full_page=True)
    print(out / name)


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots into ``--out`` (default docs/screenshots); return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    settings = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    with start_sandbox(ManualClock(), seed=7, options={"seed": 7}, settings=settings) as sb, sync_playwright() as p:
        world = setup_seed_world(sb)
        cfg = sb.config()
        browser = p.chromium.launch(executable_path=_chromium())
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        roles = ctx.new_page()
        roles.goto(cfg["myroles_url"])
        roles.get_by_label("User").select_option("rich")
        roles.get_by_role("button", name="Sign in").click()
        roles.goto(f"{cfg['myroles_url']}groups/activate?groupId={world.group_id}")
        roles.get_by_label("Duration (hours)").fill("1")
        roles.get_by_label("Justification").fill("EC2 incident INC-42: on-call SRE lead")
        _shot(roles, out, "1-myroles-activate.png")
        roles.get_by_role("button", name="Activate", exact=True).click()
        roles.get_by_role("status").wait_for()
        _shot(roles, out, "2-myroles-active.png")

        dash = ctx.new_page()
        dash.goto(cfg["dashboard_url"])
        dash.get_by_role("button", name="+10 minutes").click()
        dash.get_by_role("status").filter(has_text="Advanced by 10m").wait_for()
        portal = ctx.new_page()
        portal.goto(cfg["portal_url"])
        portal.get_by_label("Username").select_option(RICH)
        portal.get_by_role("button", name="Sign in").click()
        portal.get_by_role("button", name="Access keys for EC2AdminAccess in workloads-prod").click()
        _shot(portal, out, "3-portal-access-keys.png")
        dash.reload()
        _shot(dash, out, "4-dashboard-0910.png")

        dash.get_by_label("Advance by").fill("1h")
        dash.get_by_role("button", name="Advance", exact=True).click()
        dash.get_by_role("status").filter(has_text="Advanced by 1h").wait_for()
        dash.get_by_role("button", name="To next provisioning cycle").click()
        dash.get_by_role("status").filter(has_text="next provisioning cycle").wait_for()
        portal.goto(cfg["portal_url"])
        _shot(portal, out, "5-portal-old-session.png")
        fresh = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        fresh.goto(cfg["portal_url"])
        fresh.get_by_label("Username").select_option(RICH)
        fresh.get_by_role("button", name="Sign in").click()
        _shot(fresh, out, "6-portal-fresh-signin.png")
        dash.reload()
        _shot(dash, out, "7-dashboard-overhang.png")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
