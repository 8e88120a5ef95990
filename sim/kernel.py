"""The event kernel: a tiny deterministic discrete-event loop after SimPy's ``core.py``.

Events are ``(time, seq, callback, arg)`` tuples in a heap; ``seq`` breaks ties so events at the same instant run
in the order they were scheduled (deterministic). :func:`sim.engine.simulate_events` runs a population on it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable

import numpy as np

__all__ = ["Kernel"]

INF = math.inf


class Kernel:
    """A minimal deterministic discrete-event kernel (after SimPy's ``core.py``).

    ``schedule(time, callback, arg)`` queues ``callback(arg)`` at ``time``; :meth:`run` pops events in
    ``(time, seq)`` order, sets :attr:`now` to each event's time and calls it. Callbacks may schedule more events,
    but never in the past. :attr:`processed` counts the events run.

    :meth:`source` adds one pre-sorted stream of events (e.g. activation requests) that is merged with the heap
    instead of being pushed onto it; at equal times a source event runs before heap events.
    """

    __slots__ = ("_queue", "_seq", "_src_cb", "_src_i", "_src_times", "now", "processed")

    def __init__(self, start: float = 0.0) -> None:
        self._queue: list[tuple[float, int, Callable[[int], None], int]] = []
        self._seq = itertools.count()
        self._src_times: list[float] = []
        self._src_cb: Callable[[int], None] = _no_source
        self._src_i = 0
        self.now = start
        self.processed = 0

    def schedule(self, time: float, callback: Callable[[int], None], arg: int = 0) -> None:
        """Queue ``callback(arg)`` at ``time`` (must not be before :attr:`now`)."""
        if time < self.now:
            raise ValueError(f"cannot schedule an event at {time} before now ({self.now})")
        heapq.heappush(self._queue, (time, next(self._seq), callback, arg))

    def source(self, times: list[float], callback: Callable[[int], None]) -> None:
        """Feed ``callback(i)`` at ``times[i]`` for every ``i``; ``times`` must be sorted and not before now.

        Only one source may be pending at a time.
        """
        if self._src_i < len(self._src_times):
            raise ValueError("a source is already pending; run it first")
        if times and (times[0] < self.now or bool(np.any(np.diff(np.asarray(times)) < 0))):
            raise ValueError("source times must be sorted and not before now")
        self._src_times, self._src_cb, self._src_i = times, callback, 0

    def __len__(self) -> int:
        return len(self._queue) + len(self._src_times) - self._src_i

    def peek(self) -> float:
        """Return the time of the next event, or ``inf`` when there is none."""
        top = self._queue[0][0] if self._queue else INF
        return min(top, self._src_times[self._src_i]) if self._src_i < len(self._src_times) else top

    def step(self) -> None:
        """Run the next event; raise ``IndexError`` when there is none."""
        if not self.run(self.peek(), limit=1):
            raise IndexError("no events left")

    def run(self, until: float = INF, limit: int = -1) -> int:
        """Run events with time ``<= until`` in order (at most ``limit`` when >= 0); return how many ran."""
        queue = self._queue
        pop = heapq.heappop
        times = self._src_times
        feed = self._src_cb
        i = self._src_i
        m = len(times)
        nxt = times[i] if i < m else INF
        ran = 0
        while ran != limit:
            top = queue[0][0] if queue else INF
            if nxt <= top:
                if nxt == INF or nxt > until:
                    break
                self.now = nxt
                i += 1
                self._src_i = i
                feed(i - 1)
                nxt = times[i] if i < m else INF
            else:
                if top > until:
                    break
                time, _, callback, arg = pop(queue)
                self.now = time
                callback(arg)
            ran += 1
        self.processed += ran
        if until != INF and until > self.now and limit < 0:
            self.now = until
        return ran


def _no_source(i: int) -> None:
    raise IndexError(f"no source event {i}")
