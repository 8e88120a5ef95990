"""Pins ``sim.results.percentiles``: numpy's ``linear`` percentiles to the bit, from one partial sort."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.results import percentiles


def _numpy(values: np.ndarray, q: list[float], with_max: bool) -> list[float | None]:
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return [None] * (len(q) + with_max)
    out: list[float | None] = [round(float(x), 3) for x in np.percentile(v, q)]
    return out + ([round(float(v.max()), 3)] if with_max else [])


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True, width=64),
            st.sampled_from([0.0, 1.0, 3600.0, 36000.5, np.nan]),
        ),
        max_size=300,
    ),
    st.lists(st.one_of(st.sampled_from([0, 1, 50, 90, 99, 99.9, 100]), st.floats(0, 100)), max_size=4),
    st.booleans(),
)
def test_percentiles_equal_numpy_s_linear_method(values: list[float], q: list[float], with_max: bool) -> None:
    a = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = _numpy(a, q, with_max)
        got = percentiles(a.copy(), q, with_max)
    assert np.array_equal(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), equal_nan=True)


def test_percentiles_of_a_sweep_sized_column_and_of_nothing() -> None:
    rng = np.random.default_rng(5)
    a = rng.exponential(3600.0, 10_001)
    a[::7] = np.nan
    assert percentiles(a, [50, 99], with_max=True) == _numpy(a, [50, 99], True)
    assert percentiles(np.full(3, np.nan), [50, 99], with_max=True) == [None, None, None]
    assert percentiles(np.array([2.0]), [50, 99]) == [2.0, 2.0]


def test_a_run_result_prints_as_one_summary_line() -> None:
    """A new user's ``print(jitbox_run("seed-blog"))`` flooded the terminal with every numpy column."""
    from sim.durations import format_duration
    from sim.scenario import load_scenario, run_scenario

    sc = load_scenario("seed-blog")
    result = run_scenario(sc, 1)[0]
    text = repr(result)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("RunResult(") and f"{result.n} activations" in text and "seed 1" in text
    assert f"worst window {format_duration(result.worst_window())}" in text
