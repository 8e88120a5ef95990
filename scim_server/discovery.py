"""SCIM discovery documents: ServiceProviderConfig, Schemas and ResourceTypes [DG-spc][DG-apis].

The ServiceProviderConfig body is AWS's documented one, verbatim; the schema and resource-type documents come from
scim2-models (core User, Group, enterprise User extension). All are built once and shared read-only.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from scim2_models import Context, EnterpriseUser, Group, ResourceType, User

from scim_server.errors import ScimError
from scim_server.paging import list_response
from scim_server.scim_schema import ScimUser

__all__ = ["SERVICE_PROVIDER_CONFIG", "get_schema", "list_resource_types", "list_schemas"]

SERVICE_PROVIDER_CONFIG: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "documentationUri": "https://docs.aws.amazon.com/singlesignon/latest/userguide/manage-your-identity-source-idp.html",
    "authenticationSchemes": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "documentationUri": "https://docs.aws.amazon.com/singlesignon/latest/userguide/provision-automatically.html",
            "primary": True,
        }
    ],
    "patch": {"supported": True},
    "bulk": {"supported": False, "maxOperations": 1, "maxPayloadSize": 1048576},
    "filter": {"supported": True, "maxResults": 50},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
}
"""The documented body, verbatim [DG-spc] (its ``maxResults`` 50 predates the 100-per-page change)."""


@cache
def _schema_docs() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for model in (User, Group, EnterpriseUser):
        schema = model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        docs[str(schema["id"])] = schema
    return docs


@cache
def _resource_types() -> list[dict[str, Any]]:
    return [
        ResourceType.from_resource(ScimUser).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE),
        ResourceType.from_resource(Group).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE),
    ]


def list_schemas() -> dict[str, Any]:
    """Return the ListResponse of the User, Group and enterprise User schema documents."""
    items = list(_schema_docs().values())
    return list_response(items, len(items))


def get_schema(urn: str) -> dict[str, Any]:
    """Return the schema document for ``urn`` (case-insensitive); 404 for an unknown URN."""
    wanted = urn.lower()
    for known, doc in _schema_docs().items():
        if known.lower() == wanted:
            return doc
    raise ScimError.not_found("Schema", urn)


def list_resource_types() -> dict[str, Any]:
    """Return the ListResponse of the User and Group resource types."""
    items = _resource_types()
    return list_response(items, len(items))
