"""The Identity Center access plane: instance, permission sets, account assignments, portal and role sessions.

Pure state and validation on an injected clock (moto's backend/response split); the HTTP layer is
:mod:`scim_server.aws.http`. Every timing decision goes through :mod:`sim.rules`:

- portal session end — :func:`sim.rules.portal_session_end` (8 h default, 15 min – 90 days; a change applies only to
  new sessions) [UG-uis]; ending a portal session does not end role sessions [UG-endsess];
- may a signed-in user launch — :func:`sim.rules.launch_allowed` by entitlement mode (``signin_snapshot``
  [AWS-BLOG], ``launch_check`` [UG-revoke], ``cached_1h`` [UG23-auth]) on the user's recorded Identity Center
  entitlement intervals (group membership ∩ account assignment, or a direct user assignment);
- disabled/deleted users — :func:`sim.rules.disabled_user_may_launch` (switch :class:`DisabledUserMode`)
  [UG-revoke][UG-idsrc][UG23-auth]; they cannot sign in [UG23-auth];
- role credentials expire at :func:`sim.rules.role_session_end` (launch + the permission set's SessionDuration,
  PT1H–PT12H) [UG23-howto][BC-sso]; is a role session still allowed at T — :func:`sim.rules.role_session_allowed`
  with the token-issue-time deny [IAM-revoke] and the per-user deny [UG-denypol].

Account assignments and permission-set provisioning are asynchronous [BC-ssoadmin]: IN_PROGRESS, then SUCCEEDED
``assignment_delay`` seconds later on the clock (the real delay is UNCONFIRMED [BLOG-gagan]; default 5 s).
"""

from __future__ import annotations

import json
import math
import random
import re
import string
import threading
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from sim.clock import Clock
from sim.durations import DurationError, format_duration, parse_duration
from sim.rules import (
    Interval,
    disabled_user_may_launch,
    launch_allowed,
    portal_session_end,
    role_session_allowed,
    role_session_end,
)
from sim.settings import RANGES, Settings, SettingsError

from .errors import AwsError, conflict, forbidden, not_found, unauthorized, validation

if TYPE_CHECKING:
    from scim_server.store import Journal

__all__ = [
    "AccessPlane",
    "Assignment",
    "Directory",
    "DisabledUserMode",
    "OperationStatus",
    "PermissionSet",
    "PortalSession",
    "RoleSession",
    "parse_session_duration",
]

JOURNAL_KIND = "aws_plane"
"""Journal kind holding the plane's state under key ``plane`` (``jitbox serve --state``)."""
DEFAULT_ASSIGNMENT_DELAY = 5.0
"""Seconds from CreateAccountAssignment to SUCCEEDED (UNCONFIRMED; AWS only says it is asynchronous)."""
MAX_ASSIGNMENT_DELAY = 3600.0

_PS_NAME = re.compile(r"[\w+=,.@-]{1,32}")
_ACCOUNT = re.compile(r"\d{12}")


class DisabledUserMode(StrEnum):
    """What a disabled or deleted user with a live portal session can still launch (UNCONFIRMED which holds)."""

    CONTINUE = "continue"
    """They "can continue to assume new roles until you remove their access" — current docs [UG-revoke][UG-idsrc]."""
    CACHED_1H = "cached_1h"
    """Sign-in sessions are cached for one hour: new role sessions until the next hourly refresh [UG23-auth]."""


class Directory(Protocol):
    """What the access plane needs from the identity store (implemented over ``scim_server.store``)."""

    def user_status(self, user_id: str) -> str | None:
        """Return ``ENABLED`` or ``DISABLED`` for an existing user, None when there is no such user."""

    def group_exists(self, group_id: str) -> bool:
        """Return True when the group exists."""

    def groups_of(self, user_id: str) -> list[str]:
        """Return the ids of the groups the user is a member of now (empty for unknown users)."""


class _History(Protocol):
    def intervals(self, user_id: str, group_id: str) -> list[Interval]: ...

    def disabled_at(self, user_id: str) -> float | None: ...


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


@dataclass
class Assignment:
    """One account assignment, effective on ``[start, end)`` (``start`` None while creation is in progress)."""

    account_id: str
    permission_set_arn: str
    principal_type: str
    principal_id: str
    start: float | None = None
    end: float = math.inf

    @property
    def current(self) -> bool:
        """True while the assignment is in effect (created and not deleted)."""
        return self.start is not None and math.isinf(self.end)

    def key(self) -> tuple[str, str, str, str]:
        """Return (account, permission set, principal type, principal id)."""
        return (self.account_id, self.permission_set_arn, self.principal_type, self.principal_id)

    def to_json(self) -> dict[str, Any]:
        """Return the ``AccountAssignment`` shape [BC-ssoadmin]."""
        return {
            "AccountId": self.account_id,
            "PermissionSetArn": self.permission_set_arn,
            "PrincipalType": self.principal_type,
            "PrincipalId": self.principal_id,
        }


