"""The identity store's change events and the listeners that receive them (see "Change listeners" in ``store.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Listener", "Listeners", "StoreEvent"]


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One committed change. ``user_id``/``group_id`` are set when they apply; ``at`` is Unix seconds.

    Kinds: ``user_created``, ``user_updated``, ``user_deleted``, ``group_created``, ``group_updated``,
    ``group_deleted``, ``member_added``, ``member_removed``, ``reset``.
    """

    kind: str
    at: float
    user_id: str | None = None
    group_id: str | None = None


Listener = Callable[[StoreEvent], None]


class Listeners:
    """The registered listeners, called in registration order (the store holds its lock around every call)."""

    __slots__ = ("_listeners",)

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event emitted from now on."""
        self._listeners.append(listener)

    def remove(self, listener: Listener) -> None:
        """Stop calling ``listener`` (nothing happens if it was not registered)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, events: list[StoreEvent]) -> None:
        """Give every event, in order, to every listener; re-raise the first listener error after all ran.

        A listener bug must not undo or hide a committed write, so the remaining listeners still run.
        """
        error: BaseException | None = None
        for event in events:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception as exc:
                    error = error or exc
        if error is not None:
            raise error
