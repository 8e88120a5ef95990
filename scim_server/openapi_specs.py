"""OpenAPI 3.0 documents of the Identity Center fake's protocol routes, published for fuzzers and clients.

FastAPI cannot describe these routes itself: SCIM is one catch-all route resolving :data:`scim_server.scim.ROUTES`,
and AWS's JSON 1.1 protocol multiplexes every operation on ``POST /``. So they are written here and served at

- ``GET /_sandbox/openapi/scim.json`` — the SCIM endpoint of this tenant (the tenant id is part of each path);
- ``GET /_sandbox/openapi/aws.json`` — the access plane: JSON 1.1 ``POST /`` described once with the operation in
  the ``X-Amz-Target`` header parameter (an ``enum`` of every served ``AWSIdentityStore.*`` and
  ``SWBExternalService.*`` operation; the convention: one OpenAPI operation per protocol endpoint, the target a
  header parameter), the body an object with the members those operations share; the portal (``sso``) REST routes
  and the ``sso-oidc`` device flow.

The documents describe what a client may send (types of the known members); they do not promise every
combination is accepted: the fakes answer anything else with their protocol's 4xx. ``make fuzz`` feeds them to
schemathesis (tests/test_fuzz_apis.py).
"""

from __future__ import annotations

from typing import Any

__all__ = ["aws_spec", "scim_spec"]

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_ANY_OBJECT = {"type": "object"}

_USER = {
    "type": "object",
    "properties": {
        "schemas": {"type": "array", "items": _STR},
        "userName": _STR,
        "externalId": _STR,
        "displayName": _STR,
        "nickName": _STR,
        "title": _STR,
        "userType": _STR,
        "preferredLanguage": _STR,
        "locale": _STR,
        "timezone": _STR,
        "active": {"oneOf": [_BOOL, _STR]},
        "name": {
            "type": "object",
            "properties": {"givenName": _STR, "familyName": _STR, "formatted": _STR, "middleName": _STR},
        },
        "emails": {
            "type": "array",
            "items": {"type": "object", "properties": {"value": _STR, "type": _STR, "primary": _BOOL}},
        },
        "phoneNumbers": {"type": "array", "items": {"type": "object", "properties": {"value": _STR, "type": _STR}}},
        "addresses": {"type": "array", "items": _ANY_OBJECT},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "type": "object",
            "properties": {"employeeNumber": _STR, "department": _STR, "manager": _ANY_OBJECT},
        },
    },
}

_GROUP = {
    "type": "object",
    "properties": {
        "schemas": {"type": "array", "items": _STR},
        "displayName": _STR,
        "externalId": _STR,
        "members": {"type": "array", "items": {"type": "object", "properties": {"value": _STR}}},
    },
}

_PATCH = {
    "type": "object",
    "properties": {
        "schemas": {"type": "array", "items": _STR},
        "Operations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "op": {"enum": ["add", "replace", "remove", "Add", "Replace", "Remove"]},
                    "path": _STR,
                    "value": {},
                },
            },
        },
    },
}


def _param(name: str, where: str = "query", schema: dict[str, Any] | None = None, required: bool = False) -> Any:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema or _STR}


def _json_body(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"required": True, "content": {media: {"schema": schema}}}


def _op(summary: str, params: list[Any] | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"default": {"description": "the protocol's answer"}}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    return op


def scim_spec(scim_path: str) -> dict[str, Any]:
    """Return the OpenAPI document of the SCIM endpoint at ``scim_path`` (``/<tenant>/scim/v2/``)."""
    base = scim_path.rstrip("/")
    listing = [_param("filter"), _param("startIndex", schema=_INT), _param("count", schema=_INT)]
    rid = [_param("id", "path")]
    scim_json = "application/scim+json"
    paths = {
        f"{base}/Users": {
            "get": _op("ListUsers", listing),
            "post": _op("CreateUser", body=_json_body(_USER, scim_json)),
        },
        f"{base}/Users/{{id}}": {
            "get": _op("GetUser", rid),
            "put": _op("PutUser", rid, _json_body(_USER, scim_json)),
            "patch": _op("PatchUser", rid, _json_body(_PATCH, scim_json)),
            "delete": _op("DeleteUser", rid),
        },
        f"{base}/Groups": {
            "get": _op("ListGroups", listing),
            "post": _op("CreateGroup", body=_json_body(_GROUP, scim_json)),
        },
        f"{base}/Groups/{{id}}": {
            "get": _op("GetGroup", rid),
            "patch": _op("PatchGroup", rid, _json_body(_PATCH, scim_json)),
            "delete": _op("DeleteGroup", rid),
        },
        f"{base}/ServiceProviderConfig": {"get": _op("GetServiceProviderConfig")},
        f"{base}/Schemas": {"get": _op("ListSchemas")},
        f"{base}/Schemas/{{urn}}": {"get": _op("GetSchema", [_param("urn", "path")])},
        f"{base}/ResourceTypes": {"get": _op("ListResourceTypes")},
    }
    return _document("jitbox fake IAM Identity Center: SCIM", paths)


