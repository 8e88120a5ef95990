"""Public hypothesis strategies for jitbox settings and populations, for property-based timing tests in CI.

Every drawn :class:`sim.settings.Settings` lies inside the documented ranges (see that module's table and source
tags); every :class:`sim.population.Population` is small enough to simulate in milliseconds. Entra's fixed
constants (:data:`ENTRA_CONSTANTS`: the ~40-minute cycle, the fast path's 5 activations per 10 s and its 2-10 min
latency [E-AWS][E-PIMG]; not configurable in Entra [E-KNOWN]) are pinned to the documented values unless you ask
``settings(entra_constants=False)``. Pin any other field by passing it as a keyword::

    from hypothesis import given
    from sim.run import simulate
    from sim.strategies import populations, seeds, settings

    @given(settings(activation_max=3600.0, portal_session=8 * 3600.0), populations(max_requests=20), seeds())
    def test_my_policy_keeps_overhang_under_a_day(s, p, seed):
        assert (simulate(s, p, seed).aggregates()["overhang"]["max"] or 0) < 86400
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from sim.durations import parse_duration
from sim.population import Population
from sim.settings import HOUR, EntitlementMode, Settings, WindowMode

__all__ = ["ENTRA_CONSTANTS", "distributions", "populations", "seeds", "settings"]

MINUTE = 60.0
DAY = 86400.0

ENTRA_CONSTANTS = (
    "cycle_interval",
    "fast_path_limit",
    "fast_path_window",
    "fast_path_latency_min",
    "fast_path_latency_max",
)
"""Fields a tenant cannot configure in Entra, pinned by :func:`settings` to :class:`Settings`' documented defaults:
cycle 40 min [E-AWS][E-KNOWN], fast path 5 per 10 s [E-AWS][E-PIMG], fast-path latency 2-10 min [E-AWS]."""


def _minutes(low: float, high: float) -> st.SearchStrategy[float]:
    """Whole minutes in ``[low, high]`` seconds (keeps examples readable and shrinkable)."""
    return st.integers(int(low // MINUTE), int(high // MINUTE)).map(lambda m: m * MINUTE)


@st.composite
def settings(draw: st.DrawFn, /, entra_constants: bool = True, **fixed: Any) -> Settings:
    """Return a strategy of valid :class:`Settings`; keyword arguments pin fields (durations in seconds or text).

    Ranges drawn: activation 30 min – 24 h [AWS-BLOG], portal 15 min – 90 days [UG-uis], permission set 1 – 12 h
    [UG23-howto], any cycle phase, processing 0 – 10 min, membership latency 0 – 60 s [E-ACT], every entitlement
    mode, window mode and countermeasure. :data:`ENTRA_CONSTANTS` keep their documented values (cycle 40 min, fast
    path 5 per 10 s, 2–10 min) unless ``entra_constants=False``, which also draws them: cycle 10 min – 2 h around the
    40 min [E-AWS], fast-path limit 0 – 8 per 5/10/30 s, latency within 0 – 15 min around 2–10 min [E-AWS].
    """
    defaults = Settings()
    if "cycle_interval" in fixed:  # the phase is drawn within the cycle the caller pinned
        cycle = parse_duration(fixed["cycle_interval"])
    else:
        cycle = defaults.cycle_interval if entra_constants else draw(_minutes(10 * MINUTE, 2 * HOUR))
    lat_min = defaults.fast_path_latency_min if entra_constants else draw(st.floats(0.0, 10 * MINUTE, allow_nan=False))
    values: dict[str, Any] = {
        "activation_max": draw(_minutes(30 * MINUTE, 24 * HOUR)),
        "approval_required": draw(st.booleans()),
        "enforce_min_active": draw(st.booleans()),
        "membership_latency_max": draw(st.one_of(st.just(0.0), st.floats(0.0, 60.0, allow_nan=False))),
        "fast_path_limit": defaults.fast_path_limit if entra_constants else draw(st.integers(0, 8)),
        "fast_path_window": defaults.fast_path_window if entra_constants else draw(st.sampled_from([5.0, 10.0, 30.0])),
        "fast_path_window_mode": draw(st.sampled_from(list(WindowMode))),
        "fast_path_latency_min": lat_min,
        "fast_path_latency_max": defaults.fast_path_latency_max
        if entra_constants
        else draw(st.floats(lat_min, 15 * MINUTE, allow_nan=False)),
        "cycle_interval": cycle,
        "cycle_phase": draw(
            st.one_of(
                st.just(0.0), _minutes(0.0, cycle - MINUTE), st.floats(0.0, cycle, allow_nan=False, exclude_max=True)
            )
        ),
        "cycle_processing": draw(st.floats(0.0, 10 * MINUTE, allow_nan=False)),
        "portal_session": draw(st.one_of(_minutes(15 * MINUTE, 24 * HOUR), st.just(90 * DAY))),
        "permission_set_session": draw(_minutes(HOUR, 12 * HOUR)),
        "entitlement_mode": draw(st.sampled_from(list(EntitlementMode))),
        "end_portal_sessions": draw(st.booleans()),
        "deny_tokens_before_expiry": draw(st.booleans()),
        "remove_idc_membership": draw(st.booleans()),
    }
    values.update(fixed)
    return Settings.model_validate(values)


def distributions(low: float = 0.0, high: float = 2 * HOUR) -> st.SearchStrategy[dict[str, Any]]:
    """Return a strategy of duration-distribution tables (as in a scenario file) with values in ``[low, high]``."""
    value = st.floats(low, high, allow_nan=False)
    return st.one_of(
        value.map(lambda v: {"kind": "fixed", "value": v}),
        st.tuples(value, value).map(lambda p: {"kind": "uniform", "low": min(p), "high": max(p)}),
        st.floats(max(low, 1.0), max(high, 1.0), allow_nan=False).map(lambda m: {"kind": "exponential", "mean": m}),
        st.lists(value, min_size=1, max_size=4).map(lambda vs: {"kind": "choice", "values": vs}),
    )


@st.composite
def populations(draw: st.DrawFn, /, max_requests: int = 30, **fixed: Any) -> Population:
    """Return a strategy of small :class:`Population` values (at most ``max_requests`` requests per source).

    Mixes bursts (many requests within a minute, to exercise the fast-path throttle [E-AWS]), Poisson arrivals and
    explicit times (including simultaneous requests and whole minutes, which land on cycle boundaries); approver delays reach past the 24 h expiry [E-APPRV];
    some users self-deactivate, some are worst-case users. Keyword arguments pin fields.
    """
    arrivals = draw(
        st.lists(
            st.one_of(
                st.builds(
                    lambda c, w, s: {"kind": "burst", "count": c, "within": w, "start": s},
                    st.integers(0, max_requests),
                    st.floats(0.0, 120.0, allow_nan=False),
                    st.floats(0.0, 3 * HOUR, allow_nan=False),
                ),
                st.builds(
                    lambda c, r: {"kind": "poisson", "count": c, "rate_per_hour": r},
                    st.integers(0, max_requests),
                    st.floats(0.5, 3600.0, allow_nan=False),
                ),
                st.lists(
                    st.one_of(st.floats(0.0, 6 * HOUR, allow_nan=False), _minutes(0.0, 6 * HOUR)),
                    max_size=max_requests,
                ).map(lambda ts: {"kind": "explicit", "times": ts}),
            ),
            min_size=1,
            max_size=3,
        )
    )
    values: dict[str, Any] = {
        "arrivals": arrivals,
        "requested_duration": draw(st.one_of(st.none(), distributions(0.0, 24 * HOUR))),
        "approver_delay": draw(distributions(0.0, 30 * HOUR)),
        "deny_probability": draw(st.sampled_from([0.0, 0.2])),
        "signin_delay": draw(distributions(0.0, 12 * HOUR)),
        "launch_delay": draw(distributions(0.0, 2 * HOUR)),
        "relaunch": draw(st.booleans()),
        "max_launches": draw(st.integers(1, 30)),
        "self_deactivate_probability": draw(st.sampled_from([0.0, 0.5])),
        "self_deactivate_after": draw(distributions(0.0, 4 * HOUR)),
        "behaviour": draw(st.sampled_from(["typical", "worst_case"])),
        "apps": draw(st.integers(1, 3)),
    }
    values.update(fixed)
    return Population.model_validate(values)


def seeds() -> st.SearchStrategy[int]:
    """Return a strategy of run seeds."""
    return st.integers(0, 2**32 - 1)
