"""The Identity Center access plane: one instance's permission sets, account assignments, portal and role
sessions, composed from small parts on an injected clock (moto's backend/response split; the HTTP layer is
:mod:`scim_server.aws.http` and the route modules next to it).

- :mod:`~scim_server.aws.instance` — the instance's ids, settings and switches;
- :mod:`~scim_server.aws.permission_sets` — permission sets and their SessionDuration [UG23-howto];
- :mod:`~scim_server.aws.assignments` — account assignments and the asynchronous requests that change them
  (IN_PROGRESS, then SUCCEEDED ``assignment_delay`` seconds later; UNCONFIRMED delay [BLOG-gagan]) [BC-ssoadmin];
- :mod:`~scim_server.aws.entitlements` — portal session end and may-launch decisions through :mod:`sim.rules`
  [UG-uis][AWS-BLOG][UG-revoke][UG23-auth];
- :mod:`~scim_server.aws.sessions` — portal sign-in and role credentials [UG23-howto][BC-sso];
- :mod:`~scim_server.aws.countermeasures` — token-issue-time and per-user denies [IAM-revoke][UG-denypol];
- :mod:`~scim_server.aws.accounts` — the account names the portal lists.
"""

from __future__ import annotations

import json
import math
import threading
from typing import TYPE_CHECKING, Any

from sim.clock import Clock
from sim.settings import Settings

from .accounts import AccountNames
from .assignments import AccountAssignments, OperationStatus
from .countermeasures import Denies
from .directory import Directory, History
from .entitlements import Entitlements
from .ids import IdSource
from .instance import DEFAULT_ASSIGNMENT_DELAY, DisabledUserMode, Instance, InstanceSettings
from .permission_sets import PermissionSet, PermissionSets
from .sessions import PortalSession, RoleSession, Sessions

if TYPE_CHECKING:
    from scim_server.journal import Journal

__all__ = ["JOURNAL_KIND", "AccessPlane"]

JOURNAL_KIND = "aws_plane"
"""Journal kind holding the plane's state under key ``plane`` (``jitbox serve --state``)."""


