"""The fake Entra's own ``/_sandbox`` routes (beside the shared clock/reset/state ones):

- ``POST /_sandbox/tokens`` ``{"identity": "rich", "mfa": true, "acrs": ["c1"], "lifetime": "PT10M"}`` → a new
  random bearer token for a seeded identity (``mfa``/``acrs`` are the token's claims for the MFA and
  authentication-context rules; ``lifetime`` defaults to the sandbox's token lifetime), with ``expires_in`` seconds
  and ``expires_at`` on the sandbox clock (:mod:`pim_fake.tokens`);
- ``GET /_sandbox/tokens`` → identity name → current default token (``graph_tokens``, renewed as it nears expiry),
  and ``token_lifetime`` seconds;
- ``GET /_sandbox/provisioning`` → each job's status, fast-path decisions and target cache;
- ``POST /_sandbox/provisioning/target`` → point a provisioning job at any SCIM server.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import APIRouter, Request

from fakekit.guard import is_loopback
from fakekit.offloop import EncodeInWorker
from fakekit.timefmt import with_iso_times
from pim_fake.directory import iso
from pim_fake.errors import bad_request
from pim_fake.provisioning import ScimTarget
from pim_fake.routes.deps import JsonBody, TenantDep
from pim_fake.tokens import parse_token_lifetime

__all__ = ["router"]

router = APIRouter(prefix="/_sandbox", tags=["sandbox"], route_class=EncodeInWorker)


@router.get("/tokens")
def list_tokens(request: Request, tenant: TenantDep) -> dict[str, Any]:
    """Return identity name → current default bearer token of the seeded world, and the token lifetime."""
    return {"graph_tokens": dict(request.app.state.graph_tokens), "token_lifetime": tenant.token_lifetime}


@router.post("/tokens")
def mint(body: JsonBody, tenant: TenantDep) -> Any:
    """Mint a random bearer token for a seeded identity with the given claims, expiring on the sandbox clock."""
    if not isinstance(body, dict) or not isinstance(body.get("identity"), str):
        raise bad_request('Give {"identity": "<name>", "mfa": false, "acrs": []} naming a seeded identity.')
    acrs = body.get("acrs") or []
    if not isinstance(acrs, list) or not all(isinstance(a, str) for a in acrs):
        raise bad_request("acrs must be a list of authentication context claim values such as ['c1'].")
    lifetime = None
    if body.get("lifetime") is not None:
        try:
            lifetime = parse_token_lifetime(body["lifetime"])
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    token, issued = tenant.directory_service.mint_token(
        body["identity"], bool(body.get("mfa", False)), tuple(acrs), lifetime
    )
    caller = issued.caller
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": round((issued.expires - tenant.clock.now()).total_seconds()),
        "expires_at": iso(issued.expires),
        "identity": caller.name,
        "kind": caller.kind,
        "id": caller.id,
    }


@router.get("/provisioning")
def provisioning(tenant: TenantDep) -> Any:
    """Return each provisioning job's state (as in ``/_sandbox/state``)."""
    return with_iso_times(tenant.snapshot()["provisioning"])


@router.post("/provisioning/target")
def retarget(body: JsonBody, tenant: TenantDep) -> Any:
    """Point a provisioning job at a SCIM server: ``{"scim_url", "scim_token", "service_principal_id"?,
    "allow_remote"?}``; a host other than loopback needs ``"allow_remote": true`` (user records leave the machine)."""
    if not isinstance(body, dict):
        raise bad_request('Give {"scim_url": "https://.../scim/v2/", "scim_token": "..."}.')
    url, token = body.get("scim_url"), body.get("scim_token")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise bad_request(f"scim_url {url!r} must be an http(s) URL such as http://127.0.0.1:8080/scim/v2/")
    if not isinstance(token, str):
        raise bad_request("scim_token must be a string (the SCIM bearer token).")
    allow_remote = body.get("allow_remote", False)
    if not isinstance(allow_remote, bool):
        raise bad_request("allow_remote must be true or false.")
    host = urllib.parse.urlsplit(url).hostname or ""
    if not allow_remote and not is_loopback(host):
        raise bad_request(
            f"scim_url host {host!r} is not loopback: the job would send user records there; "
            'add "allow_remote": true to send them beyond this machine.'
        )
    sp_id = body.get("service_principal_id")
    return tenant.retarget(sp_id if isinstance(sp_id, str) else None, ScimTarget(url, token))
