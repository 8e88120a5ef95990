"""Reusable helpers for testing SCIM clients against the fake (and for the fake's own tests).

- :func:`scim_client` — an in-process client (Starlette TestClient over httpx2, no sockets) with the bearer token set
  and paths relative to the SCIM base (``client.get("Users")``).
- :func:`entra_user` / :func:`entra_group` / :func:`entra_add_member` / :func:`entra_remove_member` /
  :func:`entra_disable` — request bodies exactly as Microsoft Entra's provisioning service sends them
  ([E-SCIM] §4.5 of the Entra reference: capitalised ops, ``$ref: null``, the ADSCIM group schema, ``roles: []``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from scim_server.app import ScimOptions, create_app
from sim.clock import Clock, ManualClock

__all__ = [
    "PATCH_SCHEMA",
    "ScimTestClient",
    "assert_aws_error",
    "entra_add_member",
    "entra_disable",
    "entra_group",
    "entra_remove_member",
    "entra_user",
    "scim_client",
]

PATCH_SCHEMA = ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")


def assert_aws_error(resp: Any, status: int, detail: str | None = None) -> dict[str, Any]:
    """Assert ``resp`` is AWS's SCIM error ([GH-lichti]): ``schema`` AND ``schemas``, ``status`` as a string, a request
    id (also in ``x-amzn-RequestId``), ``timeStamp`` like ``2024-04-05 06:32:12.227``; return the body."""
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert body["schema"] == [_ERROR] and body["schemas"] == [_ERROR], body
    assert body["status"] == str(status), body
    assert re.match(r"^[0-9a-f-]{36}$", body["exceptionRequestId"]), body
    assert _TIMESTAMP.match(body["timeStamp"]), body
    assert resp.headers["x-amzn-RequestId"] == body["exceptionRequestId"]
    if detail is not None:
        assert body["detail"] == detail, body
    return body


class ScimTestClient:
    """A TestClient bound to the SCIM base path with the bearer token; ``sandbox`` paths stay absolute."""

    def __init__(self, app: FastAPI, token: str) -> None:
        self.app = app
        self.ctx = app.state.idc
        self.http = TestClient(app)
        self.base = self.ctx.scim_path()
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send ``method`` to ``{base}{path}`` with the token (``headers=`` overrides it)."""
        headers = kwargs.pop("headers", self.headers)
        return self.http.request(method, self.base + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET a SCIM path."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """POST JSON to a SCIM path."""
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """PUT JSON to a SCIM path."""
        return self.request("PUT", path, json=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """PATCH JSON to a SCIM path."""
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE a SCIM path."""
        return self.request("DELETE", path, **kwargs)

    def sandbox(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call a ``/_sandbox/...`` route (no token needed)."""
        return self.http.request(method, "/_sandbox/" + path.lstrip("/"), **kwargs)


def scim_client(
    clock: Clock | None = None,
    *,
    seed: int = 7,
    token: str = "test-token",
    options: ScimOptions | None = None,
    **kwargs: Any,
) -> ScimTestClient:
    """Return a client for a fresh fake (manual clock, seeded, rate limit off unless ``options`` say otherwise)."""
    app = create_app(
        clock or ManualClock(),
        seed=seed,
        token_secret=token,
        options=options or ScimOptions(rate_limit_rps=0),
        plugins=kwargs.pop("plugins", []),
        **kwargs,
    )
    return ScimTestClient(app, token)


def entra_user(user_name: str, *, external_id: str | None = None, email: str | None = None) -> dict[str, Any]:
    """Return Entra's POST /Users body for ``user_name`` [E-SCIM]."""
    given, _, family = user_name.split("@")[0].partition(".")
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": external_id or user_name.split("@")[0],
        "userName": user_name,
        "active": True,
        "displayName": user_name.split("@")[0].replace(".", " ").title(),
        "emails": [{"primary": True, "type": "work", "value": email or user_name}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": user_name.split("@")[0],
            "familyName": (family or "Doe").title(),
            "givenName": (given or "Jo").title(),
        },
        "roles": [],
    }


def entra_group(display_name: str, *, external_id: str | None = None) -> dict[str, Any]:
    """Return Entra's POST /Groups body (created with no members, ADSCIM schema URN) [E-SCIM]."""
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "externalId": external_id or display_name.lower().replace(" ", "-"),
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    }


def entra_add_member(*user_ids: str) -> dict[str, Any]:
    """Return Entra's PATCH /Groups/{id} body adding members [E-SCIM]."""
    return {
        "schemas": PATCH_SCHEMA,
        "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": None, "value": u} for u in user_ids]}],
    }


def entra_remove_member(*user_ids: str, filter_path: bool = False) -> dict[str, Any]:
    """Return Entra's PATCH /Groups/{id} body removing members (value array, or ``aadOptscim062020`` filter path)."""
    ops: list[dict[str, Any]]
    if filter_path:
        ops = [{"op": "remove", "path": f'members[value eq "{u}"]'} for u in user_ids]
    else:
        ops = [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": u} for u in user_ids]}]
    return {"schemas": PATCH_SCHEMA, "Operations": ops}


def entra_disable(*, legacy_string: bool = True) -> dict[str, Any]:
    """Return Entra's PATCH /Users/{id} soft-delete body (legacy ``"False"`` string unless told otherwise)."""
    value: Any = "False" if legacy_string else False
    return {"schemas": PATCH_SCHEMA, "Operations": [{"op": "Replace", "path": "active", "value": value}]}
