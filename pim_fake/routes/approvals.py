"""PIM for Groups approval routes: ``assignmentApprovals/{id}`` and its ``stages`` (alias ``steps``)
[G-APPR-GET][G-APPR-UPD]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from fakekit.offloop import EncodeInWorker
from pim_fake.routes.deps import V1, CallerDep, JsonBody, ODataDep, PimDep
from pim_fake.routes.pim_requests import GROUP

__all__ = ["router"]

router = APIRouter(prefix=V1, tags=["pim"], route_class=EncodeInWorker)

APPROVAL = f"{GROUP}/assignmentApprovals/{{approval_id}}"


def get_approval(approval_id: str, caller: CallerDep, pim: PimDep) -> Any:
    """Return the approval with its single stage."""
    return pim.approval(approval_id, caller)


def list_stages(approval_id: str, caller: CallerDep, pim: PimDep, odata: ODataDep) -> Any:
    """Return the approval's stages."""
    return odata.page(pim.approval(approval_id, caller)["stages"], "approvalStages", apply_filter=False)


def get_stage(approval_id: str, stage_id: str, caller: CallerDep, pim: PimDep) -> Any:
    """Return one stage of the approval."""
    return pim.approval_stage(approval_id, stage_id, caller)


def decide(approval_id: str, stage_id: str, caller: CallerDep, body: JsonBody, pim: PimDep) -> Response:
    """Approve or deny a stage (``{"reviewResult": "Approve"|"Deny", "justification": "..."}``)."""
    pim.decide(approval_id, stage_id, body, caller)
    return Response(status_code=204)


router.add_api_route(APPROVAL, get_approval, methods=["GET"])
for _segment in ("steps", "stages"):
    router.add_api_route(f"{APPROVAL}/{_segment}", list_stages, methods=["GET"])
    router.add_api_route(f"{APPROVAL}/{_segment}/{{stage_id}}", get_stage, methods=["GET"])
    router.add_api_route(f"{APPROVAL}/{_segment}/{{stage_id}}", decide, methods=["PATCH"], status_code=204)
