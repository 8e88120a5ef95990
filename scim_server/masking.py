"""Masking of the SCIM fake's request log: no personal value and no secret a client sent reaches the log [UG-scimct].

AWS's CloudTrail entries for SCIM calls show ``HIDDEN_DUE_TO_SECURITY_REASONS`` in place of personal values
[UG-scimct]; the fake's log does the same for everything a request carries:

- the body (:func:`mask_body`): every string but AWS ids and structure (``op``, a PATCH ``path`` naming a SCIM
  attribute, ``type``, ``schemas`` URNs, booleans) is hidden;
- the query (:func:`mask_query`): filter values (:func:`mask_filter`), every parameter the fake does not know (its
  name too), and known ones whose value is not of their shape (``count=alice``);
- the path (:func:`mask_path`): segments that are not the tenant id, an AWS id or a SCIM word;
- the explanations (``reason``, ``errorMessage``; :func:`mask_echoes`): quoted values, and every value the request
  carried (:func:`echoed_values`) wherever a message repeats it, quoted or not.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "HIDDEN",
    "attribute_path",
    "echoed_values",
    "mask_body",
    "mask_echoes",
    "mask_filter",
    "mask_path",
    "mask_query",
    "mask_text",
]

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
MASK_DEPTH = 64
_ATTRIBUTES = {
    "id", "externalid", "username", "name", "displayname", "nickname", "profileurl", "title", "usertype",
    "preferredlanguage", "locale", "timezone", "active", "emails", "phonenumbers", "addresses", "members", "meta",
    "schemas", "givenname", "familyname", "formatted", "middlename", "honorificprefix", "honorificsuffix", "value",
    "type", "primary", "display", "streetaddress", "locality", "region", "postalcode", "country", "employeenumber",
    "costcenter", "organization", "division", "department", "manager", "groups", "roles", "entitlements",
}  # fmt: skip
"""SCIM User/Group attribute names (lower case) a PATCH ``path`` or an ``attributes`` parameter may name."""
_OPS = {"add", "replace", "remove"}

_KEYS = {"operations", "op", "path", "$ref", "resourcetype", "schemas"}
"""Body keys of the SCIM protocol itself (besides attribute names)."""
_ID_RE = re.compile(r"^([0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def mask_body(value: Any, key: str = "", depth: int = 0) -> Any:
    """Return ``value`` with personal strings replaced by ``HIDDEN_DUE_TO_SECURITY_REASONS`` ([UG-scimct]).

    Structure (``op`` add/replace/remove, a ``path`` naming a SCIM attribute, a one-word ``type``, ``schemas`` URNs,
    string booleans) and AWS ids stay readable; every other string is hidden.
    Below :data:`MASK_DEPTH` levels the whole value is hidden (bodies are read at most
    :data:`fakekit.body.MAX_DEPTH` deep, so this bounds the recursion even for values that did not come from HTTP).
    """
    if depth > MASK_DEPTH:
        return HIDDEN
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for k, v in value.items():
            name = k if _known_key(k) else HIDDEN if HIDDEN not in masked else f"{HIDDEN}#{len(masked)}"
            masked[name] = mask_body(v, k, depth + 1)
        return masked
    if isinstance(value, list):
        return [mask_body(v, key, depth + 1) for v in value]
    if isinstance(value, str):
        return value if _ID_RE.match(value) or _structure(key.lower(), value) else HIDDEN
    return value


def _structure(key: str, value: str) -> bool:
    """Return True when ``value`` under ``key`` is structure of the request, not data a client chose."""
    if key == "op":
        return value.lower() in _OPS
    if key == "path":
        return attribute_path(value)
    if key in ("type", "resourcetype"):
        return bool(re.fullmatch(r"[A-Za-z]{1,32}", value))
    if key == "schemas":
        return bool(re.fullmatch(r"urn:[A-Za-z0-9:._-]{1,200}", value))
    if key in ("primary", "active"):
        return value.lower() in ("true", "false")
    return False


def _known_key(key: str) -> bool:
    """Return True for a body key that is SCIM structure or an attribute name (an extension URN included)."""
    return key.lower() in _KEYS or key.lower() in _ATTRIBUTES or bool(re.fullmatch(r"urn:[A-Za-z0-9:._-]{1,200}", key))


def attribute_path(text: str) -> bool:
    """Return True for a SCIM attribute path naming a known attribute (``name.givenName``, ``emails[type eq
    "work"].value``, ``urn:...:User:manager``) whose filter, if any, holds only ids and structure."""
    base, bracket, rest = text.partition("[")
    if bracket and mask_filter(bracket + rest) != bracket + rest:
        return False
    if base.lower().startswith("urn:"):
        base = base.rsplit(":", 1)[-1]
    parts = base.split(".")
    return all(p.lower() in _ATTRIBUTES for p in parts if p) and bool(base)


_QUOTED_TEXT = re.compile(r"'([^']*)'|\"((?:[^\"\\]|\\.)*)\"")
_PARAM_SHAPES: dict[str, re.Pattern[str]] = {
    "startindex": re.compile(r"[0-9]{1,10}"),
    "count": re.compile(r"[0-9]{1,10}"),
    "sortorder": re.compile(r"ascending|descending", re.IGNORECASE),
    "cursor": re.compile(r"[-a-zA-Z0-9+=/:_]{16,512}"),
}
"""Query parameters kept when their value has this shape (paging); ``attributes``, ``excludedAttributes`` and
``sortBy`` are kept when they name SCIM attributes."""
_ATTRIBUTE_PARAMS = {"attributes", "excludedattributes", "sortby"}
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
"""An unknown parameter's name is kept (its value hidden) when it looks like a parameter name (``access_token``)."""


