"""The Identity Center instance: its ids (instance ARN, identity store id) and its settings and switches.

Settings: the portal session duration (8 h default, 15 min – 90 days; a change applies only to new sessions)
[UG-uis], the entitlement mode (:class:`sim.settings.Settings`), what disabled users may still launch
(:class:`DisabledUserMode`) and how long asynchronous sso-admin requests take (``assignment_delay``; UNCONFIRMED,
AWS only says they are asynchronous [BC-ssoadmin][BLOG-gagan]).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sim.durations import DurationError, format_duration, parse_duration
from sim.settings import Settings, SettingsError

from .errors import not_found, required_string, validation
from .ids import IdSource

__all__ = [
    "DEFAULT_ASSIGNMENT_DELAY",
    "MAX_ASSIGNMENT_DELAY",
    "DisabledUserMode",
    "Instance",
    "InstanceSettings",
]

DEFAULT_ASSIGNMENT_DELAY = 5.0
"""Seconds from CreateAccountAssignment to SUCCEEDED (UNCONFIRMED; AWS only says it is asynchronous)."""
MAX_ASSIGNMENT_DELAY = 3600.0


class DisabledUserMode(StrEnum):
    """What a disabled or deleted user with a live portal session can still launch (UNCONFIRMED which holds)."""

    CONTINUE = "continue"
    """They "can continue to assume new roles until you remove their access" — current docs [UG-revoke][UG-idsrc]."""
    CACHED_1H = "cached_1h"
    """Sign-in sessions are cached for one hour: new role sessions until the next hourly refresh [UG23-auth]."""


@dataclass
class Instance:
    """The instance's ids; :meth:`renew` draws new ones from the seed (construction and sandbox reset)."""

    owner_account_id: str
    fixed_store_id: str | None = None
    instance_id: str = ""
    identity_store_id: str = ""
    created: float = 0.0

    @property
    def instance_arn(self) -> str:
        """Return ``arn:aws:sso:::instance/<instance id>``."""
        return f"arn:aws:sso:::instance/{self.instance_id}"

    def renew(self, ids: IdSource, now: float) -> None:
        """Draw a new instance id and identity store id (unless one was fixed) from ``ids``; created ``now``."""
        self.instance_id = "ssoins-" + ids.hex(16)
        generated_store = "d-" + ids.hex(10)
        self.identity_store_id = self.fixed_store_id or generated_store
        self.created = now

    def check(self, instance_arn: Any) -> None:
        """Raise unless ``instance_arn`` names this instance."""
        if required_string("InstanceArn", instance_arn) != self.instance_arn:
            raise not_found(f"Instance {instance_arn} does not exist; this sandbox's instance is {self.instance_arn}")

    def to_json(self) -> dict[str, Any]:
        """Return the ``InstanceMetadata`` shape of ListInstances [BC-ssoadmin]."""
        return {
            "InstanceArn": self.instance_arn,
            "IdentityStoreId": self.identity_store_id,
            "OwnerAccountId": self.owner_account_id,
            "Name": "jitbox",
            "CreatedDate": self.created,
            "Status": "ACTIVE",
        }

    def describe_json(self) -> dict[str, Any]:
        """Return the ``DescribeInstance`` output: the ListInstances fields plus ``IdentityStoreArn`` [BC-ssoadmin]."""
        store_arn = f"arn:aws:identitystore::{self.owner_account_id}:identitystore/{self.identity_store_id}"
        return {**self.to_json(), "IdentityStoreArn": store_arn}


class InstanceSettings:
    """The instance's timing settings and UNCONFIRMED switches; :meth:`restore` brings back the initial ones."""

    def __init__(self, settings: Settings, assignment_delay: float, disabled_user_mode: DisabledUserMode) -> None:
        self._initial = (settings, assignment_delay, disabled_user_mode)
        self.settings = settings
        self.assignment_delay = assignment_delay
        self.disabled_user_mode = disabled_user_mode
        self.user_assignments_include_groups = False
        """ListAccountAssignmentsForPrincipal(USER) also lists the user's group assignments (UNCONFIRMED switch)."""

    def restore(self) -> None:
        """Go back to the settings the instance was created with (sandbox reset)."""
        self.settings, self.assignment_delay, self.disabled_user_mode = self._initial
        self.user_assignments_include_groups = False

    def configure(
        self,
        *,
        portal_session: Any = None,
        entitlement_mode: Any = None,
        disabled_user_mode: Any = None,
        assignment_delay: Any = None,
        user_assignments_include_groups: Any = None,
    ) -> None:
        """Change the settings given; a new portal session duration applies only to new sessions [UG-uis].

        All-or-nothing: raises ``ValidationException`` naming the bad field and its documented range, changing
        nothing.
        """
        changes: dict[str, Any] = {}
        if portal_session is not None:
            changes["portal_session"] = portal_session
        if entitlement_mode is not None:
            changes["entitlement_mode"] = entitlement_mode
        try:
            settings = self.settings.replace(**changes) if changes else self.settings
        except SettingsError as exc:
            raise validation(str(exc).replace("settings.", "")) from None
        mode = self.disabled_user_mode if disabled_user_mode is None else _disabled_user_mode(disabled_user_mode)
        delay = self.assignment_delay if assignment_delay is None else _assignment_delay(assignment_delay)
        include = self.user_assignments_include_groups
        if user_assignments_include_groups is not None:
            if not isinstance(user_assignments_include_groups, bool):
                raise validation("user_assignments_include_groups must be true or false")
            include = user_assignments_include_groups
        self.settings, self.disabled_user_mode, self.assignment_delay = settings, mode, delay
        self.user_assignments_include_groups = include

    def to_json(self, instance: Instance) -> dict[str, Any]:
        """Return the instance settings the sandbox exposes."""
        return {
            "instance_arn": instance.instance_arn,
            "identity_store_id": instance.identity_store_id,
            "portal_session": self.settings.portal_session,
            "portal_session_iso": format_duration(self.settings.portal_session),
            "entitlement_mode": self.settings.entitlement_mode.value,
            "disabled_user_mode": self.disabled_user_mode.value,
            "assignment_delay": self.assignment_delay,
            "user_assignments_include_groups": self.user_assignments_include_groups,
        }

    def to_state(self) -> dict[str, Any]:
        """Return the settings for the plane's saved state, JSON-ready."""
        return {
            "settings": self.settings.model_dump(mode="json"),
            "assignment_delay": self.assignment_delay,
            "disabled_user_mode": self.disabled_user_mode.value,
            "user_assignments_include_groups": self.user_assignments_include_groups,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Take the settings from a saved plane state (see :meth:`to_state`)."""
        self.settings = Settings.model_validate(state["settings"])
        self.assignment_delay = state["assignment_delay"]
        self.disabled_user_mode = DisabledUserMode(state["disabled_user_mode"])
        self.user_assignments_include_groups = bool(state.get("user_assignments_include_groups", False))


def _disabled_user_mode(value: Any) -> DisabledUserMode:
    """Return ``value`` as a :class:`DisabledUserMode` or raise ``ValidationException`` listing the modes."""
    try:
        return DisabledUserMode(value)
    except ValueError:
        known = ", ".join(m.value for m in DisabledUserMode)
        raise validation(f"disabled_user_mode {value!r} is not one of {known}") from None


def _assignment_delay(value: Any) -> float:
    """Return the seconds of ``value`` (0 s – 1 h) or raise ``ValidationException``."""
    try:
        delay = parse_duration(value)
    except DurationError as exc:
        raise validation(f"assignment_delay: {exc}") from None
    if not 0 <= delay <= MAX_ASSIGNMENT_DELAY:
        raise validation(f"assignment_delay = {format_duration(delay)} is outside 0 s – 1h")
    return delay
