"""SCIM bearer tokens and the tenant id of the fake IAM Identity Center.

- Tokens are valid for one year from creation on the injected clock ([UG23-prov]: "generated with a validity of
  one year"); an expired token answers 401 like a wrong one.
- At most two tokens exist at a time; creating a third is refused until one is deleted ([UG-rotate]).
- The tenant id looks like AWS's ``<11 chars>-<uuid>`` (observed ``f3v2c1eb369-9368-...`` [CODE-grouper]); its
  relationship to the IdentityStoreId is UNCONFIRMED, so the fake derives nothing from it.

Tokens and the tenant id are persisted through the store's journal (kinds ``token`` and ``meta``) when one is
configured, so ``jitbox serve --state FILE`` keeps the same URL and token across restarts.
"""

from __future__ import annotations

import hmac
import json
import random
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fakekit.ids import seeded_uuid
from scim_server.journal import Journal
from scim_server.records import format_time
from sim.clock import Clock

__all__ = ["MAX_TOKENS", "TOKEN_LIFETIME", "Token", "TokenError", "TokenManager", "new_tenant_id"]

TOKEN_LIFETIME = 365 * 24 * 3600.0
"""One year in seconds [UG23-prov]."""

MAX_TOKENS = 2
"""Tokens allowed at a time [UG-rotate]."""


class TokenError(ValueError):
    """A token operation that cannot be done (third token, unknown token id)."""


@dataclass(frozen=True)
class Token:
    """One SCIM access token: ``id`` (shown in listings), ``secret`` (the bearer value), creation/expiry seconds."""

    id: str
    secret: str
    created: float
    expires: float

    def public(self, now: float) -> dict[str, Any]:
        """Return the token's listing (no secret): id, created, expires, expired flag."""
        return {
            "id": self.id,
            "created": format_time(self.created),
            "expires": format_time(self.expires),
            "expired": now >= self.expires,
        }


def new_tenant_id(rng: random.Random | None = None) -> str:
    """Return a tenant id in the observed ``<11 chars>-<uuid>`` form ([CODE-grouper]); seeded when ``rng`` given."""
    r = rng or random.SystemRandom()
    prefix = "".join(r.choice(string.ascii_lowercase + string.digits) for _ in range(11))
    return f"{prefix}-{seeded_uuid(r)}"


class TokenManager:
    """Create, list, delete and check SCIM bearer tokens (at most :data:`MAX_TOKENS`, each valid one year)."""

    def __init__(self, clock: Clock, journal: Journal | None = None, *, seed: int | None = None) -> None:
        self.clock = clock
        self._journal = journal
        self._lock = threading.Lock()
        self._rng = random.Random(seed) if seed is not None else None
        self._tokens: dict[str, Token] = {}
        if journal is not None:
            for key, value in journal.load("token"):
                data = json.loads(value)
                self._tokens[key] = Token(key, data["secret"], float(data["created"]), float(data["expires"]))

    def _secret(self) -> str:
        if self._rng is not None:
            return "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(64))
        return secrets.token_urlsafe(48)

    def create(self, secret: str | None = None) -> Token:
        """Create a token valid for one year from now (``secret`` or a random one); :class:`TokenError` if two exist."""
        with self._lock:
            if len(self._tokens) >= MAX_TOKENS:
                raise TokenError(
                    f"an IAM Identity Center directory supports up to {MAX_TOKENS} access tokens at a time; "
                    "delete one (DELETE /_sandbox/tokens/{id}) before creating another"
                )
            now = self.clock.time()
            secret = secret or self._secret()
            tid = f"tok-{seeded_uuid(self._rng).replace('-', '')[:16]}"
            token = Token(tid, secret, now, now + TOKEN_LIFETIME)
            if self._journal is not None:
                self._journal.put(
                    "token", tid, json.dumps({"secret": secret, "created": now, "expires": token.expires})
                )
            self._tokens[tid] = token
            return token

    def delete(self, token_id: str) -> None:
        """Delete a token by id; raise :class:`TokenError` if unknown."""
        with self._lock:
            if token_id not in self._tokens:
                raise TokenError(f"no token with id {token_id!r}")
            if self._journal is not None:
                self._journal.delete("token", token_id)
            del self._tokens[token_id]

    def list(self) -> list[Token]:
        """Return every token, oldest first."""
        with self._lock:
            return sorted(self._tokens.values(), key=lambda t: (t.created, t.id))

    def check(self, secret: str) -> bool:
        """Return whether ``secret`` is a current (unexpired) token, comparing in constant time."""
        now = self.clock.time()
        with self._lock:
            tokens = list(self._tokens.values())
        ok = False
        for token in tokens:
            if hmac.compare_digest(token.secret.encode(), secret.encode()) and now < token.expires:
                ok = True
        return ok

    def first_valid(self) -> Token | None:
        """Return the oldest unexpired token, or None."""
        now = self.clock.time()
        return next((t for t in self.list() if now < t.expires), None)

    def expires_at(self, token: Token) -> datetime:
        """Return the token's expiry as an aware UTC datetime."""
        return datetime.fromtimestamp(token.expires, tz=UTC)