def mask_query(params: dict[str, str]) -> dict[str, str]:
    """Return query parameters masked: ``filter`` values hidden (:func:`mask_filter`), paging and attribute-name
    parameters kept when their value has that shape, every other parameter's value hidden, and its name too unless it
    looks like a parameter name (an ``?access_token=`` value or ``?alice@example.com`` never reaches the log)."""
    masked: dict[str, str] = {}
    for name, value in params.items():
        lowered = name.lower()
        shape = _PARAM_SHAPES.get(lowered)
        if lowered == "filter":
            masked[name] = mask_filter(value)
        elif shape is not None:
            masked[name] = value if shape.fullmatch(value) else HIDDEN
        elif lowered in _ATTRIBUTE_PARAMS:
            masked[name] = value if all(attribute_path(a.strip()) for a in value.split(",")) else HIDDEN
        elif _PARAM_NAME.fullmatch(name):
            masked[name] = HIDDEN
        else:
            masked[HIDDEN if HIDDEN not in masked else f"{HIDDEN}#{len(masked)}"] = HIDDEN
    return masked


_FILTER_TOKEN = re.compile(r"\"(?:[^\"\\]|\\.)*\"?|'[^']*'?|[()\[\]]|[^\s()\[\]\"']+")
_FILTER_OPERATORS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"}
_FILTER_WORDS = _FILTER_OPERATORS | {"and", "or", "not", "true", "false", "null"}
_ATTRIBUTE = re.compile(r"^[A-Za-z][\w.:$-]*$")
_PATH_WORDS = {"scim", "v2", "users", "groups", "serviceproviderconfig", "schemas", "resourcetypes", "me", "bulk"}


