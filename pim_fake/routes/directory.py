"""Graph directory routes: ``/me``, ``/users``, ``/groups`` (members, owners) and ``/servicePrincipals``
(``appRoleAssignedTo``) [G-ERR]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from fakekit.offloop import EncodeInWorker
from pim_fake.routes.deps import V1, CallerDep, JsonBody, JsonObject, ODataDep, TenantDep, get_caller, require_admin

__all__ = ["router"]

router = APIRouter(prefix=V1, tags=["directory"], route_class=EncodeInWorker)
_user = [Depends(get_caller)]
_admin = [Depends(require_admin)]


@router.get("/me")
def me(caller: CallerDep, tenant: TenantDep) -> Any:
    """Return the signed-in user."""
    return tenant.directory_service.me(caller)


# --- users ---------------------------------------------------------------------------------------------------
@router.get("/users", dependencies=_user)
def list_users(tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the users collection."""
    return odata.page(tenant.directory_service.users(), "users")


@router.post("/users", status_code=201, dependencies=_admin)
def create_user(body: JsonObject, tenant: TenantDep) -> Any:
    """Create a user (administrators only)."""
    return tenant.directory_service.create_user(body)


@router.get("/users/{user_id}", dependencies=_user)
def get_user(user_id: str, tenant: TenantDep) -> Any:
    """Return one user by id or userPrincipalName."""
    return tenant.directory_service.user(user_id)


# --- groups --------------------------------------------------------------------------------------------------
@router.get("/groups", dependencies=_user)
def list_groups(tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the groups collection."""
    return odata.page(tenant.directory_service.groups(), "groups")


@router.post("/groups", status_code=201, dependencies=_admin)
def create_group(body: JsonObject, tenant: TenantDep) -> Any:
    """Create a security group (administrators only)."""
    return tenant.directory_service.create_group(body)


@router.get("/groups/{group_id}", dependencies=_user)
def get_group(group_id: str, tenant: TenantDep) -> Any:
    """Return one group."""
    return tenant.directory_service.group(group_id)


@router.get("/groups/{group_id}/members", dependencies=_user)
def list_members(group_id: str, tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the group's members."""
    return odata.page(tenant.directory_service.members(group_id), "directoryObjects")


@router.get("/groups/{group_id}/owners", dependencies=_user)
def list_owners(group_id: str, tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the group's owners."""
    return odata.page(tenant.directory_service.owners(group_id), "directoryObjects")


@router.post("/groups/{group_id}/members/$ref", status_code=204, dependencies=_admin)
def add_member(group_id: str, body: JsonBody, tenant: TenantDep) -> Response:
    """Add a member by ``@odata.id`` reference (administrators only)."""
    tenant.directory_service.add_member_ref(group_id, body)
    return Response(status_code=204)


@router.delete("/groups/{group_id}/members/{member_id}/$ref", status_code=204, dependencies=_admin)
def remove_member(group_id: str, member_id: str, tenant: TenantDep) -> Response:
    """Remove a direct member (administrators only)."""
    tenant.directory_service.remove_member(group_id, member_id)
    return Response(status_code=204)


# --- enterprise applications ---------------------------------------------------------------------------------
@router.get("/servicePrincipals", dependencies=_user)
def list_service_principals(tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the service principals collection."""
    return odata.page(tenant.directory_service.service_principals(), "servicePrincipals")


@router.get("/servicePrincipals/{sp_id}", dependencies=_user)
def get_service_principal(sp_id: str, tenant: TenantDep) -> Any:
    """Return one service principal."""
    return tenant.directory_service.service_principal(sp_id)


@router.get("/servicePrincipals/{sp_id}/appRoleAssignedTo", dependencies=_user)
def list_assigned(sp_id: str, tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the users and groups assigned to the application."""
    return odata.page(tenant.directory_service.assignments(sp_id), "appRoleAssignments")


@router.post("/servicePrincipals/{sp_id}/appRoleAssignedTo", status_code=201, dependencies=_admin)
def assign(sp_id: str, body: JsonBody, tenant: TenantDep) -> Any:
    """Assign a user or group to the application (administrators only)."""
    return tenant.directory_service.assign(sp_id, body)


@router.delete("/servicePrincipals/{sp_id}/appRoleAssignedTo/{assignment_id}", status_code=204, dependencies=_admin)
def unassign(sp_id: str, assignment_id: str, tenant: TenantDep) -> Response:
    """Remove an assignment from the application (administrators only)."""
    tenant.directory_service.unassign(sp_id, assignment_id)
    return Response(status_code=204)
