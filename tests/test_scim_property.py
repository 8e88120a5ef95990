"""Random sequences of valid SCIM operations over the HTTP API keep the fake consistent with a simple model."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from scim_server.testing import (
    PATCH_SCHEMA,
    entra_add_member,
    entra_disable,
    entra_group,
    entra_remove_member,
    entra_user,
    scim_client,
)

NAMES = ["amy", "AMY", "ben", "cleo", "dara"]
GROUPS = ["devs", "DEVS", "ops", "sec"]


class ScimVsModel(RuleBasedStateMachine):
    """Users, groups and memberships driven through SCIM; checked through SCIM reads only."""

    def __init__(self) -> None:
        super().__init__()
        self.c = scim_client()
        self.users: dict[str, str] = {}  # id -> userName
        self.active: dict[str, bool] = {}
        self.groups: dict[str, str] = {}  # id -> displayName
        self.members: dict[str, set[str]] = {}
        self.created = 0

    @rule(name=st.sampled_from(NAMES))
    def create_user(self, name: str) -> None:
        r = self.c.post("Users", entra_user(f"{name}@example.com", external_id=f"ext-{name}"))
        clash = any(n.casefold() == name.casefold() for n in self.users.values())
        if clash:
            assert r.status_code == 409
            return
        assert r.status_code == 201, r.text
        self.users[r.json()["id"]] = name
        self.active[r.json()["id"]] = True

    @rule(name=st.sampled_from(GROUPS))
    def create_group(self, name: str) -> None:
        self.created += 1  # externalIds are unique too, and a renamed group keeps its own
        r = self.c.post("Groups", entra_group(name, external_id=f"g-{name}-{self.created}"))
        if any(n.casefold() == name.casefold() for n in self.groups.values()):
            assert r.status_code == 409
            return
        assert r.status_code == 201, r.text
        self.groups[r.json()["id"]] = name
        self.members[r.json()["id"]] = set()

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def delete_user(self, data: st.DataObject) -> None:
        uid = data.draw(st.sampled_from(sorted(self.users)))
        assert self.c.delete(f"Users/{uid}").status_code == 204
        del self.users[uid], self.active[uid]
        for m in self.members.values():
            m.discard(uid)

    @precondition(lambda self: self.groups)
    @rule(data=st.data())
    def delete_group(self, data: st.DataObject) -> None:
        gid = data.draw(st.sampled_from(sorted(self.groups)))
        assert self.c.delete(f"Groups/{gid}").status_code == 204
        del self.groups[gid], self.members[gid]

    @precondition(lambda self: self.users and self.groups)
    @rule(data=st.data())
    def add_members(self, data: st.DataObject) -> None:
        gid = data.draw(st.sampled_from(sorted(self.groups)))
        uids = data.draw(st.lists(st.sampled_from(sorted(self.users)), min_size=1, max_size=3))
        assert self.c.patch(f"Groups/{gid}", entra_add_member(*uids)).status_code == 204
        self.members[gid] |= set(uids)

    @precondition(lambda self: self.users and self.groups)
    @rule(data=st.data(), filter_path=st.booleans())
    def remove_members(self, data: st.DataObject, filter_path: bool) -> None:
        gid = data.draw(st.sampled_from(sorted(self.groups)))
        uids = data.draw(st.lists(st.sampled_from(sorted(self.users)), min_size=1, max_size=3))
        body = entra_remove_member(*uids, filter_path=filter_path)
        assert self.c.patch(f"Groups/{gid}", body).status_code == 204
        self.members[gid] -= set(uids)

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def disable_user(self, data: st.DataObject) -> None:
        uid = data.draw(st.sampled_from(sorted(self.users)))
        assert self.c.patch(f"Users/{uid}", entra_disable()).json()["active"] is False
        self.active[uid] = False

    @precondition(lambda self: self.groups)
    @rule(data=st.data(), name=st.sampled_from(GROUPS))
    def rename_group(self, data: st.DataObject, name: str) -> None:
        gid = data.draw(st.sampled_from(sorted(self.groups)))
        op = {"schemas": PATCH_SCHEMA, "Operations": [{"op": "Replace", "path": "displayName", "value": name}]}
        r = self.c.patch(f"Groups/{gid}", op)
        if any(n.casefold() == name.casefold() for g, n in self.groups.items() if g != gid):
            assert r.status_code == 409
            return
        assert r.status_code == 204
        self.groups[gid] = name

    @invariant()
    def reads_match_model(self) -> None:
        listed = self.c.get("Users").json()
        assert listed["totalResults"] == len(self.users)
        assert {u["id"]: u["active"] for u in listed["Resources"]} == self.active
        for uid, name in self.users.items():
            found = self.c.get("Users", params={"filter": f'userName eq "{name.upper()}@EXAMPLE.COM"'}).json()
            assert [u["id"] for u in found["Resources"]] == [uid]
            groups = self.c.get("Groups", params={"filter": f'members.value eq "{uid}"'}).json()["Resources"]
            assert {g["id"] for g in groups} == {g for g, m in self.members.items() if uid in m}
        for gid, name in self.groups.items():
            users = self.c.get("Users", params={"filter": f'groups.value eq "{gid}"'}).json()["Resources"]
            assert {u["id"] for u in users} == self.members[gid]
            got = self.c.get(f"Groups/{gid}").json()
            assert got["displayName"] == name and got["members"] == []


TestScimVsModel = ScimVsModel.TestCase
TestScimVsModel.settings = settings(max_examples=10, stateful_step_count=12, deadline=None)
