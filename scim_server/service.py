"""The SCIM protocol of the fake IAM Identity Center, without input or output (scim2-server's ``service.py`` idea).

:class:`ScimService` takes parsed JSON bodies, ids and query parameters, applies AWS's rules
(``user_rules``/``group_rules``/``patch_rules``, ``filters``, ``paging``) and the store, and returns the JSON body
AWS answers with, or raises :class:`ScimError`. It never sees a Request, a status code or a header; the HTTP side
(``scim_server/scim.py``) adds those.

Bodies as AWS shows them: a user starts with ``schemas`` (core, plus enterprise when it has values), then ``id``,
the attributes and ``meta``; a group always carries ``members: []`` [DG-listgroups] (memberships are read with
filters, never in bodies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim2_models import ScimFilter

from scim_server.errors import ScimError
from scim_server.filters import Query, parse_group_filter, parse_user_filter
from scim_server.group_rules import validate_group
from scim_server.paging import page_all, page_ids, read_page_request, reject_unsupported_params
from scim_server.patch_rules import GroupPatch, patch_user, plan_group_patch
from scim_server.records import Conflict, JsonDict, NotFound
from scim_server.scim_schema import GROUP_URN, ScimUser, user_schemas
from scim_server.store import Store
from scim_server.user_rules import validate_user

__all__ = ["ScimService", "group_body", "user_body"]


def user_body(body: JsonDict) -> JsonDict:
    """Return a stored user body as AWS shows it: ``schemas`` first, then id, attributes, meta."""
    return {"schemas": user_schemas(body), **body}


def group_body(body: JsonDict) -> JsonDict:
    """Return a stored group body as AWS shows it: always ``members: []`` [DG-listgroups]."""
    return {"schemas": [GROUP_URN], **body, "members": []}


class ScimService:
    """The SCIM operations on one identity :class:`Store` (users, groups, lists)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- users ----------------------------------------------------------------------------------------------
    def create_user(self, data: Any) -> JsonDict:
        """Validate and store a new user; return its body (409 on a uniqueness clash) [DG-createuser]."""
        attrs = validate_user(data)
        try:
            return user_body(self.store.create_user(attrs))
        except Conflict as exc:
            raise ScimError.conflict(str(exc)) from None

    def get_user(self, user_id: str, query: Mapping[str, str]) -> JsonDict:
        """Return the user's body (400 on refused query parameters, 404 for an unknown id) [DG-getuser]."""
        reject_unsupported_params(query, users=True)
        return user_body(self._user(user_id))

    def replace_user(self, user_id: str, data: Any) -> JsonDict:
        """Replace every attribute of a user (PutUser); return the new body (404 first, then 400, then 409)."""
        self._user(user_id)
        attrs = validate_user(data, replacing=True)
        try:
            body = self.store.replace_user(user_id, attrs)
        except Conflict as exc:
            raise ScimError.conflict(str(exc)) from None
        except NotFound:
            raise ScimError.not_found("User", user_id) from None
        return user_body(body)

    def patch_user(self, user_id: str, data: Any, *, string_booleans: bool) -> JsonDict:
        """Apply a PatchUser body atomically; return the new body [DG-patchuser] (``string_booleans``: [E-COMPAT])."""
        with self.store.lock:
            current = self._user(user_id)
            attrs = patch_user(current, data, string_booleans=string_booleans)
            try:
                body = self.store.replace_user(user_id, attrs)
            except Conflict as exc:
                raise ScimError.conflict(str(exc)) from None
        return user_body(body)

    def delete_user(self, user_id: str) -> None:
        """Delete a user and its memberships (404 for an unknown id) [DG-deleteuser]."""
        try:
            self.store.delete_user(user_id)
        except NotFound:
            raise ScimError.not_found("User", user_id) from None

    def list_users(self, query: Mapping[str, str]) -> JsonDict:
        """Return one page of users: all in creation order, or those a filter selects [DG-listusers]."""
        return self._list(query, users=True)

    def _user(self, user_id: str) -> JsonDict:
        try:
            return self.store.get_user(user_id)
        except NotFound:
            raise ScimError.not_found("User", user_id) from None

    def _user_ids(self, query: Query) -> list[str]:
        terms = query.terms
        store = self.store
        if "userName" in terms:
            return _one(store.user_id_by_name(terms["userName"]))
        if "externalId" in terms:
            return _one(store.user_id_by_external_id(terms["externalId"]))
        if "groups.value" in terms:
            gid = terms["groups.value"]
            return store.member_ids(gid) if store.has_group(gid) else []
        uid = terms["id"]
        if not store.has_user(uid):
            return []
        if "manager" in terms and not _has_manager(user_body(store.get_user(uid)), terms["manager"]):
            return []
        return [uid]

    # --- groups ---------------------------------------------------------------------------------------------
    def create_group(self, data: Any) -> JsonDict:
        """Validate and store a new group with its members; return its body [DG-creategroup]."""
        attrs, members = validate_group(data)
        with self.store.lock:
            for uid in members:
                if not self.store.has_user(uid):
                    raise ScimError.invalid(f"member {uid!r} is not a user (unknown id or a group; no nested groups)")
            try:
                body = self.store.create_group(attrs)
            except Conflict as exc:
                raise ScimError.conflict(str(exc)) from None
            if members:
                self.store.add_members(body["id"], members)
        return group_body(body)

    def get_group(self, group_id: str, query: Mapping[str, str]) -> JsonDict:
        """Return the group's body (400 on refused query parameters, 404 for an unknown id)."""
        reject_unsupported_params(query, users=False)
        return group_body(self._group(group_id))

    def patch_group(self, group_id: str, data: Any, *, replace_empty_members_quirk: bool) -> None:
        """Apply a PatchGroup body atomically: attribute changes, then member adds/removes in order [DG-patchgroup]."""
        plan = plan_group_patch(data, replace_empty_members_quirk=replace_empty_members_quirk)
        with self.store.lock:
            current = self._group(group_id)
            for action, ids in plan.steps:
                if action == "add":
                    for uid in ids:
                        if not self.store.has_user(uid):
                            raise ScimError.invalid(
                                f"member {uid!r} is not a user (unknown id or a group; IdC has no nested groups)"
                            )
            if plan.attrs or plan.removed_attrs:
                self._replace_group_attrs(group_id, current, plan)
            for action, ids in plan.steps:
                if action == "add":
                    self.store.add_members(group_id, ids)
                else:
                    self.store.remove_members(group_id, ids)

    def delete_group(self, group_id: str) -> None:
        """Delete a group and its memberships (404 for an unknown id) [DG-deletegroup]."""
        try:
            self.store.delete_group(group_id)
        except NotFound:
            raise ScimError.not_found("Group", group_id) from None

    def list_groups(self, query: Mapping[str, str]) -> JsonDict:
        """Return one page of groups: all in creation order, or those a filter selects [DG-listgroups]."""
        return self._list(query, users=False)

    def _group(self, group_id: str) -> JsonDict:
        try:
            return self.store.get_group(group_id)
        except NotFound:
            raise ScimError.not_found("Group", group_id) from None

    def _replace_group_attrs(self, group_id: str, current: JsonDict, plan: GroupPatch) -> None:
        attrs = {k: v for k, v in current.items() if k not in ("id", "meta")}
        attrs.update(plan.attrs)
        for name in plan.removed_attrs:
            attrs.pop(name, None)
        try:
            self.store.replace_group(group_id, attrs)
        except Conflict as exc:
            raise ScimError.conflict(str(exc)) from None

    def _group_ids(self, query: Query) -> list[str]:
        terms = query.terms
        store = self.store
        if "displayName" in terms:
            return _one(store.group_id_by_name(terms["displayName"]))
        if "externalId" in terms:
            return _one(store.group_id_by_external_id(terms["externalId"]))
        if "members.value" in terms:
            uid = terms["members.value"]
            if not store.has_user(uid):
                raise ScimError.not_found("User", uid)  # [DG-listgroups]: non-existent member → 404
            return store.group_ids_of(uid)
        gid = terms["id"]
        return [gid] if store.is_member(gid, terms["member"]) else []

    # --- lists ----------------------------------------------------------------------------------------------
    def _list(self, query: Mapping[str, str], *, users: bool) -> JsonDict:
        """List users or groups: no filter pages the creation order, a filter pages the ids it selects."""
        page = read_page_request(query, users=users)
        kind = "u" if users else "g"
        render = user_body if users else group_body
        store = self.store
        text = query.get("filter")
        if text is None:
            pager = store.page_users if users else store.page_groups
            total = store.user_count if users else store.group_count
            return page_all(store.lock, pager, total, render, page, kind)
        parsed = parse_user_filter(text) if users else parse_group_filter(text)
        ids = self._user_ids(parsed) if users else self._group_ids(parsed)
        get = store.get_user if users else store.get_group
        seq_of = store.user_seq if users else store.group_seq
        return page_ids(store.lock, ids, seq_of, lambda i: render(get(i)), page, kind, parsed.key())


def _one(found: str | None) -> list[str]:
    return [found] if found else []


def _has_manager(body: JsonDict, manager_id: str) -> bool:
    """Return whether the user ``body`` names ``manager_id`` as its enterprise manager (scim2-models filter match)."""
    body.pop("meta", None)
    model = ScimUser.model_validate(body)
    manager_filter = ScimFilter[ScimUser](
        f"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq {ScimFilter.quote(manager_id)}"
    )
    return bool(manager_filter.match(model))
