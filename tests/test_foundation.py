"""Pins the foundation: durations, settings ranges, clock timers, the seed's bound, the bound CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jitbox.cli import app
from sim.bounds import worst_case
from sim.clock import ClockError, ManualClock, clock_from_spec
from sim.durations import DurationError, format_duration, parse_duration
from sim.settings import EntitlementMode, SettingsError, load_settings


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H", 3600),
        ("PT1H45M", 6300),
        ("P90D", 90 * 86400),
        ("90m", 5400),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("45s", 45),
        (45, 45),  # a number (Python, a TOML number) is seconds
    ],
)
def test_parse_duration_accepts_iso_and_short_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "P6M", "1 fortnight", "-5", "P1Y"])
def test_parse_duration_rejects_garbage_with_examples(text: str) -> None:
    with pytest.raises(DurationError, match=r"PT1H|seconds"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["2", "45", "1.5"])
def test_a_duration_string_without_a_unit_is_refused(text: str) -> None:
    # issue 11: `--max-window 2` meant 2 seconds; a string needs its unit
    with pytest.raises(DurationError, match="has no unit"):
        parse_duration(text)


def test_cli_refuses_a_duration_without_a_unit_naming_the_flag() -> None:
    result = CliRunner().invoke(app, ["advise", "--max-window", "2"])
    assert result.exit_code == 2 and "--max-window: '2' has no unit" in result.output
    result = CliRunner().invoke(app, ["bound", "--activation", "60"])
    assert result.exit_code == 2 and "--activation" in result.output and "has no unit" in result.output


def test_jitbox_version() -> None:
    from jitbox import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"jitbox {__version__}"


def test_format_duration_is_compact() -> None:
    assert format_duration(10 * 3600 + 40 * 60) == "10h 40m"
    assert format_duration(0) == "0s"


def test_settings_defaults_match_documented_defaults() -> None:
    s = load_settings()
    assert s.activation_max == 8 * 3600  # [G-POLA-LIST]
    assert s.portal_session == 8 * 3600  # [UG-uis]
    assert s.permission_set_session == 3600  # [UG23-howto]
    assert s.cycle_interval == 40 * 60  # [E-AWS]
    assert s.fast_path_limit == 5 and s.fast_path_window == 10  # [E-AWS][E-PIMG]
    assert s.entitlement_mode is EntitlementMode.SIGNIN_SNAPSHOT


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("permission_set_session", "13h", "1h – 12h"),
        ("activation_max", "20m", "30m – 1d"),
        ("portal_session", "91d", "15m – 90d"),
    ],
)
def test_out_of_range_settings_name_field_value_and_range(field: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({field: value})
    message = str(info.value)
    assert field in message and fragment in message


def test_unknown_setting_is_named() -> None:
    with pytest.raises(SettingsError, match="portal_sesion: unknown setting"):
        load_settings({"portal_sesion": "8h"})


def test_manual_clock_runs_timers_in_order_at_their_due_time() -> None:
    clock = ManualClock()
    t0 = clock.time()
    seen: list[tuple[str, float]] = []
    clock.call_later(120, lambda: seen.append(("b", clock.time() - t0)))
    clock.call_later(60, lambda: seen.append(("a", clock.time() - t0)))
    clock.call_later(60, lambda: seen.append(("a2", clock.time() - t0)))
    assert clock.advance(90) == 2
    assert seen == [("a", 60.0), ("a2", 60.0)]
    assert clock.time() - t0 == 90
    clock.advance(30)
    assert seen[-1] == ("b", 120.0)


def test_clock_rejects_negative_advance_and_bad_spec() -> None:
    with pytest.raises(ClockError):
        ManualClock().advance(-1)
    with pytest.raises(ClockError, match="scaled:N"):
        clock_from_spec("fast")
    assert clock_from_spec("scaled:60").mode == "scaled:60"


def test_seed_bound_is_ten_hours_forty_minutes() -> None:
    b = worst_case(load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"}))
    assert b.seed_window == 10 * 3600  # the seed's "potential window of access of 10 hours" [AWS-BLOG]
    assert b.effective_end == 10 * 3600 + 40 * 60 + 10  # + 10 s Entra removal + 40 min cycle [E-ACT][E-AWS]


def test_countermeasures_shrink_the_bound_to_the_intended_end() -> None:
    s = load_settings(
        {
            "activation_max": "1h",
            "end_portal_sessions": True,
            "deny_tokens_before_expiry": True,
            "remove_idc_membership": True,
        }
    )
    assert worst_case(s).overhang == 0


def test_bound_cli_prints_breakdown_and_json() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["bound", "--activation", "1h", "--portal", "8h", "--permission-set", "1h"])
    assert result.exit_code == 0, result.output
    assert "10h 40m 10s" in result.output and "10h" in result.output
    result = runner.invoke(app, ["bound", "--activation", "1h", "--json"])
    data = json.loads(result.output)
    assert data["bound"]["intended_window"] == 3600


def test_bound_cli_names_the_bad_flag() -> None:
    result = CliRunner().invoke(app, ["bound", "--permission-set", "13h"])
    assert result.exit_code == 2
    assert "--permission-set = 13h" in result.output and "1h – 12h" in result.output
    assert "Traceback" not in result.output
