"""QA: bad input a new user can type, found by trying jitbox from the README; each must be a clear message, not a
traceback or a 500, and must not break the sandbox for the requests that follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jitbox.cli import app as cli_app
from scim_server.app import create_app
from scim_server.aws.http import JSON11
from sim.clock import ManualClock
from sim.durations import DurationError, parse_duration

NOT_UTF8 = b"\xff\xfeactivation_max = 1\n"


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


@pytest.mark.parametrize("value", [[], ["1h"], {"h": 1}, None])
def test_parse_duration_refuses_non_text_values_with_its_own_error(value: object) -> None:
    with pytest.raises(DurationError, match="not a duration"):
        parse_duration(value)  # type: ignore[arg-type]


def test_check_and_advise_name_a_list_where_a_duration_belongs(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[settings]\nactivation_max = ["1h"]\n', encoding="utf-8")
    code, out = _cli("check", str(path), "--max-window", "2h")
    assert code == 2 and "settings.activation_max" in out and "not a duration" in out, out
    code, out = _cli("advise", "--max-window", "2h", "--settings", str(path))
    assert code == 2 and "settings.activation_max" in out, out


def test_check_advise_and_sweep_refuse_a_non_utf8_file_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(NOT_UTF8)
    for args in (
        ("check", str(path), "--max-window", "2h"),
        ("advise", "--max-window", "2h", "--settings", str(path)),
        ("sweep", str(path), "--no-figures", "--no-progress", "--out", str(tmp_path / "out")),
    ):
        code, out = _cli(*args)
        assert code == 2 and f"{path}: not a UTF-8 text file" in out, (args, out)
        assert "grid value out of range" not in out


def test_sweep_base_table_cannot_silently_lose_an_axis_field(tmp_path: Path) -> None:
    # the countermeasures axis (default "none") would switch this off in every cell without a word
    for line, axis in (("remove_idc_membership = true", "countermeasures"), ('entitlement_mode = "launch_check"', "")):
        path = tmp_path / "sweep.toml"
        path.write_text(f"activations = 10\n[base]\n{line}\n", encoding="utf-8")
        code, out = _cli("sweep", str(path), "--no-figures", "--no-progress", "--out", str(tmp_path / "out"))
        name = line.split(" ")[0]
        assert code == 2 and f"base.{name}" in out and f"the {axis or name} axis" in out, out


def test_serve_refuses_a_non_finite_rate_limit() -> None:
    for value in ("nan", "inf"):
        code, out = _cli("serve", "--rate-limit", value)
        assert code == 2 and "--rate-limit" in out and "finite" in out, out


@pytest.fixture
def sandbox() -> TestClient:
    return TestClient(create_app(ManualClock(), seed=3), raise_server_exceptions=False)


@pytest.mark.parametrize("body", ['{"seconds": []}', '{"seconds": {}}', '{"duration": [1]}'])
def test_clock_advance_with_a_wrong_type_is_a_400_naming_the_field(sandbox: TestClient, body: str) -> None:
    resp = sandbox.post("/_sandbox/clock/advance", content=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["field"] in ("seconds", "duration")


@pytest.mark.parametrize("body", ['{"seconds": 1e30}', '{"seconds": 1e12}', '{"duration": "P400D"}'])
def test_clock_advance_past_a_year_is_refused_and_the_clock_keeps_working(sandbox: TestClient, body: str) -> None:
    resp = sandbox.post("/_sandbox/clock/advance", content=body)
    assert resp.status_code == 400 and "366 days" in resp.json()["error"]["message"], resp.text
    assert sandbox.get("/_sandbox/clock").json()["now"] == "2025-06-03T09:00:00Z"
    resp = sandbox.post("/_sandbox/clock/advance", json={"duration": "P366D"})
    assert resp.status_code == 200 and resp.json()["now"] == "2026-06-04T09:00:00Z"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e999"])
def test_rate_limit_refuses_non_finite_numbers(sandbox: TestClient, value: str) -> None:
    resp = sandbox.post("/_sandbox/rate-limit", content=f'{{"rps": {value}}}')
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "rps", resp.text
    resp = sandbox.post("/_sandbox/scim/options", content=f'{{"rate_limit_rps": {value}}}')
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "rate_limit_rps", resp.text
    assert sandbox.get("/_sandbox/rate-limit").json() == {"rps": 0.0}  # unchanged: still the default (off)


@pytest.mark.parametrize("at", ["1e309", "inf", "NaN", "9" * 400])
def test_access_at_a_non_finite_time_is_a_validation_error(sandbox: TestClient, at: str) -> None:
    resp = sandbox.get(f"/_sandbox/aws/access/someone?at={at}")
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "ValidationException" and "at must be finite" in resp.text


def test_entra_user_names_come_from_the_local_part_only() -> None:
    from scim_server.testing import entra_user

    assert entra_user("alice@example.com")["name"] | {"formatted": ""} == {
        "formatted": "",
        "givenName": "Alice",
        "familyName": "Doe",
    }
    assert entra_user("rich.roe@example.com")["name"]["familyName"] == "Roe"


def test_unserved_identitystore_operation_lists_the_served_ones(sandbox: TestClient) -> None:
    # boto3's identitystore.update_identity_store is not served (CreateUser was, until issue 12 added it), so the
    # message must say what is served
    resp = sandbox.post(
        "/", content="{}", headers={"X-Amz-Target": "AWSIdentityStore.UpdateIdentityStore", "Content-Type": JSON11}
    )
    assert resp.status_code == 400 and resp.json()["__type"] == "UnknownOperationException"
    message = resp.json()["Message"]
    assert "'AWSIdentityStore.UpdateIdentityStore'" in message and "CreateUser" in message
    assert "AWSIdentityStore.*" not in message


@pytest.mark.parametrize("spec", ["scaled:inf", "scaled:1e308", "scaled:0"])
def test_serve_refuses_a_clock_scale_that_would_overflow_naming_the_flag(spec: str) -> None:
    # before: scaled:inf started and died with "--host/--port: no valid SCIM token" (the token expired at once)
    code, out = _cli("serve", "--clock", spec)
    assert code == 2 and f"--clock '{spec}'" in out and "<= 1e+06" in out, out


def test_a_non_finite_clock_advance_says_it_is_no_duration(sandbox: TestClient) -> None:
    """A new user sent ``{"seconds": "NaN"}`` and was told to write ``NaNm``."""
    resp = sandbox.post("/_sandbox/clock/advance", content='{"seconds": "NaN"}')
    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert "is not a duration" in message and "NaNm" not in message


def test_an_aws_argument_of_the_wrong_type_is_named_as_such(sandbox: TestClient) -> None:
    """A new user sent ``{"InstanceArn": 5}`` and was told InstanceArn is required."""
    headers = {"X-Amz-Target": "SWBExternalService.ListPermissionSets", "Content-Type": JSON11}
    resp = sandbox.post("/", content='{"InstanceArn": 5}', headers=headers)
    assert resp.status_code == 400 and resp.json()["__type"] == "ValidationException", resp.text
    assert "InstanceArn must be a string, got int" in resp.json()["Message"]
    resp = sandbox.post("/", content="{}", headers=headers)
    assert resp.status_code == 400 and "InstanceArn is required" in resp.json()["Message"]


def test_a_graph_body_that_is_not_json_is_said_once() -> None:
    from pim_fake.app import create_app as create_entra

    entra = create_entra(ManualClock())
    admin = {"Authorization": f"Bearer {entra.state.graph_tokens['admin']}", "Content-Type": "application/json"}
    resp = TestClient(entra).post("/v1.0/groups", content=b"{not json", headers=admin)
    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert message.lower().count("not valid json") == 1, message


@pytest.mark.parametrize("path", ["/foo", "/_sandbox/nope", "/start/nope", "/some-tenant/foo"])
def test_an_unknown_path_on_the_identity_center_port_answers_the_sandbox_error_naming_where_to_go(
    sandbox: TestClient, path: str
) -> None:
    """A new user got FastAPI's bare ``{"detail": "Not Found"}``; now the sandbox body says where each protocol is."""
    resp = sandbox.get(path)
    assert resp.status_code == 404, resp.text
    error = resp.json()["error"]
    assert error["code"] == "NotFound" and path in error["message"] and "/_sandbox/" in error["message"]
    assert "/scim/v2/" in error["message"]
    resp = sandbox.delete("/_sandbox/clock")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET"
    assert resp.json()["error"]["code"] == "MethodNotAllowed"


def test_a_serve_that_fails_to_start_leaves_no_new_state_file(tmp_path: Path) -> None:
    """A new user's failed ``jitbox serve --state idc.db`` (a world without an administrator) left ``idc.db``."""
    world = tmp_path / "w.toml"
    world.write_text(
        '[[users]]\nname = "dev"\ndisplayName = "D"\nuserPrincipalName = "dev@corp.example"\n'
        '[[groups]]\ndisplayName = "G"\nmembers = []\neligible = ["dev"]\n',
        encoding="utf-8",
    )
    state = tmp_path / "idc.db"
    code, out = _cli("serve", "--port", "0", "--entra-port", "0", "--world", str(world), "--state", str(state))
    assert code == 2 and "--world" in out and "administrator" in out, out
    assert list(tmp_path.iterdir()) == [world]
