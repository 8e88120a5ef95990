"""Graph collections: ``$filter``, server-driven paging (``$top``, ``$skiptoken``, ``@odata.nextLink``) and the
collection envelope.

Microsoft Graph answers a collection one page at a time: ``$top`` asks for a page size, a page that is not the last
carries ``@odata.nextLink`` (the same request with an opaque ``$skiptoken``) and a client follows it until a page has
none (msgraph-sdk's ``PageIterator`` does). The page sizes are not in jitbox's references, so they are an
UNCONFIRMED switch: :data:`DEFAULT_PAGE_SIZE` (100, Graph's documented default for users and groups) when the client
sends no ``$top``, at most :data:`MAX_PAGE_SIZE` (999) when it does; ``create_app(graph_page_size=N)`` and ``jitbox
serve --graph-page-size N`` change the default.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pim_fake.errors import bad_request
from pim_fake.odata import FilterError, parse_filter

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Paging", "collection", "filtered"]

DEFAULT_PAGE_SIZE = 100
"""Items per page when the client sends no ``$top`` (UNCONFIRMED switch, see the module docstring)."""
MAX_PAGE_SIZE = 999
"""Largest page a ``$top`` gets (UNCONFIRMED; larger values are served 999 at a time)."""


def filtered(items: list[dict[str, Any]], filter_text: str | None) -> list[dict[str, Any]]:
    """Return the items ``filter_text`` (an OData ``$filter``, or None for all) keeps; a bad filter is a 400."""
    try:
        pred = parse_filter(filter_text)
    except FilterError as exc:
        raise bad_request(str(exc)) from None
    return [i for i in items if pred is None or pred(i)]


class Paging:
    """The paging of one request: its URL (for ``@odata.nextLink``), ``$skiptoken`` and the default page size."""

    def __init__(self, url: str, skiptoken: str | None, default_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.url = url
        self.skiptoken = skiptoken
        self.default_size = default_size

    def offset(self) -> int:
        """Return the first item's index the ``$skiptoken`` names (0 without one); a token jitbox did not issue is a
        400."""
        if self.skiptoken is None:
            return 0
        try:
            data = json.loads(base64.urlsafe_b64decode(self.skiptoken.encode("ascii") + b"=="))
            offset = data["o"] if isinstance(data, dict) else None
        except (ValueError, UnicodeError, binascii.Error, KeyError):
            offset = None
        if type(offset) is not int or offset < 0:
            raise bad_request("Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.")
        return offset

    def next_link(self, offset: int) -> str:
        """Return this request's URL with a ``$skiptoken`` naming ``offset`` (any earlier one replaced)."""
        token = base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "$skiptoken"]
        query.append(("$skiptoken", token))
        return urlunsplit(parts._replace(query=urlencode(query, safe="$'")))


def collection(
    items: list[dict[str, Any]],
    context: str,
    filter_text: str | None,
    top: str | None,
    apply_filter: bool = True,
    paging: Paging | None = None,
) -> dict[str, Any]:
    """Return one page of the Graph collection of ``items`` after ``$filter`` (when ``apply_filter``): ``$top`` (or
    the default) items from the ``$skiptoken``'s offset, with ``@odata.nextLink`` when more follow."""
    if apply_filter:
        items = filtered(items, filter_text)
    paging = paging or Paging("", None)
    size = paging.default_size
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            raise bad_request(f"Invalid value {top!r} for query option $top; it must be a positive integer.")
        size = min(int(top), MAX_PAGE_SIZE)
    start = paging.offset()
    body: dict[str, Any] = {
        "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{context}",
        "value": items[start : start + size],
    }
    if start + size < len(items) and paging.url:
        body["@odata.nextLink"] = paging.next_link(start + size)
    return body
