"""Approvals of ``PendingApproval`` activations: one stage, first approver decides, 24 h to decide [E-APPRV].

``GET .../assignmentApprovals/{id}`` returns the approval with its single stage [G-APPR-GET]; ``PATCH`` on a stage
approves or denies it (204; 409 once decided or expired; 403 for non-approvers and the requester) [G-APPR-UPD].
The approval API takes delegated (user) tokens only. An undecided approval expires after ``APPROVAL_TIMEOUT`` on
the clock and its request is ``Canceled`` (UNCONFIRMED) [E-APPRV].
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pim_fake.directory import Caller
from pim_fake.errors import GraphError, bad_request, forbidden, not_found
from pim_fake.pim_context import PimContext
from pim_fake.pim_terms import iso_at, norm
from pim_fake.request_status import RequestStatus, finish
from sim.clock import Timer
from sim.settings import APPROVAL_TIMEOUT

__all__ = ["Approval", "Approvals", "ReviewResult", "StageStatus"]


class StageStatus(StrEnum):
    """Approval stage ``status``: ``InProgress`` observed [G-APPR-GET]; ``Completed`` UNCONFIRMED."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"


class ReviewResult(StrEnum):
    """Approval stage ``reviewResult`` values [G-STAGE]."""

    NOT_REVIEWED = "NotReviewed"
    APPROVED = "Approved"
    DENIED = "Denied"


@dataclass
class Approval:
    """One single-stage approval of a ``PendingApproval`` activation [G-APPR-GET][G-STAGE]."""

    id: str
    stage_id: str
    request_id: str
    approvers: list[dict[str, Any]]
    justification_required: bool
    expires: float
    status: StageStatus = StageStatus.IN_PROGRESS
    review_result: ReviewResult = ReviewResult.NOT_REVIEWED
    reviewed_by: dict[str, Any] | None = None
    reviewed_at: float | None = None
    justification: str = ""
    timer: Timer | None = None

    def close(self) -> None:
        """Complete the stage and stop its expiry timer."""
        self.status = StageStatus.COMPLETED
        if self.timer is not None:
            self.timer.cancel()