@dataclass
class OperationStatus:
    """Status of an asynchronous sso-admin request (assignment creation/deletion, permission-set provisioning)."""

    kind: str
    request_id: str
    status: str
    created: float
    permission_set_arn: str
    target_id: str | None = None
    target_type: str | None = None
    principal_type: str | None = None
    principal_id: str | None = None
    failure_reason: str | None = None
    due: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Return ``AccountAssignmentOperationStatus`` or ``PermissionSetProvisioningStatus`` [BC-ssoadmin]."""
        out: dict[str, Any] = {
            "Status": self.status,
            "RequestId": self.request_id,
            "PermissionSetArn": self.permission_set_arn,
            "CreatedDate": self.created,
        }
        if self.kind == "provision":
            if self.target_id is not None:
                out["AccountId"] = self.target_id
        else:
            out.update(
                TargetId=self.target_id,
                TargetType=self.target_type,
                PrincipalType=self.principal_type,
                PrincipalId=self.principal_id,
            )
        if self.failure_reason is not None:
            out["FailureReason"] = self.failure_reason
        return out


@dataclass
class PortalSession:
    """An AWS access portal session; ``duration`` is fixed at sign-in [UG-uis]; ``ended_at`` set by logout/admin."""

    token: str
    user_id: str
    signin: float
    duration: float
    ended_at: float | None = None


@dataclass
class RoleSession:
    """Role credentials issued by GetRoleCredentials; ``expiration`` = launch + SessionDuration [UG23-howto]."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    user_id: str
    account_id: str
    permission_set_arn: str
    role_name: str
    launch: float
    duration: float
    expiration: float
    portal_token: str


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


