"""Graph collections: ``$filter`` and ``$top`` over a list of resources, and the collection envelope."""

from __future__ import annotations

from typing import Any

from pim_fake.errors import bad_request
from pim_fake.odata import FilterError, parse_filter

__all__ = ["collection", "filtered"]


def filtered(items: list[dict[str, Any]], filter_text: str | None) -> list[dict[str, Any]]:
    """Return the items ``filter_text`` (an OData ``$filter``, or None for all) keeps; a bad filter is a 400."""
    try:
        pred = parse_filter(filter_text)
    except FilterError as exc:
        raise bad_request(str(exc)) from None
    return [i for i in items if pred is None or pred(i)]


def collection(
    items: list[dict[str, Any]], context: str, filter_text: str | None, top: str | None, apply_filter: bool = True
) -> dict[str, Any]:
    """Return a Graph collection of ``items`` after ``$filter`` (when ``apply_filter``) and ``$top``."""
    if apply_filter:
        items = filtered(items, filter_text)
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            raise bad_request(f"Invalid value {top!r} for query option $top; it must be a positive integer.")
        items = items[: int(top)]
    return {"@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{context}", "value": items}
