"""Property-based timing tests, pinned to Entra's documented constants (cycle 40 min, fast path 5 per 10 s in
2-10 min [E-AWS]): in the simulator (fast, many examples) and against the sandbox over HTTP (fewer examples)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from jit_tool import aws_roles, request_access

from sim.strategies import populations, seeds, settings

GROUP = "AWS - Amazon EC2 Admin"
ACCOUNT = "111122223333"
MINUTE = 60
CYCLE = 40 * MINUTE


@given(
    settings(activation_max=3600.0, portal_session=8 * 3600.0, permission_set_session=3600.0),
    populations(max_requests=15),
    seeds(),
)
def test_our_durations_never_exceed_the_closed_form_window(jitbox_simulate, s, population, seed) -> None:
    # settings() keeps cycle 40 min and the fast path 5 per 10 s / 2-10 min; jitbox_simulate fails the test if any
    # activation's access outlives the closed-form worst case
    result = jitbox_simulate(s, population, seed)
    assert result.aggregates()["within_bound"]


@given(
    wait=st.integers(0, 20 * MINUTE),
    duration=st.sampled_from(["PT30M", "PT1H"]),
)
def test_access_arrives_within_the_fast_path_and_leaves_within_one_cycle(jitbox_sandbox, wait, duration) -> None:
    sb = jitbox_sandbox
    sb.reset()  # hypothesis examples share the fixture: start each one from the world
    assert request_access(sb.graph_url, sb.token("rich"), GROUP, duration, "property test") == "Provisioned"
    sb.clock.advance(wait)
    roles = aws_roles(sb.signin("rich"), ACCOUNT)
    if wait >= 10 * MINUTE:
        assert roles == ["EC2AdminAccess"]  # the fast path's worst case is 10 min
    elif wait < 2 * MINUTE:
        assert roles == []  # and its best case 2 min
    minutes = 30 if duration == "PT30M" else 60
    sb.clock.advance(max(0, minutes * MINUTE - wait) + CYCLE + MINUTE)  # expiry + at most one regular cycle
    assert aws_roles(sb.signin("rich"), ACCOUNT) == []
