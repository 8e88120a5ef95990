"""Fake IAM Identity Center access plane: permission sets, account assignments, portal and role sessions, and
the boto3-compatible ``identitystore``, ``sso-admin`` and ``sso`` (portal) APIs.

:func:`install` is the plug-in ``scim_server.app.create_app`` calls: it builds an :class:`AccessPlane` on the app's
clock and identity store, records membership history from the store's change events, mounts the route modules
(:mod:`scim_server.aws.http` describes them) on the same app/port as SCIM, joins ``/_sandbox/reset`` and
``/_sandbox/state`` and adds ``aws_endpoint_url`` plus the environment to export to the ``jitbox serve`` config JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import json11_routes, oidc_routes, portal_routes, sandbox_routes
from .directory import StoreDirectory
from .errors import AwsError
from .history import MembershipHistory, track_history
from .http import AwsServices
from .identitystore import IdentityStoreApi
from .instance import DisabledUserMode
from .oidc import DeviceAuthority
from .plane import AccessPlane
from .portal_page import install_portal_page

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


def aws_config(base_url: str, identity_store_id: str, instance_arn: str) -> dict[str, Any]:
    """Return the config fields for boto3: ``aws_endpoint_url`` and the environment variables to export."""
    url = base_url.rstrip("/")
    env = {
        "AWS_ENDPOINT_URL": url,
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
    app.state.aws = AwsServices(plane, identitystore, device)
    for module in (json11_routes, portal_routes, oidc_routes, sandbox_routes):
        app.include_router(module.router)
    install_portal_page(app, lambda: plane.identity_store_id)

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
