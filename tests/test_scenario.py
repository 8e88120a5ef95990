"""Pins scenario files: the shipped scenarios, lookup by name or path, variants, and errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, find_scenario, list_scenarios, load_scenario, parse_scenario, run_scenario
from sim.settings import EntitlementMode

HOUR = 3600.0
SHIPPED = ["seed-blog", "incident-burst", "approval", "revocation-modes", "self-deactivation"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_run_and_stay_within_the_bound(name: str) -> None:
    sc = load_scenario(name)
    assert sc.name == name and sc.description
    for result in run_scenario(sc):
        assert result.n > 0
        assert result.aggregates()["within_bound"], result.name


def test_every_scenario_file_is_listed() -> None:
    names = {p.stem for p in list_scenarios()}
    assert set(SHIPPED) <= names


def test_seed_blog_reports_the_ten_hour_window_and_about_ten_hours_forty() -> None:
    [r] = run_scenario(load_scenario("seed-blog"))
    b = r.bound()
    assert b.seed_window == 10 * HOUR  # [AWS-BLOG]
    assert 10 * HOUR + 40 * 60 <= b.effective_end <= 10 * HOUR + 41 * 60
    assert 10 * HOUR + 30 * 60 < r.worst_window() <= b.effective_end


def test_incident_burst_throttles_some_of_thirty() -> None:
    sliding, fixed = run_scenario(load_scenario("incident-burst"))
    c = sliding.aggregates()["counts"]
    assert c["requests"] == 30 and c["fast_path"] + c["throttled"] == 30
    assert 5 <= c["fast_path"] < 30 and c["throttled"] > 0
    assert fixed.settings.fast_path_window_mode.value == "fixed"


def test_approval_scenario_has_expired_requests() -> None:
    [r] = run_scenario(load_scenario("approval"))
    c = r.aggregates()["counts"]
    assert c["approval_expired"] > 0 and c["approved"] > 0 and c["denied"] > 0


def test_revocation_modes_covers_three_modes_and_each_countermeasure() -> None:
    sc = load_scenario("revocation-modes")
    runs = dict(sc.runs())
    assert {s.entitlement_mode for s in runs.values()} == set(EntitlementMode)
    assert any(s.end_portal_sessions for s in runs.values())
    assert any(s.deny_tokens_before_expiry for s in runs.values())
    assert any(s.remove_idc_membership for s in runs.values())
    results = {r.name.rsplit("/", 1)[-1]: r for r in run_scenario(sc)}
    snapshot = results["revocation-modes"].worst_window()
    assert results["launch_check"].worst_window() < results["cached_1h"].worst_window() < snapshot
    assert results["all-countermeasures"].worst_window() == pytest.approx(HOUR)


def test_variants_inherit_base_settings() -> None:
    sc = load_scenario("revocation-modes")
    for _label, s in sc.runs():
        assert s.activation_max == HOUR and s.portal_session == 8 * HOUR


def test_scenario_by_path_and_seed_override(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\nseed = 4\n[settings]\nactivation_max = "2h"\n'
        '[population]\narrivals = [{ kind = "burst", count = 3 }]\n',
        encoding="utf-8",
    )
    sc = load_scenario(f)
    assert sc.settings.activation_max == 2 * HOUR and find_scenario(str(f)) == f
    a, b = run_scenario(sc)[0], run_scenario(sc, seed=5)[0]
    assert a.seed == 4 and b.seed == 5 and a.to_json() != b.to_json()


def test_unknown_scenario_lists_the_known_names() -> None:
    with pytest.raises(ScenarioError, match=r"no such scenario; known scenarios: .*seed-blog"):
        load_scenario("seed-blgo")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            'name = "x"\n[settings]\npermission_set_session = "13h"\n[population]\narrivals = [{kind="burst", count=1}]\n',
            ["bad.toml: settings", "permission_set_session = 13h", "1h – 12h"],
        ),
        (
            'name = "x"\n[settings]\nactivation_max = "20m"\n[population]\narrivals = [{kind="burst", count=1}]\n',
            ["bad.toml: settings", "activation_max = 20m", "30m – 1d"],
        ),
        (
            'name = "x"\n[population]\narrivals = [{kind="burst", count="many"}]\n',
            ["bad.toml: population.arrivals.0.burst.count"],
        ),
        ('name = "x"\n[population]\narrivals = []\n', ["bad.toml: population.arrivals"]),
        ('name = "x"\ncolour = 1\n[population]\narrivals = [{kind="burst", count=1}]\n', ["bad.toml: colour"]),
        (
            'name = "x"\n[population]\narrivals = [{kind="burst", count=1}]\n'
            '[[variants]]\nname = "v"\nsettings = { portal_session = "100d" }\n',
            ["bad.toml: variants.0.settings", "portal_session = 100d", "15m – 90d"],
        ),
        ('name = "x"\n[population\n', ["bad.toml: invalid TOML"]),
        (
            'name = "x"\n[population]\narrivals = [{kind="burst", count=1}]\n'
            '[[variants]]\nname = "v"\n[[variants]]\nname = "v"\n',
            ["bad.toml: variants.1.name", "unique"],
        ),
        ('name = "x"\n', ["bad.toml: population"]),
    ],
)
def test_bad_scenarios_name_the_file_and_the_field(tmp_path: Path, text: str, fragments: list[str]) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_parse_scenario_accepts_a_mapping() -> None:
    sc = parse_scenario({"name": "m", "population": {"arrivals": [{"kind": "explicit", "times": [0]}]}})
    assert sc.runs()[0][0] == "base" and run_scenario(sc)[0].n == 1


def test_binary_file_is_refused_with_a_message(tmp_path: Path) -> None:
    f = tmp_path / "blob.toml"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match=r"blob\.toml: not a UTF-8 text file"):
        load_scenario(f)
