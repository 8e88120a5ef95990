"""The settings that decide a JIT access window, validated against the documented ranges.

Every number here comes from ``../shared/reference/`` and carries its source tag (the key is in the reference
files). Durations are stored in seconds and accept ISO 8601 (``PT1H``) or short forms (``90m``, ``8h``).
Behaviour the references mark UNCONFIRMED is a named switch, never a silent guess.

| field | default | range | source |
|---|---|---|---|
| activation_max | 8 h | 30 min – 24 h | [G-POLA-LIST] default PT8H; [AWS-BLOG] 30 min – 24 h; [E-SET] |
| approval_timeout | 24 h (fixed) | — | [E-APPRV] "isn't configurable" |
| min_active_before_deactivate | 5 min | switch `enforce_min_active` | [E-ASSIGN] "can't be removed within five minutes of it being assigned"; error ``ActiveDurationTooShort`` third-party |
| refuse_pending_duplicate | on | switch | legacy Graph PIM ``PendingRoleAssignmentRequest``; UNCONFIRMED for PIM for Groups |
| membership_latency_max | 10 s | 0 – 5 min | [E-ACT] "within seconds" (exact number UNCONFIRMED) |
| fast_path_limit / window | 5 per 10 s per app | — | [E-AWS][E-PIMG] |
| fast_path_window_mode | sliding | fixed, sliding | [E-AWS] window semantics UNCONFIRMED |
| fast_path_latency | 2 – 10 min | — | [E-AWS][E-PIMG][AWS-BLOG] |
| cycle_interval | 40 min | 1 min – 24 h (what-if; Entra's is fixed) | [E-AWS][E-SCIM]; not configurable [E-KNOWN] |
| cycle_phase | 0 | 0 – cycle_interval | modelling choice (cycle start relative to t = 0) |
| cycle_processing | 0 s | 0 – 1 h | UNCONFIRMED (time from cycle start to the SCIM call) |
| cycle_jitter | 0 s | 0 – 20 min | [E-AWS] "approximately" 40 min; magnitude UNCONFIRMED (each cycle starts up to this late) |
| removal_failure_probability | 0 | 0 – 1 | [E-PLOGS][E-QUAR] removal attempts can fail; rate UNCONFIRMED (simulator draws) |
| removal_failure_escrow_share | 0 | 0 – 1 | [E-PLOGS] 429/5xx/timeouts retried next cycle vs [E-QUAR] other errors escrowed; share UNCONFIRMED |
| failed_removals | 0 | 0 – 10 | [E-PLOGS] assume the first N removal attempts of every activation fail (429/5xx/timeout) and are retried on the following cycles (``--failed-removals``) |
| removal_failures_max | 3 | 0 – 10 | modelling cap on consecutive failed removal attempts the simulator draws |
| removal_quarantine_probability | 0 | 0 – 1 | [E-QUAR] an activation's removal meets a quarantined job (one cycle a day); rate UNCONFIRMED (simulator draws; ``jitbox bound --quarantined`` = 1) |
| initial_cycle_probability | 0 | 0 – 1 | [E-WHEN] an activation's first removal attempt falls in an initial cycle; rate UNCONFIRMED (simulator draws; ``jitbox bound --initial-cycle`` = 1) |
| initial_cycle_objects | 0 | 0 – 10,000,000 | [E-WHEN] users + groups + members in scope: the initial cycle takes 0.01 – 0.08 min per object |
| legacy_cli | off | switch | [SDK-ssocred] legacy non-refreshable CLI profile: fixed 8 h session whatever the portal setting |
| portal_session | 8 h | 15 min – 90 days | [UG-uis][UG-cfgsess][BLOG-sess] |
| permission_set_session | 1 h | 1 h – 12 h | [UG23-howto][UG-permprops] |
| entitlement_mode | signin_snapshot | signin_snapshot, launch_check, cached_1h | [AWS-BLOG] / [UG-revoke] / [UG23-auth] (UNCONFIRMED which holds) |
| entitlement_cache | 1 h | — | [UG23-auth] "sign in sessions are cached for one hour" |
| end_portal_sessions | off | countermeasure | [UG-endsess][UG-managesess] |
| deny_tokens_before_expiry | off | countermeasure | [IAM-revoke] ``aws:TokenIssueTime`` deny |
| remove_idc_membership | off | countermeasure | [UG-revoke] step 3 (remove memberships directly) |
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from sim.durations import DurationError, format_duration, parse_duration

__all__ = [
    "APPROVAL_TIMEOUT",
    "COUNTERMEASURES",
    "ENTITLEMENT_CACHE",
    "ESCROW_MAX_AGE",
    "ESCROW_RETRIES",
    "INITIAL_CYCLE_OBJECTS_MAX",
    "INITIAL_CYCLE_PER_OBJECT_MAX",
    "INITIAL_CYCLE_PER_OBJECT_MIN",
    "LEGACY_CLI_SESSION",
    "QUARANTINE_CYCLE",
    "RANGES",
    "EntitlementMode",
    "Seconds",
    "Settings",
    "SettingsError",
    "WindowMode",
    "grid_settings",
    "load_settings",
]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

APPROVAL_TIMEOUT = 24 * HOUR
"""Approvers have 24 hours; not configurable [E-APPRV] (``approvalStageTimeOutInDays: 1`` [G-POLA-LIST])."""

COUNTERMEASURES: tuple[str, ...] = ("end_portal_sessions", "deny_tokens_before_expiry", "remove_idc_membership")
"""The countermeasure switches of :class:`Settings` [UG-endsess][IAM-revoke][UG-revoke]."""

LEGACY_CLI_SESSION = 8 * HOUR
"""The legacy (non-refreshable) SSO CLI profile "uses a fixed, eight-hour session" whatever the portal setting
[SDK-ssocred][UG23-sess] (switch ``legacy_cli``)."""

ESCROW_RETRIES: tuple[float, ...] = (6 * HOUR, 12 * HOUR, 24 * HOUR)
"""Escrow retries after the first failure: 6 h, 12 h, 24 h, then every 24 h up to 28 days [E-QUAR]."""

ESCROW_MAX_AGE = 28 * DAY
"""After 28 days in escrow the entry is removed and the job disabled [E-QUAR]."""

QUARANTINE_CYCLE = 1 * DAY
"""A quarantined job's cycles are "gradually reduced to once per day" [E-QUAR][E-HOW]."""

