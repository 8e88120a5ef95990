"""Pluggable, seeded models of how users request and use JIT access.

A :class:`Population` says when activation requests arrive, how long users ask for, how approvers answer, when
users sign in to the AWS access portal and launch the permission set, and whether they end access early. All
random draws come from one ``numpy.random.Generator`` seeded by the caller, in a fixed order
(:meth:`Population.sample`), so the same seed gives the same :class:`Samples`.

Durations accept ISO 8601 (``PT1H``), short forms (``90m``) or seconds, as in :mod:`sim.settings`.

Documented numbers used here (tags in ``../shared/reference/``):

- the requested duration is capped at the policy's ``activation_max`` (30 min – 24 h, default 8 h) [AWS-BLOG][E-SET];
- approvers have 24 hours, after which the request expires [E-APPRV] (:data:`sim.settings.APPROVAL_TIMEOUT`);
- self-deactivation is refused within 5 minutes of activation ([E-ASSIGN] "can't be removed within five minutes
  of it being assigned"; error ``ActiveDurationTooShort`` third-party; switch ``Settings.enforce_min_active``).

Which user behaviour is modelled is the ``behaviour`` field: ``typical`` users sign in ``signin_delay`` after
access reaches Identity Center and launch ``launch_delay`` later (relaunching when the role session ends while their
activation is still meant to last); the ``worst_case`` user signs in and launches at the last instant the
entitlement mode permits (:func:`sim.rules.latest_launch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim import rules
from sim.settings import INITIAL_CYCLE_PER_OBJECT_MAX, INITIAL_CYCLE_PER_OBJECT_MIN, Seconds, Settings

__all__ = [
    "Arrivals",
    "BurstArrivals",
    "ChoiceDist",
    "Distribution",
    "ExplicitArrivals",
    "ExponentialDist",
    "FixedDist",
    "ListDist",
    "LognormalDist",
    "PoissonArrivals",
    "Population",
    "Samples",
    "UniformDist",
]


_STRICT = ConfigDict(extra="forbid", frozen=True)


# --- distributions of durations ------------------------------------------------------------------------


class FixedDist(BaseModel):
    """Always ``value``."""

    model_config = _STRICT
    kind: Literal["fixed"] = "fixed"
    value: Seconds
    draws_per_value: ClassVar[int | None] = 0
    """How many doubles :meth:`sample` takes from the stream per value (None: it varies)."""

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` copies of ``value`` (draws nothing from ``rng``)."""
        return np.full(n, self.value, dtype=np.float64)


class UniformDist(BaseModel):
    """Uniform on ``[low, high]``."""

    model_config = _STRICT
    kind: Literal["uniform"] = "uniform"
    low: Seconds
    high: Seconds
    draws_per_value: ClassVar[int | None] = 1

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g} s) must not exceed high ({self.high:g} s)")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` uniform draws."""
        return uniform(rng, self.low, self.high, n)


class ExponentialDist(BaseModel):
    """Exponential with mean ``mean``, optionally shifted by ``offset``."""

    model_config = _STRICT
    kind: Literal["exponential"] = "exponential"
    mean: Seconds
    offset: Seconds = 0.0
    draws_per_value: ClassVar[int | None] = None

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` draws ``offset + Exp(mean)``."""
        return self.offset + exponential(rng, self.mean, n)


class LognormalDist(BaseModel):
    """Log-normal with median ``median`` and shape ``sigma`` (heavy-tailed approver delays)."""

    model_config = _STRICT
    kind: Literal["lognormal"] = "lognormal"
    median: Seconds
    sigma: float = Field(default=1.0, ge=0.0, le=5.0)
    draws_per_value: ClassVar[int | None] = None

    @model_validator(mode="after")
    def _positive(self) -> LognormalDist:
        if self.median <= 0:
            raise ValueError("median must be > 0")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` log-normal draws."""
        return rng.lognormal(float(np.log(self.median)), self.sigma, n)


class ChoiceDist(BaseModel):
    """One of ``values``, with optional ``weights`` (normalised)."""

    model_config = _STRICT
    kind: Literal["choice"] = "choice"
    values: list[Seconds] = Field(min_length=1)
    weights: list[float] | None = None
    draws_per_value: ClassVar[int | None] = None

    @model_validator(mode="after")
    def _weights(self) -> ChoiceDist:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"weights has {len(self.weights)} entries but values has {len(self.values)}")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` draws from ``values``."""
        p = None if self.weights is None else np.asarray(self.weights) / sum(self.weights)
        return rng.choice(np.asarray(self.values, dtype=np.float64), size=n, p=p)


