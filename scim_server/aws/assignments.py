"""Account assignments and the asynchronous sso-admin requests that change them [BC-ssoadmin].

CreateAccountAssignment, DeleteAccountAssignment and ProvisionPermissionSet answer IN_PROGRESS and turn SUCCEEDED
``assignment_delay`` seconds later on the clock (the real delay is UNCONFIRMED [BLOG-gagan]; default 5 s); only
then does the change take effect. Assignments keep their ``[start, end)`` so entitlement decisions can look back.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sim.clock import Clock

from .accounts import ACCOUNT_ID
from .directory import Directory
from .errors import not_found, validation
from .ids import IdSource
from .instance import Instance, InstanceSettings
from .permission_sets import PermissionSet, PermissionSets

__all__ = ["AccountAssignments", "Assignment", "OperationStatus"]


@dataclass
class Assignment:
    """One account assignment, effective on ``[start, end)`` (``start`` None while creation is in progress)."""

    account_id: str
    permission_set_arn: str
    principal_type: str
    principal_id: str
    start: float | None = None
    end: float = math.inf

    @property
    def current(self) -> bool:
        """True while the assignment is in effect (created and not deleted)."""
        return self.start is not None and math.isinf(self.end)

    def key(self) -> tuple[str, str, str, str]:
        """Return (account, permission set, principal type, principal id)."""
        return (self.account_id, self.permission_set_arn, self.principal_type, self.principal_id)

    def to_json(self) -> dict[str, Any]:
        """Return the ``AccountAssignment`` shape [BC-ssoadmin]."""
        return {
            "AccountId": self.account_id,
            "PermissionSetArn": self.permission_set_arn,
            "PrincipalType": self.principal_type,
            "PrincipalId": self.principal_id,
        }


@dataclass
class OperationStatus:
    """Status of an asynchronous sso-admin request (assignment creation/deletion, permission-set provisioning)."""

    kind: str
    request_id: str
    status: str
    created: float
    permission_set_arn: str
    target_id: str | None = None
    target_type: str | None = None
    principal_type: str | None = None
    principal_id: str | None = None
    failure_reason: str | None = None
    due: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Return ``AccountAssignmentOperationStatus`` or ``PermissionSetProvisioningStatus`` [BC-ssoadmin]."""
        out: dict[str, Any] = {
            "Status": self.status,
            "RequestId": self.request_id,
            "PermissionSetArn": self.permission_set_arn,
            "CreatedDate": self.created,
        }
        if self.kind == "provision":
            if self.target_id is not None:
                out["AccountId"] = self.target_id
        else:
            out.update(
                TargetId=self.target_id,
                TargetType=self.target_type,
                PrincipalType=self.principal_type,
                PrincipalId=self.principal_id,
            )
        if self.failure_reason is not None:
            out["FailureReason"] = self.failure_reason
        return out