INITIAL_CYCLE_PER_OBJECT_MAX = 0.08 * MINUTE
"""The initial cycle takes at most 0.08 min per assigned user, group and member [E-WHEN]."""

INITIAL_CYCLE_PER_OBJECT_MIN = 0.01 * MINUTE
"""The initial cycle takes at least 0.01 min per assigned user, group and member [E-WHEN]."""

INITIAL_CYCLE_OBJECTS_MAX = 10_000_000
"""Most objects (users + groups + members) a setting may put in the initial cycle's scope (a modelling cap)."""

ENTITLEMENT_CACHE = 1 * HOUR
"""Identity Center sign-in sessions are cached for one hour [UG23-auth] (used by ``cached_1h``)."""

MIN_ACTIVE_BEFORE_DEACTIVATE = 5 * MINUTE
"""PIM for Groups assignments can't be made for less than five minutes nor removed within five minutes of being
assigned [E-ASSIGN] (Microsoft Learn groups-assign-member-owner); self-deactivation within 5 minutes of activation
is refused with ``ActiveDurationTooShort`` (the error code is third-party; switch ``enforce_min_active``)."""

RANGES: dict[str, tuple[float, float, str]] = {
    "activation_max": (30 * MINUTE, 24 * HOUR, "[AWS-BLOG][E-SET] PIM activation maximum duration"),
    "membership_latency_max": (0.0, 5 * MINUTE, "[E-ACT] PIM changes group membership within seconds"),
    "fast_path_latency_min": (0.0, 1 * HOUR, "[E-AWS][E-PIMG] fast path 2-10 min"),
    "fast_path_latency_max": (0.0, 1 * HOUR, "[E-AWS][E-PIMG] fast path 2-10 min"),
    "fast_path_window": (1.0, 1 * HOUR, "[E-AWS][E-PIMG] 5 activations per 10 s"),
    "cycle_interval": (1 * MINUTE, 24 * HOUR, "[E-AWS] incremental cycle about every 40 min"),
    "cycle_processing": (0.0, 1 * HOUR, "UNCONFIRMED cycle processing time"),
    "cycle_jitter": (0.0, 20 * MINUTE, "[E-AWS] cycle 'approximately' every 40 min (variation UNCONFIRMED)"),
    "portal_session": (15 * MINUTE, 90 * DAY, "[UG-uis] AWS access portal session 15 min - 90 days"),
    "permission_set_session": (
        1 * HOUR,
        12 * HOUR,
        "[UG23-howto][UG-permprops] permission set session 1-12 h",
    ),
}


