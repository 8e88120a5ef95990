"""The provisioning job's view of the directory reads only what changed, and answers as reading everything would.

``DirectoryView.snapshot`` keeps the application's scope up to date from the directory's change marks instead of
reading every user and group (issue 15: an incremental cycle's cost follows the changes, not the tenant size). The
oracle is the whole read it replaced: every assigned group's members, every directly assigned or member user that
exists and is enabled, with the membership changes made at or after ``as_of`` undone. Random sequences of directory
changes (members and owners added and removed, users and groups created, assignments made and removed, a reset)
interleaved with snapshots, at the current instant or as of an earlier one, must give equal snapshots; and every
object that differs between two snapshots must be among those :meth:`DirectoryView.changed_between` names.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pim_fake.directory import Directory
from pim_fake.provisioning.source import DirectoryView, Snapshot, SourceUser

_START = datetime(2026, 1, 1, tzinfo=UTC)


class _World:
    def __init__(self) -> None:
        self.now = _START
        self.dir = Directory(random.Random(3), lambda: self.now)
        for i in range(6):
            self.dir.add_user(
                {"displayName": f"U{i}", "userPrincipalName": f"u{i}@example.com", "accountEnabled": i != 5},
                name=f"u{i}",
            )
        for g in range(4):
            self.dir.add_group({"displayName": f"G{g}"})
        self.sp = self.dir.add_service_principal("AWS IAM Identity Center")
        self.view = DirectoryView(self.dir, self.sp, threading.RLock())

    def users(self) -> list[str]:
        return list(self.dir.users)

    def groups(self) -> list[str]:
        return list(self.dir.groups)


def _whole_read(view: DirectoryView, changes: list[tuple[float, str, str, bool]], as_of: float | None) -> Snapshot:
    """The snapshot as reading every assigned group and user gives it (the algorithm the view replaced)."""
    d, sp = view.dir, view.sp
    members = {
        a.principalId: list(d.groups[a.principalId].members)
        for a in sp.assignments
        if a.principalType == "Group" and a.principalId in d.groups
    }
    if as_of is not None:
        for _when, gid, uid, added in reversed([c for c in changes if c[0] >= as_of]):
            if gid not in members:
                continue
            if added and uid in members[gid]:
                members[gid].remove(uid)
            elif not added and uid not in members[gid]:
                members[gid].append(uid)
    users: dict[str, SourceUser] = {}
    wanted = [a.principalId for a in sp.assignments if a.principalType == "User"]
    for uid in wanted + [m for ms in members.values() for m in ms]:
        u = d.users.get(uid)
        if u is not None and u.accountEnabled:
            users[uid] = SourceUser(u.id, u.userPrincipalName, u.displayName, u.givenName, u.surname, u.mail)
    groups = {gid: (d.groups[gid].displayName, tuple(m for m in ms if m in users)) for gid, ms in members.items()}
    return Snapshot(users, groups)


_STEP = st.tuples(
    st.sampled_from(
        ["add", "add", "add", "remove", "remove", "owner", "assign", "unassign", "user", "group", "snap", "snap"]
    ),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 3),
)


def _apply(w: _World, step: tuple[str, int, int, int]) -> None:
    op, a, b, _ = step
    users, groups = w.users(), w.groups()
    gid, uid = groups[a % len(groups)], users[b % len(users)]
    if op == "add":
        w.dir.add_member(gid, uid, via_pim=bool(a % 2))
    elif op == "remove":
        w.dir.remove_member(gid, uid, via_pim=False)
    elif op == "owner":
        w.dir.add_member(gid, uid, via_pim=False, owner=True)
    elif op == "assign":
        principal = gid if b % 3 else uid
        if not any(x.principalId == principal for x in w.sp.assignments):
            w.dir.assign(w.sp.id, principal)
    elif op == "unassign" and w.sp.assignments:
        w.dir.unassign(w.sp.id, w.sp.assignments[a % len(w.sp.assignments)].id)
    elif op == "user":
        n = len(users)
        w.dir.add_user({"displayName": f"U{n}", "userPrincipalName": f"u{n}@example.com"}, name=f"u{n}")
    elif op == "group":
        w.dir.add_group({"displayName": f"G{len(groups)}", "members": [uid]})


@settings(max_examples=150)
@given(st.lists(_STEP, max_size=40))
def test_snapshots_equal_a_whole_read_and_name_every_change(steps: list[tuple[str, int, int, int]]) -> None:
    w = _World()
    w.dir.assign(w.sp.id, w.groups()[0])
    previous: Snapshot | None = None
    for step in [*steps, ("snap", 0, 0, 0)]:
        w.now += timedelta(seconds=1)
        if step[0] != "snap":
            _apply(w, step)
            continue
        back = step[3]
        as_of = None if back == 0 else (w.now - timedelta(seconds=back * 3)).timestamp()
        expected = _whole_read(w.view, list(w.view._changes), as_of)
        snap = w.view.snapshot(as_of=as_of)
        assert snap == expected
        if previous is not None:
            _assert_named(w.view, previous, snap)
        previous = snap


def _assert_named(view: DirectoryView, earlier: Snapshot, later: Snapshot) -> None:
    named = view.changed_between(earlier, later)
    if named is None:
        return
    differ_users = {u for u in earlier.users.keys() | later.users.keys() if earlier.users.get(u) != later.users.get(u)}
    differ_groups = {
        g for g in earlier.groups.keys() | later.groups.keys() if earlier.groups.get(g) != later.groups.get(g)
    }
    assert differ_users <= named[0]
    assert differ_groups <= named[1]


def test_a_snapshot_after_a_few_changes_reads_only_those() -> None:
    """With 2,000 members in scope, a snapshot after one membership change re-reads one group and one user."""
    w = _World()
    big = w.dir.add_group({"displayName": "Everyone"})
    for i in range(2000):
        user = w.dir.add_user({"displayName": f"B{i}", "userPrincipalName": f"b{i}@example.com"}, name=f"b{i}")
        w.dir.add_member(big.id, user.id, via_pim=False)
    w.dir.assign(w.sp.id, big.id)
    first = w.view.snapshot()
    assert len(first.users) == 2000
    reads: list[Any] = []
    original = w.view._source_user
    w.view._source_user = lambda uid: reads.append(uid) or original(uid)  # type: ignore[method-assign]
    newcomer = w.users()[0]
    w.dir.add_member(big.id, newcomer, via_pim=True)
    second = w.view.snapshot()
    assert reads == [newcomer]
    assert w.view.changed_between(first, second) == ({newcomer}, {big.id})
    assert second == _whole_read(w.view, [], None)


def test_a_reset_or_a_new_assignment_reads_everything_again() -> None:
    w = _World()
    first = w.view.snapshot()
    w.dir.assign(w.sp.id, w.groups()[1])
    second = w.view.snapshot()
    assert w.view.changed_between(first, second) is None
    assert second == _whole_read(w.view, [], None)
    w.dir.clear()
    assert w.view.snapshot() == Snapshot({}, {})
