"""Injected clocks with timers, shared by the simulator's fakes (DESIGN.md §2: "Time is injected").

Every component that needs the time takes a :class:`Clock`. Three modes:

- :class:`ManualClock` — virtual time that only moves when :meth:`Clock.advance` is called (tests, the sandbox's
  ``POST /_sandbox/clock/advance``). Timers due inside an advance run in time order, each seeing ``now()`` equal to
  its own due time, so advancing 40 minutes runs exactly the provisioning cycles that were due.
- :class:`WallClock` — real UTC time (plus any offset added by :meth:`Clock.advance`).
- :class:`ScaledClock` — wall time running ``factor`` times faster from its start (``scaled:60`` = one virtual
  minute per real second).

Timers are ``(due, seq)``-ordered, so two timers due at the same instant run in the order they were scheduled.
For the wall and scaled clocks, :meth:`Clock.start` runs a daemon thread that fires due timers; nothing in the
product sleeps on wall time to simulate minutes.

Threading: a timer callback may block on HTTP to a server in another thread, and that server may schedule new
timers or read ``now()``; scheduling takes only a short internal lock, so this cannot deadlock. Advances (and the
timers they run) are serialised.

A timer callback that raises never stops the clock: the advance (or the driver thread) goes on with the next timer
and the failure is kept in :attr:`Clock.timer_errors` (the newest :data:`MAX_TIMER_ERRORS`), so one broken callback
cannot freeze time or make ``POST /_sandbox/clock/advance`` fail after time has moved.

Listeners (:meth:`Clock.add_listener`) run after every timer callback and at the end of every advance: a component
that persists its state (``jitbox serve --state``) writes what the timers changed there, and the clock's position.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time as _time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "DEFAULT_EPOCH",
    "MAX_SCALE",
    "MAX_TIMER_ERRORS",
    "Clock",
    "ClockError",
    "ManualClock",
    "ScaledClock",
    "Timer",
    "WallClock",
    "clock_from_spec",
]

DEFAULT_EPOCH = datetime(2025, 6, 3, 9, 0, 0, tzinfo=UTC)
"""Start of virtual time unless told otherwise (the seed post's publication date, 09:00 UTC)."""


MAX_TIMER_ERRORS = 100
"""How many failed timer callbacks :attr:`Clock.timer_errors` keeps (the newest)."""


class ClockError(ValueError):
    """A clock operation that cannot be done (negative advance, unknown clock spec)."""


@dataclass(order=True)
class Timer:
    """A callback scheduled on a clock; ``cancel()`` it to stop it from running."""

    due: float
    seq: int
    callback: Callable[[], object] = field(compare=False)
    name: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        """Mark the timer so it never runs."""
        self.cancelled = True


class Clock(ABC):
    """Time source plus timer queue. ``now()`` is an aware UTC datetime; ``time()`` is seconds since the epoch."""

    def __init__(self) -> None:
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self._timers_lock = threading.Lock()
        self._run_lock = threading.RLock()
        self._offset = 0.0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.timer_errors: list[tuple[str, float, str]] = []
        """``(timer name, due, "ExceptionType: message")`` of callbacks that raised, oldest first."""
        self._listeners: list[Callable[[], object]] = []

    # --- time -------------------------------------------------------------------------------------
    @property
    @abstractmethod
    def mode(self) -> str:
        """``manual``, ``wall`` or ``scaled:N``."""

    @abstractmethod
    def _base_time(self) -> float:
        """Seconds since the Unix epoch before any advance offset."""

    def time(self) -> float:
        """Return the current time as seconds since the Unix epoch (UTC)."""
        return self._base_time() + self._offset

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    # --- timers -----------------------------------------------------------------------------------
    def call_at(self, when: datetime | float, callback: Callable[[], object], name: str = "") -> Timer:
        """Schedule ``callback`` at ``when`` (datetime or Unix seconds); return the :class:`Timer`."""
        due = when.timestamp() if isinstance(when, datetime) else float(when)
        with self._timers_lock:
            timer = Timer(due, next(self._seq), callback, name)
            heapq.heappush(self._timers, timer)
        self._wake.set()
        return timer

    def call_later(self, delay: float | timedelta, callback: Callable[[], object], name: str = "") -> Timer:
        """Schedule ``callback`` ``delay`` seconds from now; return the :class:`Timer`."""
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        return self.call_at(self.time() + seconds, callback, name)

    def pending(self) -> list[Timer]:
        """Return the timers not yet run, earliest first."""
        with self._timers_lock:
            return sorted(t for t in self._timers if not t.cancelled)

    def add_listener(self, listener: Callable[[], object]) -> None:
        """Call ``listener()`` after every timer callback and at the end of every :meth:`advance` (its exceptions are
        kept in :attr:`timer_errors` like a timer's)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], object]) -> None:
        """Stop calling ``listener`` (no-op when it is not registered)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, name: str, due: float) -> None:
        for listener in list(self._listeners):
            self._guard(name, due, listener)

    def clear_timers(self) -> None:
        """Drop every pending timer (used by sandbox resets)."""
        with self._timers_lock:
            self._timers.clear()

    def restart(self) -> None:
        """Undo every :meth:`advance` and drop every pending timer (a sandbox reset with ``clock``): the manual
        clock is back at its start, the wall and scaled clocks at real (scaled) time."""
        with self._run_lock:
            self.clear_timers()
            self._offset = 0.0

    def _pop_due(self, limit: float) -> Timer | None:
        with self._timers_lock:
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            if self._timers and self._timers[0].due <= limit:
                return heapq.heappop(self._timers)
            return None

    def run_due(self) -> int:
        """Run every timer due at or before ``time()``; return how many ran."""
        ran = 0
        with self._run_lock:
            while (timer := self._pop_due(self.time())) is not None:
                self._fire(timer)
                ran += 1
        return ran

    def advance(self, seconds: float | timedelta) -> int:
        """Move time forward by ``seconds``, running due timers in order; return how many ran.

        On the manual clock each timer runs with ``now()`` equal to its due time. On the wall and scaled clocks
        the advance is an offset added to real time.
        """
        delta = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if delta < 0:
            raise ClockError(f"cannot advance the clock by a negative amount ({delta} s)")
        ran = 0
        with self._run_lock:
            target = self.time() + delta
            while (timer := self._pop_due(target)) is not None:
                self._jump_to(timer.due)
                self._fire(timer)
                ran += 1
            self._jump_to(target)
            self._notify("advance", target)
        return ran

    def _fire(self, timer: Timer) -> None:
        """Run one timer's callback, then the listeners; an exception is recorded in :attr:`timer_errors`, never
        raised."""
        self._guard(timer.name, timer.due, timer.callback)
        self._notify(timer.name, timer.due)

    def _guard(self, name: str, due: float, callback: Callable[[], object]) -> None:
        try:
            callback()
        except Exception as exc:
            self.timer_errors.append((name, due, f"{type(exc).__name__}: {exc}"))
            del self.timer_errors[:-MAX_TIMER_ERRORS]

    def _jump_to(self, when: float) -> None:
        current = self.time()
        if when > current:
            self._offset += when - current

    # --- background driver for real-time modes -----------------------------------------------------
    def start(self) -> None:
        """Start a daemon thread that fires timers as real time reaches them (no-op on the manual clock)."""
        if self.mode == "manual" or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._drive, name=f"clock-{self.mode}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread started by :meth:`start`."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _real_seconds_until(self, due: float) -> float:
        return max(0.0, due - self.time())

    def _drive(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            with self._timers_lock:
                nxt = next((t.due for t in sorted(self._timers) if not t.cancelled), None)
            wait = 1.0 if nxt is None else min(1.0, self._real_seconds_until(nxt))
            self._wake.wait(timeout=wait)
            self._wake.clear()


class ManualClock(Clock):
    """Virtual time, moved only by :meth:`advance` (or :meth:`set`)."""

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        super().__init__()
        if start.tzinfo is None:
            raise ClockError("the clock's start must be timezone-aware (UTC)")
        self._start = start.timestamp()

    @property
    def mode(self) -> str:
        return "manual"

    def _base_time(self) -> float:
        return self._start

    def set(self, when: datetime) -> int:
        """Advance to ``when`` (must not be in the past); return how many timers ran."""
        return self.advance(when.timestamp() - self.time())


class WallClock(Clock):
    """Real UTC time."""

    @property
    def mode(self) -> str:
        return "wall"

    def _base_time(self) -> float:
        return _time.time()


MAX_SCALE = 1e6
"""Fastest scaled clock (about 11.6 virtual days per real second): faster, the one-year SCIM token would expire
within seconds of start and the clock would soon pass what a datetime can show."""


class ScaledClock(Clock):
    """Wall time running ``factor`` times faster, starting at ``start`` (default: real now)."""

    def __init__(self, factor: float, start: datetime | None = None) -> None:
        super().__init__()
        if not 0 < factor <= MAX_SCALE:
            raise ClockError(f"scale factor must be > 0 and <= {MAX_SCALE:g}, got {factor}")
        self.factor = float(factor)
        self._real0 = _time.monotonic()
        self._virt0 = (start or datetime.now(tz=UTC)).timestamp()
        self._paused_at: float | None = None

    @property
    def mode(self) -> str:
        return f"scaled:{self.factor:g}"

    @property
    def paused(self) -> bool:
        """True while :meth:`pause` holds virtual time still."""
        return self._paused_at is not None

    def pause(self) -> None:
        """Hold virtual time still (timers wait) until :meth:`resume`; no-op when already paused."""
        if self._paused_at is None:
            self._paused_at = _time.monotonic()

    def resume(self) -> None:
        """Let virtual time run again from where :meth:`pause` held it; no-op when running."""
        if self._paused_at is not None:
            self._real0 += _time.monotonic() - self._paused_at
            self._paused_at = None
            self._wake.set()

    def _base_time(self) -> float:
        real = self._paused_at if self._paused_at is not None else _time.monotonic()
        return self._virt0 + (real - self._real0) * self.factor

    def _real_seconds_until(self, due: float) -> float:
        if self._paused_at is not None:
            return 1.0
        return max(0.0, (due - self.time()) / self.factor)


def clock_from_spec(spec: str, start: datetime | None = None) -> Clock:
    """Return a clock for a CLI spec: ``manual``, ``wall`` or ``scaled:N`` (e.g. ``scaled:60``)."""
    text = spec.strip().lower()
    if text == "manual":
        return ManualClock(start or DEFAULT_EPOCH)
    if text == "wall":
        return WallClock()
    if text.startswith("scaled:"):
        try:
            factor = float(text.split(":", 1)[1])
        except ValueError:
            raise ClockError(f"--clock {spec!r}: the factor after 'scaled:' must be a number, e.g. scaled:60") from None
        try:
            return ScaledClock(factor, start)
        except ClockError as exc:
            raise ClockError(f"--clock {spec!r}: {exc}") from None
    raise ClockError(f"--clock {spec!r} is not one of manual, wall, scaled:N")