class AccessPlane:
    """State and rules of one Identity Center instance's access plane on an injected clock.

    The parts are public attributes (``instance``, ``config``, ``permission_sets``, ``assignments``,
    ``entitlements``, ``sessions``, ``denies``, ``accounts``); the plane owns their lifecycle (reset, saved state)
    and offers shortcuts for the scripted steps tests and scenarios take (create a permission set, assign, sign in,
    launch, deny).
    """

    def __init__(
        self,
        clock: Clock,
        directory: Directory,
        history: History,
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
        self.directory = directory
        self.history = history
        self.journal = journal
        self.ids = IdSource(seed)
        self.instance = Instance(owner_account_id, identity_store_id)
        self.config = InstanceSettings(settings or Settings(), assignment_delay, disabled_user_mode)
        changed = self.changed
        self.permission_sets = PermissionSets(
            clock, self.ids, self.instance, changed, in_use=lambda arn: self.assignments.uses(arn)
        )
        self.assignments = AccountAssignments(
            clock, self.lock, self.ids, self.instance, self.config, directory, self.permission_sets, changed
        )
        self.entitlements = Entitlements(self.config, history, self.assignments, self.permission_sets)
        self.sessions = Sessions(
            clock, self.ids, self.instance, self.config, directory, self.permission_sets, self.entitlements, changed
        )
        self.denies = Denies(clock, self.config, changed)
        self.accounts = AccountNames(changed)
        self._generation = 0
        self._clear()
        saved = dict(journal.load(JOURNAL_KIND)).get("plane") if journal is not None else None
        if saved is not None:
            self.load_state(json.loads(saved))
        else:
            self.changed()

    # --- ids -------------------------------------------------------------------------------------------
    @property
    def instance_arn(self) -> str:
        """Return this instance's ARN."""
        return self.instance.instance_arn

    @property
    def identity_store_id(self) -> str:
        """Return this instance's identity store id."""
        return self.instance.identity_store_id

    def now(self) -> float:
        """Return the clock's time in Unix seconds."""
        return self.clock.time()

    def random_chars(self, alphabet: str, n: int) -> str:
        """Return ``n`` characters of ``alphabet`` drawn from the seed (tokens, keys, codes)."""
        return self.ids.chars(alphabet, n)

    def new_request_id(self) -> str:
        """Return a fresh UUID-shaped request id drawn from the seed."""
        return self.ids.request_id()

    # --- lifecycle -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty every table, restore the initial settings and re-create the instance with ids drawn from the
        seed (sandbox reset)."""
        self.config.restore()
        self._clear()
        self.changed()

    def _clear(self) -> None:
        self.ids.reseed()
        self.instance.renew(self.ids, self.clock.time())
        self._generation += 1
        if self._generation > 1:  # a reset keeps the instance's ids but never hands out an earlier generation's
            self.ids.branch(self._generation)
        self.permission_sets.clear()
        self.assignments.clear()
        self.sessions.clear()
        self.accounts.clear()
        self.denies.clear()

    def changed(self) -> None:
        """Write the plane's state to the journal (``--state``), if there is one; call after every change."""
        if self.journal is not None:
            self.journal.put(JOURNAL_KIND, "plane", json.dumps(self.to_state(), separators=(",", ":")))

    def to_state(self) -> dict[str, Any]:
        """Return everything needed to rebuild the plane (see :meth:`load_state`), JSON-ready."""
        return {
            "rng": self.ids.to_state(),
            "instance_id": self.instance.instance_id,
            "identity_store_id": self.instance.identity_store_id,
            "created": self.instance.created,
            **self.config.to_state(),
            "permission_sets": self.permission_sets.to_state(),
            "assignments": self.assignments.assignments_state(),
            "operations": self.assignments.operations_state(),
            "portal_sessions": self.sessions.portal_state(),
            "role_sessions": self.sessions.roles_state(),
            "accounts": {k: list(v) for k, v in self.accounts.names.items()},
            "token_issue_denies": list(self.denies.token_issue),
            "user_denies": dict(self.denies.users),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Rebuild the plane from :meth:`to_state`; unfinished asynchronous requests are rescheduled."""
        self._clear()
        self.ids.load_state(state["rng"])
        self.instance.instance_id = state["instance_id"]
        self.instance.identity_store_id = state["identity_store_id"]
        self.instance.created = state["created"]
        self.config.load_state(state)
        self.permission_sets.load_state(state["permission_sets"])
        self.assignments.load_state(state["assignments"], state["operations"])
        self.sessions.load_state(state["portal_sessions"], state["role_sessions"])
        self.accounts.names.update({k: (v[0], v[1]) for k, v in state["accounts"].items()})
        self.denies.token_issue.extend(float(x) for x in state["token_issue_denies"])
        self.denies.users.update({k: float(v) for k, v in state["user_denies"].items()})
        self.assignments.resume()

    # --- settings --------------------------------------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        """Change instance settings (:meth:`InstanceSettings.configure`: all-or-nothing, a new portal session
        duration applies only to new sessions [UG-uis]) and save the plane."""
        self.config.configure(**changes)
        self.changed()

    def settings_json(self) -> dict[str, Any]:
        """Return the instance settings the sandbox exposes."""
        return self.config.to_json(self.instance)

    # --- shortcuts for scripted steps ------------------------------------------------------------------
    def create_permission_set(
        self, name: Any, description: Any = None, session_duration: Any = None, relay_state: Any = None
    ) -> PermissionSet:
        """Return a new permission set (:meth:`PermissionSets.create`)."""
        return self.permission_sets.create(name, description, session_duration, relay_state)

    def update_permission_set(
        self, arn: Any, description: Any = None, session_duration: Any = None, relay_state: Any = None
    ) -> None:
        """Update a permission set (:meth:`PermissionSets.update`)."""
        self.permission_sets.update(arn, description, session_duration, relay_state)

    def create_account_assignment(
        self, target_id: Any, target_type: Any, ps_arn: Any, principal_type: Any, principal_id: Any
    ) -> OperationStatus:
        """Return the IN_PROGRESS status of a new account assignment (:meth:`AccountAssignments.create`)."""
        return self.assignments.create(target_id, target_type, ps_arn, principal_type, principal_id)

    def sign_in(self, user_id: Any) -> PortalSession:
        """Return a new portal session for ``user_id`` (:meth:`Sessions.sign_in`)."""
        return self.sessions.sign_in(user_id)

    def get_role_credentials(self, token: Any, role_name: Any, account_id: Any) -> RoleSession:
        """Return new role credentials (:meth:`Sessions.get_role_credentials`) [BC-sso]."""
        return self.sessions.get_role_credentials(token, role_name, account_id)

    def deny_token_issue_time(self, cutoff: float | None = None) -> float:
        """Return the cutoff of a new ``aws:TokenIssueTime`` deny (:meth:`Denies.deny_token_issue_time`)."""
        return self.denies.deny_token_issue_time(cutoff)

    def deny_user(self, user_id: Any, at: float | None = None) -> float:
        """Return the start of a new per-user deny (:meth:`Denies.deny_user`) [UG-denypol]."""
        return self.denies.deny_user(user_id, at)

    def role_session_json(self, role: RoleSession, t: float) -> dict[str, Any]:
        """Return whether ``role`` may still act at ``t`` and why (:meth:`Denies.role_session_json`)."""
        return self.denies.role_session_json(role, t)

    # --- views -----------------------------------------------------------------------------------------
    def access_json(self, user_id: str, t: float) -> dict[str, Any]:
        """Return what ``user_id`` can still do at ``t``: per portal session whether it is live and what it may
        launch, and per role session whether it may still act (as far as the sandbox knows now)."""
        sessions = []
        for session in self.sessions.portal.values():
            if session.user_id != user_id:
                continue
            end = self.entitlements.session_end(session)
            live = session.signin <= t < end
            pairs = self.entitlements.launchable(session, t) if live else []
            sessions.append(
                {
                    "signin": session.signin,
                    "end": end,
                    "live": live,
                    "launchable": [{"accountId": a, "roleName": ps.name} for a, ps in pairs],
                }
            )
        roles = [self.denies.role_session_json(r, t) for r in self.sessions.roles.values() if r.user_id == user_id]
        return {
            "user_id": user_id,
            "at": t,
            "can_launch": any(s["launchable"] for s in sessions),
            "can_act": any(r["allowed"] for r in roles),
            "portal_sessions": sessions,
            "role_sessions": roles,
        }

    def dump(self) -> dict[str, Any]:
        """Return a JSON-ready dump for ``GET /_sandbox/state``."""
        portal = [
            {
                "user_id": s.user_id,
                "signin": s.signin,
                "duration": s.duration,
                "ended_at": s.ended_at,
                "end": self.entitlements.session_end(s),
            }
            for s in self.sessions.portal.values()
        ]
        roles = [
            {
                "access_key_id": r.access_key_id,
                "user_id": r.user_id,
                "account_id": r.account_id,
                "role_name": r.role_name,
                "launch": r.launch,
                "expiration": r.expiration,
            }
            for r in self.sessions.roles.values()
        ]
        return {
            "settings": self.settings_json(),
            "permission_sets": [ps.to_json() for ps in self.permission_sets.values()],
            "assignments": [{**a.to_json(), "start": a.start, "end": _finite(a.end)} for a in self.assignments.rows],
            "portal_sessions": portal,
            "role_sessions": roles,
            "token_issue_denies": list(self.denies.token_issue),
            "user_denies": dict(self.denies.users),
        }


def _finite(x: float | None) -> float | None:
    return None if x is None or math.isinf(x) else x
