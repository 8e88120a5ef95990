"""Issue 14: Graph tokens are random per sandbox, expire on the sandbox clock, answer Graph's 401 when expired, and
the config / ``GET /_sandbox/tokens`` / ``POST /_sandbox/tokens`` always give working ones (:mod:`pim_fake.tokens`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

import jitbox
from pim_fake.app import create_app
from pim_fake.tokens import DEFAULT_TOKEN_LIFETIME, EXPIRED_MESSAGE, RENEW_BEFORE
from sim.clock import ManualClock

ROOT = Path(__file__).resolve().parents[1]


def _entra(**kw: float) -> tuple[ManualClock, TestClient]:
    clock = ManualClock()
    return clock, TestClient(create_app(clock, seed=7, **kw), raise_server_exceptions=False)


def _me(c: TestClient, token: str) -> httpx2.Response:
    return c.get("/v1.0/me", headers={"Authorization": f"Bearer {token}"})


def test_tokens_are_random_per_sandbox_and_unrelated_to_the_identity_or_the_seed() -> None:
    _, one = _entra()
    _, two = _entra()  # same seed, same world
    a = one.get("/_sandbox/tokens").json()["graph_tokens"]
    b = two.get("/_sandbox/tokens").json()["graph_tokens"]
    assert set(a) == set(b) == {"admin", "rich", "jane", "mateo", "automation"}
    assert all(a[n] != b[n] for n in a)  # not derived from the seed
    assert len(set(a.values())) == len(a)
    for name, token in a.items():
        assert len(token) >= 43 and name not in token.lower() and "jitbox" not in token
        assert _me(two, token).status_code == 401  # a token of another sandbox is refused
    assert _me(one, a["rich"]).json()["displayName"] == "Rich Roe"
    # the same seed still gives the same ids: only the tokens differ
    assert _me(one, a["rich"]).json()["id"] == _me(two, b["rich"]).json()["id"]


def test_a_token_expires_on_the_sandbox_clock_with_graphs_401_envelope() -> None:
    clock, c = _entra()
    minted = c.post("/_sandbox/tokens", json={"identity": "rich"}).json()
    assert minted["expires_in"] == DEFAULT_TOKEN_LIFETIME == 3600
    assert minted["expires_at"] == "2025-06-03T10:00:00Z" and minted["token_type"] == "Bearer"
    clock.advance(DEFAULT_TOKEN_LIFETIME - 1)
    assert _me(c, minted["access_token"]).status_code == 200
    clock.advance(1)
    r = _me(c, minted["access_token"])
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    error = r.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken" and error["message"] == EXPIRED_MESSAGE
    assert set(error["innerError"]) >= {"date", "request-id"}
    never = _me(c, "not-a-token-of-this-sandbox").json()["error"]
    assert never["code"] == "InvalidAuthenticationToken" and never["message"] != EXPIRED_MESSAGE


def test_default_tokens_are_renewed_as_they_near_expiry_so_the_config_always_works() -> None:
    clock, c = _entra()
    first = c.get("/_sandbox/tokens").json()
    assert first["token_lifetime"] == DEFAULT_TOKEN_LIFETIME
    clock.advance(DEFAULT_TOKEN_LIFETIME - RENEW_BEFORE - 1)
    assert c.get("/_sandbox/tokens").json()["graph_tokens"] == first["graph_tokens"]  # still good for > 5 min
    clock.advance(2)
    renewed = c.get("/_sandbox/tokens").json()["graph_tokens"]
    assert all(renewed[n] != first["graph_tokens"][n] for n in renewed)
    assert _me(c, first["graph_tokens"]["rich"]).status_code == 200  # the old one lives to its own expiry
    clock.advance(8 * 3600)
    assert _me(c, first["graph_tokens"]["rich"]).status_code == 401
    assert _me(c, c.get("/_sandbox/tokens").json()["graph_tokens"]["rich"]).status_code == 200


def test_minted_tokens_take_a_lifetime_within_entras_configurable_range() -> None:
    clock, c = _entra()
    short = c.post("/_sandbox/tokens", json={"identity": "jane", "lifetime": "PT10M"}).json()
    assert short["expires_in"] == 600 and short["identity"] == "jane"
    clock.advance(600)
    assert _me(c, short["access_token"]).json()["error"]["message"] == EXPIRED_MESSAGE
    for bad, says in (("PT1M", "outside 10m"), ("P2D", "outside 10m"), ("PT۱H", "ASCII"), ("PT1H ", "space")):
        r = c.post("/_sandbox/tokens", json={"identity": "jane", "lifetime": bad})
        assert r.status_code == 400 and says in r.json()["error"]["message"], (bad, r.text)
    with pytest.raises(ValueError, match="token_lifetime"):
        create_app(ManualClock(), token_lifetime=60)


def test_a_sandbox_wide_lifetime_and_a_reset_that_retires_every_old_token() -> None:
    clock, c = _entra(token_lifetime=900)
    old = c.get("/_sandbox/tokens").json()
    assert old["token_lifetime"] == 900
    clock.advance(900)
    assert _me(c, old["graph_tokens"]["admin"]).status_code == 401
    fresh = c.get("/_sandbox/tokens").json()["graph_tokens"]["admin"]
    assert c.post("/_sandbox/reset").status_code == 200
    assert _me(c, fresh).status_code == 401  # the reset world has new ids and new tokens
    assert _me(c, c.get("/_sandbox/tokens").json()["graph_tokens"]["admin"]).status_code == 200


def test_the_python_api_graph_client_keeps_working_across_many_token_lifetimes() -> None:
    with jitbox.sandbox() as sb, sb.graph("rich") as g:
        first = sb.token("rich")
        assert g.get("me").json()["displayName"] == "Rich Roe"
        sb.clock.advance("PT26H")  # the token read at the start expired long ago
        assert sb.token("rich") != first
        assert g.get("me").json()["displayName"] == "Rich Roe"
        stale = httpx2.get(sb.graph_url + "/me", headers={"Authorization": f"Bearer {first}"})
        assert stale.status_code == 401 and stale.json()["error"]["message"] == EXPIRED_MESSAGE


def test_serve_refuses_a_token_lifetime_outside_the_range_naming_the_flag() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "jitbox", "serve", "--port", "0", "--entra-port", "0", "--graph-token-lifetime", "5m"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 2 and "--graph-token-lifetime 5m" in r.stderr and "outside 10m" in r.stderr, r.stderr
