"""The filter fast path (one ``attr eq "value"``, no grammar) gives exactly what the scim2-models grammar gives."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from scim_server import filters
from scim_server.errors import ScimError

ATTRS = ["userName", "USERNAME", "externalId", "id", "groups.value", "displayName", "members.value", "manager",
         "member", "title", "name.givenName", "emails"]  # fmt: skip
TABLES = [
    (filters._USER_ATTRS, filters._USER_COMBOS, "DG-listusers"),
    (filters._GROUP_ATTRS, filters._GROUP_COMBOS, "DG-listgroups"),
]


def _outcome(fn: object, text: str, table: tuple[dict[str, str], list[set[str]], str]) -> object:
    try:
        return fn(text, *table)  # type: ignore[operator]
    except ScimError as exc:
        return ("error", exc.status)


@given(st.sampled_from(ATTRS), st.text(max_size=30), st.sampled_from(TABLES))
@example("userName", "rich.roe@jitbox.example", TABLES[0])
@example("displayName", "AWS - Amazon EC2 Admin (prod)", TABLES[1])
@example("userName", "a\\b", TABLES[0])
def test_the_fast_path_agrees_with_the_grammar(
    attr: str, value: str, table: tuple[dict[str, str], list[set[str]], str]
) -> None:
    text = f'{attr} eq "{value}"'
    assert _outcome(filters._query, text, table) == _outcome(filters._parsed_query, text, table)


@pytest.mark.parametrize("text", ['userName eq "a@b.c"', 'displayName eq "Team 1"', 'externalId eq "x-1"'])
def test_the_fast_path_skips_the_grammar(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object) -> None:
        raise AssertionError("the grammar was used")

    monkeypatch.setattr(filters, "_parsed_query", boom)
    table = TABLES[1] if text.startswith("displayName") else TABLES[0]
    assert filters._query(text, *table).terms == {text.split()[0]: text.split('"')[1]}


@pytest.mark.parametrize(
    "template", ['userName eq "{}"', 'externalId eq "{}"', 'userName eq "{}" ', 'id eq "{}" and manager eq "m"']
)
def test_the_filter_length_limit_holds_whatever_the_shape(template: str) -> None:
    """A new user found it: the plain ``attr eq "value"`` shape skipped the 2,048-character limit the grammar kept."""
    from fastapi.testclient import TestClient

    from scim_server.app import ScimOptions, create_app
    from sim.clock import ManualClock

    app = create_app(ManualClock(), plugins=[], options=ScimOptions(rate_limit_rps=0), seed=1, token_secret="t")
    client = TestClient(app)
    text = template.format("a" * 3000)
    r = client.get(app.state.idc.scim_path() + "Users", params={"filter": text}, headers={"Authorization": "Bearer t"})
    assert r.status_code == 400
    assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    reason = app.state.idc.requests.entries(1)[0]["reason"]
    assert f"at most {filters.MAX_FILTER_LENGTH}" in reason
    ok = template.format("a" * 100)
    r = client.get(app.state.idc.scim_path() + "Users", params={"filter": ok}, headers={"Authorization": "Bearer t"})
    assert r.status_code == 200 or template.startswith("id")
