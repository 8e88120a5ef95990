"""PIM for Groups schedule-request routes: ``assignmentScheduleRequests`` and ``eligibilityScheduleRequests``
(create, list, ``filterByCurrentUser``, get, cancel) [G-ASR][G-ESR-POST][G-ESR-LIST][G-FBCU][G-CANCEL].

Each collection has its own small endpoints; the shared work is in the ``_`` helpers below.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from fakekit.offloop import EncodeInWorker
from pim_fake.directory import Caller
from pim_fake.pim import Pim
from pim_fake.pim_terms import ASSIGNMENT, ELIGIBILITY
from pim_fake.routes.deps import V1, CallerDep, JsonBody, OData, ODataDep, PimDep, get_caller

__all__ = ["GROUP", "router"]

GROUP = "/identityGovernance/privilegedAccess/group"
"""Path of PIM for Groups under ``/v1.0``."""

ASR = f"{GROUP}/assignmentScheduleRequests"
ESR = f"{GROUP}/eligibilityScheduleRequests"

router = APIRouter(prefix=V1, tags=["pim"], route_class=EncodeInWorker)
_user = [Depends(get_caller)]


def _context(kind: str) -> str:
    return f"identityGovernance/privilegedAccess/group/{kind}ScheduleRequests"


def _create(pim: Pim, kind: str, body: Any, caller: Caller) -> JSONResponse:
    return JSONResponse(status_code=201, content=pim.create_request(kind, body, caller))


def _list(pim: Pim, kind: str, caller: Caller, odata: OData) -> dict[str, Any]:
    return odata.page(pim.list_requests(kind, odata.filter, caller), _context(kind), apply_filter=False)


def _mine(pim: Pim, kind: str, on: str, caller: Caller, odata: OData) -> dict[str, Any]:
    items = pim.requests_for_current_user(kind, on.strip("'\""), odata.filter, caller)
    return odata.page(items, _context(kind), apply_filter=False)


# --- assignmentScheduleRequests ------------------------------------------------------------------------------
@router.post(ASR, status_code=201)
def create_assignment_request(caller: CallerDep, body: JsonBody, pim: PimDep) -> Any:
    """Create an assignment schedule request (activate, deactivate, assign, update, remove...)."""
    return _create(pim, ASSIGNMENT, body, caller)


@router.get(ASR)
def list_assignment_requests(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List assignment schedule requests."""
    return _list(pim, ASSIGNMENT, caller, odata)


@router.get(ASR + "/filterByCurrentUser(on={on})")
def my_assignment_requests(on: str, caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the caller's assignment schedule requests."""
    return _mine(pim, ASSIGNMENT, on, caller, odata)


@router.get(ASR + "/{request_id}", dependencies=_user)
def get_assignment_request(request_id: str, pim: PimDep) -> Any:
    """Return one assignment schedule request."""
    return pim.get_request(ASSIGNMENT, request_id)


@router.post(ASR + "/{request_id}/cancel", status_code=204)
def cancel_assignment_request(request_id: str, caller: CallerDep, pim: PimDep) -> Response:
    """Cancel a pending assignment schedule request."""
    pim.cancel(ASSIGNMENT, request_id, caller)
    return Response(status_code=204)


# --- eligibilityScheduleRequests -----------------------------------------------------------------------------
@router.post(ESR, status_code=201)
def create_eligibility_request(caller: CallerDep, body: JsonBody, pim: PimDep) -> Any:
    """Create an eligibility schedule request (assign, update, remove...)."""
    return _create(pim, ELIGIBILITY, body, caller)


@router.get(ESR)
def list_eligibility_requests(caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List eligibility schedule requests."""
    return _list(pim, ELIGIBILITY, caller, odata)


@router.get(ESR + "/filterByCurrentUser(on={on})")
def my_eligibility_requests(on: str, caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """List the caller's eligibility schedule requests."""
    return _mine(pim, ELIGIBILITY, on, caller, odata)


@router.get(ESR + "/{request_id}", dependencies=_user)
def get_eligibility_request(request_id: str, pim: PimDep) -> Any:
    """Return one eligibility schedule request."""
    return pim.get_request(ELIGIBILITY, request_id)


@router.post(ESR + "/{request_id}/cancel", status_code=204)
def cancel_eligibility_request(request_id: str, caller: CallerDep, pim: PimDep) -> Response:
    """Cancel a pending eligibility schedule request."""
    pim.cancel(ELIGIBILITY, request_id, caller)
    return Response(status_code=204)
