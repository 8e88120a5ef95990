"""Paging for ListUsers/ListGroups: the ``count``/``cursor`` parameters, opaque cursors, the ListResponse body.

- ``count`` 1–100, default 100 [DG-listusers][DG-listgroups]; ``startIndex``, ``attributes`` and
  ``excludedAttributes`` are refused (400), except ``excludedAttributes=members`` on groups, which Entra sends
  [E-SCIM].
- A cursor matches ``[-a-zA-Z0-9+=/:_]*`` [DG-listusers]. It encodes the resource kind, a digest of the filter and
  the creation sequence to continue after, so a cursor is refused for another resource type or filter (Floci;
  AWS UNCONFIRMED).
- Without ``cursor`` the answer is the classic ListResponse (``totalResults``, ``startIndex``), truncated to one
  page (UNCONFIRMED); with ``cursor`` it is ``{itemsPerPage, Resources, nextCursor?}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from scim_server.errors import ScimError
from scim_server.records import JsonDict

__all__ = [
    "LIST_URN",
    "MAX_COUNT",
    "PageRequest",
    "list_response",
    "page_all",
    "page_ids",
    "read_page_request",
    "reject_unsupported_params",
]

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 100
"""Page size limit and default [DG-listusers][DG-listgroups]."""

_CURSOR_RE = re.compile(r"^[-a-zA-Z0-9+=/:_]*$")
"""Cursor pattern [DG-listusers]."""


@dataclass(frozen=True)
class PageRequest:
    """What a list request asks for: page size and the cursor it sent (None for the first, classic page)."""

    count: int
    cursor: str | None


def reject_unsupported_params(query: Mapping[str, str], *, users: bool) -> None:
    """Return None unless ``query`` holds a parameter AWS refuses on this resource; then raise 400 [DG-listusers]."""
    params = {k.lower(): v for k, v in query.items()}
    if "startindex" in params:
        raise ScimError.invalid("startIndex is not supported; use cursor [DG-listusers]")
    if "attributes" in params:
        raise ScimError.invalid("attributes is not supported [DG-listusers]")
    excluded = params.get("excludedattributes")
    if excluded is not None and (users or excluded.strip().lower() != "members"):
        # Entra asks for groups with excludedAttributes=members [E-SCIM]; members are always empty anyway.
        raise ScimError.invalid("excludedAttributes is not supported [DG-listusers]")


def read_page_request(query: Mapping[str, str], *, users: bool) -> PageRequest:
    """Return the page size and cursor ``query`` asks for; 400 on refused parameters or out-of-range values."""
    reject_unsupported_params(query, users=users)
    raw = query.get("count")
    count = MAX_COUNT
    if raw is not None:
        try:
            count = int(raw)
        except ValueError:
            raise ScimError.invalid(f"count must be an integer from 1 to {MAX_COUNT}, got {raw!r}") from None
        if not 1 <= count <= MAX_COUNT:
            raise ScimError.invalid(f"count must be from 1 to {MAX_COUNT}, got {count} [DG-listusers]")
    cursor = query.get("cursor")
    if cursor is not None and not _CURSOR_RE.match(cursor):
        raise ScimError.invalid("cursor does not match [-a-zA-Z0-9+=/:_]* [DG-listusers]")
    return PageRequest(count, cursor)


def list_response(resources: list[Any], total: int) -> JsonDict:
    """Return the classic ListResponse body (``startIndex`` 1) holding ``resources`` out of ``total``."""
    return {
        "schemas": [LIST_URN],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": 1,
        "Resources": resources,
    }


def page_all(
    lock: AbstractContextManager[Any],
    pager: Callable[[int, int], tuple[list[JsonDict], int | None]],
    total: Callable[[], int],
    render: Callable[[JsonDict], JsonDict],
    page: PageRequest,
    kind: str,
) -> JsonDict:
    """Return one page of every resource of ``kind`` (``u``/``g``) in creation order, read under ``lock``.

    ``pager(after, limit)`` is the store's ``page_users``/``page_groups``; ``render`` turns a stored body into the
    answered one.
    """
    after = _decode_cursor(page.cursor, kind, "") if page.cursor else 0
    with lock:
        bodies, last = pager(after, page.count)
        n = total()
    resources = [render(b) for b in bodies]
    return _page_body(resources, page.cursor, None if last is None else _encode_cursor(kind, "", last), n)


def page_ids(
    lock: AbstractContextManager[Any],
    ids: list[str],
    seq_of: Callable[[str], int],
    render: Callable[[str], JsonDict],
    page: PageRequest,
    kind: str,
    key: str,
) -> JsonDict:
    """Return one page of the resources a filter selected (``ids``), in creation order, read under ``lock``.

    ``seq_of`` gives an id's creation sequence, ``render`` its answered body; ``key`` pins cursors to the filter.
    """
    after = _decode_cursor(page.cursor, kind, key) if page.cursor else 0
    with lock:
        pairs = sorted((seq_of(i), i) for i in ids)
        remaining = [(s, i) for s, i in pairs if s > after]
        chosen = remaining[: page.count]
        resources = [render(i) for _, i in chosen]
    nxt = _encode_cursor(kind, key, chosen[-1][0]) if len(remaining) > page.count else None
    return _page_body(resources, page.cursor, nxt, len(ids))


def _encode_cursor(kind: str, key: str, seq: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(f"{kind}:{digest}:{seq}".encode()).decode()


def _decode_cursor(cursor: str, kind: str, key: str) -> int:
    try:
        k, digest, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        value = int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ScimError.invalid("cursor is not one this endpoint returned") from None
    if k != kind or digest != hashlib.sha256(key.encode()).hexdigest()[:12]:
        raise ScimError.invalid(
            "cursor belongs to another resource type or filter (filters cannot change between pages)"
        )
    return value


def _page_body(resources: list[JsonDict], cursor: str | None, next_cursor: str | None, total: int) -> JsonDict:
    if cursor is None:
        # Without cursor: classic ListResponse; beyond one page it is truncated (UNCONFIRMED).
        return list_response(resources, total)
    body: JsonDict = {"schemas": [LIST_URN], "itemsPerPage": len(resources), "Resources": resources}
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    return body