class AccountAssignments:
    """Every account assignment ever made (with its interval) and the asynchronous requests that made them."""

    def __init__(
        self,
        clock: Clock,
        lock: threading.RLock,
        ids: IdSource,
        instance: Instance,
        config: InstanceSettings,
        directory: Directory,
        permission_sets: PermissionSets,
        changed: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._lock = lock
        self._ids = ids
        self._instance = instance
        self._config = config
        self._directory = directory
        self._permission_sets = permission_sets
        self._changed = changed
        self._generation = 0
        self.rows: list[Assignment] = []
        self.operations: dict[str, OperationStatus] = {}

    def clear(self) -> None:
        """Forget every assignment and request; requests still scheduled on the clock will not finish."""
        self._generation += 1
        self.rows = []
        self.operations = {}

    # --- queries ---------------------------------------------------------------------------------------
    def current(self) -> list[Assignment]:
        """Return the assignments in effect now, in creation order."""
        return [a for a in self.rows if a.current]

    def uses(self, ps_arn: str) -> bool:
        """Return True while an assignment of ``ps_arn`` is in effect or being created."""
        return any(a.permission_set_arn == ps_arn and (a.current or a.start is None) for a in self.rows)

    def account_ids(self) -> list[str]:
        """Return the accounts that have (or had) an assignment, sorted."""
        return sorted({a.account_id for a in self.rows if a.start is not None})

    def operation(self, request_id: Any, kind: str) -> OperationStatus:
        """Return the status of request ``request_id`` of ``kind`` or raise ``ResourceNotFoundException``."""
        op = self.operations.get(request_id) if isinstance(request_id, str) else None
        if op is None or op.kind != kind:
            raise not_found(f"Request {request_id} does not exist")
        return op

    # --- requests --------------------------------------------------------------------------------------
    def create(
        self, target_id: Any, target_type: Any, ps_arn: Any, principal_type: Any, principal_id: Any
    ) -> OperationStatus:
        """Start creating an assignment; it takes effect when the status turns SUCCEEDED [BC-ssoadmin]."""
        ps = self._check_args(target_id, target_type, ps_arn, principal_type, principal_id)
        return self._start("create", ps, target_id, target_type, principal_type, principal_id)

    def delete(
        self, target_id: Any, target_type: Any, ps_arn: Any, principal_type: Any, principal_id: Any
    ) -> OperationStatus:
        """Start deleting an assignment; it stops granting new launches when the status turns SUCCEEDED.

        The principal need not exist any more (deleted users linger in assignments [UG-trouble][GH-assoutil93]).
        """
        ps = self._check_args(target_id, target_type, ps_arn, principal_type, principal_id, exists=False)
        key = (target_id, ps.arn, principal_type, principal_id)
        if not any(a.key() == key and a.current for a in self.rows):
            raise not_found(
                f"Account assignment of {principal_type} {principal_id} to {target_id} with {ps.arn} does not exist"
            )
        return self._start("delete", ps, target_id, target_type, principal_type, principal_id)

    def provision(self, ps_arn: Any, target_type: Any, target_id: Any = None) -> OperationStatus:
        """Provision a permission set to one account or all its accounts (asynchronous) [BC-ssoadmin]."""
        ps = self._permission_sets.get_checked(ps_arn)
        if target_type == "AWS_ACCOUNT":
            if not isinstance(target_id, str) or not ACCOUNT_ID.fullmatch(target_id):
                raise validation(f"TargetId {target_id!r} must be a 12-digit AWS account id for AWS_ACCOUNT")
        elif target_type == "ALL_PROVISIONED_ACCOUNTS":
            target_id = None
        else:
            raise validation(f"TargetType {target_type!r} must be AWS_ACCOUNT or ALL_PROVISIONED_ACCOUNTS")
        now = self._clock.time()
        status = OperationStatus(
            "provision", self._ids.request_id(), "IN_PROGRESS", now, ps.arn, target_id,
            due=now + self._config.assignment_delay,
        )  # fmt: skip
        self.operations[status.request_id] = status
        self._schedule(status)
        self._changed()
        return status

    def _check_args(
        self, target_id: Any, target_type: Any, ps_arn: Any, principal_type: Any, principal_id: Any, exists: bool = True
    ) -> PermissionSet:
        """Validate assignment arguments (naming the bad field); with ``exists`` the principal must exist."""
        if not isinstance(target_id, str) or not ACCOUNT_ID.fullmatch(target_id):
            raise validation(f"TargetId {target_id!r} must be a 12-digit AWS account id")
        if target_type != "AWS_ACCOUNT":
            raise validation(f"TargetType {target_type!r} must be AWS_ACCOUNT")
        if principal_type not in ("USER", "GROUP"):
            raise validation(f"PrincipalType {principal_type!r} must be USER or GROUP")
        if not isinstance(principal_id, str) or not principal_id:
            raise validation("PrincipalId is required")
        ps = self._permission_sets.get_checked(ps_arn)
        if not exists:
            return ps
        found = (
            self._directory.user_status(principal_id) is not None
            if principal_type == "USER"
            else self._directory.group_exists(principal_id)
        )
        if not found:
            store_id = self._instance.identity_store_id
            raise not_found(f"{principal_type.title()} {principal_id} does not exist in {store_id}")
        return ps

    def _start(
        self, kind: str, ps: PermissionSet, target_id: Any, target_type: Any, ptype: Any, pid: Any
    ) -> OperationStatus:
        now = self._clock.time()
        status = OperationStatus(
            kind, self._ids.request_id(), "IN_PROGRESS", now, ps.arn, target_id, target_type, ptype, pid,
            due=now + self._config.assignment_delay,
        )  # fmt: skip
        self.operations[status.request_id] = status
        self._schedule(status)
        self._changed()
        return status

    # --- completion ------------------------------------------------------------------------------------
    def _schedule(self, status: OperationStatus) -> None:
        """Finish ``status`` at ``status.due`` on the clock (at once when the delay is 0)."""
        generation = self._generation

        def finish() -> None:
            with self._lock:
                if generation != self._generation or status.status != "IN_PROGRESS":  # reset or reloaded
                    return
                self._apply(status)
                status.status = "SUCCEEDED"
                self._changed()

        if status.due <= self._clock.time():
            finish()
        else:
            self._clock.call_at(status.due, finish, name=f"sso-admin {status.kind} {status.request_id}")

    def _apply(self, op: OperationStatus) -> None:
        """Make a finished asynchronous request take effect."""
        ps = self._permission_sets.get(op.permission_set_arn)
        if op.kind == "provision":
            if ps is not None and op.target_id is not None:
                ps.provisioned_accounts.add(op.target_id)
            return
        assert op.target_id is not None and op.principal_type is not None and op.principal_id is not None
        key = (op.target_id, op.permission_set_arn, op.principal_type, op.principal_id)
        effective = min(op.due, self._clock.time())  # a request finished late (after a restart) took effect when due
        if op.kind == "create":
            if not any(a.key() == key and a.current for a in self.rows):
                self.rows.append(Assignment(*key, start=effective))
            if ps is not None:
                ps.provisioned_accounts.add(op.target_id)
        else:
            for a in self.rows:
                if a.key() == key and a.current:
                    a.end = max(effective, a.start or effective)

    # --- saved state -----------------------------------------------------------------------------------
    def assignments_state(self) -> list[dict[str, Any]]:
        """Return every assignment, JSON-ready (an open end as None)."""
        return [{**asdict(a), "end": None if math.isinf(a.end) else a.end} for a in self.rows]

    def operations_state(self) -> list[dict[str, Any]]:
        """Return every request status, JSON-ready."""
        return [asdict(op) for op in self.operations.values()]

    def load_state(self, assignments: list[dict[str, Any]], operations: list[dict[str, Any]]) -> None:
        """Add saved assignments and request statuses (call :meth:`resume` once the rest of the plane is loaded)."""
        for raw in assignments:
            self.rows.append(Assignment(**{**raw, "end": math.inf if raw["end"] is None else raw["end"]}))
        for raw in operations:
            op = OperationStatus(**raw)
            self.operations[op.request_id] = op

    def resume(self) -> None:
        """Schedule the requests still IN_PROGRESS (after loading saved state)."""
        for op in self.operations.values():
            if op.status == "IN_PROGRESS":
                self._schedule(op)
