"""The one JSON body reader of every jitbox protocol (SCIM, Graph, AWS JSON 1.1 and REST, the ``/_sandbox`` routes).

:func:`read_json_body` reads the request body up to :data:`MAX_BODY_BYTES` (a larger body is refused while it
streams in, before it is held in memory), decodes it as UTF-8 JSON and refuses nesting deeper than
:data:`MAX_DEPTH`. Every failure is a :class:`BodyError` with a ``kind`` (``too_large``, ``too_deep``, ``invalid``,
``empty``) and a message naming the limit; each fake maps it to its own error format (SCIM error, Graph envelope,
AWS error shape, sandbox error body) so no body, however built, reaches a handler that could answer 500.

The limits are ours (jitbox's), not the real services': AWS documents no SCIM body size, Graph none that a
sandbox client meets. 1 MiB is far above the largest real request (a 100-member PATCH is ~5 KB, a 32,768-byte
inline policy ~40 KB escaped) and 64 levels above the deepest real document (an IAM policy nests ~6 levels).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "PARSE_INLINE_BYTES",
    "BodyError",
    "json_depth",
    "parse_json_body",
    "read_body",
    "read_json_body",
]

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body any jitbox route reads (1 MiB)."""

MAX_DEPTH = 64
"""Deepest JSON nesting (objects and arrays) any jitbox route accepts."""

PARSE_INLINE_BYTES = 64 * 1024
"""Bodies up to this size are parsed on the event loop (well under a millisecond); larger ones in a worker thread."""

BodyErrorKind = Literal["too_large", "too_deep", "invalid", "empty"]


class BodyError(ValueError):
    """A request body no route may read: ``kind`` says why, ``status`` is the HTTP status that fits (413 or 400)."""

    def __init__(self, kind: BodyErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: BodyErrorKind = kind
        self.message = message
        self.status = 413 if kind == "too_large" else 400


async def read_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """Return the raw body, refusing (``too_large``) a declared or streamed size above ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise BodyError("too_large", f"the request body is {int(declared)} bytes; at most {max_bytes} are read")
    cached = getattr(request, "_body", None)
    if isinstance(cached, bytes):
        if len(cached) > max_bytes:
            raise BodyError("too_large", f"the request body is over {max_bytes} bytes")
        return cached
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyError("too_large", f"the request body is over {max_bytes} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # starlette's own cache: later request.body()/json() calls reuse it
    return body


def json_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Return the nesting depth of a parsed JSON value (a scalar is 0), counting iteratively up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def parse_json_body(raw: bytes, max_depth: int = MAX_DEPTH, allow_empty: bool = False) -> Any:
    """Return the JSON value of ``raw`` (None for an empty body when ``allow_empty``); raise :class:`BodyError`."""
    if not raw.strip():
        if allow_empty:
            return None
        raise BodyError("empty", "the request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("invalid", "the request body is not UTF-8 text") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise BodyError("too_deep", f"the request body nests deeper than {max_depth} levels") from None
    except ValueError:
        raise BodyError("invalid", "the request body is not valid JSON") from None
    if json_depth(value, max_depth) > max_depth:
        raise BodyError("too_deep", f"the request body nests deeper than {max_depth} levels")
    return value


async def read_json_body(
    request: Request, allow_empty: bool = False, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """Read and parse the request's JSON body within the limits; raise :class:`BodyError`.

    A body over :data:`PARSE_INLINE_BYTES` is parsed in a worker thread: parsing 1 MiB of JSON takes tens of
    milliseconds, which on the event loop would stall every other connection of the server meanwhile."""
    raw = await read_body(request, max_bytes)
    if len(raw) > PARSE_INLINE_BYTES:
        return await run_in_threadpool(parse_json_body, raw, max_depth, allow_empty)
    return parse_json_body(raw, max_depth, allow_empty)