_AWS_MEMBERS = {
    name: _STR
    for name in (
        "IdentityStoreId", "UserId", "GroupId", "MembershipId", "UserName", "DisplayName", "Description",
        "InstanceArn", "PermissionSetArn", "TargetId", "TargetType", "PrincipalType", "PrincipalId", "AccountId",
        "Name", "SessionDuration", "RelayState", "ManagedPolicyArn", "InlinePolicy", "NextToken",
        "AccountAssignmentCreationRequestId", "AccountAssignmentDeletionRequestId", "ProvisionPermissionSetRequestId",
    )
}  # fmt: skip


def aws_spec(targets: list[str]) -> dict[str, Any]:
    """Return the OpenAPI document of the access plane's routes; ``targets`` are the served ``X-Amz-Target``
    values (``AWSIdentityStore.ListUsers``, ``SWBExternalService.CreatePermissionSet``, ...)."""
    body = {
        "type": "object",
        "properties": {
            **_AWS_MEMBERS,
            "MaxResults": _INT,
            "Filters": {
                "type": "array",
                "items": {"type": "object", "properties": {"AttributePath": _STR, "AttributeValue": _STR}},
            },
            "AlternateIdentifier": _ANY_OBJECT,
            "MemberId": {"type": "object", "properties": {"UserId": _STR}},
            "Name": {"oneOf": [_STR, _ANY_OBJECT]},
            "Emails": {"type": "array", "items": _ANY_OBJECT},
            "Operations": {"type": "array", "items": _ANY_OBJECT},
            "Tags": {"type": "array", "items": _ANY_OBJECT},
        },
    }
    target = _param("X-Amz-Target", "header", {"type": "string", "enum": sorted(targets)}, required=True)
    paths = {
        "/": {
            "post": _op(
                "JSON 1.1 operation named by X-Amz-Target", [target], _json_body(body, "application/x-amz-json-1.1")
            )
        },
        **_portal_paths(),
        **_oidc_paths(),
    }
    return _document("jitbox fake IAM Identity Center: AWS access plane", paths)


def _portal_paths() -> dict[str, Any]:
    """The access portal's REST operations (``sso``), each with the bearer-token header."""
    token = _param("x-amz-sso_bearer_token", "header", required=True)
    return {
        "/assignment/accounts": {
            "get": _op("ListAccounts", [token, _param("max_result", schema=_INT), _param("next_token")])
        },
        "/assignment/roles": {
            "get": _op(
                "ListAccountRoles",
                [token, _param("account_id", required=True), _param("max_result", schema=_INT), _param("next_token")],
            )
        },
        "/federation/credentials": {
            "get": _op(
                "GetRoleCredentials", [token, _param("role_name", required=True), _param("account_id", required=True)]
            )
        },
        "/logout": {"post": _op("Logout", [token])},
    }


def _oidc_paths() -> dict[str, Any]:
    """The OIDC device flow's operations (``sso-oidc``)."""
    return {
        "/client/register": {
            "post": _op(
                "RegisterClient",
                body=_json_body(
                    {
                        "type": "object",
                        "properties": {
                            "clientName": _STR,
                            "clientType": _STR,
                            "scopes": {"type": "array", "items": _STR},
                        },
                    }
                ),
            )
        },
        "/device_authorization": {
            "post": _op(
                "StartDeviceAuthorization",
                body=_json_body(
                    {"type": "object", "properties": {"clientId": _STR, "clientSecret": _STR, "startUrl": _STR}}
                ),
            )
        },
        "/token": {
            "post": _op(
                "CreateToken",
                body=_json_body(
                    {
                        "type": "object",
                        "properties": {
                            "clientId": _STR,
                            "clientSecret": _STR,
                            "grantType": _STR,
                            "deviceCode": _STR,
                            "refreshToken": _STR,
                        },
                    }
                ),
            )
        },
    }


def _document(title: str, paths: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": title, "version": "1"}, "paths": paths}