class SettingsError(ValueError):
    """Settings that break a documented range or cannot be parsed; the message names each bad field."""


class EntitlementMode(StrEnum):
    """How the access portal decides what a signed-in user may launch (UNCONFIRMED which AWS does)."""

    SIGNIN_SNAPSHOT = "signin_snapshot"
    """What the user had at sign-in, for the whole portal session — the seed's behaviour [AWS-BLOG]."""
    LAUNCH_CHECK = "launch_check"
    """A launch needs a current entitlement — implied by AWS's revoke guidance [UG-revoke]."""
    CACHED_1H = "cached_1h"
    """Entitlements cached for one hour after sign-in/refresh [UG23-auth]."""


class WindowMode(StrEnum):
    """How the fast path counts "5 activations per 10 seconds" (UNCONFIRMED [E-AWS])."""

    SLIDING = "sliding"
    """At most ``fast_path_limit`` fast-path admissions in any window of ``fast_path_window`` seconds."""
    FIXED = "fixed"
    """The first ``fast_path_limit`` activations of each aligned window (0-10 s, 10-20 s, ...)."""


def _seconds(value: Any) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


Seconds = Annotated[float, BeforeValidator(_seconds)]
"""A duration in seconds that also accepts ``PT1H`` / ``90m`` / ``8h`` (used by settings, populations, scenarios)."""