class Approvals:
    """The approvals of one tenant, keyed by the id of the assignment request they gate (``requests``)."""

    def __init__(self, ctx: PimContext, requests: dict[str, dict[str, Any]]) -> None:
        self.ctx = ctx
        self.requests = requests
        self.by_id: dict[str, Approval] = {}

    def clear(self) -> None:
        """Forget every approval and cancel its expiry timer (sandbox reset)."""
        for approval in self.by_id.values():
            if approval.timer is not None:
                approval.timer.cancel()
        self.by_id.clear()

    def open(self, req: dict[str, Any], setting: dict[str, Any]) -> Approval:
        """Open the approval of ``req`` from the policy's approval ``setting`` (first stage); return it."""
        stage = (setting.get("approvalStages") or [{}])[0]
        approval = Approval(
            id=req["id"],
            stage_id=self.ctx.directory.new_id(),
            request_id=req["id"],
            approvers=list(stage.get("primaryApprovers") or []),
            justification_required=bool(stage.get("isApproverJustificationRequired", True)),
            expires=self.ctx.now() + APPROVAL_TIMEOUT,
        )
        self.arm_expiry(approval)
        self.by_id[approval.id] = approval
        return approval

    def arm_expiry(self, approval: Approval) -> None:
        """Arm the timer that cancels the request if ``approval`` is still undecided at its expiry [E-APPRV]."""
        rid = approval.request_id
        approval.timer = self.ctx.call_at(
            approval.expires, lambda: self._expire(rid), name=f"pim-approval-expiry-{rid}"
        )

    def _expire(self, request_id: str) -> None:
        """Cancel a still-pending request whose approval was not decided in time [E-APPRV]."""
        approval = self.by_id.get(request_id)
        req = self.requests.get(request_id)
        if approval is None or req is None or approval.review_result != ReviewResult.NOT_REVIEWED:
            return
        if req["status"] != RequestStatus.PENDING_APPROVAL:
            return
        self.ctx.mark(req)
        approval.status = StageStatus.COMPLETED
        finish(req, RequestStatus.CANCELED, iso_at(self.ctx.now()))
        self.ctx.record("PIM activation request expired", req, None)

    def close(self, approval_id: str | None) -> None:
        """Complete the approval ``approval_id`` (if any) because its request was canceled."""
        approval = self.by_id.get(approval_id or "")
        if approval is not None:
            approval.close()

    def assigned_to(self, approval_id: str | None, caller: Caller) -> bool:
        """Return True when ``caller`` is an approver of the approval ``approval_id``."""
        approval = self.by_id.get(approval_id or "")
        return approval is not None and self._is_approver(approval, caller)

    def _is_approver(self, approval: Approval, caller: Caller) -> bool:
        groups = self.ctx.directory.groups
        for subject in approval.approvers:
            if subject.get("userId") == caller.id:
                return True
            gid = subject.get("groupId")
            if gid and gid in groups and caller.id in groups[gid].members:
                return True
        return False

    def _get(self, approval_id: str, caller: Caller) -> Approval:
        if not caller.is_user:
            raise forbidden(
                "The approval API supports delegated (user) tokens only; application permissions are not supported."
            )
        approval = self.by_id.get(approval_id)
        if approval is None:
            raise not_found("approval", approval_id)
        return approval

    # --- reads -----------------------------------------------------------------------------------------
    def to_json(self, approval_id: str, caller: Caller) -> dict[str, Any]:
        """Return the approval resource with its single stage [G-APPR-GET]."""
        approval = self._get(approval_id, caller)
        stage = self._stage_json(approval, caller)
        return {"id": approval.id, "stages": [stage], "steps": [stage]}

    def stage_json(self, approval_id: str, stage_id: str, caller: Caller) -> dict[str, Any]:
        """Return one stage of the approval, or raise 404."""
        for stage in self.to_json(approval_id, caller)["stages"]:
            if stage["id"].lower() == stage_id.lower():
                return stage  # type: ignore[no-any-return]
        raise not_found("approvalStage", stage_id)

    def _stage_json(self, approval: Approval, caller: Caller) -> dict[str, Any]:
        return {
            "id": approval.stage_id,
            "displayName": None,
            "reviewedDateTime": iso_at(approval.reviewed_at),
            "reviewResult": approval.review_result.value,
            "status": approval.status.value,
            "assignedToMe": self._is_approver(approval, caller),
            "justification": approval.justification,
            "reviewedBy": approval.reviewed_by,
        }

    # --- decisions -------------------------------------------------------------------------------------
    def review(self, approval_id: str, stage_id: str, body: Any, caller: Caller) -> dict[str, Any] | None:
        """Record an approver's decision [G-APPR-UPD]: a denial finishes the request ``Denied`` and returns None;
        an approval returns the request for its activation to complete."""
        approval = self._get(approval_id, caller)
        if stage_id.lower() != approval.stage_id.lower():
            raise not_found("approvalStage", stage_id)
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object with reviewResult and justification.")
        result = norm(body.get("reviewResult"), ("Approve", "Deny"), "reviewResult")
        justification = body.get("justification") or ""
        if not isinstance(justification, str):
            raise bad_request("Property 'justification' must be a string.")
        req = self.requests[approval.request_id]
        if not self._is_approver(approval, caller) or caller.id == req["principalId"]:
            raise forbidden("The caller is not an approver of this request.")
        if approval.review_result != ReviewResult.NOT_REVIEWED or approval.status != StageStatus.IN_PROGRESS:
            raise GraphError(409, "Conflict", "The approval stage has already been decided or has expired.")
        if approval.justification_required and not justification.strip():
            raise bad_request("The approver's justification is required for this approval stage.")
        approval.review_result = ReviewResult.APPROVED if result == "Approve" else ReviewResult.DENIED
        approval.reviewed_by = {"id": caller.id, "displayName": caller.shown_name, "userPrincipalName": caller.upn}
        approval.reviewed_at = self.ctx.now()
        approval.justification = justification
        approval.close()
        if result == "Deny":
            finish(req, RequestStatus.DENIED, iso_at(self.ctx.now()))
            self.ctx.record("Add member to role request denied (PIM activation)", req, caller)
            return None
        self.ctx.record("Add member to role request approved (PIM activation)", req, caller)
        return req
