"""One decorator for the tenant's lock: a backend method marked :func:`synchronized` runs holding ``self.lock``.

Every store of one tenant shares the tenant's re-entrant lock, so a synchronized method may call another.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

__all__ = ["HasLock", "synchronized"]


class HasLock(Protocol):
    """An object with the tenant's lock."""

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Return the lock to hold."""
        ...


P = ParamSpec("P")
R = TypeVar("R")
L = TypeVar("L", bound=HasLock)


def synchronized(method: Callable[Concatenate[L, P], R]) -> Callable[Concatenate[L, P], R]:
    """Return ``method`` wrapped to run while holding ``self.lock``."""

    @functools.wraps(method)
    def wrapper(self: L, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper
