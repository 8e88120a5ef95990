"""Permission sets: name, description, relay state and SessionDuration (PT1H default, PT1H–PT12H)
[UG23-howto][BC-ssoadmin]; a new SessionDuration applies to role sessions launched afterwards.

Policies: AWS managed policies by ARN (``arn:aws:iam::aws:policy/NAME``, the botocore pattern) and one inline policy
document (1 inline policy, at most 32,768 characters of which at most 10,240 non-whitespace [UG-limits][BC-ssoadmin]).
The fake stores the policies and answers them back; it does not evaluate them. Attaching a policy that is already
attached is a ``ConflictException``, detaching one that is not attached a ``ResourceNotFoundException``, and the
inline policy of a permission set that has none reads as ``""`` (all three UNCONFIRMED: AWS documents the error
classes per operation [BC-ssoadmin], not which case raises which).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sim.clock import Clock
from sim.durations import DurationError, parse_duration
from sim.settings import RANGES

from .errors import conflict, not_found, required_string, validation
from .ids import IdSource
from .instance import Instance

__all__ = ["PermissionSet", "PermissionSets", "parse_session_duration"]

_PS_NAME = re.compile(r"[\w+=,.@-]{1,32}")
MANAGED_POLICY_ARN = re.compile(
    r"arn:aws(-[a-z]{1,5}){0,3}:iam::aws:policy((/[A-Za-z0-9.,+@=_-]+)*)/([A-Za-z0-9.,+=@_-]+)"
)
"""The ``ManagedPolicyArn`` pattern of botocore's sso-admin model (20–2048 characters) [BC-ssoadmin]."""
INLINE_POLICY_MAX = 32768
"""Inline policy document: at most 32,768 characters [UG-limits][BC-ssoadmin] ..."""
INLINE_POLICY_MAX_NON_WHITESPACE = 10240
"""... of which at most 10,240 non-whitespace [UG-limits]."""
_POLICY_CHARS = re.compile(r"[\t\n\r\x20-\xff]+")


@dataclass
class PermissionSet:
    """A permission set; ``session_seconds`` is its SessionDuration (PT1H–PT12H) [UG23-howto][BC-ssoadmin]."""

    arn: str
    name: str
    description: str | None
    session_duration: str
    session_seconds: float
    relay_state: str | None
    created: float
    provisioned_accounts: set[str] = field(default_factory=set)
    managed_policies: list[str] = field(default_factory=list)
    """ARNs of the attached AWS managed policies, in attach order (AttachManagedPolicyToPermissionSet)."""
    inline_policy: str | None = None
    """The inline policy document as sent (PutInlinePolicyToPermissionSet), or None."""

    def managed_policies_json(self) -> list[dict[str, str]]:
        """Return the ``AttachedManagedPolicy`` list: ``{"Name", "Arn"}`` per policy [BC-ssoadmin]."""
        return [{"Name": arn.rsplit("/", 1)[1], "Arn": arn} for arn in self.managed_policies]

    def to_json(self) -> dict[str, Any]:
        """Return the ``PermissionSet`` shape of sso-admin [BC-ssoadmin]."""
        out: dict[str, Any] = {
            "Name": self.name,
            "PermissionSetArn": self.arn,
            "CreatedDate": self.created,
            "SessionDuration": self.session_duration,
        }
        if self.description is not None:
            out["Description"] = self.description
        if self.relay_state is not None:
            out["RelayState"] = self.relay_state
        return out


def parse_session_duration(text: Any, field_name: str = "SessionDuration") -> float:
    """Return the seconds of an ISO-8601 ``SessionDuration`` (``PT1H`` – ``PT12H``) [BC-ssoadmin][UG23-howto].

    Raises a ``ValidationException`` naming the field and the limit it breaks.
    """
    if not isinstance(text, str) or not text.upper().startswith("P"):
        raise validation(f"{field_name} must be an ISO-8601 duration such as PT1H or PT12H, got {text!r}")
    try:
        seconds = parse_duration(text)
    except DurationError:
        raise validation(f"{field_name} must be an ISO-8601 duration such as PT1H or PT12H, got {text!r}") from None
    low, high, _source = RANGES["permission_set_session"]
    if seconds < low:
        raise validation(f"{field_name} {text} is below the minimum of PT{int(low // 3600)}H (1 hour)")
    if seconds > high:
        raise validation(f"{field_name} {text} exceeds the maximum of PT{int(high // 3600)}H (12 hours)")
    return seconds


