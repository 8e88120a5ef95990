"""Incremental cycles look only at what changed (Entra's watermark and delta query [E-HOW]) and send exactly the SCIM
calls that looking at every object would send: a differential test against ``incremental_cycles=False``."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from pim_support import PIM, Sandbox, make_sandbox, many_users_world

from pim_fake.provisioning import EngineOptions

N = 6
ALL = "AWS - All users"

op = st.one_of(
    st.tuples(st.just("activate"), st.integers(0, N - 1), st.sampled_from(["PT30M", "PT1H", "PT3H"])),
    st.tuples(st.just("add"), st.integers(0, N - 1), st.just("")),
    st.tuples(st.just("remove"), st.integers(0, N - 1), st.just("")),
    st.tuples(st.just("advance"), st.integers(1, 6000), st.just("")),
    st.tuples(
        st.just("fault"), st.integers(1, 3), st.sampled_from(["PATCH Groups", "POST Users", "GET Users", "PATCH Users"])
    ),
)


def _apply(sb: Sandbox, step: tuple[str, int, str]) -> None:
    kind, n, arg = step
    admin = sb.h("admin")
    if kind == "activate":
        body = {
            "accessId": "member",
            "action": "selfActivate",
            "principalId": sb.user_id(f"u{n}"),
            "groupId": sb.group_id("AWS - Amazon EC2 Admin"),
            "justification": "incident 42",
            "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": arg}},
        }
        sb.graph.post(f"{PIM}/assignmentScheduleRequests", headers=sb.h(f"u{n}"), json=body)
    elif kind == "add":
        body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{sb.user_id(f'u{n}')}"}
        sb.graph.post(f"/v1.0/groups/{sb.group_id(ALL)}/members/$ref", json=body, headers=admin)
    elif kind == "remove":
        sb.graph.delete(f"/v1.0/groups/{sb.group_id(ALL)}/members/{sb.user_id(f'u{n}')}/$ref", headers=admin)
    elif kind == "advance":
        sb.clock.advance(n)
    else:
        status = 429 if arg == "POST Users" else 500
        assert sb.idc is not None
        rules = {"rules": [{"route": arg, "status": status, "count": n}], "append": True}
        from fastapi.testclient import TestClient

        TestClient(sb.idc).post("/_sandbox/faults", json=rules).raise_for_status()


def _calls(sb: Sandbox) -> list[tuple[float, str, str, Any]]:
    return [(t, m, u, b) for t, m, u, b in sb.calls]


def _world() -> dict[str, Any]:
    """Users u0..u5, all eligible for the EC2 group; u5 starts outside "All users" (never provisioned)."""
    world = many_users_world(N)
    world["groups"][1]["members"] = [f"u{i}" for i in range(N - 1)]
    return world


@given(st.lists(op, min_size=1, max_size=25))
@example([("fault", 1, "POST Users"), ("add", N - 1, ""), ("advance", 2400, ""), ("advance", 2400, "")])
@example([("activate", 0, "PT30M"), ("advance", 700, ""), ("remove", 0, "")])
def test_incremental_cycles_send_the_same_calls_as_full_cycles(steps: list[tuple[str, int, str]]) -> None:
    world = _world()
    delta = make_sandbox(world=world, options=EngineOptions(incremental_cycles=True))
    full = make_sandbox(world=world, options=EngineOptions(incremental_cycles=False))
    for step in [*steps, ("advance", 3 * 3600, "")]:
        for sb in (delta, full):
            _apply(sb, step)
    assert _calls(delta) == _calls(full)
    assert delta.memberships() == full.memberships()
    assert delta.job.logs == full.job.logs


def test_an_incremental_cycle_without_changes_sends_nothing_and_looks_at_nothing() -> None:
    sb = make_sandbox(world=many_users_world(40))
    sb.clock.advance(60)
    before = len(sb.calls)
    job = sb.job
    seen: list[str] = []
    original = job.exporter.process_user

    def spy(uid: str, *args: Any, **kwargs: Any) -> int:
        seen.append(uid)
        return original(uid, *args, **kwargs)

    job.exporter.process_user = spy  # type: ignore[method-assign]
    sb.clock.advance(3 * 2400)
    assert job.cycles_run >= 3
    assert len(sb.calls) == before
    assert seen == []
    # one membership change: the next cycle looks at that user and group only
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{sb.user_id('u3')}"}
    r = sb.graph.delete(f"/v1.0/groups/{sb.group_id(ALL)}/members/{sb.user_id('u3')}/$ref", headers=sb.h("admin"))
    assert r.status_code == 204, (r.text, body)
    sb.clock.advance(2400)
    assert seen == [sb.user_id("u3")]
    assert [m for _, m, _, _ in sb.calls[before:]] == ["PATCH", "PATCH"]  # member removal, then the disable
