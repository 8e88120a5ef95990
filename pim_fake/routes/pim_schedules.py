"""PIM for Groups schedule and instance routes: ``{assignment,eligibility}Schedules`` and
``{assignment,eligibility}ScheduleInstances`` (list, ``filterByCurrentUser(on='principal')``, get) [G-AS][G-ASI-LIST].

Each collection has its own small endpoints; the shared work is in the ``_`` helpers below.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from fakekit.offloop import EncodeInWorker
from pim_fake.directory import Caller
from pim_fake.errors import bad_request
from pim_fake.pim import Pim
from pim_fake.pim_terms import ASSIGNMENT, ELIGIBILITY
from pim_fake.routes.deps import V1, CallerDep, OData, ODataDep, PimDep, get_caller
from pim_fake.routes.pim_requests import GROUP

__all__ = ["router"]

router = APIRouter(prefix=V1, tags=["pim"], route_class=EncodeInWorker)
_user = [Depends(get_caller)]

AS = f"{GROUP}/assignmentSchedules"
ASI = f"{GROUP}/assignmentScheduleInstances"
ES = f"{GROUP}/eligibilitySchedules"
ESI = f"{GROUP}/eligibilityScheduleInstances"
MINE = "/filterByCurrentUser(on={on})"


def _context(kind: str, instances: bool) -> str:
    return f"identityGovernance/privilegedAccess/group/{kind}{'ScheduleInstances' if instances else 'Schedules'}"


def _list(pim: Pim, kind: str, instances: bool, caller: Caller, odata: OData) -> dict[str, Any]:
    items = pim.list_schedules(kind, instances, odata.filter, caller)
    return odata.page(items, _context(kind, instances), apply_filter=False)


def _mine(pim: Pim, kind: str, instances: bool, on: str, caller: Caller, odata: OData) -> dict[str, Any]:
    if on.strip("'\"").lower() != "principal":
        raise bad_request("filterByCurrentUser on schedules supports on='principal'.")
    items = pim.list_schedules(kind, instances, odata.filter, caller, current_user=True)
    return odata.page(items, _context(kind, instances), apply_filter=False)


# --- assignmentSchedules -------------------------------------------------------------------------------------
@router.get(AS)
def list_assignment_schedules(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List assignment schedules (a principalId or groupId ``$filter`` is required)."""
    return _list(pim, ASSIGNMENT, False, caller, odata)


@router.get(AS + MINE)
def my_assignment_schedules(on: str, caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the caller's assignment schedules."""
    return _mine(pim, ASSIGNMENT, False, on, caller, odata)


@router.get(AS + "/{ident}", dependencies=_user)
def get_assignment_schedule(ident: str, pim: PimDep) -> Any:
    """Return one assignment schedule."""
    return pim.get_schedule(ASSIGNMENT, ident, False)


# --- assignmentScheduleInstances -----------------------------------------------------------------------------
@router.get(ASI)
def list_assignment_instances(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List assignment schedule instances (a principalId or groupId ``$filter`` is required)."""
    return _list(pim, ASSIGNMENT, True, caller, odata)


@router.get(ASI + MINE)
def my_assignment_instances(on: str, caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the caller's assignment schedule instances."""
    return _mine(pim, ASSIGNMENT, True, on, caller, odata)


@router.get(ASI + "/{ident}", dependencies=_user)
def get_assignment_instance(ident: str, pim: PimDep) -> Any:
    """Return one assignment schedule instance."""
    return pim.get_schedule(ASSIGNMENT, ident, True)


# --- eligibilitySchedules ------------------------------------------------------------------------------------
@router.get(ES)
def list_eligibility_schedules(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List eligibility schedules (a principalId or groupId ``$filter`` is required)."""
    return _list(pim, ELIGIBILITY, False, caller, odata)


@router.get(ES + MINE)
def my_eligibility_schedules(on: str, caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the caller's eligibility schedules."""
    return _mine(pim, ELIGIBILITY, False, on, caller, odata)


@router.get(ES + "/{ident}", dependencies=_user)
def get_eligibility_schedule(ident: str, pim: PimDep) -> Any:
    """Return one eligibility schedule."""
    return pim.get_schedule(ELIGIBILITY, ident, False)


# --- eligibilityScheduleInstances ----------------------------------------------------------------------------
@router.get(ESI)
def list_eligibility_instances(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List eligibility schedule instances (a principalId or groupId ``$filter`` is required)."""
    return _list(pim, ELIGIBILITY, True, caller, odata)


@router.get(ESI + MINE)
def my_eligibility_instances(on: str, caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the caller's eligibility schedule instances."""
    return _mine(pim, ELIGIBILITY, True, on, caller, odata)


@router.get(ESI + "/{ident}", dependencies=_user)
def get_eligibility_instance(ident: str, pim: PimDep) -> Any:
    """Return one eligibility schedule instance."""
    return pim.get_schedule(ELIGIBILITY, ident, True)
