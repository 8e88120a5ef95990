"""The SCIM fake's own sandbox machinery: request log, fault injection, rate limit (the routes that drive them are
in :mod:`scim_server.sandbox_routes`).

Routes (added to the app next to :class:`fakekit.control.SandboxControl`'s clock/reset/state):

- ``GET /_sandbox/requests[?limit=N]`` — a CloudTrail-like log of SCIM calls, oldest first: ``eventTime`` (injected
  clock), ``eventSource`` ``identitystore-scim.amazonaws.com``, ``eventName`` (CreateUser, PatchGroup, ...),
  ``userIdentity.type`` ``WebIdentityUser``, ``httpMethod``, ``path``, ``status``, ``errorCode``/``errorMessage``,
  ``reason`` (the fake's explanation of a 4xx), ``requestID``, ``query``, ``requestParameters.httpBody`` and
  ``requestParameters.tenantId``, every value the request carried replaced by ``HIDDEN_DUE_TO_SECURITY_REASONS``
  (:mod:`scim_server.masking`, [UG-scimct]).
  ``DELETE /_sandbox/requests`` empties it.
- ``POST /_sandbox/faults`` — body ``{"rules": [rule, ...]}`` (replaces the rules; ``"append": true`` adds). A rule:
  ``{"route": "PATCH Groups" | "GET Users" | "* Groups" | "*", "status": 429 | 500, "latency_ms": 200,
  "probability": 0.5, "count": 3, "sequence": [429, 200, 500]}``. ``sequence`` answers consecutive matching
  requests with each listed status (200 = pass through) and then expires; ``count`` fires for the next N matching
  requests; otherwise a rule fires with ``probability`` (default 1) on every matching request. ``latency_ms`` (max
  10,000) is a real delay — it models slow responses for client timeout tests, never minutes of simulated time:
  a client that gives up first sees a timeout (no answer), and the request is not carried out when the rule also
  answers an error. ``retry_after`` (0 – 86,400 s) adds a ``Retry-After`` header to the injected 429/500 answers.
  ``GET`` lists the rules, ``DELETE`` clears them.
- ``GET/POST /_sandbox/tokens``, ``DELETE /_sandbox/tokens/{id}`` — list (no secrets), create (returns the secret;
  409 when two exist [UG-rotate]), delete.
- ``GET/POST /_sandbox/rate-limit`` — read or set ``{"rps": N}`` (0 disables).
- ``GET/POST /_sandbox/scim/options`` — read or change the UNCONFIRMED-behaviour switches of
  :class:`scim_server.app.ScimOptions` at run time (``string_booleans``, ``put_user_status``,
  ``replace_empty_members_quirk``, ``rate_limit_rps``); an unknown name or bad value is a 400 naming the field.

The default rate limit is a token bucket of ``rps`` requests per real second (burst ``rps``): AWS publishes no SCIM
rate ([DG-spc] only documents 429 ThrottlingException), so the number is UNCONFIRMED and a switch.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scim_server.masking import HIDDEN, mask_body, mask_query, mask_text

if TYPE_CHECKING:
    pass

__all__ = [
    "HIDDEN",
    "FaultInjector",
    "FaultRule",
    "RateLimiter",
    "RequestLog",
    "mask_body",
    "mask_query",
    "mask_text",
]

EVENT_SOURCE = "identitystore-scim.amazonaws.com"
MAX_LATENCY_MS = 10_000
MAX_LOG_BYTES = 8 * 1024 * 1024
"""Most JSON bytes the request log keeps (oldest entries dropped first)."""
MAX_LOGGED_BODY = 16 * 1024
"""Largest masked body an entry keeps; a larger one is logged as its size only."""
MAX_FAULT_RULES = 100
"""Most fault rules in force at once (a 400 beyond): each SCIM request checks every rule."""


class RequestLog:
    """Bounded, thread-safe log of SCIM calls: the newest ``maxlen`` entries within ``max_bytes`` of JSON.

    An entry's ``requestParameters.httpBody`` larger than :data:`MAX_LOGGED_BODY` bytes is replaced by
    ``{"truncated": true, "bytes": N}``, so 400 rejected 1 MB requests cost kilobytes, not gigabytes.
    """

    def __init__(self, maxlen: int = 10_000, max_bytes: int = MAX_LOG_BYTES) -> None:
        self._entries: collections.deque[tuple[dict[str, Any], int]] = collections.deque()
        self._lock = threading.Lock()
        self.maxlen = maxlen
        self.max_bytes = max_bytes
        self._bytes = 0

    def add(self, entry: dict[str, Any]) -> None:
        """Append one entry (its body shortened when large), dropping the oldest beyond the count or byte cap."""
        params = entry.get("requestParameters")
        if isinstance(params, dict) and params.get("httpBody") is not None:
            body_size = len(json.dumps(params["httpBody"], default=str))
            if body_size > MAX_LOGGED_BODY:
                entry = {**entry, "requestParameters": {**params, "httpBody": {"truncated": True, "bytes": body_size}}}
        size = len(json.dumps(entry, default=str))
        with self._lock:
            self._entries.append((entry, size))
            self._bytes += size
            while self._entries and (len(self._entries) > self.maxlen or self._bytes > self.max_bytes):
                self._bytes -= self._entries.popleft()[1]

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Return the entries oldest first (the last ``limit`` if given)."""
        with self._lock:
            items = [entry for entry, _ in self._entries]
        return items if limit is None else items[-limit:] if limit > 0 else []

    def size_bytes(self) -> int:
        """Return the JSON size of the kept entries."""
        with self._lock:
            return self._bytes

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