class Settings(BaseModel):
    """One combination of PIM, provisioning and Identity Center settings (all durations in seconds)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    # Entra PIM for Groups policy
    activation_max: Seconds = 8 * HOUR
    require_justification: bool = True
    require_ticket: bool = False
    require_mfa: bool = False
    approval_required: bool = False
    enforce_min_active: bool = True
    refuse_pending_duplicate: bool = True

    # Entra provisioning service
    membership_latency_max: Seconds = 10.0
    fast_path_limit: int = 5
    fast_path_window: Seconds = 10.0
    fast_path_window_mode: WindowMode = WindowMode.SLIDING
    fast_path_latency_min: Seconds = 2 * MINUTE
    fast_path_latency_max: Seconds = 10 * MINUTE
    cycle_interval: Seconds = 40 * MINUTE
    cycle_phase: Seconds = 0.0
    cycle_processing: Seconds = 0.0
    cycle_jitter: Seconds = 0.0
    removal_failure_probability: float = 0.0
    removal_failure_escrow_share: float = 0.0
    failed_removals: int = 0
    removal_failures_max: int = 3
    removal_quarantine_probability: float = 0.0
    initial_cycle_probability: float = 0.0
    initial_cycle_objects: int = 0

    # IAM Identity Center sessions
    portal_session: Seconds = 8 * HOUR
    permission_set_session: Seconds = 1 * HOUR
    entitlement_mode: EntitlementMode = EntitlementMode.SIGNIN_SNAPSHOT
    legacy_cli: bool = False

    # Countermeasures applied by the JIT tooling at the intended end of access
    end_portal_sessions: bool = False
    deny_tokens_before_expiry: bool = False
    remove_idc_membership: bool = False

    @model_validator(mode="after")
    def _check_ranges(self) -> Settings:
        problems: list[str] = []
        for name, (low, high, source) in RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                problems.append(
                    f"{name} = {format_duration(value)} is outside the documented range "
                    f"{format_duration(low)} – {format_duration(high)} ({source})"
                )
        if self.fast_path_latency_min > self.fast_path_latency_max:
            problems.append(
                f"fast_path_latency_min ({format_duration(self.fast_path_latency_min)}) must not exceed "
                f"fast_path_latency_max ({format_duration(self.fast_path_latency_max)})"
            )
        if not 0 <= self.cycle_phase < self.cycle_interval:
            problems.append(
                f"cycle_phase = {format_duration(self.cycle_phase)} must be in [0, cycle_interval "
                f"{format_duration(self.cycle_interval)})"
            )
        if self.cycle_jitter >= self.cycle_interval:
            problems.append(
                f"cycle_jitter = {format_duration(self.cycle_jitter)} must be shorter than cycle_interval "
                f"{format_duration(self.cycle_interval)}"
            )
        for name, tags in (
            ("removal_failure_probability", "[E-PLOGS][E-QUAR]"),
            ("removal_failure_escrow_share", "[E-PLOGS][E-QUAR]"),
            ("removal_quarantine_probability", "[E-QUAR]"),
            ("initial_cycle_probability", "[E-WHEN]"),
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} = {getattr(self, name)} must be a probability in 0 – 1 ({tags})")
        if not 0 <= self.initial_cycle_objects <= INITIAL_CYCLE_OBJECTS_MAX:
            problems.append(
                f"initial_cycle_objects = {self.initial_cycle_objects} must be in 0 – {INITIAL_CYCLE_OBJECTS_MAX:,} "
                "(users + groups + members in scope [E-WHEN])"
            )
        for name in ("failed_removals", "removal_failures_max"):
            if not 0 <= getattr(self, name) <= 10:
                problems.append(f"{name} = {getattr(self, name)} must be in 0 – 10")
        if self.fast_path_limit < 0:
            problems.append(f"fast_path_limit = {self.fast_path_limit} must be >= 0 ([E-AWS] documents 5)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def replace(self, **changes: Any) -> Settings:
        """Return a validated copy with ``changes`` applied (durations may be strings)."""
        return load_settings({**self.model_dump(), **changes})


def load_settings(data: dict[str, Any] | None = None, *, where: str = "settings") -> Settings:
    """Return validated :class:`Settings` from a mapping (e.g. a TOML table).

    Raises :class:`SettingsError` whose message names each bad field, its value and the documented range.
    """
    try:
        return Settings.model_validate(data or {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown setting; known settings are: {', '.join(Settings.model_fields)}"
            field = f"{where}.{loc}" if where and loc else (loc or where)
            lines.append(f"{field}: {msg}" if field else msg)
        raise SettingsError("\n".join(lines)) from None


def read_toml_file(path: Path, error: type[Exception], *, cannot_read: str, kind: str, invalid: str) -> dict[str, Any]:
    """Return the parsed TOML document at ``path``; every failure raises ``error`` with a message naming the file.

    ``cannot_read`` is the message for an unreadable file (``{reason}`` is the OS reason), ``kind`` says what such
    files are (``"settings files"``), and ``invalid`` prefixes the TOML parser's message.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: {cannot_read.format(reason=exc.strerror or exc)}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file ({kind} are TOML)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: {invalid}: {exc}") from None


def grid_settings(
    base: dict[str, Any],
    *,
    activation_max: Any,
    portal_session: Any,
    permission_set_session: Any,
    entitlement_mode: Any,
    countermeasures: tuple[str, ...],
) -> Settings:
    """Return the validated settings of one grid combination (``jitbox advise`` and ``jitbox sweep``): ``base`` with
    the three durations and the entitlement mode set and exactly the ``countermeasures`` switched on (the other
    :data:`COUNTERMEASURES` off). Raises :class:`SettingsError` like :func:`load_settings`."""
    return load_settings(
        {
            **base,
            "activation_max": activation_max,
            "portal_session": portal_session,
            "permission_set_session": permission_set_session,
            "entitlement_mode": entitlement_mode,
            **{c: c in countermeasures for c in COUNTERMEASURES},
        },
        where="",
    )
