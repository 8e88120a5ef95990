"""Issue 12: LocalStack-like defaults — fixed ports, `jitbox env`, the banner, `/_sandbox/` index and health, ISO
timestamps, the device-flow approval page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx2
import pytest
from cli_support import serve_banner

from jitbox.serve import DEFAULT_AWS_PORT, DEFAULT_GRAPH_PORT, start_sandbox
from sim.clock import ManualClock

ROOT = Path(__file__).resolve().parent.parent


def jitbox_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jitbox", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_serve_defaults_to_fixed_documented_ports() -> None:
    out = jitbox_cli("serve", "--help").stdout
    assert (DEFAULT_AWS_PORT, DEFAULT_GRAPH_PORT) == (6470, 6471)
    assert "6470" in out and "6471" in out and "0 picks a free one" in out
    assert "6470" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_sandbox_answers_index_health_and_config_on_both_ports() -> None:
    with start_sandbox(ManualClock()) as sb, httpx2.Client(timeout=30) as http:
        cfg = sb.config()
        assert cfg["aws_env"]["AWS_ENDPOINT_URL"] == cfg["aws_endpoint_url"]
        for base in (cfg["scim_sandbox_url"], cfg["graph_sandbox_url"]):
            index = http.get(base).json()
            paths = {r["path"] for r in index["routes"]}
            assert {"/_sandbox/reset", "/_sandbox/health", "/_sandbox/clock/advance", "/_sandbox/config"} <= paths
            page = http.get(base, headers={"Accept": "text/html,application/xhtml+xml"})
            assert page.headers["content-type"].startswith("text/html") and "/_sandbox/reset" in page.text
            health = http.get(base + "health").json()
            assert health["status"] == "ok" and health["now"] == "2025-06-03T09:00:00Z"
            assert http.get(base + "config").json()["scim_url"] == cfg["scim_url"]
        assert http.get(cfg["scim_health_url"]).status_code == 200
        assert http.get(cfg["graph_health_url"]).status_code == 200


def test_sandbox_aws_responses_carry_iso_timestamps() -> None:
    with start_sandbox(ManualClock()) as sb, httpx2.Client(timeout=30) as http:
        cfg = sb.config()
        signin = http.post(
            cfg["aws_endpoint_url"] + "/_sandbox/aws/signin", json={"user_name": "rich.roe@jitbox.example"}
        )
        body = signin.json()
        assert body["signin_iso"] == "2025-06-03T09:00:00Z" and body["expiresAt"] == "2025-06-03T17:00:00Z"
        access = http.get(cfg["aws_endpoint_url"] + f"/_sandbox/aws/access/{body['user_id']}").json()
        assert access["at_iso"] == "2025-06-03T09:00:00Z"
        assert access["portal_sessions"][0]["end_iso"] == "2025-06-03T17:00:00Z"
        prov = http.get(cfg["graph_sandbox_url"] + "provisioning").json()
        job = next(iter(prov.values()))
        assert job["origin_iso"] == "2025-06-03T09:00:00Z"


def test_jitbox_env_prints_exports_dotenv_and_json_from_a_running_sandbox_or_a_config_file(tmp_path: Path) -> None:
    with start_sandbox(ManualClock()) as sb:
        cfg = sb.config()
        exports = jitbox_cli("env", "--url", cfg["aws_endpoint_url"])
        assert exports.returncode == 0, exports.stderr
        assert f"export AWS_ENDPOINT_URL={cfg['aws_endpoint_url']}" in exports.stdout
        assert "export AWS_ACCESS_KEY_ID=testing" in exports.stdout
        assert f"export JITBOX_SCIM_TOKEN={cfg['scim_token']}" in exports.stdout
        assert f"export JITBOX_GRAPH_TOKEN={sb.config()['graph_tokens']['admin']}" in exports.stdout  # current
        saved = tmp_path / "sandbox.json"
        saved.write_text(json.dumps(cfg), encoding="utf-8")
    as_json = json.loads(jitbox_cli("env", "--config", str(saved), "--format", "json").stdout)
    assert as_json["AWS_ENDPOINT_URL"] == cfg["aws_endpoint_url"] and as_json["AWS_DEFAULT_REGION"] == "us-east-1"
    dotenv = jitbox_cli("env", "--config", str(saved), "--format", "dotenv").stdout
    assert f"JITBOX_GRAPH_URL={cfg['graph_url']}" in dotenv.splitlines()
    bad = jitbox_cli("env", "--format", "yaml")
    assert bad.returncode == 2 and "--format yaml" in bad.stderr
    gone = jitbox_cli("env", "--url", cfg["aws_endpoint_url"])  # stopped
    assert gone.returncode == 2 and "no sandbox answers there" in gone.stderr


def test_serve_banner_shows_graph_tokens_and_seeded_users(tmp_path: Path) -> None:
    with serve_banner(config=tmp_path / "cfg.json") as (text, cfg):
        rich = cfg["graph_tokens"]["rich"]
        assert rich in text and "rich.roe@jitbox.example" in text and "(admin)" in text, text
        assert "expire 1h after minting on the sandbox clock" in text and "_sandbox/tokens or jitbox env" in text
        assert "world seed" in text and "jitbox env --url" in text


def test_device_flow_approval_url_answers_a_browser_with_an_approve_page() -> None:
    with start_sandbox(ManualClock()) as sb, httpx2.Client(timeout=30) as http:
        cfg = sb.config()
        kw: dict[str, Any] = {
            "endpoint_url": cfg["aws_endpoint_url"],
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        oidc = boto3.client("sso-oidc", **kw)
        client = oidc.register_client(clientName="cli", clientType="public")
        auth = oidc.start_device_authorization(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            startUrl="https://example.awsapps.com/start",
        )
        page = http.get(auth["verificationUriComplete"], headers={"Accept": "text/html"})
        assert page.status_code == 200 and "<button" in page.text and "Approve" in page.text
        assert auth["userCode"] in page.text and "rich.roe@jitbox.example" in page.text
        approved = http.post(
            auth["verificationUri"],
            content=f"user_code={auth['userCode']}&user_name=rich.roe%40jitbox.example",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert approved.status_code == 200 and "Approved" in approved.text
        token = oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code",
            deviceCode=auth["deviceCode"],
        )
        roles = boto3.client("sso", **kw).list_account_roles(accessToken=token["accessToken"], accountId="111122223333")
        assert [r["roleName"] for r in roles["roleList"]] == []  # Rich is not active yet: nothing to launch
        wrong = http.post(
            auth["verificationUri"],
            content="user_code=NOPE&user_name=rich.roe%40jitbox.example",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert wrong.status_code == 404 and "Not approved" in wrong.text


@pytest.mark.parametrize("body", ['{"clock": 1}', '{"nope": true}', "[1]", "not json"])
def test_reset_refuses_a_bad_body_naming_the_field(body: str) -> None:
    with start_sandbox(ManualClock()) as sb, httpx2.Client(timeout=30) as http:
        r = http.post(sb.config()["scim_sandbox_url"] + "reset", content=body)
        assert r.status_code == 400 and r.json()["error"]["field"] in ("clock", "nope", "body"), r.text
