"""Ids every fake makes the same way: UUIDs from a seeded generator, so the same seed gives the same ids."""

from __future__ import annotations

import random
import uuid

__all__ = ["seeded_uuid"]


def seeded_uuid(rng: random.Random | None = None) -> str:
    """Return a version-4 UUID string drawn from ``rng`` (reproducible), or from the system's randomness if None."""
    source = rng if rng is not None else random.SystemRandom()
    return str(uuid.UUID(int=source.getrandbits(128), version=4))
