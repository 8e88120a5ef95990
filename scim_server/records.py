"""What the identity store keeps per user and group, and the errors it raises (no HTTP, no indexes).

A record holds the indexed fields (userName, primary email, displayName, externalId, ``active``) plus the compact
JSON of the attributes, which keeps memory low for large directories. The uniqueness rules each record type
reports are the store's contract (``scim_server/store.py``): userName and primary email case-insensitive,
displayName case-insensitive, externalId case-exact [UG-trouble][UG23-users][DG-creategroup].
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any

from fakekit.timefmt import iso_z

__all__ = [
    "Conflict",
    "GroupRecord",
    "JsonDict",
    "NotFound",
    "Record",
    "StoreError",
    "UserRecord",
    "format_time",
]

JsonDict = dict[str, Any]


class StoreError(Exception):
    """Base class for store failures; the HTTP layers map subclasses to their protocol's errors."""


class NotFound(StoreError):
    """A user or group id that does not exist (``kind`` is ``"user"`` or ``"group"``)."""

    def __init__(self, kind: str, resource_id: str) -> None:
        super().__init__(f"{kind} {resource_id!r} does not exist")
        self.kind = kind
        self.resource_id = resource_id


class Conflict(StoreError):
    """A uniqueness violation; ``attribute`` names the clashing attribute (``userName``, ``emails``, ...)."""

    def __init__(self, kind: str, attribute: str, value: str) -> None:
        super().__init__(f"another {kind} already has {attribute} {value!r}")
        self.kind = kind
        self.attribute = attribute
        self.value = value


def format_time(seconds: float) -> str:
    """Return ``YYYY-MM-DDTHH:MM:SSZ`` (the form of AWS's ``meta.created`` [DG-getuser]) for Unix ``seconds``."""
    return iso_z(datetime.fromtimestamp(seconds, tz=UTC), "seconds")


class Record(ABC):
    """What users and groups share: ids, times, the compact JSON of the attributes and their unique keys."""

    __slots__ = ("created", "external_id", "id", "packed", "seq", "updated")

    def __init__(self, id: str, seq: int, created: float, updated: float, attrs: JsonDict) -> None:
        self.id = id
        self.seq = seq
        self.created = created
        self.updated = updated
        self.set_attrs(attrs)

    @abstractmethod
    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""

    @staticmethod
    @abstractmethod
    def unique_keys(attrs: JsonDict) -> list[tuple[str, str, str]]:
        """Return ``(attribute, index key, value to report)`` for each unique attribute ``attrs`` sets, in check order."""

    @abstractmethod
    def index_keys(self) -> list[tuple[str, str]]:
        """Return ``(attribute, index key)`` for each unique attribute this record holds."""

    def _set_common(self, attrs: JsonDict) -> None:
        ext = attrs.get("externalId")
        self.external_id: str | None = None if ext is None else str(ext)
        self.packed: str = json.dumps(attrs, separators=(",", ":"), ensure_ascii=False)

    def attrs(self) -> JsonDict:
        """Return a fresh copy of the stored attributes."""
        data: JsonDict = json.loads(self.packed)
        return data


def _external_id_key(attrs: JsonDict) -> list[tuple[str, str, str]]:
    ext = attrs.get("externalId")
    return [] if ext is None else [("externalId", str(ext), str(ext))]


class UserRecord(Record):
    """A stored user: indexed fields plus the compact JSON of the remaining attributes (keeps memory low)."""

    __slots__ = ("active", "email", "user_name")

    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""
        self.user_name: str = str(attrs.get("userName", ""))
        email = _primary_email(attrs)
        # most users' primary email is their userName: keep one string for both (memory per user)
        self.email: str | None = self.user_name if email == self.user_name else email
        self.active: bool = bool(attrs.get("active", True))
        self._set_common(attrs)

    @staticmethod
    def unique_keys(attrs: JsonDict) -> list[tuple[str, str, str]]:
        """``userName`` and primary email case-insensitive, ``externalId`` case-exact."""
        keys = [("userName", str(attrs.get("userName", "")).casefold(), str(attrs.get("userName")))]
        email = _primary_email(attrs)
        if email is not None:
            keys.append(("emails", email.casefold(), email))
        return keys + _external_id_key(attrs)

    def index_keys(self) -> list[tuple[str, str]]:
        """Return ``(attribute, index key)`` for each unique attribute this record holds."""
        name_key = self.user_name.casefold()
        keys = [("userName", name_key)]
        if self.email is not None:
            keys.append(("emails", name_key if self.email is self.user_name else self.email.casefold()))
        if self.external_id is not None:
            keys.append(("externalId", self.external_id))
        return keys


class GroupRecord(Record):
    """A stored group: indexed fields plus the compact JSON of the remaining attributes (never ``members``)."""

    __slots__ = ("display_name",)

    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""
        attrs = {k: v for k, v in attrs.items() if k != "members"}
        self.display_name: str = str(attrs.get("displayName", ""))
        self._set_common(attrs)

    @staticmethod
    def unique_keys(attrs: JsonDict) -> list[tuple[str, str, str]]:
        """``displayName`` case-insensitive, ``externalId`` case-exact."""
        name = [("displayName", str(attrs.get("displayName", "")).casefold(), str(attrs.get("displayName")))]
        return name + _external_id_key(attrs)

    def index_keys(self) -> list[tuple[str, str]]:
        """Return ``(attribute, index key)`` for each unique attribute this record holds."""
        keys = [("displayName", self.display_name.casefold())]
        if self.external_id is not None:
            keys.append(("externalId", self.external_id))
        return keys


def _primary_email(attrs: JsonDict) -> str | None:
    emails = attrs.get("emails")
    if not isinstance(emails, list) or not emails:
        return None
    for item in emails:
        if isinstance(item, dict) and item.get("primary") and item.get("value") is not None:
            return str(item["value"])
    first = emails[0]
    if isinstance(first, dict) and first.get("value") is not None:
        return str(first["value"])
    return None
