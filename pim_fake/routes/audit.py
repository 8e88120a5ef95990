"""Audit log routes: ``/auditLogs/directoryAudits`` [E-AUDREF] and ``/auditLogs/provisioning`` [G-POS],
administrators only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from fakekit.offloop import EncodeInWorker
from pim_fake.routes.deps import V1, ODataDep, TenantDep, require_admin

__all__ = ["router"]

router = APIRouter(
    prefix=V1 + "/auditLogs", tags=["audit"], dependencies=[Depends(require_admin)], route_class=EncodeInWorker
)


@router.get("/directoryAudits")
def directory_audits(tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the directory audit log, newest first."""
    return odata.page(tenant.directory_audits(), "auditLogs/directoryAudits")


@router.get("/provisioning")
def provisioning_logs(tenant: TenantDep, odata: ODataDep) -> Any:
    """Return the provisioning logs, newest first."""
    return odata.page(tenant.provisioning_logs(), "auditLogs/provisioning")
