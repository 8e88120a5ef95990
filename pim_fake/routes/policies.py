"""Role management policy routes: ``/policies/roleManagementPolicies`` (and their ``rules``) and
``/policies/roleManagementPolicyAssignments`` [G-POL-LIST][G-POLA-LIST][G-RULES]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from fakekit.offloop import EncodeInWorker
from pim_fake.routes.deps import V1, AdminDep, CallerDep, JsonBody, OData, ODataDep, PimDep, get_caller

__all__ = ["router"]

router = APIRouter(prefix=V1 + "/policies", tags=["policies"], route_class=EncodeInWorker)
_user = [Depends(get_caller)]


def _expand_policy(odata: OData) -> tuple[bool, bool]:
    """Return ``($expand has policy, $expand has rules)``."""
    return "policy" in odata.expand, "rules" in odata.expand


@router.get("/roleManagementPolicies")
def list_policies(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the policies of one group (``$filter=scopeId eq '{groupId}' and scopeType eq 'Group'``)."""
    items = pim.policies.list_json(odata.filter, caller, "rules" in odata.expand)
    return odata.page(items, "policies/roleManagementPolicies")


@router.get("/roleManagementPolicies/{policy_id}", dependencies=_user)
def get_policy(policy_id: str, pim: PimDep, odata: ODataDep) -> Any:
    """Return one policy (``$expand=rules`` includes its rules)."""
    return pim.policies.get_json(policy_id, "rules" in odata.expand)


@router.get("/roleManagementPolicies/{policy_id}/rules", dependencies=_user)
def list_rules(policy_id: str, pim: PimDep, odata: ODataDep) -> Any:
    """List the policy's rules."""
    return odata.page(pim.policies.rules(policy_id), "rules")


@router.get("/roleManagementPolicies/{policy_id}/rules/{rule_id}", dependencies=_user)
def get_rule(policy_id: str, rule_id: str, pim: PimDep) -> Any:
    """Return one rule."""
    return pim.policies.rule(policy_id, rule_id)


@router.patch("/roleManagementPolicies/{policy_id}/rules/{rule_id}", status_code=204)
def patch_rule(policy_id: str, rule_id: str, admin: AdminDep, body: JsonBody, pim: PimDep) -> Response:
    """Update one rule (administrators only)."""
    pim.policies.patch_rule(policy_id, rule_id, body, admin)
    return Response(status_code=204)


@router.get("/roleManagementPolicyAssignments")
def list_policy_assignments(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the policy assignments of one group (``$expand=policy($expand=rules)`` includes the policy)."""
    items = pim.policies.assignments_json(odata.filter, caller, *_expand_policy(odata))
    return odata.page(items, "policies/roleManagementPolicyAssignments")


@router.get("/roleManagementPolicyAssignments/{assignment_id}", dependencies=_user)
def get_policy_assignment(assignment_id: str, pim: PimDep, odata: ODataDep) -> Any:
    """Return one policy assignment."""
    return pim.policies.assignment_json(assignment_id, *_expand_policy(odata))
