"""ListUsers/ListGroups filters: parsed by scim2-models, restricted to the combinations AWS documents.

"Only ``eq`` with ``and`` is supported" [DG-limits]. Allowed combinations:

- ListUsers [DG-listusers]: ``userName``, ``externalId``, ``groups.value``, ``id``, ``id and manager`` (either order);
- ListGroups [DG-listgroups]: ``displayName``, ``externalId``, ``members.value``, ``id and member(s)`` (either
  order).

The filter text is parsed with :class:`scim2_models.ScimFilter` (no hand-written parser); the AST is then checked
against the table above and turned into a :class:`Query` the SCIM layer answers from the store's indexes. One
shape skips the parser: a single ``attribute eq "value"`` with a plain attribute name, one space either side of a
lower-case ``eq`` and a value without quotes, backslashes or control characters — Entra's matching query [E-SCIM], sent once per object
in a sync. It gives the same :class:`Query` the parser does (``tests/test_scim_filters.py`` holds the two equal); a
grammar parse costs ~0.3 ms, a quarter of such a request. Attribute
names are case-insensitive (RFC 7643 §2.1); anything else is a 400 in AWS's shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError
from scim2_models import SCIMException, ScimFilter
from scim2_models.path import AttrPath, CompareOperator, Comparison, FilterNode, LogicalExpr

from scim_server.errors import ScimError

__all__ = ["Query", "parse_group_filter", "parse_user_filter"]

_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"


@dataclass(frozen=True)
class Query:
    """One allowed filter: ``terms`` maps a canonical attribute (``userName``, ``groups.value``, ...) to its value."""

    terms: dict[str, str]

    def key(self) -> str:
        """Return a stable text form (used to pin cursors to their filter)."""
        return "&".join(f"{k}={v}" for k, v in sorted(self.terms.items()))


MAX_FILTER_LENGTH = 2048
"""Longest filter text parsed (ours: AWS allows one or two ``eq`` terms [DG-limits], a few hundred characters)."""


def _parse(text: str) -> FilterNode:
    try:
        return ScimFilter(text).ast
    except RecursionError:
        raise ScimError.invalid("filter nests too deeply") from None
    except (SCIMException, ValidationError, ValueError, TypeError) as exc:
        raise ScimError.invalid(f"filter {text!r} is not valid SCIM filter syntax: {exc}") from None


def _comparisons(node: FilterNode, text: str) -> list[Comparison]:
    if isinstance(node, Comparison):
        terms: tuple[FilterNode, ...] = (node,)
    elif isinstance(node, LogicalExpr) and node.op.value == "and":
        terms = node.terms
    else:
        raise ScimError.invalid(f"filter {text!r}: only eq combined with and is supported [DG-limits]")
    out: list[Comparison] = []
    for term in terms:
        if not isinstance(term, Comparison) or term.op != CompareOperator.eq:
            raise ScimError.invalid(f"filter {text!r}: only eq combined with and is supported [DG-limits]")
        if not isinstance(term.value, str):
            raise ScimError.invalid(f"filter {text!r}: compare with a quoted string value")
        out.append(term)
    return out


def _name(path: AttrPath) -> str:
    base = path.attr.lower() if path.sub_attr is None else f"{path.attr.lower()}.{path.sub_attr.lower()}"
    if path.uri is not None:
        if path.uri.lower() != _ENTERPRISE:
            return f"{path.uri.lower()}:{base}"
        return f"enterprise:{base}"
    return base


_USER_ATTRS = {
    "username": "userName",
    "externalid": "externalId",
    "groups.value": "groups.value",
    "id": "id",
    "manager": "manager",
    "manager.value": "manager",
    "enterprise:manager": "manager",
    "enterprise:manager.value": "manager",
}
_USER_COMBOS = [{"userName"}, {"externalId"}, {"groups.value"}, {"id"}, {"id", "manager"}]

_GROUP_ATTRS = {
    "displayname": "displayName",
    "externalid": "externalId",
    "members.value": "members.value",
    "id": "id",
    "member": "member",
    "members": "member",
    "member.value": "member",
}
_GROUP_COMBOS = [{"displayName"}, {"externalId"}, {"members.value"}, {"id", "member"}]


_SIMPLE_EQ = re.compile(r'([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?) eq "([^"\\\x00-\x1f\x7f]*)"')
"""``attr eq "value"`` or ``attr.sub eq "value"``: the shape that needs no grammar (see the module docstring)."""


def _query(text: str, attrs: dict[str, str], combos: list[set[str]], where: str) -> Query:
    if len(text) > MAX_FILTER_LENGTH:  # before either path: the limit is the same whatever the filter's shape
        raise ScimError.invalid(f"filter is {len(text)} characters long; at most {MAX_FILTER_LENGTH}")
    simple = _SIMPLE_EQ.fullmatch(text)
    if simple is not None:
        canonical = attrs.get(simple.group(1).lower())
        if canonical is not None and {canonical} in combos:
            return Query({canonical: simple.group(2)})
    return _parsed_query(text, attrs, combos, where)


def _parsed_query(text: str, attrs: dict[str, str], combos: list[set[str]], where: str) -> Query:
    """Return the query for ``text`` through the scim2-models grammar (every shape)."""
    terms: dict[str, str] = {}
    for comp in _comparisons(_parse(text), text):
        canonical = attrs.get(_name(comp.attr_path))
        if canonical is None or canonical in terms:
            raise ScimError.invalid(f"filter {text!r}: {comp.attr_path} is not a supported filter attribute [{where}]")
        terms[canonical] = str(comp.value)
    if set(terms) not in combos:
        allowed = ", ".join(" and ".join(sorted(c)) for c in combos)
        raise ScimError.invalid(f"filter {text!r}: supported combinations are {allowed} [{where}]")
    return Query(terms)


def parse_user_filter(text: str) -> Query:
    """Return the ListUsers query for ``text`` or raise a 400 :class:`ScimError` [DG-listusers]."""
    return _query(text, _USER_ATTRS, _USER_COMBOS, "DG-listusers")


def parse_group_filter(text: str) -> Query:
    """Return the ListGroups query for ``text`` or raise a 400 :class:`ScimError` [DG-listgroups]."""
    return _query(text, _GROUP_ATTRS, _GROUP_COMBOS, "DG-listgroups")