def mask_filter(text: str) -> str:
    """Return a SCIM ``filter`` with every value hidden: quoted values (unless AWS ids) and bare words that are not
    an attribute path before an operator, an operator, ``and``/``or``/``not`` or a literal (``userName eq alice``
    and a filter that is only ``alice`` are malformed, and still personal)."""
    tokens = list(_FILTER_TOKEN.finditer(text))
    out: list[str] = []
    pos = 0
    for i, match in enumerate(tokens):
        token = match.group(0)
        following = tokens[i + 1].group(0).lower() if i + 1 < len(tokens) else ""
        out.append(text[pos : match.start()])
        pos = match.end()
        if token[0] in "\"'":
            out.append(token if _ID_RE.match(token[1:-1]) else f'"{HIDDEN}"')
            continue
        structure = token in ("(", ")", "[", "]") or token.lower() in _FILTER_WORDS or bool(_ID_RE.match(token))
        previous = tokens[i - 1].group(0) if i else ""
        attribute = (following in _FILTER_OPERATORS or following == "[") and bool(_ATTRIBUTE.match(token))
        attribute = attribute or (previous == "]" and bool(re.fullmatch(r"\.[A-Za-z]\w*", token)))
        out.append(token if structure or attribute else HIDDEN)
    out.append(text[pos:])
    return "".join(out)


def mask_path(path: str, tenant: str) -> str:
    """Return a request path with every segment hidden that is not the tenant id, an AWS id, ``scim``/``v2``, a SCIM
    resource or endpoint name or a schema URN (``/{tenant}/scim/v2/Users/alice`` echoes what the client sent)."""

    def keep(segment: str) -> bool:
        return (
            segment in ("", tenant)
            or segment.lower() in _PATH_WORDS
            or segment.lower().startswith("urn:")
            or bool(_ID_RE.match(segment))
        )

    return "/".join(s if keep(s) else HIDDEN for s in path.split("/"))


def echoed_values(
    data: Any, params: dict[str, str], path: str, tenant: str, messages: tuple[str | None, ...] = ()
) -> set[str]:
    """Return the values a request carried that ``messages`` repeat (all of them when no message is given): body
    strings and keys (not AWS ids nor the structure :func:`mask_body` keeps), query values and path segments
    :func:`mask_path` hides. With messages, a value is only examined once it occurs in one (a 1 MiB body holds
    thousands of strings; a message is a line), so this costs one walk of the body."""
    text = "\n".join(m for m in messages if m)
    if messages and not text:
        return set()

    def repeated(value: str) -> bool:
        return len(value.strip()) >= 3 and (not text or value in text)

    found: set[str] = set()
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, key = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, k.lower()) for k, v in value.items())
            found.update(k for k in value if repeated(k) and not _known_key(k))
        elif isinstance(value, list):
            stack.extend((v, key) for v in value)
        elif isinstance(value, str) and repeated(value) and not _ID_RE.match(value) and not _structure(key, value):
            found.add(value)
    kept = mask_query(params)  # paging numbers and attribute names are no personal values
    found.update(v for k, v in params.items() if repeated(v) and kept.get(k) != v)
    found.update(s for s in path.split("/") if repeated(s) and mask_path(s, tenant) == HIDDEN)
    return found


def mask_echoes(text: str | None, values: set[str]) -> str | None:
    """Return a log message with quoted values hidden (:func:`mask_text`) and every one of ``values`` (what the
    request carried, :func:`echoed_values`) hidden wherever it is repeated, quoted or not."""
    masked = mask_text(text)
    if masked is None:
        return None
    for value in sorted((v for v in values if v in masked), key=len, reverse=True):
        masked = masked.replace(value, HIDDEN)
    return masked


def mask_text(text: str | None) -> str | None:
    """Return a log message with every quoted value (``'...'`` or ``"..."``) hidden unless it is an AWS id or a known
    attribute path (AWS's own texts quote them: ``Value at 'name.givenName'``): the fake's explanations echo the
    values they refuse (``userName 'alice@example.com' is taken``)."""
    if text is None:
        return None

    def hide(match: re.Match[str]) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if _ID_RE.match(inner) or attribute_path(inner) else f"'{HIDDEN}'"

    return _QUOTED_TEXT.sub(hide, text)
