"""Graph bearer tokens of the fake Entra: random per sandbox, each expiring on the sandbox clock.

- **Random**: every token is ``secrets.token_urlsafe(32)`` (256 bits), drawn afresh for every sandbox, reset and
  mint, never from the sandbox seed: a token cannot be guessed from the world or the seed, and the same seed gives
  the same ids and timings but not the same tokens.
- **Expiry** on the injected clock: Microsoft documents the default lifetime of an Entra access token as a random
  value between 60 and 90 minutes (75 on average) and a configurable lifetime of 10 minutes to 1 day (Microsoft
  identity platform, "Access tokens" / "Configurable token lifetimes"). That page is not among the project's
  references, so the lifetime is an UNCONFIRMED switch: :data:`DEFAULT_TOKEN_LIFETIME` = 60 min (the documented
  minimum, so a client that renews in time here renews in time against Entra), settable per sandbox
  (``create_app(token_lifetime=...)``, ``jitbox serve --graph-token-lifetime``) and per minted token
  (``POST /_sandbox/tokens`` ``"lifetime"``) within :data:`TOKEN_LIFETIME_RANGE`.
- An expired token gets Graph's 401 ``InvalidAuthenticationToken`` envelope [G-ERR] with the message
  :data:`EXPIRED_MESSAGE` (the message text is UNCONFIRMED; the code and status are Graph's).
- **Default tokens** (``graph_tokens`` in the config, ``GET /_sandbox/tokens``): one current token per world
  identity, replaced by a fresh one when less than :data:`RENEW_BEFORE` of its life is left, so a token read from
  the config is good for at least that long. Clients read them from the config or the sandbox API, never hard-code
  them; :class:`DefaultTokens` is the live view the app publishes as ``app.state.graph_tokens``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sim.durations import DurationError, format_duration, parse_duration

if TYPE_CHECKING:
    from pim_fake.directory import Caller

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "EXPIRED_MESSAGE",
    "RENEW_BEFORE",
    "TOKEN_LIFETIME_RANGE",
    "DefaultTokens",
    "IssuedToken",
    "TokenBook",
    "parse_token_lifetime",
]

DEFAULT_TOKEN_LIFETIME = 3600.0
"""Seconds a Graph token lives: 60 min, the low end of Entra's documented 60-90 min default (UNCONFIRMED switch)."""

TOKEN_LIFETIME_RANGE = (600.0, 86400.0)
"""Allowed token lifetimes: 10 min - 1 day, Entra's configurable access-token lifetime range (UNCONFIRMED)."""

RENEW_BEFORE = 300.0
"""A default token with less than 5 minutes left is replaced when read (sandbox convenience, not an Entra rule)."""

EXPIRED_MESSAGE = "Lifetime validation failed, the token is expired."
"""The message of the 401 ``InvalidAuthenticationToken`` for an expired token (text UNCONFIRMED)."""

_PURGE_ABOVE = 10_000
"""Expired tokens are remembered (so they answer "expired") until the book holds more than this many tokens."""


def parse_token_lifetime(value: str | float, where: str = "lifetime") -> float:
    """Return a token lifetime in seconds from ``PT1H``/``90m``/seconds, or raise ValueError naming ``where`` and
    :data:`TOKEN_LIFETIME_RANGE`."""
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise ValueError(f"{where}: {exc}") from None
    low, high = TOKEN_LIFETIME_RANGE
    if not low <= seconds <= high:
        raise ValueError(
            f"{where} = {format_duration(seconds)} is outside {format_duration(low)} – {format_duration(high)} "
            "(Entra's configurable access-token lifetime, UNCONFIRMED)"
        )
    return seconds


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token's caller (identity and claims) and the clock time it stops being accepted."""

    caller: Caller
    expires: datetime


class TokenBook:
    """The tokens a tenant has issued: token → :class:`IssuedToken`, plus each identity's current default token."""

    def __init__(self, now: Callable[[], datetime], lifetime: float = DEFAULT_TOKEN_LIFETIME) -> None:
        self._now = now
        self.lifetime = parse_token_lifetime(lifetime, "token_lifetime")
        self.issued: dict[str, IssuedToken] = {}
        self.defaults: dict[str, str] = {}

    def clear(self) -> None:
        """Forget every token (sandbox reset: the old tokens stop working)."""
        self.issued.clear()
        self.defaults.clear()

    def mint(self, caller: Caller, lifetime: float | None = None) -> str:
        """Return a new random token for ``caller`` that expires ``lifetime`` seconds (default: the book's) from now."""
        if len(self.issued) > _PURGE_ABOVE:
            self._purge()
        token = secrets.token_urlsafe(32)
        seconds = self.lifetime if lifetime is None else lifetime
        self.issued[token] = IssuedToken(caller, self._now() + timedelta(seconds=seconds))
        return token

    def default(self, name: str, caller: Callable[[], Caller]) -> str:
        """Return the current default token of the identity ``name``, minting one (for ``caller()``) when there is
        none or less than :data:`RENEW_BEFORE` of its life is left."""
        token = self.defaults.get(name)
        issued = self.issued.get(token) if token is not None else None
        if token is None or issued is None or issued.expires - self._now() < timedelta(seconds=RENEW_BEFORE):
            token = self.mint(caller())
            self.defaults[name] = token
        return token

    def lookup(self, token: str) -> IssuedToken | None:
        """Return what ``token`` was issued as (expired or not), or None for a token this book never issued."""
        return self.issued.get(token)

    def expired(self, issued: IssuedToken) -> bool:
        """Return True once the clock has reached the token's expiry."""
        return self._now() >= issued.expires

    def _purge(self) -> None:
        now = self._now()
        for token in [t for t, i in self.issued.items() if now >= i.expires]:
            del self.issued[token]


class DefaultTokens(Mapping[str, str]):
    """The live ``graph_tokens`` mapping: identity name → its current default token (renewed as it nears expiry).

    ``names`` are the world's identities in seeding order; ``current(name)`` returns the current token.
    """

    def __init__(self, names: list[str], current: Callable[[str], str]) -> None:
        self._names = list(dict.fromkeys(names))
        self._current = current

    def __getitem__(self, name: str) -> str:
        if name not in self._names:
            raise KeyError(name)
        return self._current(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
