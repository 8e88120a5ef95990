"""A small OData ``$filter`` evaluator for the fake's list endpoints.

Supports what Graph's PIM and directory list calls use [G-ASI-LIST][G-FBCU][G-POL-LIST]: comparisons ``eq`` and
``ne`` between a property path (``groupId``, ``createdBy/user/id``) and a literal (``'text'``, ``null``, ``true``,
``false``, numbers), combined with ``and`` / ``or`` and parentheses. Property names and the ``eq``/``and``
keywords are case-insensitive; string comparison is case-insensitive, as Graph's is for ids and enum values.
Anything else is a :class:`FilterError` whose message quotes the clause.

Bounds (ours, not Graph's; Graph documents none a client meets): at most :data:`MAX_NESTING` levels of parentheses
and :data:`MAX_CLAUSES` comparisons, and ``and``/``or`` chains are evaluated flat, so no ``$filter`` (500 nested
parentheses, thousands of ``or``) can exhaust the parser's or the evaluator's stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MAX_CLAUSES", "MAX_NESTING", "FilterError", "Predicate", "parse_filter"]

MAX_NESTING = 32
"""Deepest parenthesis nesting a ``$filter`` may use."""

MAX_CLAUSES = 100
"""Most comparisons one ``$filter`` may hold."""

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lp>\()|(?P<rp>\))|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_@][\w/.@-]*))"
)


class FilterError(ValueError):
    """A ``$filter`` the fake cannot evaluate."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None and not text[pos:].strip():
            break
        if m is None:
            raise FilterError(f"Invalid filter clause: unexpected text at {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _lookup(item: Mapping[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        match = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(match) if match is not None else None
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return bool(a == b)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.text = text
        self.depth = 0
        self.clauses = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FilterError(f"Invalid filter clause: {self.text!r} ends too early")
        self.pos += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise FilterError(f"Invalid filter clause: unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok[0] == "word" and tok[1].lower() == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else lambda item: any(p(item) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.term()]
        while (tok := self.peek()) is not None and tok[0] == "word" and tok[1].lower() == "and":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else lambda item: all(p(item) for p in parts)

    def term(self) -> Predicate:
        kind, value = self.take()
        if kind == "lp":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise FilterError(f"Invalid filter clause: more than {MAX_NESTING} nested parentheses")
            inner = self.or_expr()
            if self.take()[0] != "rp":
                raise FilterError(f"Invalid filter clause: missing ')' in {self.text!r}")
            self.depth -= 1
            return inner
        if kind != "word":
            raise FilterError(f"Invalid filter clause: expected a property name, got {value!r} in {self.text!r}")
        path = value
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise FilterError(f"Invalid filter clause: more than {MAX_CLAUSES} comparisons")
        op_kind, op = self.take()
        if op_kind != "word" or op.lower() not in ("eq", "ne"):
            raise FilterError(
                f"Invalid filter clause: operator {op!r} is not supported (use eq or ne) in {self.text!r}"
            )
        literal = self.literal()
        negate = op.lower() == "ne"
        return lambda item: _same(_lookup(item, path), literal) != negate

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "word" and value.lower() in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[value.lower()]
        raise FilterError(f"Invalid filter clause: {value!r} is not a literal in {self.text!r}")


def parse_filter(text: str | None) -> Predicate | None:
    """Return a predicate over JSON objects for ``text``, or None when there is no filter."""
    if text is None or not text.strip():
        return None
    return _Parser(_tokens(text), text).parse()
