"""The ``identitystore`` JSON 1.1 API (``AWSIdentityStore.*``) over the same store the SCIM endpoint serves.

Reads and memberships are here; user and group writes (Create/Update/DeleteUser, Create/Update/DeleteGroup) and the
``Revision`` / ``UserArn`` / ``GroupArn`` every user and group carries are :mod:`scim_server.aws.identitystore_writes`.

Shapes and error members follow botocore's identitystore model [BC-ids]; the SCIM → identitystore mapping of users,
groups and memberships is :mod:`scim_server.aws.identitystore_shapes`. Writes (CreateGroupMembership,
DeleteGroupMembership) go through :class:`scim_server.store.Store`, so the SCIM endpoint and the access plane see
them at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scim_server.records import NotFound
from scim_server.store import Store

from .errors import conflict, not_found, validation
from .identitystore_shapes import SCIM_ISSUER, group_json, membership_id, membership_json, resource_arn, user_json
from .identitystore_writes import IdentityStoreWrites
from .pagination import paginate

__all__ = ["IdentityStoreApi"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class IdentityStoreApi:
    """Handlers for every ``AWSIdentityStore.*`` operation this fake serves, keyed by operation name."""

    def __init__(self, store: Store, identity_store_id: Callable[[], str]) -> None:
        self.store = store
        self._store_id = identity_store_id
        self.operations: dict[str, Handler] = {
            "ListUsers": self.list_users,
            "ListGroups": self.list_groups,
            "DescribeUser": self.describe_user,
            "DescribeGroup": self.describe_group,
            "GetUserId": self.get_user_id,
            "GetGroupId": self.get_group_id,
            "ListGroupMemberships": self.list_group_memberships,
            "ListGroupMembershipsForMember": self.list_group_memberships_for_member,
            "IsMemberInGroups": self.is_member_in_groups,
            "GetGroupMembershipId": self.get_group_membership_id,
            "CreateGroupMembership": self.create_group_membership,
            "DeleteGroupMembership": self.delete_group_membership,
            "DescribeGroupMembership": self.describe_group_membership,
        }
        self.writes = IdentityStoreWrites(self)
        self.operations.update(self.writes.operations)

    # --- helpers ---------------------------------------------------------------------------------------
    def check_store(self, body: dict[str, Any]) -> str:
        sid = body.get("IdentityStoreId")
        if not isinstance(sid, str) or not sid:
            raise validation("IdentityStoreId is required")
        if sid != self._store_id():
            raise not_found(
                f"Identity store {sid} does not exist; this sandbox's is {self._store_id()}",
                ResourceType="IDENTITY_STORE",
                ResourceId=sid,
            )
        return sid

    def resource_id(self, body: dict[str, Any], name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= 47:
            raise validation(f"{name} must be a string of 1-47 characters, got {value!r}")
        return value

    def _member_user(self, body: dict[str, Any]) -> str:
        member = body.get("MemberId")
        if not isinstance(member, dict) or not isinstance(member.get("UserId"), str):
            raise validation('MemberId must be {"UserId": "..."}')
        user_id: str = member["UserId"]
        return user_id

    def user(self, user_id: str) -> dict[str, Any]:
        try:
            return self.store.get_user(user_id)
        except NotFound:
            raise not_found(f"USER not found: {user_id}", ResourceType="USER", ResourceId=user_id) from None

    def group(self, group_id: str) -> dict[str, Any]:
        try:
            return self.store.get_group(group_id)
        except NotFound:
            raise not_found(f"GROUP not found: {group_id}", ResourceType="GROUP", ResourceId=group_id) from None

    def _find_membership(self, mid: str) -> tuple[str, str]:
        with self.store.lock:
            for group_id in self.store.group_ids():
                for user_id in self.store.member_ids(group_id):
                    if membership_id(group_id, user_id) == mid:
                        return group_id, user_id
        raise not_found(f"GROUP_MEMBERSHIP not found: {mid}", ResourceType="GROUP_MEMBERSHIP", ResourceId=mid)

    def _user_json(self, sid: str, user_id: str) -> dict[str, Any]:
        return {**user_json(sid, self.user(user_id)), **self.writes.stamp("user", user_id)}

    def _group_json(self, sid: str, group_id: str) -> dict[str, Any]:
        return {**group_json(sid, self.group(group_id)), **self.writes.stamp("group", group_id)}

    def _filter(self, body: dict[str, Any], allowed: dict[str, str]) -> tuple[str, str] | None:
        filters = body.get("Filters")
        if filters is None or filters == []:
            return None
        if not isinstance(filters, list) or len(filters) != 1 or not isinstance(filters[0], dict):
            raise validation("Filters must hold exactly one {AttributePath, AttributeValue}")
        path, value = filters[0].get("AttributePath"), filters[0].get("AttributeValue")
        key = path.lower() if isinstance(path, str) else ""
        if key not in allowed or not isinstance(value, str):
            raise validation(f"Filters.AttributePath {path!r} is not supported; use {', '.join(allowed.values())}")
        return key, value

    # --- users and groups ------------------------------------------------------------------------------
    def list_users(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListUsers`` (with the deprecated one-entry ``Filters`` on UserName) [BC-ids][AWS-ids-listusers]."""
        sid = self.check_store(body)
        flt = self._filter(body, {"username": "UserName"})
        if flt is not None:
            uid = self.store.user_id_by_name(flt[1])
            ids = [uid] if uid is not None else []
        else:
            ids = self.store.user_ids()
        page, token = paginate(ids, body, max_cap=100)
        return {"Users": [self._user_json(sid, u) for u in page], **token}

    def list_groups(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListGroups`` (with the deprecated one-entry ``Filters`` on DisplayName) [BC-ids]."""
        sid = self.check_store(body)
        flt = self._filter(body, {"displayname": "DisplayName"})
        if flt is not None:
            gid = self.store.group_id_by_name(flt[1])
            ids = [gid] if gid is not None else []
        else:
            ids = self.store.group_ids()
        page, token = paginate(ids, body, max_cap=100)
        return {"Groups": [self._group_json(sid, g) for g in page], **token}

    def describe_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribeUser`` [BC-ids]."""
        sid = self.check_store(body)
        return self._user_json(sid, self.resource_id(body, "UserId"))

    def describe_group(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribeGroup`` [BC-ids]."""
        sid = self.check_store(body)
        return self._group_json(sid, self.resource_id(body, "GroupId"))

    def _alternate(self, body: dict[str, Any]) -> tuple[str, str, str]:
        alt = body.get("AlternateIdentifier")
        if not isinstance(alt, dict) or len(alt) != 1:
            raise validation("AlternateIdentifier must hold exactly one of ExternalId or UniqueAttribute")
        if "ExternalId" in alt:
            ext = alt["ExternalId"]
            if (
                not isinstance(ext, dict)
                or not isinstance(ext.get("Id"), str)
                or not isinstance(ext.get("Issuer"), str)
            ):
                raise validation('AlternateIdentifier.ExternalId must be {"Issuer": ..., "Id": ...}')
            return "externalid", ext["Issuer"], ext["Id"]
        unique = alt.get("UniqueAttribute")
        if not isinstance(unique, dict) or not isinstance(unique.get("AttributePath"), str):
            raise validation(
                'AlternateIdentifier.UniqueAttribute must be {"AttributePath": ..., "AttributeValue": ...}'
            )
        value = unique.get("AttributeValue")
        if not isinstance(value, str):
            raise validation("AlternateIdentifier.UniqueAttribute.AttributeValue must be a string")
        return unique["AttributePath"].lower(), unique["AttributePath"], value

    def get_user_id(self, body: dict[str, Any]) -> dict[str, Any]:
        """``GetUserId`` by ``ExternalId`` or ``UniqueAttribute`` ``UserName`` / ``Emails.Value`` [BC-ids]."""
        by_attribute = {"username": self.store.user_id_by_name, "emails.value": self.store.user_id_by_email}
        hint = "users; use UserName or Emails.Value"
        return self._resolve_id(body, "USER", "UserId", self.store.user_id_by_external_id, by_attribute, hint)

    def get_group_id(self, body: dict[str, Any]) -> dict[str, Any]:
        """``GetGroupId`` by ``ExternalId`` or ``UniqueAttribute`` ``DisplayName`` [BC-ids]."""
        by_attribute = {"displayname": self.store.group_id_by_name}
        hint = "groups; use DisplayName"
        return self._resolve_id(body, "GROUP", "GroupId", self.store.group_id_by_external_id, by_attribute, hint)

    def _resolve_id(
        self,
        body: dict[str, Any],
        resource_type: str,
        id_key: str,
        by_external_id: Callable[[str], str | None],
        by_attribute: Mapping[str, Callable[[str], str | None]],
        hint: str,
    ) -> dict[str, Any]:
        """Resolve an ``AlternateIdentifier`` (an ExternalId only under our SCIM issuer) to ``{id_key: id}``."""
        sid = self.check_store(body)
        kind, label, value = self._alternate(body)
        if kind == "externalid":
            rid = by_external_id(value) if label == SCIM_ISSUER else None
        elif kind in by_attribute:
            rid = by_attribute[kind](value)
        else:
            raise validation(f"AttributePath {label!r} is not supported for {hint}")
        if rid is None:
            raise not_found(f"{resource_type} not found: {value}", ResourceType=resource_type, ResourceId=value)
        return {
            "IdentityStoreId": sid,
            id_key: rid,
            f"{resource_type.title()}Arn": resource_arn(resource_type.lower(), rid),
        }

    # --- memberships -----------------------------------------------------------------------------------
    def list_group_memberships(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListGroupMemberships`` of one group [BC-ids]."""
        sid = self.check_store(body)
        group_id = self.resource_id(body, "GroupId")
        self.group(group_id)
        page, token = paginate(self.store.member_ids(group_id), body, max_cap=100)
        return {"GroupMemberships": [membership_json(sid, group_id, u) for u in page], **token}

    def list_group_memberships_for_member(self, body: dict[str, Any]) -> dict[str, Any]:
        """``ListGroupMembershipsForMember`` of one user [BC-ids]."""
        sid = self.check_store(body)
        user_id = self._member_user(body)
        self.user(user_id)
        page, token = paginate(self.store.group_ids_of(user_id), body, max_cap=100)
        return {"GroupMemberships": [membership_json(sid, g, user_id) for g in page], **token}

    def is_member_in_groups(self, body: dict[str, Any]) -> dict[str, Any]:
        """``IsMemberInGroups`` for 1–100 groups [BC-ids]."""
        self.check_store(body)
        user_id = self._member_user(body)
        group_ids = body.get("GroupIds")
        if not isinstance(group_ids, list) or not 1 <= len(group_ids) <= 100:
            raise validation("GroupIds must list 1-100 group ids")
        self.user(user_id)
        results = []
        for gid in group_ids:
            if not isinstance(gid, str):
                raise validation("GroupIds must be strings")
            self.group(gid)
            results.append(
                {
                    "GroupId": gid,
                    "MemberId": {"UserId": user_id},
                    "MembershipExists": self.store.is_member(gid, user_id),
                }
            )
        return {"Results": results}

    def get_group_membership_id(self, body: dict[str, Any]) -> dict[str, Any]:
        """``GetGroupMembershipId``; ResourceNotFoundException (GROUP_MEMBERSHIP) when not a member [BC-ids]."""
        sid = self.check_store(body)
        group_id = self.resource_id(body, "GroupId")
        user_id = self._member_user(body)
        self.group(group_id)
        self.user(user_id)
        if not self.store.is_member(group_id, user_id):
            raise not_found(
                f"GROUP_MEMBERSHIP not found: user {user_id} is not a member of group {group_id}",
                ResourceType="GROUP_MEMBERSHIP",
                ResourceId=group_id,
            )
        mid = membership_id(group_id, user_id)
        return {"IdentityStoreId": sid, "MembershipId": mid, "MembershipArn": resource_arn("membership", mid)}

    def describe_group_membership(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DescribeGroupMembership`` [BC-ids]."""
        sid = self.check_store(body)
        group_id, user_id = self._find_membership(self.resource_id(body, "MembershipId"))
        return membership_json(sid, group_id, user_id)

    def create_group_membership(self, body: dict[str, Any]) -> dict[str, Any]:
        """``CreateGroupMembership``; an existing membership is a ConflictException [BC-ids]."""
        sid = self.check_store(body)
        group_id = self.resource_id(body, "GroupId")
        user_id = self._member_user(body)
        with self.store.lock:
            self.group(group_id)
            self.user(user_id)
            if self.store.is_member(group_id, user_id):
                raise conflict(
                    f"User {user_id} is already a member of group {group_id}", Reason="UNIQUENESS_CONSTRAINT_VIOLATION"
                )
            self.store.add_members(group_id, [user_id])
        mid = membership_id(group_id, user_id)
        return {"IdentityStoreId": sid, "MembershipId": mid, "MembershipArn": resource_arn("membership", mid)}

    def delete_group_membership(self, body: dict[str, Any]) -> dict[str, Any]:
        """``DeleteGroupMembership`` by MembershipId [BC-ids]."""
        self.check_store(body)
        with self.store.lock:
            group_id, user_id = self._find_membership(self.resource_id(body, "MembershipId"))
            self.store.remove_members(group_id, [user_id])
        return {}