@dataclass
class FaultRule:
    """One fault rule (see the module docstring)."""

    method: str
    resource: str
    status: int | None = None
    latency_ms: int = 0
    probability: float = 1.0
    count: int | None = None
    sequence: list[int] = field(default_factory=list)
    used: int = 0
    retry_after: int | None = None

    def matches(self, method: str, resource: str) -> bool:
        """Return whether the rule applies to a request."""
        return self.method in ("*", method) and self.resource in ("*", resource.lower())

    def as_json(self) -> dict[str, Any]:
        """Return the rule as JSON."""
        route = "*" if self.method == "*" and self.resource == "*" else f"{self.method} {self.resource}"
        return {
            "route": route,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "probability": self.probability,
            "count": self.count,
            "sequence": self.sequence,
            "used": self.used,
            "retry_after": self.retry_after,
        }


_FAULT_STATUSES = (200, 429, 500)
MAX_RETRY_AFTER = 86_400
"""Longest ``Retry-After`` (seconds) a fault rule may ask for: one day."""


def parse_rule(raw: Any, index: int) -> FaultRule:
    """Validate one rule from ``POST /_sandbox/faults``; raise ValueError naming the bad field."""
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object")
    unknown = set(raw) - {"route", "status", "latency_ms", "probability", "count", "sequence", "retry_after"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    route = raw.get("route", "*")
    if not isinstance(route, str) or not route.strip():
        raise ValueError(f"{where}.route must be like 'PATCH Groups', 'GET Users', '* Groups' or '*'")
    parts = route.strip().split()
    if len(parts) == 1 and parts[0] == "*":
        method, resource = "*", "*"
    elif len(parts) == 2:
        method, resource = parts[0].upper(), parts[1].strip("/").split("/")[0].lower() or "*"
    else:
        raise ValueError(f"{where}.route {route!r} must be like 'PATCH Groups', 'GET Users', '* Groups' or '*'")
    if method not in ("*", "GET", "POST", "PUT", "PATCH", "DELETE"):
        raise ValueError(f"{where}.route: method {method!r} is not GET/POST/PUT/PATCH/DELETE/*")
    status = raw.get("status")
    if status is not None and status not in _FAULT_STATUSES:
        raise ValueError(f"{where}.status must be 429 or 500 (or 200 = no error), got {status!r}")
    latency = raw.get("latency_ms", 0)
    if not isinstance(latency, int | float) or isinstance(latency, bool) or not 0 <= latency <= MAX_LATENCY_MS:
        raise ValueError(f"{where}.latency_ms must be a number from 0 to {MAX_LATENCY_MS}")
    prob = raw.get("probability", 1.0)
    if not isinstance(prob, int | float) or isinstance(prob, bool) or not 0 <= prob <= 1:
        raise ValueError(f"{where}.probability must be a number from 0 to 1")
    count = raw.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise ValueError(f"{where}.count must be a positive integer")
    seq = raw.get("sequence", [])
    if not isinstance(seq, list) or any(s not in _FAULT_STATUSES for s in seq):
        raise ValueError(f"{where}.sequence must be a list of 429, 500 or 200")
    if status is None and not seq and not latency:
        raise ValueError(f"{where}: give status, sequence or latency_ms")
    retry_after = raw.get("retry_after")
    if retry_after is not None and (
        not isinstance(retry_after, int) or isinstance(retry_after, bool) or not 0 <= retry_after <= MAX_RETRY_AFTER
    ):
        raise ValueError(f"{where}.retry_after must be whole seconds from 0 to {MAX_RETRY_AFTER}")
    return FaultRule(method, resource, status, int(latency), float(prob), count, list(seq), retry_after=retry_after)


@dataclass(frozen=True)
class FaultDecision:
    """What an injected fault does to one request: an error status (or None) and a real delay."""

    status: int | None
    latency_ms: int
    retry_after: int | None = None


class FaultInjector:
    """Ordered fault rules; :meth:`decide` is called once per SCIM request (seeded randomness)."""

    def __init__(self, seed: int | str | None = None) -> None:
        # A str seed is hashed with SHA-512 by random.Random, so it is the same in every process (unlike hash()).
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def set_rules(self, rules: list[FaultRule], append: bool = False) -> None:
        """Replace (or extend) the rules; ValueError beyond :data:`MAX_FAULT_RULES`."""
        with self._lock:
            new = [*self._rules, *rules] if append else list(rules)
            if len(new) > MAX_FAULT_RULES:
                raise ValueError(f"at most {MAX_FAULT_RULES} fault rules at once (this would make {len(new)})")
            self._rules = new

    def rules(self) -> list[FaultRule]:
        """Return the live rules."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        self.set_rules([])

    def decide(self, method: str, resource: str) -> FaultDecision | None:
        """Return the fault for a request, or None; consumes counted/sequenced rules."""
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(method, resource):
                    continue
                if rule.sequence:
                    status = rule.sequence[rule.used] if rule.used < len(rule.sequence) else None
                    rule.used += 1
                    if rule.used >= len(rule.sequence):
                        self._rules.remove(rule)
                    return FaultDecision(None if status == 200 else status, rule.latency_ms, rule.retry_after)
                if rule.count is None and self._rng.random() >= rule.probability:
                    continue
                rule.used += 1
                if rule.count is not None and rule.used >= rule.count:
                    self._rules.remove(rule)
                return FaultDecision(None if rule.status == 200 else rule.status, rule.latency_ms, rule.retry_after)
        return None


class RateLimiter:
    """Token bucket: ``rps`` requests per real second, burst ``rps``; ``rps`` 0 disables (UNCONFIRMED number).

    ``timer`` is the real-time source in seconds (default :func:`time.monotonic`); tests inject their own so the
    bucket refills only when they say time has passed.
    """

    def __init__(self, rps: float, timer: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self.timer = timer
        self.set_rate(rps)

    def set_rate(self, rps: float) -> None:
        """Change the rate (0 disables) and refill the bucket."""
        if not math.isfinite(rps) or rps < 0:
            raise ValueError("rps must be a finite number >= 0")
        with self._lock:
            self.rps = float(rps)
            self._tokens = float(rps)
            self._last = self.timer()

    def allow(self) -> bool:
        """Take one token; return False when the bucket is empty (answer 429)."""
        with self._lock:
            if self.rps <= 0:
                return True
            now = self.timer()
            self._tokens = min(self.rps, self._tokens + (now - self._last) * self.rps)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


async def apply_latency(decision: FaultDecision | None) -> None:
    """Sleep the injected real delay, if any."""
    if decision is not None and decision.latency_ms > 0:
        await asyncio.sleep(decision.latency_ms / 1000)
