"""Seeded random ids of one Identity Center instance: hex ids, tokens and keys, UUID-shaped request ids.

Every id the access plane and the sso-oidc flow hand out is drawn, in order, from one :class:`random.Random` seeded
with the tenant, so a run with the same seed hands out the same ids.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["IdSource"]


class IdSource:
    """One seeded random stream; :meth:`reseed` starts it again from the seed (sandbox reset)."""

    def __init__(self, seed: int | str) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def reseed(self) -> None:
        """Start the stream again from the seed."""
        self._rng = random.Random(self.seed)

    def branch(self, generation: int) -> None:
        """Continue on the stream of ``generation`` (> 0): after a sandbox reset no id of an earlier generation is
        drawn again."""
        self._rng = random.Random(f"{self.seed}:generation:{generation}")

    def hex(self, n: int) -> str:
        """Return ``n`` lower-case hex digits."""
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    def chars(self, alphabet: str, n: int) -> str:
        """Return ``n`` characters of ``alphabet`` (tokens, keys, codes)."""
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def request_id(self) -> str:
        """Return a fresh UUID-shaped request id."""
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def to_state(self) -> list[Any]:
        """Return the generator's state, JSON-ready (see :meth:`load_state`)."""
        version, internal, gauss = self._rng.getstate()
        return [version, list(internal), gauss]

    def load_state(self, state: list[Any]) -> None:
        """Continue the stream from a :meth:`to_state` value."""
        version, internal, gauss = state
        self._rng.setstate((version, tuple(internal), gauss))