class ListDist(BaseModel):
    """The listed ``values``, one per activation request in request order: replays a recorded run (a sandbox run's
    approver delays, requested durations, sign-in times) in the simulator. Draws nothing."""

    model_config = _STRICT
    kind: Literal["list"] = "list"
    values: list[Seconds] = Field(min_length=1)
    draws_per_value: ClassVar[int | None] = 0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``values`` (one per request); ValueError when there are not exactly ``n`` of them."""
        if len(self.values) != n:
            raise ValueError(
                f"a list distribution has {len(self.values)} values for {n} requests; give one per request"
            )
        return np.asarray(self.values, dtype=np.float64)


Distribution = Annotated[
    FixedDist | UniformDist | ExponentialDist | LognormalDist | ChoiceDist | ListDist, Field(discriminator="kind")
]
"""A distribution of durations: ``{kind = "fixed" | "uniform" | "exponential" | "lognormal" | "choice" | "list",
...}``."""


# --- arrivals of activation requests -------------------------------------------------------------------


class PoissonArrivals(BaseModel):
    """``count`` requests from a Poisson process of ``rate_per_hour``, starting at ``start``."""

    model_config = _STRICT
    kind: Literal["poisson"] = "poisson"
    rate_per_hour: float = Field(gt=0.0, le=1e7)
    count: int = Field(ge=0, le=50_000_000)
    start: Seconds = 0.0

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Return the request times (sorted)."""
        gaps = exponential(rng, 3600.0 / self.rate_per_hour, self.count)
        return self.start + np.cumsum(gaps)


class BurstArrivals(BaseModel):
    """``count`` requests within ``within`` seconds of ``start`` (e.g. 30 engineers in the minute after an
    incident); ``spacing`` is ``random`` (uniform) or ``even``."""

    model_config = _STRICT
    kind: Literal["burst"] = "burst"
    count: int = Field(ge=0, le=50_000_000)
    within: Seconds = 60.0
    start: Seconds = 0.0
    spacing: Literal["random", "even"] = "random"

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Return the request times (sorted)."""
        if self.spacing == "even":
            return self.start + np.arange(self.count, dtype=np.float64) * (self.within / max(self.count, 1))
        return self.start + np.sort(uniform(rng, 0.0, self.within, self.count))


class ExplicitArrivals(BaseModel):
    """Requests at the listed ``times`` (offsets from t = 0)."""

    model_config = _STRICT
    kind: Literal["explicit"] = "explicit"
    times: list[Seconds]

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Return the listed times, sorted (draws nothing from ``rng``)."""
        return np.sort(np.asarray(self.times, dtype=np.float64))


Arrivals = Annotated[PoissonArrivals | BurstArrivals | ExplicitArrivals, Field(discriminator="kind")]
"""A source of activation requests: ``{kind = "poisson" | "burst" | "explicit", ...}``."""


