"""Exporting one object: bring one user or group on the SCIM target in line with a directory snapshot.

The exporter keeps what the job knows of the target (SCIM ids, ``active``, attributes and members it sent) and
reports each object's outcome to the job, which logs it and handles failures.

Nothing is invented: Entra never sends null attributes ([E-KNOWN]; provision-on-demand "doesn't support
provisioning null attributes"), and AWS requires given name, family name, display name and userName, so a user
missing any of them is not provisioned (aws-single-sign-on-provisioning-tutorial, "Missing attributes"). Such a user
gets a failed provisioning-log entry (``MandatoryFieldsMissing`` [E-PLOGS]) and no SCIM call; not being on the
target, they are never added to a group there either, so their PIM activation never reaches AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pim_fake.provisioning.escrow import ObjectKey, ScimFailure, internal_failure, missing_fields_failure
from pim_fake.provisioning.logs import Change
from pim_fake.provisioning.scim_client import ScimClient, TargetGroup, TargetUser
from pim_fake.provisioning.source import Snapshot, SourceUser

__all__ = ["Exporter"]

_USER_ATTRS = ("userName", "displayName", "name.givenName", "name.familyName", "mail")
"""SCIM names of :meth:`SourceUser.attrs`, in its order."""


class Exporter:
    """Creates, updates and disables users and groups on the target; keeps the target cache."""

    def __init__(
        self,
        scim: ScimClient,
        succeeded: Callable[[ObjectKey, Change], None],
        failed: Callable[[ObjectKey, Change, ScimFailure], None],
    ) -> None:
        self.scim = scim
        self.succeeded = succeeded
        self.failed = failed
        self.users: dict[str, TargetUser] = {}
        self.groups: dict[str, TargetGroup] = {}
        self.touched: set[ObjectKey] = set()
        """Objects SCIM calls were sent for since the job last cleared this (the end of each cycle)."""
        self.stale_groups: set[str] = set()
        """Groups whose last export left out a directory member the target cache did not hold yet."""
        self.changed: set[ObjectKey] = set()
        """Objects whose target cache entry may have changed since ``--state`` last wrote it (its writer empties
        it); ``epoch`` counts :meth:`forget` calls (then the whole cache is written again)."""
        self.epoch = 0

    def forget(self) -> None:
        """Forget the target cache (a restart or a new target): the next cycle matches every object again."""
        self.users.clear()
        self.groups.clear()
        self.touched.clear()
        self.stale_groups.clear()
        self.epoch += 1

    # --- users ------------------------------------------------------------------------------------------------
    def process_user(
        self, uid: str, snap: Snapshot, cycle_id: str, *, allow_disable: bool, legacy: bool = False
    ) -> int:
        """Create, update or (with ``allow_disable``) disable the user ``uid``; return 1 when SCIM calls were sent
        and all succeeded, else 0."""
        src = snap.users.get(uid)
        known = self.users.get(uid)
        if src is None and (known is None or not known.active or not allow_disable):
            return 0
        display = src.display if src else uid
        change = Change("User", uid, display, cycle_id)

        def export() -> None:
            if src is None:
                assert known is not None
                change.action = "disable"
                change.target_id = known.scim_id
                self.scim.patch_user(change, known.scim_id, [("active", False)], legacy)
                known.active = False
            else:
                if src.id not in self.users:
                    _check_mandatory(change, src)
                self._ensure_user(change, src, legacy)

        return self._settle(("user", uid), change, export)

    def _settle(self, key: tuple[str, str], change: Change, export: Callable[[], None]) -> int:
        """Run ``export`` for one object and record its outcome; return 1 when SCIM calls were sent and all
        succeeded, else 0. A SCIM failure goes to the retry/escrow rules; a bug of ours is logged and retried at the
        next cycle, so it never stops the cycle."""
        self.changed.add(key)
        try:
            export()
        except ScimFailure as f:
            self.touched.add(key)
            self.failed(key, change, f)
            return 0
        except Exception as exc:  # a bug of ours must not stop the cycle: log it, retry at the next one
            self.failed(key, change, internal_failure(exc))
            return 0
        if not change.steps:
            return 0
        self.touched.add(key)
        self.succeeded(key, change)
        return 1

    def _ensure_user(self, change: Change, src: SourceUser, legacy: bool) -> None:
        """Match or create the user, then PATCH ``active`` and changed attributes."""
        known = self.users.get(src.id)
        if known is None:
            change.action = "create"
            found = self.scim.match_user(change, src.upn)
            if found:
                res = found[0]
                known = TargetUser(str(res["id"]), bool(res.get("active", True)), src.attrs())
                self.users[src.id] = known
                change.action = "update"
            else:
                self.users[src.id] = TargetUser(self.scim.create_user(change, src), True, src.attrs())
                change.target_id = self.users[src.id].scim_id
                return
        change.target_id = known.scim_id
        updates = _user_updates(known, src)
        if updates:
            change.action = "update" if change.action != "create" else change.action
            self.scim.patch_user(change, known.scim_id, updates, legacy)
            known.active = True
            known.attrs = src.attrs()

    # --- groups -----------------------------------------------------------------------------------------------
    def process_group(
        self, gid: str, snap: Snapshot, cycle_id: str, *, only_add: str | tuple[str, ...] | None, legacy: bool = False
    ) -> int:
        """Create the group ``gid`` if needed and PATCH its members (with ``only_add``: add that user, or those
        users, only); return 1 when SCIM calls were sent and all succeeded, else 0."""
        src = snap.groups.get(gid)
        known = self.groups.get(gid)
        if src is None and known is None:
            return 0
        change = Change("Group", gid, src[0] if src else gid, cycle_id)

        def export() -> None:
            target = known
            if target is None:
                assert src is not None  # a group in neither the source nor the cache returned above
                target = self._ensure_group(change, gid, src[0])
            change.target_id = target.scim_id
            desired = {m for m in (src[1] if src else ()) if m in self.users}
            if src is not None and len(desired) < len(set(src[1])):
                self.stale_groups.add(gid)
            else:
                self.stale_groups.discard(gid)
            adds = sorted(desired - target.members)
            removes = sorted(target.members - desired)
            if only_add is not None:
                chosen = {only_add} if isinstance(only_add, str) else set(only_add)
                adds = [m for m in adds if m in chosen]
                removes = []
            if adds or removes:
                change.action = "update" if change.action == "other" else change.action
            self.scim.patch_members(change, target, self.users, adds, removes, legacy)

        return self._settle(("group", gid), change, export)

    def _ensure_group(self, change: Change, gid: str, name: str) -> TargetGroup:
        """Match or create (empty) the group and return it, now in the target cache."""
        change.action = "create"
        found = self.scim.match_group(change, name)
        if found:
            group = TargetGroup(str(found[0]["id"]))
            change.action = "update"
        else:
            group = TargetGroup(self.scim.create_group(change, gid, name))
        self.groups[gid] = group
        return group


def _user_updates(known: TargetUser, src: SourceUser) -> list[tuple[str, Any]]:
    """Return the ``(path, value)`` replacements that bring the target's user in line with ``src``."""
    updates: list[tuple[str, Any]] = []
    if not known.active:
        updates.append(("active", True))
    if known.attrs != src.attrs():
        old = dict(zip(_USER_ATTRS, known.attrs, strict=True))
        new = dict(zip(_USER_ATTRS, src.attrs(), strict=True))
        for key in ("userName", "displayName", "name.givenName", "name.familyName"):
            if old[key] != new[key] and new[key] is not None:
                updates.append((key, new[key]))
        if old["mail"] != new["mail"] and new["mail"]:
            updates.append(('emails[type eq "work"].value', new["mail"]))
    return updates


def _check_mandatory(change: Change, src: SourceUser) -> None:
    """Raise ``MandatoryFieldsMissing`` (with a failed step on ``change``) when ``src`` lacks an attribute AWS
    requires: userName, displayName, name.givenName, name.familyName ("Missing attributes", AWS tutorial)."""
    values = {
        "userName": src.upn,
        "displayName": src.display,
        "name.givenName": src.given,
        "name.familyName": src.surname,
    }
    missing = [k for k, v in values.items() if v is None or not v.strip()]
    if not missing:
        return
    change.action = "create"
    message = (
        f"The user is missing {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} required by the "
        "target application; null attributes are not provisioned, so the user was not sent."
    )
    change.steps.append(
        {
            "name": "EntryExportAdd",
            "provisioningStepType": "export",
            "description": message,
            "details": {"missingAttributes": ", ".join(missing)},
            "status": "failure",
        }
    )
    raise missing_fields_failure(message)
