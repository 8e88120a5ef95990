"""Fake IAM Identity Center access plane: permission sets, account assignments, portal and role sessions, and
the boto3-compatible ``identitystore``, ``sso-admin`` and ``sso`` (portal) APIs.

:func:`install` is the plug-in ``scim_server.app.create_app`` calls: it builds an :class:`AccessPlane` on the app's
clock and identity store, records membership history from the store's change events, mounts the routes of
:mod:`scim_server.aws.http` on the same app/port as SCIM, joins ``/_sandbox/reset`` and ``/_sandbox/state`` and adds
``aws_endpoint_url`` plus the environment to export to the ``jitbox serve`` config JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from scim_server.store import Store, StoreEvent

from .errors import AwsError
from .history import MembershipHistory
from .identitystore import IdentityStoreApi
from .oidc import DeviceAuthority
from .plane import AccessPlane, DisabledUserMode

if TYPE_CHECKING:
    from fastapi import FastAPI

    from scim_server.app import IdcContext

__all__ = [
    "AccessPlane",
    "AwsError",
    "DisabledUserMode",
    "MembershipHistory",
    "StoreDirectory",
    "aws_config",
    "install",
    "track_history",
]

DUMMY_REGION = "us-east-1"


class StoreDirectory:
    """:class:`scim_server.aws.plane.Directory` over the SCIM identity store (``active`` → ENABLED/DISABLED)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def user_status(self, user_id: str) -> str | None:
        """Return ``ENABLED``/``DISABLED`` for an existing user, None otherwise."""
        with self.store.lock:
            if not self.store.has_user(user_id):
                return None
            return "ENABLED" if self.store.user_active(user_id) else "DISABLED"

    def group_exists(self, group_id: str) -> bool:
        """Return True when the group exists."""
        return self.store.has_group(group_id)

    def groups_of(self, user_id: str) -> list[str]:
        """Return the user's current group ids (empty for an unknown user)."""
        with self.store.lock:
            return self.store.group_ids_of(user_id) if self.store.has_user(user_id) else []


def track_history(store: Store, history: MembershipHistory) -> None:
    """Record the store's membership and user-status changes into ``history`` (and seed it with the present)."""
    with store.lock:
        now = store.clock.time()
        for group_id in store.group_ids():
            for user_id in store.member_ids(group_id):
                history.member_added(user_id, group_id, now)
        for user_id in store.user_ids():
            if not store.user_active(user_id):
                history.user_disabled(user_id, now)

        def listener(event: StoreEvent) -> None:
            if event.kind == "member_added" and event.user_id and event.group_id:
                history.member_added(event.user_id, event.group_id, event.at)
            elif event.kind == "member_removed" and event.user_id and event.group_id:
                history.member_removed(event.user_id, event.group_id, event.at)
            elif event.kind == "user_deleted" and event.user_id:
                history.user_deleted(event.user_id, event.at)
            elif event.kind in ("user_created", "user_updated") and event.user_id:
                if store.has_user(event.user_id) and not store.user_active(event.user_id):
                    history.user_disabled(event.user_id, event.at)
                else:
                    history.user_enabled(event.user_id)
            elif event.kind == "group_deleted" and event.group_id:
                history.group_deleted(event.group_id, event.at)
            elif event.kind == "reset":
                history.clear()

        store.add_listener(listener)


def aws_config(base_url: str, identity_store_id: str, instance_arn: str) -> dict[str, Any]:
    """Return the config fields for boto3: ``aws_endpoint_url`` and the environment variables to export."""
    url = base_url.rstrip("/")
    env = {
        "AWS_ENDPOINT_URL_IDENTITYSTORE": url,
        "AWS_ENDPOINT_URL_SSO_ADMIN": url,
        "AWS_ENDPOINT_URL_SSO": url,
        "AWS_ENDPOINT_URL_SSO_OIDC": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": DUMMY_REGION,
    }
    return {
        "aws_endpoint_url": url,
        "aws_region": DUMMY_REGION,
        "aws_identity_store_id": identity_store_id,
        "aws_instance_arn": instance_arn,
        "aws_signin_url": url + "/_sandbox/aws/signin",
        "aws_env": env,
    }


def install(app: FastAPI, ctx: IdcContext) -> None:
    """Plug the access plane into the Identity Center app (``scim_server.app.create_app`` calls this)."""
    from .http import build_router

    history = MembershipHistory(ctx.journal)
    track_history(ctx.store, history)
    plane = AccessPlane(
        ctx.clock,
        StoreDirectory(ctx.store),
        history,
        ctx.settings,
        seed=ctx.tenant_id,
        lock=ctx.store.lock,
        journal=ctx.journal,
    )
    identitystore = IdentityStoreApi(ctx.store, lambda: plane.identity_store_id)
    device = DeviceAuthority(plane)
    app.include_router(build_router(plane, identitystore, device))

    def reset() -> None:
        with plane.lock:
            history.clear()
            plane.reset()
            device.reset()

    ctx.control.on_reset(reset)
    ctx.control.provide_state("access_plane", lambda: json.loads(json.dumps(plane.dump(), default=str)))
    ctx.control.provide_state("membership_history", history.dump)

    def config(base_url: str) -> dict[str, Any]:
        device.base_url = base_url
        return aws_config(base_url, plane.identity_store_id, plane.instance_arn)

    ctx.add_config(config)
    ctx.extras["aws"] = plane