# --- the population ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Samples:
    """Every random draw of one run, one entry per activation request, ordered by request time.

    Columns are numpy arrays of length ``n``; durations in seconds. ``requested`` is already capped at the policy's
    ``activation_max``; ``deactivate_after`` is ``inf`` for users who never self-deactivate.
    """

    request: np.ndarray
    app: np.ndarray
    requested: np.ndarray
    approver_delay: np.ndarray
    denied: np.ndarray
    add_latency: np.ndarray
    remove_latency: np.ndarray
    fast_latency: np.ndarray
    signin_delay: np.ndarray
    launch_delay: np.ndarray
    deactivate_after: np.ndarray
    removal_failures: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Failed removal attempts before the one that succeeds (empty when ``removal_failure_probability`` is 0)."""
    removal_escrow: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    """``removal_escrow[i, k]``: the ``k``-th failed attempt of activation ``i`` went to escrow (else retryable)."""
    removal_quarantined: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """The removal met a quarantined job (one cycle a day) [E-QUAR] (all False when not drawn)."""
    removal_initial_delay: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    """How much longer the first removal attempt took because it fell in an initial cycle [E-WHEN] (0 = none)."""

    def __post_init__(self) -> None:
        n = len(self.request)
        if len(self.removal_failures) != n:
            object.__setattr__(self, "removal_failures", np.zeros(n, dtype=np.int64))
            object.__setattr__(self, "removal_escrow", np.zeros((n, 0), dtype=bool))
        if len(self.removal_quarantined) != n:
            object.__setattr__(self, "removal_quarantined", np.zeros(n, dtype=bool))
        if len(self.removal_initial_delay) != n:
            object.__setattr__(self, "removal_initial_delay", np.zeros(n, dtype=np.float64))

    def degraded_removal(self, i: int) -> bool:
        """Return True when activation ``i``'s removal met a drawn failure mode (failed attempts, quarantine or an
        initial cycle)."""
        return bool(self.removal_failures[i] or self.removal_quarantined[i] or self.removal_initial_delay[i])

    @property
    def n(self) -> int:
        """Return the number of activation requests."""
        return len(self.request)

    def failures(self, i: int, assumed: int = 0) -> tuple[rules.FailureKind, ...]:
        """Return the kinds of activation ``i``'s failed removal attempts, in order: ``assumed`` retryable ones (the
        ``failed_removals`` setting), then the drawn ones [E-PLOGS][E-QUAR]."""
        count = int(self.removal_failures[i])
        escrow = self.removal_escrow[i]
        drawn = (rules.FailureKind.ESCROW if escrow[k] else rules.FailureKind.RETRYABLE for k in range(count))
        return (rules.FailureKind.RETRYABLE,) * assumed + tuple(drawn)


class Population(BaseModel):
    """Seeded user behaviour for one run (see the module docstring for the fields' meaning)."""

    model_config = _STRICT

    arrivals: list[Arrivals] = Field(min_length=1)
    requested_duration: Distribution | None = None
    """How long users ask for; ``None`` (default) means the policy's maximum. Always capped at ``activation_max``."""
    approver_delay: Distribution = ExponentialDist(mean=15 * 60.0)
    """Time from request to the approver's decision (used when the policy requires approval)."""
    deny_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    """Chance that an approver who answers in time denies the request."""
    signin_delay: Distribution = UniformDist(low=0.0, high=5 * 60.0)
    """Time from access reaching Identity Center to the user signing in to the portal."""
    launch_delay: Distribution = UniformDist(low=0.0, high=2 * 60.0)
    """Time from sign-in to launching the permission set."""
    relaunch: bool = True
    """Typical users launch again when the role session ends before their intended end."""
    max_launches: int = Field(default=24, ge=1, le=1000)
    self_deactivate_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    self_deactivate_after: Distribution = UniformDist(low=5 * 60.0, high=60 * 60.0)
    """When a self-deactivating user ends access, measured from activation start."""
    behaviour: Literal["typical", "worst_case"] = "typical"
    apps: int = Field(default=1, ge=1, le=1000)
    """Enterprise apps the requests spread over (uniformly); each has its own fast-path throttle [E-AWS]."""
    removal_failures: list[Annotated[int, Field(ge=0, le=10)]] | None = None
    """Failed (retryable) removal attempts per request, in request order, instead of drawing them: replays a
    sandbox run's failure sequence (``POST /_sandbox/faults``) in the simulator [E-PLOGS]."""

    def sample(
        self,
        rng: np.random.Generator,
        activation_max: float,
        membership_latency_max: float,
        fast_latency_min: float,
        fast_latency_max: float,
    ) -> Samples:
        """Return every draw of one run from ``rng``, in a fixed order (arrivals first, then one column at a time).

        ``membership_latency_max`` bounds the Entra add/remove delay ("within seconds" [E-ACT]); the fast-path
        latency is uniform on ``[fast_latency_min, fast_latency_max]`` (2–10 min [E-AWS]).
        """
        parts = [a.sample(rng) for a in self.arrivals]
        request = parts[0]
        if len(parts) > 1 or np.any(request[1:] < request[:-1]):  # one sorted part needs no (stable) sort
            request = np.sort(np.concatenate(parts), kind="stable")
        n = len(request)
        app = rng.integers(0, self.apps, n) if self.apps > 1 else np.zeros(n, dtype=np.int64)
        requested = (
            np.full(n, activation_max)
            if self.requested_duration is None
            else np.minimum(np.maximum(self.requested_duration.sample(rng, n), 0.0), activation_max)
        )
        approver_delay = np.maximum(self.approver_delay.sample(rng, n), 0.0)
        denied = _chance(rng, n, self.deny_probability)
        add_latency = uniform(rng, 0.0, membership_latency_max, n)
        remove_latency = uniform(rng, 0.0, membership_latency_max, n)
        fast_latency = uniform(rng, fast_latency_min, fast_latency_max, n)
        signin_delay = np.maximum(self.signin_delay.sample(rng, n), 0.0)
        launch_delay = np.maximum(self.launch_delay.sample(rng, n), 0.0)
        deactivate_after = self._deactivate_after(rng, n)
        return Samples(
            request=request,
            app=app,
            requested=requested,
            approver_delay=approver_delay,
            denied=denied,
            add_latency=add_latency,
            remove_latency=remove_latency,
            fast_latency=fast_latency,
            signin_delay=signin_delay,
            launch_delay=launch_delay,
            deactivate_after=deactivate_after,
        )

    def _deactivate_after(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return when each user self-deactivates (``inf``: never): a chance, then a delay. With no chance at all the
        stream moves past both draws without making them (:func:`_skip`), the same numbers follow."""
        per_value = self.self_deactivate_after.draws_per_value
        if self.self_deactivate_probability == 0 and per_value is not None and _skip(rng, n * (1 + per_value)):
            return np.full(n, np.inf)
        deactivates = rng.random(n) < self.self_deactivate_probability
        after = np.maximum(self.self_deactivate_after.sample(rng, n), 0.0)
        return np.where(deactivates, after, np.inf)

    def draw(self, settings: Settings, seed: int) -> Samples:
        """Return the draws of one run under ``settings``: :meth:`sample` from ``numpy.random.default_rng(seed)``
        with the settings' activation maximum, Entra latency [E-ACT] and fast-path latency range [E-AWS]."""
        s = settings
        rng = np.random.default_rng(seed)
        smp = self.sample(
            rng, s.activation_max, s.membership_latency_max, s.fast_path_latency_min, s.fast_path_latency_max
        )
        if self.removal_failures is not None:
            if len(self.removal_failures) != smp.n:
                raise ValueError(
                    f"removal_failures has {len(self.removal_failures)} entries for {smp.n} requests; give one per request"
                )
            counts = np.asarray(self.removal_failures, dtype=np.int64)
            width = int(counts.max(initial=0))
            return replace(smp, removal_failures=counts, removal_escrow=np.zeros((smp.n, width), dtype=bool))
        drawn: dict[str, np.ndarray] = {}
        if s.removal_failure_probability > 0 and s.removal_failures_max > 0:
            drawn.update(draw_removal_failures(rng, smp.n, s))
        drawn.update(draw_degraded_cycles(rng, smp.n, s))
        return replace(smp, **drawn) if drawn else smp

    @classmethod
    @classmethod
    def burst(cls, count: int, within: float = 60.0, **fields: Any) -> Population:
        """Return a population of ``count`` requests within ``within`` seconds (other fields as keywords)."""
        return cls.model_validate({"arrivals": [{"kind": "burst", "count": count, "within": within}], **fields})

    @classmethod
    def explicit(cls, times: list[float], **fields: Any) -> Population:
        """Return a population with requests at ``times`` (other fields as keywords)."""
        return cls.model_validate({"arrivals": [{"kind": "explicit", "times": times}], **fields})


def uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    """Return ``rng.uniform(low, high, n)``: the same numbers from the same stream (numpy computes ``low + (high -
    low) * u`` from the doubles of ``rng.random``; ``tests/test_population.py`` holds them equal), without the
    per-call argument checks that make ``uniform`` twice as slow on a sweep cell's 10,000 draws."""
    out = rng.random(n)
    out *= high - low
    out += low
    return out


def exponential(rng: np.random.Generator, scale: float, n: int) -> np.ndarray:
    """Return ``rng.exponential(scale, n)``: the same numbers (numpy scales its standard exponential), faster."""
    out = rng.standard_exponential(n)
    out *= scale
    return out


def _chance(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Return ``rng.random(n) < p``; for ``p == 0`` all False, the stream moved past the draws (:func:`_skip`)."""
    if p == 0 and _skip(rng, n):
        return np.zeros(n, dtype=bool)
    chosen: np.ndarray = rng.random(n) < p
    return chosen


def _skip(rng: np.random.Generator, doubles: int) -> bool:
    """Move ``rng`` past ``doubles`` draws of ``rng.random`` without making them, as if they had been made (PCG64
    ``advance``: one step per double); return False, having done nothing, where that would not be exact (another
    bit generator, or half of a 64-bit word kept for a 32-bit draw, which ``advance`` drops)."""
    bits = rng.bit_generator
    if not isinstance(bits, np.random.PCG64) or bits.state["has_uint32"]:
        return False
    bits.advance(doubles)
    return True


def draw_degraded_cycles(rng: np.random.Generator, n: int, s: Settings) -> dict[str, np.ndarray]:
    """Return drawn quarantine and initial-cycle delays for ``n`` activations' removals, after every other draw and
    only when their settings ask (so other runs keep their draws): the removal meets a quarantined job (one cycle a
    day) with ``removal_quarantine_probability`` [E-QUAR]; its first attempt falls in an initial cycle over
    ``initial_cycle_objects`` objects with ``initial_cycle_probability`` and then takes 0.01 – 0.08 min per object
    longer (uniform) [E-WHEN]."""
    out: dict[str, np.ndarray] = {}
    if s.removal_quarantine_probability > 0:
        out["removal_quarantined"] = rng.random(n) < s.removal_quarantine_probability
    if s.initial_cycle_probability > 0 and s.initial_cycle_objects > 0:
        hit = rng.random(n) < s.initial_cycle_probability
        per_object = rng.uniform(INITIAL_CYCLE_PER_OBJECT_MIN, INITIAL_CYCLE_PER_OBJECT_MAX, n)
        out["removal_initial_delay"] = np.where(hit, per_object * s.initial_cycle_objects, 0.0)
    return out


def draw_removal_failures(rng: np.random.Generator, n: int, s: Settings) -> dict[str, np.ndarray]:
    """Return drawn removal failures for ``n`` activations, after every other draw (so runs without failures keep
    their draws): each attempt fails with ``removal_failure_probability``, up to ``removal_failures_max`` in a row;
    each failure goes to escrow with ``removal_failure_escrow_share``, else it is retried next cycle
    [E-PLOGS][E-QUAR]."""
    m = s.removal_failures_max
    fails = rng.random((n, m)) < s.removal_failure_probability
    escrow = rng.random((n, m)) < s.removal_failure_escrow_share
    count = np.cumprod(fails, axis=1).sum(axis=1).astype(np.int64)
    return {"removal_failures": count, "removal_escrow": escrow}
