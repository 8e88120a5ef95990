"""Access-portal sessions and the role sessions (credentials) launched from them.

A portal session's duration is fixed at sign-in [UG-uis]; disabled users cannot sign in and Identity Center does
not create users at sign-in [UG23-auth][UG-trouble]. Role credentials expire at
:func:`sim.rules.role_session_end` (launch + the permission set's SessionDuration, PT1H–PT12H)
[UG23-howto][BC-sso]; ending a portal session does not end role sessions [UG-endsess].

In the ``--state`` file the secrets are stored as AWS would keep them, hashed (:func:`secret_hash`): the portal
access token, the role session's secret access key and session token are shown to the client once and never again,
and a restored session is found by the hash of the token the client presents.
"""

from __future__ import annotations

import hashlib
import math
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sim.clock import Clock
from sim.rules import role_session_end

from .directory import Directory
from .errors import AwsError, forbidden, not_found, unauthorized, validation
from .ids import IdSource
from .instance import Instance, InstanceSettings
from .permission_sets import PermissionSets

if TYPE_CHECKING:
    from .entitlements import Entitlements

__all__ = ["PortalSession", "RoleSession", "Sessions", "secret_hash"]

_HASHED = "sha256:"


def secret_hash(value: str) -> str:
    """Return how the state file keeps the secret ``value``: ``sha256:<hex>`` (a value already hashed as is)."""
    if value.startswith(_HASHED):
        return value
    return _HASHED + hashlib.sha256(value.encode()).hexdigest()


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


class Sessions:
    """Portal sessions by access token and role sessions by access key id."""

    def __init__(
        self,
        clock: Clock,
        ids: IdSource,
        instance: Instance,
        config: InstanceSettings,
        directory: Directory,
        permission_sets: PermissionSets,
        entitlements: Entitlements,
        changed: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._instance = instance
        self._config = config
        self._directory = directory
        self._permission_sets = permission_sets
        self._entitlements = entitlements
        self._changed = changed
        self.portal: dict[str, PortalSession] = {}
        self.roles: dict[str, RoleSession] = {}

    def clear(self) -> None:
        """Forget every portal and role session."""
        self.portal = {}
        self.roles = {}

    # --- portal sessions -------------------------------------------------------------------------------
    def sign_in(self, user_id: Any) -> PortalSession:
        """Open a portal session for a provisioned, enabled user (duration fixed now) [UG-uis][UG-trouble]."""
        if not isinstance(user_id, str) or not user_id:
            raise validation("user_id is required")
        status = self._directory.user_status(user_id)
        if status is None:
            raise not_found(
                f"User {user_id} is not provisioned in {self._instance.identity_store_id}; "
                "Identity Center does not create users at sign-in"
            )
        if status != "ENABLED":
            raise unauthorized(f"User {user_id} is disabled and cannot sign in")
        token = "aoa" + self._ids.chars(string.ascii_letters + string.digits, 61)
        session = PortalSession(token, user_id, self._clock.time(), self._config.settings.portal_session)
        self.portal[token] = session
        self._changed()
        return session

    def session(self, token: Any, t: float | None = None) -> PortalSession:
        """Return the live portal session for ``token`` or raise ``UnauthorizedException`` [GH-cli7340]."""
        if not isinstance(token, str) or not token:
            raise unauthorized("The x-amz-sso_bearer_token header (access token) is required")
        session = self.portal.get(token) or self.portal.get(secret_hash(token))  # live, or restored from --state
        now = self._clock.time() if t is None else t
        if session is None or not self._entitlements.is_live(session, now):
            raise unauthorized()
        return session

    def logout(self, token: Any) -> None:
        """End the portal session; role sessions already issued keep working [UG-endsess]."""
        session = self.session(token)
        session.ended_at = self._clock.time()
        self._changed()

    def end_user_sessions(self, user_id: str) -> int:
        """Admin "Delete session" for every live portal session of ``user_id``; return how many ended [UG-endsess]."""
        t = self._clock.time()
        ended = 0
        for session in self.portal.values():
            if session.user_id == user_id and self._entitlements.is_live(session, t):
                session.ended_at = t
                ended += 1
        if ended:
            self._changed()
        return ended

    # --- role sessions ---------------------------------------------------------------------------------
    def get_role_credentials(self, token: Any, role_name: Any, account_id: Any) -> RoleSession:
        """Launch a permission set: issue role credentials expiring at launch + SessionDuration [BC-sso]."""
        if not isinstance(role_name, str) or not role_name:
            raise AwsError("InvalidRequestException", "role_name is required", 400)
        if not isinstance(account_id, str) or not account_id:
            raise AwsError("InvalidRequestException", "account_id is required", 400)
        t = self._clock.time()
        session = self.session(token, t)
        ps = self._permission_sets.by_name(role_name)
        if ps is None or not self._entitlements.may_launch(session, account_id, ps.arn, t):
            raise forbidden()
        s = self._config.settings.model_copy(update={"permission_set_session": ps.session_seconds})
        expiration = role_session_end(t, math.inf, s)
        key = "ASIA" + self._ids.chars(string.ascii_uppercase + "234567", 16)
        role = RoleSession(
            access_key_id=key,
            secret_access_key=self._ids.chars(string.ascii_letters + string.digits + "+/", 40),
            session_token=self._ids.chars(string.ascii_letters + string.digits + "+/", 120),
            user_id=session.user_id,
            account_id=account_id,
            permission_set_arn=ps.arn,
            role_name=ps.name,
            launch=t,
            duration=ps.session_seconds,
            expiration=expiration,
            portal_token=session.token,
        )
        self.roles[key] = role
        self._changed()
        return role

    def role_session(self, access_key_id: Any) -> RoleSession:
        """Return the role session with ``access_key_id`` or raise ``ResourceNotFoundException``."""
        role = self.roles.get(access_key_id) if isinstance(access_key_id, str) else None
        if role is None:
            raise not_found(f"No role session with access key id {access_key_id}")
        return role

    # --- saved state -----------------------------------------------------------------------------------
    def portal_state(self) -> list[dict[str, Any]]:
        """Return every portal session, JSON-ready, its token hashed (:func:`secret_hash`)."""
        return [{**asdict(x), "token": secret_hash(x.token)} for x in self.portal.values()]

    def roles_state(self) -> list[dict[str, Any]]:
        """Return every role session, JSON-ready, its secrets hashed (:func:`secret_hash`)."""
        return [
            {
                **asdict(x),
                "secret_access_key": secret_hash(x.secret_access_key),
                "session_token": secret_hash(x.session_token),
                "portal_token": secret_hash(x.portal_token),
            }
            for x in self.roles.values()
        ]

    def load_state(self, portal: list[dict[str, Any]], roles: list[dict[str, Any]]) -> None:
        """Add saved portal and role sessions (see :meth:`portal_state`, :meth:`roles_state`)."""
        for raw in portal:
            self.portal[raw["token"]] = PortalSession(**raw)
        for raw in roles:
            self.roles[raw["access_key_id"]] = RoleSession(**raw)
