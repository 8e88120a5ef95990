"""The identitystore shapes of SCIM resources [BC-ids]: users and groups map from the SCIM body (``userName`` →
``UserName``, ``name.givenName`` → ``Name.GivenName``, ``active`` → ``UserStatus`` ENABLED/DISABLED, ``externalId`` →
``ExternalIds[{Issuer, Id}]``), memberships get a stable ``MembershipId`` in the ``<10 hex>-<uuid>`` id form derived
from (group, user). The issuer reported for SCIM ``externalId`` values is UNCONFIRMED (:data:`SCIM_ISSUER`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

__all__ = ["SCIM_ISSUER", "group_json", "membership_id", "membership_json", "resource_arn", "user_json"]

SCIM_ISSUER = "SCIM"
"""``ExternalIds[].Issuer`` reported for a SCIM ``externalId`` (UNCONFIRMED; AWS does not document it)."""


def resource_arn(kind: str, rid: str) -> str:
    """Return the ``ResourceArn`` of a ``user``, ``group`` or ``membership`` id:
    ``arn:aws:identitystore:::<kind>/<id>`` (botocore's ResourceArn pattern) [BC-ids]."""
    return f"arn:aws:identitystore:::{kind}/{rid}"


def membership_id(group_id: str, user_id: str) -> str:
    """Return the stable MembershipId of (group, user) in the ``<10 hex>-<uuid>`` form [BC-ids]."""
    digest = hashlib.sha256(f"{group_id}|{user_id}".encode()).digest()
    return f"{digest[:5].hex()}-{uuid.UUID(bytes=digest[5:21], version=4)}"


def _ts(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _single(items: Any, keys: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                out.append({aws: item[scim] for scim, aws in keys.items() if item.get(scim) is not None})
    return out


def user_json(sid: str, body: dict[str, Any]) -> dict[str, Any]:
    """Return the identitystore ``User`` shape of the SCIM user ``body`` in identity store ``sid`` [BC-ids]."""
    name = body.get("name") if isinstance(body.get("name"), dict) else {}
    assert isinstance(name, dict)
    name_keys = ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
    out: dict[str, Any] = {
        "IdentityStoreId": sid,
        "UserId": body["id"],
        "UserName": body.get("userName"),
        "UserStatus": "ENABLED" if body.get("active", True) else "DISABLED",
    }
    aws_name = {k[0].upper() + k[1:]: name[k] for k in name_keys if name.get(k) is not None}
    if aws_name:
        out["Name"] = aws_name
    if body.get("externalId") is not None:
        out["ExternalIds"] = [{"Issuer": SCIM_ISSUER, "Id": str(body["externalId"])}]
    for scim, aws in (
        ("displayName", "DisplayName"),
        ("nickName", "NickName"),
        ("profileUrl", "ProfileUrl"),
        ("userType", "UserType"),
        ("title", "Title"),
        ("preferredLanguage", "PreferredLanguage"),
        ("locale", "Locale"),
        ("timezone", "Timezone"),
    ):
        if body.get(scim) is not None:
            out[aws] = body[scim]
    basic = {"value": "Value", "type": "Type", "primary": "Primary"}
    for scim, aws in (("emails", "Emails"), ("phoneNumbers", "PhoneNumbers"), ("roles", "Roles")):
        items = _single(body.get(scim), basic)
        if items:
            out[aws] = items
    addresses = _single(
        body.get("addresses"),
        {
            "streetAddress": "StreetAddress",
            "locality": "Locality",
            "region": "Region",
            "postalCode": "PostalCode",
            "country": "Country",
            "formatted": "Formatted",
            "type": "Type",
            "primary": "Primary",
        },
    )
    if addresses:
        out["Addresses"] = addresses
    meta = body.get("meta") or {}
    for key, aws in (("created", "CreatedAt"), ("lastModified", "UpdatedAt")):
        stamp = _ts(meta.get(key))
        if stamp is not None:
            out[aws] = stamp
    return out


def group_json(sid: str, body: dict[str, Any]) -> dict[str, Any]:
    """Return the identitystore ``Group`` shape of the SCIM group ``body`` in identity store ``sid`` [BC-ids]."""
    out: dict[str, Any] = {"IdentityStoreId": sid, "GroupId": body["id"], "DisplayName": body.get("displayName")}
    if body.get("externalId") is not None:
        out["ExternalIds"] = [{"Issuer": SCIM_ISSUER, "Id": str(body["externalId"])}]
    if body.get("description") is not None:
        out["Description"] = body["description"]
    meta = body.get("meta") or {}
    for key, aws in (("created", "CreatedAt"), ("lastModified", "UpdatedAt")):
        stamp = _ts(meta.get(key))
        if stamp is not None:
            out[aws] = stamp
    return out


def membership_json(sid: str, group_id: str, user_id: str) -> dict[str, Any]:
    """Return the ``GroupMembership`` shape of ``user_id`` in ``group_id`` [BC-ids]."""
    mid = membership_id(group_id, user_id)
    return {
        "IdentityStoreId": sid,
        "MembershipId": mid,
        "MembershipArn": resource_arn("membership", mid),
        "GroupId": group_id,
        "MemberId": {"UserId": user_id},
    }
