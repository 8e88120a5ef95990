"""Issue 12: ``sim.strategies.settings()`` pins Entra's fixed constants unless asked to fuzz them."""

from __future__ import annotations

from hypothesis import given

from sim.settings import Settings
from sim.strategies import ENTRA_CONSTANTS, settings


@given(settings())
def test_settings_pin_the_documented_entra_constants_by_default(s: Settings) -> None:
    assert s.cycle_interval == 40 * 60  # [E-AWS]
    assert (s.fast_path_limit, s.fast_path_window) == (5, 10.0)  # [E-AWS][E-PIMG]
    assert (s.fast_path_latency_min, s.fast_path_latency_max) == (120.0, 600.0)  # 2-10 min [E-AWS]
    assert 0 <= s.cycle_phase < s.cycle_interval


@given(settings(entra_constants=False))
def test_settings_can_still_fuzz_the_constants_for_what_if_studies(s: Settings) -> None:
    assert 10 * 60 <= s.cycle_interval <= 2 * 3600
    assert 0 <= s.fast_path_limit <= 8


@given(settings(cycle_interval="20m"))
def test_a_pinned_keyword_overrides_a_constant(s: Settings) -> None:
    assert set(ENTRA_CONSTANTS) <= set(Settings.model_fields)
    assert s.cycle_interval == 1200.0 and 0 <= s.cycle_phase < 1200.0
