"""FastAPI dependencies of the Graph routes: the tenant, the caller and administrator checks, JSON bodies and OData
query options, and the collection envelope.

Dependencies read the ``Request`` itself, so none of them adds a parameter to a route's published signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from fakekit.body import BodyError, read_json_body
from pim_fake.directory import Caller
from pim_fake.errors import GraphError, bad_request, forbidden
from pim_fake.listing import DEFAULT_PAGE_SIZE, Paging, collection
from pim_fake.pim import Pim
from pim_fake.tenant import Tenant

__all__ = [
    "V1",
    "AdminDep",
    "CallerDep",
    "JsonBody",
    "JsonObject",
    "OData",
    "ODataDep",
    "PimDep",
    "TenantDep",
    "get_caller",
    "get_tenant",
    "read_json",
    "require_admin",
]

V1 = "/v1.0"
"""Prefix of every Graph route."""


def get_tenant(request: Request) -> Tenant:
    """Return the app's :class:`Tenant` (``app.state.entra``)."""
    tenant: Tenant = request.app.state.entra
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]


def get_pim(tenant: TenantDep) -> Pim:
    """Return the tenant's PIM for Groups."""
    return tenant.pim


PimDep = Annotated[Pim, Depends(get_pim)]


def get_caller(request: Request, tenant: TenantDep) -> Caller:
    """Return the caller the bearer token identifies, or raise Graph's 401 [G-ERR]."""
    return tenant.directory_service.caller(request.headers.get("authorization"))


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_admin(caller: CallerDep) -> Caller:
    """Return the caller when it is an administrator (or an application); else raise 403."""
    if not caller.is_admin:
        raise forbidden()
    return caller


AdminDep = Annotated[Caller, Depends(require_admin)]


async def read_json(request: Request) -> Any:
    """Return the request's JSON body (``{}`` when empty) read within :mod:`fakekit.body`'s size and depth limits,
    or raise 400 (413 when too large) in Graph's envelope."""
    try:
        data = await read_json_body(request, allow_empty=True)
    except BodyError as exc:
        if exc.kind == "too_large":
            raise GraphError(413, "RequestEntityTooLarge", exc.message) from None
        raise bad_request(f"The request body cannot be read: {exc.message}.") from None
    return {} if data is None else data


JsonBody = Annotated[Any, Depends(read_json)]


async def read_json_object(request: Request) -> dict[str, Any]:
    """Return the request's JSON body when it is an object, else raise 400."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


JsonObject = Annotated[dict[str, Any], Depends(read_json_object)]


@dataclass(frozen=True)
class OData:
    """The OData query options a route reads: ``$filter``, ``$top`` and ``$expand`` (raw, unchecked), and the
    request's paging (``$skiptoken``, the URL a next link repeats)."""

    filter: str | None
    top: str | None
    expand: str
    paging: Paging | None = None

    def page(self, items: list[dict[str, Any]], context: str, apply_filter: bool = True) -> dict[str, Any]:
        """Return one page of the Graph collection of ``items`` after ``$filter`` (when ``apply_filter``), with
        ``@odata.nextLink`` when more follow (:mod:`pim_fake.listing`)."""
        return collection(items, context, self.filter, self.top, apply_filter, self.paging)


def get_odata(request: Request) -> OData:
    """Return the request's OData query options."""
    params = request.query_params
    size = int(getattr(request.app.state, "graph_page_size", DEFAULT_PAGE_SIZE))
    paging = Paging(str(request.url), params.get("$skiptoken"), size)
    return OData(params.get("$filter"), params.get("$top"), params.get("$expand") or "", paging)


ODataDep = Annotated[OData, Depends(get_odata)]
