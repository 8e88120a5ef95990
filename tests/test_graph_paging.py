"""Graph collections come a page at a time with ``@odata.nextLink``, as Microsoft Graph serves them.

A client that reads only the first page of ``/users`` works against a 20-user sandbox and fails against a real
tenant; the fake pages like Graph (``pim_fake/listing.py``: 100 items without ``$top``, at most 999 with it — an
UNCONFIRMED switch, ``graph_page_size``), so such a client fails here too. Checked over HTTP, and with msgraph-sdk's
own ``PageIterator`` following the links.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from msgraph_core.tasks.page_iterator import PageIterator
from pim_support import many_users_world
from test_graph_msgraph_sdk import client_for

from fakekit.serving import serve_in_thread
from pim_fake.app import create_app
from sim.clock import ManualClock

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's own deprecations

USERS = 250


@pytest.fixture(scope="module")
def entra() -> Any:
    return create_app(ManualClock(), world=many_users_world(USERS))


def _admin(app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.state.graph_tokens['admin']}"}


def test_users_come_in_pages_of_100_whose_next_links_lead_through_all_of_them(entra: Any) -> None:
    c = TestClient(entra)
    pages = [c.get("/v1.0/users", headers=_admin(entra)).json()]
    while "@odata.nextLink" in pages[-1]:
        pages.append(c.get(pages[-1]["@odata.nextLink"], headers=_admin(entra)).json())
    assert [len(p["value"]) for p in pages] == [100, 100, USERS + 1 - 200]  # + the administrator
    ids = [u["id"] for p in pages for u in p["value"]]
    assert len(set(ids)) == USERS + 1
    assert ids == [u["id"] for u in c.get("/v1.0/users?$top=999", headers=_admin(entra)).json()["value"]]


def test_top_sets_the_page_size_and_the_next_link_keeps_the_filter(entra: Any) -> None:
    c = TestClient(entra)
    query = {"$top": "30", "$filter": "givenName eq 'User'"}  # the test users, not the administrator
    first = c.get("/v1.0/users", params=query, headers=_admin(entra)).json()
    assert "givenName" in first["@odata.nextLink"] and "30" in first["@odata.nextLink"]
    pages = [first]
    while "@odata.nextLink" in pages[-1]:
        pages.append(c.get(pages[-1]["@odata.nextLink"], headers=_admin(entra)).json())
    assert [len(p["value"]) for p in pages] == [30] * 8 + [USERS - 240]
    assert {u["givenName"] for p in pages for u in p["value"]} == {"User"}


@pytest.mark.parametrize("token", ["not-a-token", "é", "W10", "eyJvIjogLTF9", "eyJvIjogIngifQ", "%00"])
def test_a_skiptoken_jitbox_did_not_issue_is_a_graph_400(entra: Any, token: str) -> None:
    resp = TestClient(entra).get("/v1.0/users", params={"$skiptoken": token}, headers=_admin(entra))
    assert resp.status_code == 400 and "$skiptoken" in resp.json()["error"]["message"]


def test_the_page_size_is_a_switch() -> None:
    app = create_app(ManualClock(), world=many_users_world(30), graph_page_size=7)
    first = TestClient(app).get("/v1.0/users", headers=_admin(app)).json()
    assert len(first["value"]) == 7 and "@odata.nextLink" in first
    with pytest.raises(ValueError, match="graph_page_size"):
        create_app(ManualClock(), graph_page_size=1000)


def test_msgraph_sdk_page_iterator_reads_every_user(entra: Any) -> None:
    served = serve_in_thread("entra-paging", entra, "127.0.0.1", 0)
    try:
        cfg = {"graph_url": served.base_url + "/v1.0", "graph_tokens": dict(entra.state.graph_tokens)}
        graph = client_for(cfg, "admin")

        async def every_user() -> list[str]:
            first = await graph.users.get()
            assert first.odata_next_link is not None
            seen: list[str] = []
            iterator = PageIterator(first, graph.request_adapter)
            await iterator.iterate(lambda user: seen.append(user["id"] if isinstance(user, dict) else user.id) or True)
            return seen

        seen = asyncio.run(every_user())
        assert len(seen) == len(set(seen)) == USERS + 1
        with httpx2.Client() as http:
            assert http.get(served.base_url + "/_sandbox/health").status_code == 200
    finally:
        served.stop()
