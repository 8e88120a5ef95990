"""The pure identity store: random operation sequences vs a simple model, listeners, journal round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fakekit.persist import SqliteJournal
from scim_server.events import StoreEvent
from scim_server.records import Conflict, NotFound
from scim_server.store import Store
from sim.clock import ManualClock

NAMES = ["ann", "ANN", "bob", "cy", "dee", "eve"]
GROUPS = ["admins", "Admins", "ops", "readers"]


def user_attrs(name: str, email: str | None = None, ext: str | None = None) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "userName": name,
        "displayName": name.title(),
        "name": {"givenName": name, "familyName": "X"},
        "emails": [{"value": email or f"{name.lower()}@example.com", "primary": True}],
    }
    if ext is not None:
        attrs["externalId"] = ext
    return attrs


class StoreVsModel(RuleBasedStateMachine):
    """Users (unique userName case-insensitively), groups (unique displayName), memberships; a dict model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.journal = SqliteJournal(":memory:")
        self.store = Store(self.clock, seed=1, journal=self.journal)
        self.users: dict[str, str] = {}  # id -> userName
        self.groups: dict[str, str] = {}  # id -> displayName
        self.members: dict[str, set[str]] = {}
        self.events: list[StoreEvent] = []
        self.store.add_listener(self.events.append)

    @rule(name=st.sampled_from(NAMES))
    def create_user(self, name: str) -> None:
        clash = any(n.casefold() == name.casefold() for n in self.users.values())
        try:
            uid = self.store.create_user(user_attrs(name))["id"]
        except Conflict:
            assert clash
            return
        assert not clash
        self.users[uid] = name

    @rule(name=st.sampled_from(GROUPS))
    def create_group(self, name: str) -> None:
        clash = any(n.casefold() == name.casefold() for n in self.groups.values())
        try:
            gid = self.store.create_group({"displayName": name})["id"]
        except Conflict:
            assert clash
            return
        assert not clash
        self.groups[gid] = name
        self.members[gid] = set()

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def delete_user(self, data: st.DataObject) -> None:
        uid = data.draw(st.sampled_from(sorted(self.users)))
        self.store.delete_user(uid)
        del self.users[uid]
        for m in self.members.values():
            m.discard(uid)

    @precondition(lambda self: self.groups)
    @rule(data=st.data())
    def delete_group(self, data: st.DataObject) -> None:
        gid = data.draw(st.sampled_from(sorted(self.groups)))
        self.store.delete_group(gid)
        del self.groups[gid]
        del self.members[gid]

    @precondition(lambda self: self.groups and self.users)
    @rule(data=st.data())
    def add_members(self, data: st.DataObject) -> None:
        gid = data.draw(st.sampled_from(sorted(self.groups)))
        uids = data.draw(st.lists(st.sampled_from(sorted(self.users)), max_size=4))
        added = self.store.add_members(gid, uids)
        assert set(added) == set(uids) - self.members[gid]
        self.members[gid] |= set(uids)

    @precondition(lambda self: self.groups and self.users)
    @rule(data=st.data())
    def remove_members(self, data: st.DataObject) -> None:
        gid = data.draw(st.sampled_from(sorted(self.groups)))
        uids = data.draw(st.lists(st.sampled_from(sorted(self.users)), max_size=4))
        removed = self.store.remove_members(gid, uids)
        assert set(removed) == set(uids) & self.members[gid]
        self.members[gid] -= set(uids)

    @precondition(lambda self: self.users)
    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def rename_user(self, data: st.DataObject, name: str) -> None:
        uid = data.draw(st.sampled_from(sorted(self.users)))
        clash = any(n.casefold() == name.casefold() for i, n in self.users.items() if i != uid)
        try:
            self.store.replace_user(uid, user_attrs(name, email=f"{uid}@example.com"))
        except Conflict:
            assert clash
            return
        assert not clash
        self.users[uid] = name

    @rule(seconds=st.integers(0, 3600))
    def tick(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def unknown_ids_raise(self) -> None:
        with pytest.raises(NotFound):
            self.store.get_user("missing")
        with pytest.raises(NotFound):
            self.store.add_members("missing", [])

    @invariant()
    def indexes_match_model(self) -> None:
        store = self.store
        assert store.user_count() == len(self.users) and store.group_count() == len(self.groups)
        for uid, name in self.users.items():
            assert store.user_id_by_name(name.swapcase()) == uid
            expected = sorted(g for g, m in self.members.items() if uid in m)
            assert sorted(store.group_ids_of(uid)) == expected
        for gid, name in self.groups.items():
            assert store.group_id_by_name(name) == gid
            assert set(store.member_ids(gid)) == self.members[gid]
            for uid in self.users:
                assert store.is_member(gid, uid) == (uid in self.members[gid])
        assert store.membership_count() == sum(len(m) for m in self.members.values())

    @invariant()
    def journal_reload_is_identical(self) -> None:
        reloaded = Store(self.clock, seed=1, journal=self.journal)
        assert reloaded.dump() == self.store.dump()

    @invariant()
    def events_replay_memberships(self) -> None:
        live: set[tuple[str, str]] = set()
        for e in self.events:
            if e.kind == "member_added":
                assert e.group_id and e.user_id
                live.add((e.group_id, e.user_id))
            elif e.kind == "member_removed":
                assert e.group_id and e.user_id
                live.remove((e.group_id, e.user_id))
        assert live == {(g, u) for g, m in self.members.items() for u in m}


TestStoreVsModel = StoreVsModel.TestCase
TestStoreVsModel.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)