class AccessPlane:
    """State and rules of one Identity Center instance's access plane on an injected clock."""

    def __init__(
        self,
        clock: Clock,
        directory: Directory,
        history: _History,
        settings: Settings | None = None,
        *,
        seed: int | str = 0,
        identity_store_id: str | None = None,
        owner_account_id: str = "111122223333",
        assignment_delay: float = DEFAULT_ASSIGNMENT_DELAY,
        disabled_user_mode: DisabledUserMode = DisabledUserMode.CONTINUE,
        lock: threading.RLock | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.clock = clock
        self.lock = lock if lock is not None else threading.RLock()
        """Guards every table; shared with the identity store so one lock orders all changes."""
        self._generation = 0
        self.directory = directory
        self.history = history
        self.settings = settings or Settings()
        self.seed = seed
        self.owner_account_id = owner_account_id
        self.assignment_delay = assignment_delay
        self.disabled_user_mode = disabled_user_mode
        self._fixed_store_id = identity_store_id
        self.user_assignments_include_groups = False
        """ListAccountAssignmentsForPrincipal(USER) also lists the user's group assignments (UNCONFIRMED switch)."""
        self._initial = (self.settings, assignment_delay, disabled_user_mode)
        self.journal = journal
        self._clear()
        saved = dict(journal.load(JOURNAL_KIND)).get("plane") if journal is not None else None
        if saved is not None:
            self.load_state(json.loads(saved))
        else:
            self.changed()

    # --- lifecycle -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty every table, restore the initial settings and re-create the instance with ids drawn from the
        seed (sandbox reset)."""
        self.settings, self.assignment_delay, self.disabled_user_mode = self._initial
        self.user_assignments_include_groups = False
        self._clear()
        self.changed()

    def changed(self) -> None:
        """Write the plane's state to the journal (``--state``), if there is one; call after every change."""
        if self.journal is not None:
            self.journal.put(JOURNAL_KIND, "plane", json.dumps(self.to_state(), separators=(",", ":")))

    def to_state(self) -> dict[str, Any]:
        """Return everything needed to rebuild the plane (see :meth:`load_state`), JSON-ready."""

        def finite(x: float) -> float | None:
            return None if math.isinf(x) else x

        return {
            "rng": [self._rng.getstate()[0], list(self._rng.getstate()[1]), self._rng.getstate()[2]],
            "instance_id": self.instance_id,
            "identity_store_id": self.identity_store_id,
            "created": self.created,
            "settings": self.settings.model_dump(mode="json"),
            "assignment_delay": self.assignment_delay,
            "disabled_user_mode": self.disabled_user_mode.value,
            "user_assignments_include_groups": self.user_assignments_include_groups,
            "permission_sets": [
                {**asdict(ps), "provisioned_accounts": sorted(ps.provisioned_accounts)}
                for ps in self.permission_sets.values()
            ],
            "assignments": [{**asdict(a), "end": finite(a.end)} for a in self.assignments],
            "operations": [asdict(op) for op in self.operations.values()],
            "portal_sessions": [asdict(x) for x in self.portal_sessions.values()],
            "role_sessions": [asdict(x) for x in self.role_sessions.values()],
            "accounts": {k: list(v) for k, v in self.accounts.items()},
            "token_issue_denies": list(self.token_issue_denies),
            "user_denies": dict(self.user_denies),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Rebuild the plane from :meth:`to_state`; unfinished asynchronous requests are rescheduled."""
        self._clear()
        version, internal, gauss = state["rng"]
        self._rng.setstate((version, tuple(internal), gauss))
        self.instance_id = state["instance_id"]
        self.instance_arn = f"arn:aws:sso:::instance/{self.instance_id}"
        self.identity_store_id = state["identity_store_id"]
        self.created = state["created"]
        self.settings = Settings.model_validate(state["settings"])
        self.assignment_delay = state["assignment_delay"]
        self.disabled_user_mode = DisabledUserMode(state["disabled_user_mode"])
        self.user_assignments_include_groups = bool(state.get("user_assignments_include_groups", False))
        for raw in state["permission_sets"]:
            ps = PermissionSet(**{**raw, "provisioned_accounts": set(raw["provisioned_accounts"])})
            self.permission_sets[ps.arn] = ps
        for raw in state["assignments"]:
            self.assignments.append(Assignment(**{**raw, "end": math.inf if raw["end"] is None else raw["end"]}))
        for raw in state["operations"]:
            op = OperationStatus(**raw)
            self.operations[op.request_id] = op
        for raw in state["portal_sessions"]:
            self.portal_sessions[raw["token"]] = PortalSession(**raw)
        for raw in state["role_sessions"]:
            self.role_sessions[raw["access_key_id"]] = RoleSession(**raw)
        self.accounts.update({k: (v[0], v[1]) for k, v in state["accounts"].items()})
        self.token_issue_denies.extend(float(x) for x in state["token_issue_denies"])
        self.user_denies.update({k: float(v) for k, v in state["user_denies"].items()})
        for op in self.operations.values():
            if op.status == "IN_PROGRESS":
                self._schedule(op)

    def _clear(self) -> None:
        self._generation += 1
        self._rng = random.Random(self.seed)
        self.instance_id = "ssoins-" + self._hex(16)
        self.instance_arn = f"arn:aws:sso:::instance/{self.instance_id}"
        generated_store = "d-" + self._hex(10)
        self.identity_store_id = self._fixed_store_id or generated_store
        self.created = self.clock.time()
        self.permission_sets: dict[str, PermissionSet] = {}
        self.assignments: list[Assignment] = []
        self.operations: dict[str, OperationStatus] = {}
        self.portal_sessions: dict[str, PortalSession] = {}
        self.role_sessions: dict[str, RoleSession] = {}
        self.accounts: dict[str, tuple[str, str]] = {}
        self.token_issue_denies: list[float] = []
        self.user_denies: dict[str, float] = {}

    def _hex(self, n: int) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    def random_chars(self, alphabet: str, n: int) -> str:
        """Return ``n`` characters of ``alphabet`` drawn from the seed (tokens, keys, codes)."""
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def new_request_id(self) -> str:
        """Return a fresh UUID-shaped request id drawn from the seed."""
        h = self._hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def now(self) -> float:
        """Return the clock's time in Unix seconds."""
        return self.clock.time()

    def configure(
        self,
        *,
        portal_session: Any = None,
        entitlement_mode: Any = None,
        disabled_user_mode: Any = None,
        assignment_delay: Any = None,
        user_assignments_include_groups: Any = None,
    ) -> None:
        """Change instance settings; a new portal session duration applies only to new sessions [UG-uis].

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
        mode = self.disabled_user_mode
        if disabled_user_mode is not None:
            try:
                mode = DisabledUserMode(disabled_user_mode)
            except ValueError:
                known = ", ".join(m.value for m in DisabledUserMode)
                raise validation(f"disabled_user_mode {disabled_user_mode!r} is not one of {known}") from None
        delay = self.assignment_delay
        if assignment_delay is not None:
            try:
                delay = parse_duration(assignment_delay)
            except DurationError as exc:
                raise validation(f"assignment_delay: {exc}") from None
            if not 0 <= delay <= MAX_ASSIGNMENT_DELAY:
                raise validation(f"assignment_delay = {format_duration(delay)} is outside 0 s – 1h")
        include = self.user_assignments_include_groups
        if user_assignments_include_groups is not None:
            if not isinstance(user_assignments_include_groups, bool):
                raise validation("user_assignments_include_groups must be true or false")
            include = user_assignments_include_groups
        self.settings, self.disabled_user_mode, self.assignment_delay = settings, mode, delay
        self.user_assignments_include_groups = include
        self.changed()

    def settings_json(self) -> dict[str, Any]:
        """Return the instance settings the sandbox exposes."""
        return {
            "instance_arn": self.instance_arn,
            "identity_store_id": self.identity_store_id,
            "portal_session": self.settings.portal_session,
            "portal_session_iso": format_duration(self.settings.portal_session),
            "entitlement_mode": self.settings.entitlement_mode.value,
            "disabled_user_mode": self.disabled_user_mode.value,
            "assignment_delay": self.assignment_delay,
            "user_assignments_include_groups": self.user_assignments_include_groups,
        }

    # --- instance --------------------------------------------------------------------------------------
    def check_instance(self, instance_arn: Any) -> None:
        """Raise unless ``instance_arn`` names this instance."""
        if not isinstance(instance_arn, str) or not instance_arn:
            raise validation("InstanceArn is required")
        if instance_arn != self.instance_arn:
            raise not_found(f"Instance {instance_arn} does not exist; this sandbox's instance is {self.instance_arn}")

    def instance_json(self) -> dict[str, Any]:
        """Return the ``InstanceMetadata`` shape of ListInstances [BC-ssoadmin]."""
        return {
            "InstanceArn": self.instance_arn,
            "IdentityStoreId": self.identity_store_id,
            "OwnerAccountId": self.owner_account_id,
            "Name": "jitbox",
            "CreatedDate": self.created,
            "Status": "ACTIVE",
        }

    # --- permission sets -------------------------------------------------------------------------------
    def create_permission_set(
        self, name: Any, description: Any = None, session_duration: Any = None, relay_state: Any = None
    ) -> PermissionSet:
        """Create a permission set; SessionDuration defaults to PT1H [UG23-howto] and must be PT1H–PT12H."""
        if not isinstance(name, str) or not _PS_NAME.fullmatch(name):
            raise validation(f"Name {name!r} must be 1-32 characters of [\\w+=,.@-]")
        if description is not None and (not isinstance(description, str) or len(description) > 700):
            raise validation("Description must be a string of at most 700 characters")
        if relay_state is not None and (not isinstance(relay_state, str) or len(relay_state) > 240):
            raise validation("RelayState must be a string of at most 240 characters")
        if any(ps.name == name for ps in self.permission_sets.values()):
            raise conflict(f"Permission set with name {name} already exists")
        iso = "PT1H" if session_duration is None else session_duration
        seconds = parse_session_duration(iso)
        arn = f"arn:aws:sso:::permissionSet/{self.instance_id}/ps-{self._hex(16)}"
        ps = PermissionSet(arn, name, description, str(iso), seconds, relay_state, self.now())
        self.permission_sets[arn] = ps
        self.changed()
        return ps

    def permission_set(self, arn: Any) -> PermissionSet:
        """Return the permission set ``arn`` or raise ``ResourceNotFoundException``."""
        if not isinstance(arn, str) or not arn:
            raise validation("PermissionSetArn is required")
        ps = self.permission_sets.get(arn)
        if ps is None:
            raise not_found(f"Could not find PermissionSet with PermissionSetArn {arn}")
        return ps

    def update_permission_set(
        self, arn: Any, description: Any = None, session_duration: Any = None, relay_state: Any = None
    ) -> None:
        """Update a permission set; a new SessionDuration applies to role sessions launched afterwards."""
        ps = self.permission_set(arn)
        seconds = parse_session_duration(session_duration) if session_duration is not None else None
        if description is not None:
            if not isinstance(description, str) or len(description) > 700:
                raise validation("Description must be a string of at most 700 characters")
            ps.description = description
        if relay_state is not None:
            if not isinstance(relay_state, str) or len(relay_state) > 240:
                raise validation("RelayState must be a string of at most 240 characters")
            ps.relay_state = relay_state
        if seconds is not None:
            ps.session_duration, ps.session_seconds = str(session_duration), seconds
        self.changed()

    def delete_permission_set(self, arn: Any) -> None:
        """Delete a permission set; refused with ConflictException while account assignments use it."""
        ps = self.permission_set(arn)
        if any(a.permission_set_arn == ps.arn and (a.current or a.start is None) for a in self.assignments):
            raise conflict(f"Permission set {ps.arn} is assigned to accounts; delete the account assignments first")
        del self.permission_sets[ps.arn]
        self.changed()

    # --- account assignments ---------------------------------------------------------------------------
    def _check_assignment_args(
        self, target_id: Any, target_type: Any, ps_arn: Any, principal_type: Any, principal_id: Any, exists: bool = True
    ) -> PermissionSet:
        """Validate assignment arguments (naming the bad field); with ``exists`` the principal must exist."""
        if not isinstance(target_id, str) or not _ACCOUNT.fullmatch(target_id):
            raise validation(f"TargetId {target_id!r} must be a 12-digit AWS account id")
        if target_type != "AWS_ACCOUNT":
            raise validation(f"TargetType {target_type!r} must be AWS_ACCOUNT")
        if principal_type not in ("USER", "GROUP"):
            raise validation(f"PrincipalType {principal_type!r} must be USER or GROUP")
        if not isinstance(principal_id, str) or not principal_id:
            raise validation("PrincipalId is required")
        ps = self.permission_set(ps_arn)
        if not exists:
            return ps
        found = (
            self.directory.user_status(principal_id) is not None
            if principal_type == "USER"
            else self.directory.group_exists(principal_id)
        )
        if not found:
            raise not_found(f"{principal_type.title()} {principal_id} does not exist in {self.identity_store_id}")
        return ps

    def _schedule(self, status: OperationStatus) -> None:
        """Finish ``status`` at ``status.due`` on the clock (at once when the delay is 0)."""
        generation = self._generation

        def finish() -> None:
            with self.lock:
                if generation != self._generation or status.status != "IN_PROGRESS":  # reset or reloaded
                    return
                self._apply(status)
                status.status = "SUCCEEDED"
                self.changed()

        if status.due <= self.now():
            finish()
        else:
            self.clock.call_at(status.due, finish, name=f"sso-admin {status.kind} {status.request_id}")

    def _apply(self, op: OperationStatus) -> None:
        """Make a finished asynchronous request take effect."""
        ps = self.permission_sets.get(op.permission_set_arn)
        if op.kind == "provision":
            if ps is not None and op.target_id is not None:
                ps.provisioned_accounts.add(op.target_id)
            return
        assert op.target_id is not None and op.principal_type is not None and op.principal_id is not None
        key = (op.target_id, op.permission_set_arn, op.principal_type, op.principal_id)
        effective = min(op.due, self.now())  # a request finished late (after a restart) took effect when due
        if op.kind == "create":
            if not any(a.key() == key and a.current for a in self.assignments):
                self.assignments.append(Assignment(*key, start=effective))
            if ps is not None:
                ps.provisioned_accounts.add(op.target_id)
        else:
            for a in self.assignments:
                if a.key() == key and a.current:
                    a.end = max(effective, a.start or effective)

    def _start(
        self, kind: str, ps: PermissionSet, target_id: Any, target_type: Any, ptype: Any, pid: Any
    ) -> OperationStatus:
        now = self.now()
        status = OperationStatus(
            kind, self.new_request_id(), "IN_PROGRESS", now, ps.arn, target_id, target_type, ptype, pid,
            due=now + self.assignment_delay,
        )  # fmt: skip
        self.operations[status.request_id] = status
        self._schedule(status)
        self.changed()
        return status

    def create_account_assignment(
        self, target_id: Any, target_type: Any, ps_arn: Any, principal_type: Any, principal_id: Any
    ) -> OperationStatus:
        """Start creating an assignment; it takes effect when the status turns SUCCEEDED [BC-ssoadmin]."""
        ps = self._check_assignment_args(target_id, target_type, ps_arn, principal_type, principal_id)
        return self._start("create", ps, target_id, target_type, principal_type, principal_id)

    def delete_account_assignment(
        self, target_id: Any, target_type: Any, ps_arn: Any, principal_type: Any, principal_id: Any
    ) -> OperationStatus:
        """Start deleting an assignment; it stops granting new launches when the status turns SUCCEEDED.

        The principal need not exist any more (deleted users linger in assignments [UG-trouble][GH-assoutil93]).
        """
        ps = self._check_assignment_args(target_id, target_type, ps_arn, principal_type, principal_id, exists=False)
        key = (target_id, ps.arn, principal_type, principal_id)
        if not any(a.key() == key and a.current for a in self.assignments):
            raise not_found(
                f"Account assignment of {principal_type} {principal_id} to {target_id} with {ps.arn} does not exist"
            )
        return self._start("delete", ps, target_id, target_type, principal_type, principal_id)

    def operation(self, request_id: Any, kind: str) -> OperationStatus:
        """Return the status of request ``request_id`` of ``kind`` or raise ``ResourceNotFoundException``."""
        op = self.operations.get(request_id) if isinstance(request_id, str) else None
        if op is None or op.kind != kind:
            raise not_found(f"Request {request_id} does not exist")
        return op

    def current_assignments(self) -> list[Assignment]:
        """Return the assignments in effect now, in creation order."""
        return [a for a in self.assignments if a.current]

    def provision_permission_set(self, ps_arn: Any, target_type: Any, target_id: Any = None) -> OperationStatus:
        """Provision a permission set to one account or all its accounts (asynchronous) [BC-ssoadmin]."""
        ps = self.permission_set(ps_arn)
        if target_type == "AWS_ACCOUNT":
            if not isinstance(target_id, str) or not _ACCOUNT.fullmatch(target_id):
                raise validation(f"TargetId {target_id!r} must be a 12-digit AWS account id for AWS_ACCOUNT")
        elif target_type == "ALL_PROVISIONED_ACCOUNTS":
            target_id = None
        else:
            raise validation(f"TargetType {target_type!r} must be AWS_ACCOUNT or ALL_PROVISIONED_ACCOUNTS")
        now = self.now()
        status = OperationStatus(
            "provision", self.new_request_id(), "IN_PROGRESS", now, ps.arn, target_id, due=now + self.assignment_delay
        )
        self.operations[status.request_id] = status
        self._schedule(status)
        self.changed()
        return status

    # --- entitlements ----------------------------------------------------------------------------------
    def entitlement_intervals(self, user_id: str, account_id: str, ps_arn: str) -> list[Interval]:
        """Return when ``user_id`` was entitled to ``ps_arn`` in ``account_id``: direct assignments, and group
        assignments intersected with the user's recorded group memberships."""
        out: list[Interval] = []
        for a in self.assignments:
            if a.start is None or a.account_id != account_id or a.permission_set_arn != ps_arn:
                continue
            if a.principal_type == "USER":
                if a.principal_id == user_id and a.end > a.start:
                    out.append(Interval(a.start, a.end))
                continue
            for m in self.history.intervals(user_id, a.principal_id):
                start, end = max(a.start, m.start), min(a.end, m.end)
                if end > start:
                    out.append(Interval(start, end))
        return out

    def _session_settings(self, session: PortalSession) -> Settings:
        return self.settings.model_copy(
            update={"portal_session": session.duration, "end_portal_sessions": session.ended_at is not None}
        )

    def session_end(self, session: PortalSession) -> float:
        """Return when ``session`` ends (:func:`sim.rules.portal_session_end`) [UG-uis][UG-endsess]."""
        ended = session.ended_at if session.ended_at is not None else math.inf
        # the rule caps sessions opened before the end; a logout in the very instant of sign-in also ends it
        return min(portal_session_end(session.signin, ended, self._session_settings(session)), ended)

    def may_launch(self, session: PortalSession, account_id: str, ps_arn: str, t: float) -> bool:
        """Return True when the user of ``session`` may launch ``ps_arn`` in ``account_id`` at ``t``.

        :func:`sim.rules.launch_allowed` on each entitlement interval (the user is entitled when any interval
        qualifies), then :func:`sim.rules.disabled_user_may_launch` for disabled/deleted users.
        """
        s = self._session_settings(session)
        ended = session.ended_at if session.ended_at is not None else math.inf
        intervals = self.entitlement_intervals(session.user_id, account_id, ps_arn)
        if not any(launch_allowed(iv, session.signin, t, ended, s) for iv in intervals):
            return False
        cached = self.disabled_user_mode is DisabledUserMode.CACHED_1H
        return disabled_user_may_launch(session.signin, t, self.history.disabled_at(session.user_id), cached)

    # --- portal sessions -------------------------------------------------------------------------------
    def sign_in(self, user_id: Any) -> PortalSession:
        """Open a portal session for a provisioned, enabled user (duration fixed now) [UG-uis][UG-trouble]."""
        if not isinstance(user_id, str) or not user_id:
            raise validation("user_id is required")
        status = self.directory.user_status(user_id)
        if status is None:
            raise not_found(
                f"User {user_id} is not provisioned in {self.identity_store_id}; "
                "Identity Center does not create users at sign-in"
            )
        if status != "ENABLED":
            raise unauthorized(f"User {user_id} is disabled and cannot sign in")
        token = "aoa" + self.random_chars(string.ascii_letters + string.digits, 61)
        session = PortalSession(token, user_id, self.now(), self.settings.portal_session)
        self.portal_sessions[token] = session
        self.changed()
        return session

    def session(self, token: Any, t: float | None = None) -> PortalSession:
        """Return the live portal session for ``token`` or raise ``UnauthorizedException`` [GH-cli7340]."""
        if not isinstance(token, str) or not token:
            raise unauthorized("The x-amz-sso_bearer_token header (access token) is required")
        session = self.portal_sessions.get(token)
        now = self.now() if t is None else t
        if session is None or not session.signin <= now < self.session_end(session):
            raise unauthorized()
        return session

    def _account_ids(self) -> list[str]:
        return sorted({a.account_id for a in self.assignments if a.start is not None})

    def launchable(self, session: PortalSession, t: float) -> list[tuple[str, PermissionSet]]:
        """Return the (account, permission set) pairs the session's user may launch at ``t``, sorted."""
        pairs = []
        for account in self._account_ids():
            for ps in sorted(self.permission_sets.values(), key=lambda p: p.name):
                if self.may_launch(session, account, ps.arn, t):
                    pairs.append((account, ps))
        return pairs

    def access_json(self, user_id: str, t: float) -> dict[str, Any]:
        """Return what ``user_id`` can still do at ``t``: per portal session whether it is live and what it may
        launch, and per role session whether it may still act (as far as the sandbox knows now)."""
        sessions = []
        for session in self.portal_sessions.values():
            if session.user_id != user_id:
                continue
            end = self.session_end(session)
            live = session.signin <= t < end
            pairs = self.launchable(session, t) if live else []
            sessions.append(
                {
                    "signin": session.signin,
                    "end": end,
                    "live": live,
                    "launchable": [{"accountId": a, "roleName": ps.name} for a, ps in pairs],
                }
            )
        roles = [self.role_session_json(r, t) for r in self.role_sessions.values() if r.user_id == user_id]
        return {
            "user_id": user_id,
            "at": t,
            "can_launch": any(s["launchable"] for s in sessions),
            "can_act": any(r["allowed"] for r in roles),
            "portal_sessions": sessions,
            "role_sessions": roles,
        }

    def account_json(self, account_id: str) -> dict[str, str]:
        """Return the portal's ``AccountInfo`` (names registered via the sandbox, else derived from the id)."""
        name, email = self.accounts.get(account_id, (f"account-{account_id}", f"aws+{account_id}@example.com"))
        return {"accountId": account_id, "accountName": name, "emailAddress": email}

    def register_account(self, account_id: Any, name: Any, email: Any = None) -> None:
        """Give an account the name and email the portal lists."""
        if not isinstance(account_id, str) or not _ACCOUNT.fullmatch(account_id):
            raise validation(f"account_id {account_id!r} must be a 12-digit AWS account id")
        if not isinstance(name, str) or not name:
            raise validation("name is required")
        self.accounts[account_id] = (name, email if isinstance(email, str) else f"aws+{account_id}@example.com")
        self.changed()

    def get_role_credentials(self, token: Any, role_name: Any, account_id: Any) -> RoleSession:
        """Launch a permission set: issue role credentials expiring at launch + SessionDuration [BC-sso]."""
        if not isinstance(role_name, str) or not role_name:
            raise AwsError("InvalidRequestException", "role_name is required", 400)
        if not isinstance(account_id, str) or not account_id:
            raise AwsError("InvalidRequestException", "account_id is required", 400)
        t = self.now()
        session = self.session(token, t)
        ps = next((p for p in self.permission_sets.values() if p.name == role_name), None)
        if ps is None or not self.may_launch(session, account_id, ps.arn, t):
            raise forbidden()
        s = self.settings.model_copy(update={"permission_set_session": ps.session_seconds})
        expiration = role_session_end(t, math.inf, s)
        key = "ASIA" + self.random_chars(string.ascii_uppercase + "234567", 16)
        role = RoleSession(
            access_key_id=key,
            secret_access_key=self.random_chars(string.ascii_letters + string.digits + "+/", 40),
            session_token=self.random_chars(string.ascii_letters + string.digits + "+/", 120),
            user_id=session.user_id,
            account_id=account_id,
            permission_set_arn=ps.arn,
            role_name=ps.name,
            launch=t,
            duration=ps.session_seconds,
            expiration=expiration,
            portal_token=session.token,
        )
        self.role_sessions[key] = role
        self.changed()
        return role

    def logout(self, token: Any) -> None:
        """End the portal session; role sessions already issued keep working [UG-endsess]."""
        session = self.session(token)
        session.ended_at = self.now()
        self.changed()

    def end_user_sessions(self, user_id: str) -> int:
        """Admin "Delete session" for every live portal session of ``user_id``; return how many ended [UG-endsess]."""
        t = self.now()
        ended = 0
        for session in self.portal_sessions.values():
            if session.user_id == user_id and session.signin <= t < self.session_end(session):
                session.ended_at = t
                ended += 1
        if ended:
            self.changed()
        return ended

    # --- countermeasures -------------------------------------------------------------------------------
    def deny_token_issue_time(self, cutoff: float | None = None) -> float:
        """Attach a deny on ``aws:TokenIssueTime`` before ``cutoff`` (default now) [IAM-revoke]; return it."""
        value = self.now() if cutoff is None else float(cutoff)
        self.token_issue_denies.append(value)
        self.changed()
        return value

    def deny_user(self, user_id: Any, at: float | None = None) -> float:
        """Deny every action of ``user_id`` from ``at`` (default now) via ``identitystore:userId`` [UG-denypol]."""
        if not isinstance(user_id, str) or not user_id:
            raise validation("user_id is required")
        value = self.now() if at is None else float(at)
        self.user_denies[user_id] = min(value, self.user_denies.get(user_id, math.inf))
        self.changed()
        return value

    def role_session(self, access_key_id: Any) -> RoleSession:
        """Return the role session with ``access_key_id`` or raise ``ResourceNotFoundException``."""
        role = self.role_sessions.get(access_key_id) if isinstance(access_key_id, str) else None
        if role is None:
            raise not_found(f"No role session with access key id {access_key_id}")
        return role

    def role_session_effective_end(self, role: RoleSession) -> tuple[float, float]:
        """Return (intended_end, effective end) of ``role`` under the token-issue-time denies in force."""
        cutoff = min((c for c in self.token_issue_denies if c > role.launch), default=math.inf)
        s = self._role_settings(role)
        return cutoff, role_session_end(role.launch, cutoff, s)

    def _role_settings(self, role: RoleSession) -> Settings:
        return self.settings.model_copy(
            update={"permission_set_session": role.duration, "deny_tokens_before_expiry": True}
        )

    def role_session_allowed(self, role: RoleSession, t: float) -> bool:
        """Return True when ``role`` may still act at ``t`` (:func:`sim.rules.role_session_allowed`)."""
        cutoff, _end = self.role_session_effective_end(role)
        return role_session_allowed(
            role.launch, t, cutoff, self._role_settings(role), self.user_denies.get(role.user_id)
        )

    def role_session_json(self, role: RoleSession, t: float) -> dict[str, Any]:
        """Return the sandbox's answer to "is this role session still allowed at ``t``"."""
        _cutoff, end = self.role_session_effective_end(role)
        deny = self.user_denies.get(role.user_id)
        allowed = self.role_session_allowed(role, t)
        if allowed:
            reason = "allowed"
        elif t < role.launch:
            reason = "not yet issued"
        elif deny is not None and t >= deny and t < end:
            reason = "per-user deny (identitystore:userId)"
        elif end < role.expiration and t >= end:
            reason = "aws:TokenIssueTime deny"
        else:
            reason = "expired"
        if deny is not None:
            end = min(end, max(deny, role.launch))
        return {
            "access_key_id": role.access_key_id,
            "user_id": role.user_id,
            "account_id": role.account_id,
            "role_name": role.role_name,
            "launch": role.launch,
            "expiration": role.expiration,
            "effective_end": end,
            "at": t,
            "allowed": allowed,
            "reason": reason,
        }

    # --- sandbox state ---------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        """Return a JSON-ready dump for ``GET /_sandbox/state``."""

        def t(x: float | None) -> float | None:
            return None if x is None or math.isinf(x) else x

        return {
            "settings": self.settings_json(),
            "permission_sets": [ps.to_json() for ps in self.permission_sets.values()],
            "assignments": [{**a.to_json(), "start": a.start, "end": t(a.end)} for a in self.assignments],
            "portal_sessions": [
                {
                    "user_id": s.user_id,
                    "signin": s.signin,
                    "duration": s.duration,
                    "ended_at": s.ended_at,
                    "end": self.session_end(s),
                }
                for s in self.portal_sessions.values()
            ],
            "role_sessions": [
                {
                    "access_key_id": r.access_key_id,
                    "user_id": r.user_id,
                    "account_id": r.account_id,
                    "role_name": r.role_name,
                    "launch": r.launch,
                    "expiration": r.expiration,
                }
                for r in self.role_sessions.values()
            ],
            "token_issue_denies": list(self.token_issue_denies),
            "user_denies": dict(self.user_denies),
        }
