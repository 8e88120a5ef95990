"""``NextToken`` / ``MaxResults`` pagination shared by the JSON 1.1 APIs [BC-ids][BC-ssoadmin][BC-sso].

Tokens are opaque to clients: the offset of the next item, base64-encoded. A token that does not decode is a
``ValidationException`` naming ``NextToken``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, TypeVar

from .errors import validation

__all__ = ["decode_token", "encode_token", "paginate"]

T = TypeVar("T")


def encode_token(offset: int) -> str:
    """Return the opaque token for ``offset``."""
    return base64.urlsafe_b64encode(f"jitbox:{offset}".encode()).decode()


def decode_token(token: Any, name: str = "NextToken") -> int:
    """Return the offset inside ``token``; raise ``ValidationException`` naming ``name`` when it is not ours."""
    try:
        text = base64.urlsafe_b64decode(str(token).encode()).decode()
        prefix, _, number = text.partition(":")
        offset = int(number)
        if prefix != "jitbox" or offset < 0:
            raise ValueError(text)
    except ValueError:
        raise validation(f"{name} {token!r} is not a token this service returned") from None
    return offset


def paginate(
    items: Sequence[T],
    body: dict[str, Any],
    *,
    max_cap: int = 100,
    token_name: str = "NextToken",
    size_name: str = "MaxResults",
) -> tuple[list[T], dict[str, str]]:
    """Return one page of ``items`` and ``{token_name: ...}`` when more remain.

    ``MaxResults`` must be 1..``max_cap`` (default ``max_cap``); raises ``ValidationException`` naming the field.
    """
    size = body.get(size_name)
    if size is None:
        size = max_cap
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= max_cap:
        raise validation(f"{size_name} must be an integer from 1 to {max_cap}, got {size!r}")
    token = body.get(token_name)
    start = decode_token(token, token_name) if token else 0
    page = list(items[start : start + size])
    more = start + size < len(items)
    return page, ({token_name: encode_token(start + size)} if more else {})