def test_ids_are_aws_form_and_seeded() -> None:
    a = Store(ManualClock(), seed=5)
    b = Store(ManualClock(), seed=5)
    ids_a = [a.create_user(user_attrs(n))["id"] for n in ("ann", "bob")]
    ids_b = [b.create_user(user_attrs(n))["id"] for n in ("ann", "bob")]
    assert ids_a == ids_b
    assert all(len(i) == 47 and i[10] == "-" for i in ids_a)


def test_uniqueness_of_email_and_external_id() -> None:
    s = Store(ManualClock())
    s.create_user(user_attrs("ann", email="A@Example.com", ext="E1"))
    with pytest.raises(Conflict) as exc:
        s.create_user(user_attrs("bob", email="a@example.COM"))
    assert exc.value.attribute == "emails"
    with pytest.raises(Conflict) as exc:
        s.create_user(user_attrs("bob", ext="E1"))
    assert exc.value.attribute == "externalId"
    assert s.create_user(user_attrs("bob", ext="e1"))["externalId"] == "e1"  # externalId is case-exact


def test_listener_sees_new_state_and_timestamps() -> None:
    clock = ManualClock()
    s = Store(clock)
    seen: list[tuple[str, bool, float]] = []

    def listener(e: StoreEvent) -> None:
        if e.kind.startswith("member_"):
            assert e.group_id and e.user_id
            seen.append((e.kind, s.is_member(e.group_id, e.user_id), e.at))

    s.add_listener(listener)
    uid = s.create_user(user_attrs("ann"))["id"]
    gid = s.create_group({"displayName": "g"})["id"]
    s.add_members(gid, [uid])
    clock.advance(60)
    s.delete_user(uid)
    t0 = clock.time() - 60
    assert seen == [("member_added", True, t0), ("member_removed", False, t0 + 60)]


def test_add_members_is_all_or_nothing() -> None:
    s = Store(ManualClock())
    uid = s.create_user(user_attrs("ann"))["id"]
    gid = s.create_group({"displayName": "g"})["id"]
    with pytest.raises(NotFound):
        s.add_members(gid, [uid, "nope"])
    assert s.member_ids(gid) == []


def test_sqlite_file_keeps_state_and_new_ids_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    clock = ManualClock()
    j1 = SqliteJournal(path)
    s1 = Store(clock, seed=9, journal=j1)
    uid = s1.create_user(user_attrs("ann"))["id"]
    gid = s1.create_group({"displayName": "g"})["id"]
    s1.add_members(gid, [uid])
    gone = s1.create_user(user_attrs("bob"))["id"]
    s1.delete_user(gone)
    dump = s1.dump()
    j1.close()
    j2 = SqliteJournal(path)
    s2 = Store(clock, seed=9, journal=j2)
    assert s2.dump() == dump
    again = s2.create_user(user_attrs("bob"))["id"]
    assert again not in (uid, gone)  # a re-created user gets a new id even after a restart
    s2.reset()
    j2.close()
    assert Store(clock, journal=SqliteJournal(path)).dump() == {"users": [], "groups": [], "memberships": {}}