def check_managed_policy_arn(policy_arn: Any) -> str:
    """Return ``policy_arn`` if it is an AWS managed policy ARN (botocore's pattern, 20–2048 characters)
    [BC-ssoadmin]; raise ``ValidationException`` naming ``ManagedPolicyArn`` otherwise."""
    if (
        not isinstance(policy_arn, str)
        or not 20 <= len(policy_arn) <= 2048
        or not MANAGED_POLICY_ARN.fullmatch(policy_arn)
    ):
        raise validation(
            f"ManagedPolicyArn {policy_arn!r} must be an AWS managed policy ARN such as "
            "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
        )
    return policy_arn


def check_inline_policy(document: Any) -> str:
    """Return ``document`` if it is a JSON policy document within the inline policy limits [UG-limits][BC-ssoadmin];
    raise ``ValidationException`` naming ``InlinePolicy`` and the limit it breaks otherwise."""
    if not isinstance(document, str) or not document:
        raise validation("InlinePolicy is required: a JSON policy document as a string")
    if len(document) > INLINE_POLICY_MAX:
        raise validation(f"InlinePolicy has {len(document)} characters; the maximum is {INLINE_POLICY_MAX}")
    solid = sum(1 for ch in document if not ch.isspace())
    if solid > INLINE_POLICY_MAX_NON_WHITESPACE:
        raise validation(
            f"InlinePolicy has {solid} non-whitespace characters; the maximum is {INLINE_POLICY_MAX_NON_WHITESPACE}"
        )
    if not _POLICY_CHARS.fullmatch(document):
        raise validation("InlinePolicy may only hold tab, newline, carriage return and characters U+0020-U+00FF")
    try:
        parsed = json.loads(document)
    except ValueError as exc:
        raise validation(f"InlinePolicy is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or "Statement" not in parsed:
        raise validation('InlinePolicy must be a JSON object with a "Statement"')
    return document


def _check_description(description: Any) -> None:
    if not isinstance(description, str) or len(description) > 700:
        raise validation("Description must be a string of at most 700 characters")


def _check_relay_state(relay_state: Any) -> None:
    if not isinstance(relay_state, str) or len(relay_state) > 240:
        raise validation("RelayState must be a string of at most 240 characters")


class PermissionSets(Mapping[str, PermissionSet]):
    """The instance's permission sets by ARN, in creation order.

    ``in_use(arn)`` tells whether account assignments still use a permission set (deletion is refused then).
    """

    def __init__(
        self,
        clock: Clock,
        ids: IdSource,
        instance: Instance,
        changed: Callable[[], None],
        in_use: Callable[[str], bool],
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._instance = instance
        self._changed = changed
        self._in_use = in_use
        self._items: dict[str, PermissionSet] = {}

    def __getitem__(self, arn: str) -> PermissionSet:
        return self._items[arn]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Forget every permission set."""
        self._items = {}

    def add(self, ps: PermissionSet) -> None:
        """Store ``ps`` as it is (restoring saved state)."""
        self._items[ps.arn] = ps

    def by_name(self, name: str) -> PermissionSet | None:
        """Return the permission set called ``name``, or None."""
        return next((p for p in self._items.values() if p.name == name), None)

    def create(
        self, name: Any, description: Any = None, session_duration: Any = None, relay_state: Any = None
    ) -> PermissionSet:
        """Create a permission set; SessionDuration defaults to PT1H [UG23-howto] and must be PT1H–PT12H."""
        if not isinstance(name, str) or not _PS_NAME.fullmatch(name):
            raise validation(f"Name {name!r} must be 1-32 characters of [\\w+=,.@-]")
        if description is not None:
            _check_description(description)
        if relay_state is not None:
            _check_relay_state(relay_state)
        if self.by_name(name) is not None:
            raise conflict(f"Permission set with name {name} already exists")
        iso = "PT1H" if session_duration is None else session_duration
        seconds = parse_session_duration(iso)
        arn = f"arn:aws:sso:::permissionSet/{self._instance.instance_id}/ps-{self._ids.hex(16)}"
        ps = PermissionSet(arn, name, description, str(iso), seconds, relay_state, self._clock.time())
        self._items[arn] = ps
        self._changed()
        return ps

    def get_checked(self, arn: Any) -> PermissionSet:
        """Return the permission set ``arn`` or raise ``ResourceNotFoundException``."""
        ps = self._items.get(required_string("PermissionSetArn", arn))
        if ps is None:
            raise not_found(f"Could not find PermissionSet with PermissionSetArn {arn}")
        return ps

    def update(self, arn: Any, description: Any = None, session_duration: Any = None, relay_state: Any = None) -> None:
        """Update a permission set; a new SessionDuration applies to role sessions launched afterwards."""
        ps = self.get_checked(arn)
        seconds = parse_session_duration(session_duration) if session_duration is not None else None
        if description is not None:
            _check_description(description)
            ps.description = description
        if relay_state is not None:
            _check_relay_state(relay_state)
            ps.relay_state = relay_state
        if seconds is not None:
            ps.session_duration, ps.session_seconds = str(session_duration), seconds
        self._changed()

    def delete(self, arn: Any) -> None:
        """Delete a permission set; refused with ConflictException while account assignments use it."""
        ps = self.get_checked(arn)
        if self._in_use(ps.arn):
            raise conflict(f"Permission set {ps.arn} is assigned to accounts; delete the account assignments first")
        del self._items[ps.arn]
        self._changed()

    # --- policies ------------------------------------------------------------------------------------------
    def attach_managed_policy(self, arn: Any, policy_arn: Any) -> None:
        """Attach an AWS managed policy; ConflictException when it is already attached (UNCONFIRMED which error)."""
        ps = self.get_checked(arn)
        policy = check_managed_policy_arn(policy_arn)
        if policy in ps.managed_policies:
            raise conflict(f"Managed policy {policy} is already attached to permission set {ps.arn}")
        ps.managed_policies.append(policy)
        self._changed()

    def detach_managed_policy(self, arn: Any, policy_arn: Any) -> None:
        """Detach an AWS managed policy; ResourceNotFoundException when it is not attached (UNCONFIRMED)."""
        ps = self.get_checked(arn)
        policy = check_managed_policy_arn(policy_arn)
        if policy not in ps.managed_policies:
            raise not_found(f"Managed policy {policy} is not attached to permission set {ps.arn}")
        ps.managed_policies.remove(policy)
        self._changed()

    def put_inline_policy(self, arn: Any, document: Any) -> None:
        """Set (or replace) the one inline policy of a permission set [UG-limits][BC-ssoadmin]."""
        ps = self.get_checked(arn)
        ps.inline_policy = check_inline_policy(document)
        self._changed()

    def delete_inline_policy(self, arn: Any) -> None:
        """Remove the inline policy of a permission set (nothing to remove is not an error; UNCONFIRMED)."""
        ps = self.get_checked(arn)
        ps.inline_policy = None
        self._changed()

    def to_state(self) -> list[dict[str, Any]]:
        """Return every permission set, JSON-ready (see :meth:`load_state`)."""
        return [{**asdict(ps), "provisioned_accounts": sorted(ps.provisioned_accounts)} for ps in self._items.values()]

    def load_state(self, rows: list[dict[str, Any]]) -> None:
        """Add the permission sets of a :meth:`to_state` value."""
        for raw in rows:
            self.add(PermissionSet(**{**raw, "provisioned_accounts": set(raw["provisioned_accounts"])}))
