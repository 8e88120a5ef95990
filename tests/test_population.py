"""Pins the population model: arrivals, distributions, seeding and validation messages."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from sim.population import (
    BurstArrivals,
    ChoiceDist,
    ExplicitArrivals,
    ExponentialDist,
    FixedDist,
    ListDist,
    PoissonArrivals,
    Population,
    Samples,
    UniformDist,
)

HOUR = 3600.0


def _sample(p: Population, seed: int = 0, activation_max: float = 8 * HOUR) -> Samples:
    return p.sample(np.random.default_rng(seed), activation_max, 10.0, 120.0, 600.0)


def test_burst_puts_every_request_inside_the_window() -> None:
    times = BurstArrivals(count=30, within="1m", start="10m").sample(np.random.default_rng(1))
    assert len(times) == 30
    assert np.all((times >= 600.0) & (times < 660.0))
    assert np.all(np.diff(times) >= 0)


def test_even_burst_is_evenly_spaced() -> None:
    times = BurstArrivals(count=6, within=60.0, spacing="even").sample(np.random.default_rng(1))
    assert times.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]


def test_poisson_arrivals_have_the_requested_mean_rate() -> None:
    times = PoissonArrivals(rate_per_hour=60, count=20000).sample(np.random.default_rng(2))
    assert np.all(np.diff(times) >= 0)
    mean_gap = float(np.mean(np.diff(times)))
    assert 55.0 < mean_gap < 65.0  # one per minute


def test_explicit_arrivals_accept_durations_and_sort() -> None:
    times = ExplicitArrivals(times=["1h", 30, "PT10M"]).sample(np.random.default_rng(0))
    assert times.tolist() == [30.0, 600.0, 3600.0]


def test_arrival_sources_merge_in_time_order() -> None:
    p = Population.model_validate(
        {"arrivals": [{"kind": "explicit", "times": [100, 5]}, {"kind": "burst", "count": 3, "within": 50}]}
    )
    smp = _sample(p)
    assert smp.n == 5 and np.all(np.diff(smp.request) >= 0)


def test_requested_duration_defaults_to_and_is_capped_at_the_policy_maximum() -> None:
    assert np.all(_sample(Population.burst(5), activation_max=HOUR).requested == HOUR)
    p = Population.burst(50, requested_duration={"kind": "uniform", "low": "30m", "high": "3h"})
    req = _sample(p, activation_max=2 * HOUR).requested
    assert req.max() <= 2 * HOUR and req.min() >= 1800.0


def test_latencies_stay_in_their_documented_ranges() -> None:
    smp = _sample(Population.burst(500))
    assert np.all((smp.add_latency >= 0) & (smp.add_latency <= 10.0))  # "within seconds" [E-ACT]
    assert np.all((smp.fast_latency >= 120.0) & (smp.fast_latency <= 600.0))  # 2-10 min [E-AWS]


def test_same_seed_same_samples_other_seed_other_samples() -> None:
    p = Population.model_validate(
        {
            "arrivals": [{"kind": "poisson", "rate_per_hour": 10, "count": 50}],
            "self_deactivate_probability": 0.5,
            "approver_delay": {"kind": "lognormal", "median": "30m", "sigma": 1.5},
        }
    )
    a, b, c = _sample(p, 7), _sample(p, 7), _sample(p, 8)
    assert np.array_equal(a.request, b.request) and np.array_equal(a.deactivate_after, b.deactivate_after)
    assert not np.array_equal(a.request, c.request)


def test_self_deactivation_probability_zero_means_never() -> None:
    assert np.all(np.isinf(_sample(Population.burst(20)).deactivate_after))
    p = Population.burst(20, self_deactivate_probability=1.0)
    assert np.all(np.isfinite(_sample(p).deactivate_after))


def test_distributions_sample_within_their_support() -> None:
    rng = np.random.default_rng(3)
    assert FixedDist(value="2h").sample(rng, 3).tolist() == [7200.0] * 3
    picks = ChoiceDist(values=["1h", "2h"], weights=[1, 0]).sample(rng, 20)
    assert np.all(picks == 3600.0)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"arrivals": []}, "arrivals"),
        ({"arrivals": [{"kind": "burst", "count": -1}]}, "count"),
        ({"arrivals": [{"kind": "rain", "count": 1}]}, "kind"),
        ({"arrivals": [{"kind": "burst", "count": 1, "within": "soon"}]}, "within"),
        (
            {"arrivals": [{"kind": "burst", "count": 1}], "signin_delay": {"kind": "uniform", "low": 9, "high": 1}},
            "low",
        ),
        ({"arrivals": [{"kind": "burst", "count": 1}], "deny_probability": 1.5}, "deny_probability"),
        (
            {
                "arrivals": [{"kind": "burst", "count": 1}],
                "approver_delay": {"kind": "choice", "values": [1], "weights": [1, 2]},
            },
            "weights",
        ),
        ({"arrivals": [{"kind": "burst", "count": 1}], "colour": "blue"}, "colour"),
    ],
)
def test_bad_population_fields_are_named(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        Population.model_validate(data)
    assert fragment in str(info.value)


def _reference_sample(p: Population, seed: int) -> dict[str, np.ndarray]:
    """The draws as numpy's own calls make them (rng.uniform, rng.exponential, every chance drawn), in the order
    Population.sample documents: what the faster sampling must reproduce number for number."""
    rng = np.random.default_rng(seed)
    parts = []
    for a in p.arrivals:
        if isinstance(a, PoissonArrivals):
            parts.append(a.start + np.cumsum(rng.exponential(3600.0 / a.rate_per_hour, a.count)))
        elif isinstance(a, BurstArrivals) and a.spacing == "random":
            parts.append(a.start + np.sort(rng.uniform(0.0, a.within, a.count)))
        else:
            parts.append(a.sample(rng))
    n = sum(len(x) for x in parts)
    app = rng.integers(0, p.apps, n) if p.apps > 1 else np.zeros(n, dtype=np.int64)

    def dist(d: object) -> np.ndarray:
        if isinstance(d, UniformDist):
            return rng.uniform(d.low, d.high, n)
        if isinstance(d, ExponentialDist):
            return d.offset + rng.exponential(d.mean, n)
        return d.sample(rng, n)  # type: ignore[attr-defined, no-any-return]

    requested = (
        np.full(n, 8 * HOUR) if p.requested_duration is None else np.minimum(dist(p.requested_duration), 8 * HOUR)
    )
    approver = dist(p.approver_delay)
    denied = rng.random(n) < p.deny_probability
    latencies = [rng.uniform(0.0, 10.0, n), rng.uniform(0.0, 10.0, n), rng.uniform(120.0, 600.0, n)]
    signin, launch = dist(p.signin_delay), dist(p.launch_delay)
    deactivates = rng.random(n) < p.self_deactivate_probability
    after = np.where(deactivates, dist(p.self_deactivate_after), np.inf)
    return {
        "app": app,
        "requested": requested,
        "approver_delay": approver,
        "denied": denied,
        "add_latency": latencies[0],
        "remove_latency": latencies[1],
        "fast_latency": latencies[2],
        "signin_delay": signin,
        "launch_delay": launch,
        "deactivate_after": after,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"arrivals": [{"kind": "poisson", "rate_per_hour": 6, "count": 500}]},
        {"arrivals": [{"kind": "burst", "count": 40, "within": 60}], "deny_probability": 0.3},
        {
            "arrivals": [{"kind": "poisson", "rate_per_hour": 60, "count": 99}, {"kind": "explicit", "times": [5]}],
            "apps": 3,  # a 32-bit draw for the apps: the chances are then drawn, not skipped
            "signin_delay": {"kind": "choice", "values": [0, 60, 600]},
            "self_deactivate_probability": 0.0,
        },
        {
            "arrivals": [{"kind": "poisson", "rate_per_hour": 600, "count": 301}],
            "requested_duration": {"kind": "exponential", "mean": 3600},
            "self_deactivate_probability": 0.4,
            "self_deactivate_after": {"kind": "fixed", "value": 900},
        },
        {
            "arrivals": [{"kind": "burst", "count": 31, "within": 10}],
            "apps": 2,
            "launch_delay": {"kind": "choice", "values": [0, 7]},
        },
    ],
)
def test_faster_sampling_draws_exactly_what_numpy_s_own_calls_draw(fields: dict[str, object]) -> None:
    p = Population.model_validate(fields)
    for seed in range(5):
        got = _sample(p, seed)
        expected = _reference_sample(p, seed)
        for key, column in expected.items():
            assert np.array_equal(getattr(got, key), column), (key, seed)


def test_a_chance_of_zero_skips_its_draws_and_the_rest_follow_unchanged() -> None:
    tiny = 5e-324  # drawn: rng.random() < tiny is False unless the double is exactly 0
    base = {"arrivals": [{"kind": "poisson", "rate_per_hour": 60, "count": 200}]}
    for zero, drawn in [
        ({"deny_probability": 0.0}, {"deny_probability": tiny}),
        ({"self_deactivate_probability": 0.0}, {"self_deactivate_probability": tiny}),
    ]:
        a = _sample(Population.model_validate({**base, **zero}), 3)
        b = _sample(Population.model_validate({**base, **drawn}), 3)
        for key in ("request", "requested", "denied", "fast_latency", "signin_delay", "deactivate_after"):
            assert np.array_equal(getattr(a, key), getattr(b, key)), key


def test_list_distribution_replays_one_value_per_request_in_request_order() -> None:
    p = Population.explicit(
        [0.0, 600.0, 60.0],
        requested_duration={"kind": "list", "values": ["1h", "2h", "30m"]},
        approver_delay=ListDist(values=[5.0, 6.0, 7.0]),
    )
    smp = _sample(p)
    assert smp.requested.tolist() == [HOUR, 2 * HOUR, 0.5 * HOUR]
    assert smp.approver_delay.tolist() == [5.0, 6.0, 7.0]
    with pytest.raises(ValueError, match="2 values for 3 requests; give one per request"):
        _sample(Population.explicit([0.0, 1.0, 2.0], signin_delay=ListDist(values=[1.0, 2.0])))
