"""Provisioning (synchronization job) routes under ``/servicePrincipals/{id}/synchronization/jobs`` [G-SYNC],
administrators only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from fakekit.offloop import EncodeInWorker
from pim_fake.routes.deps import V1, ODataDep, TenantDep, read_json, require_admin

__all__ = ["router"]

router = APIRouter(
    prefix=V1 + "/servicePrincipals/{sp_id}/synchronization/jobs", tags=["provisioning"], route_class=EncodeInWorker
)
_admin = [Depends(require_admin)]


@router.get("", dependencies=_admin)
def list_jobs(sp_id: str, tenant: TenantDep, odata: ODataDep) -> Any:
    """List the application's provisioning jobs."""
    return odata.page(tenant.jobs_json(sp_id), "synchronizationJobs", apply_filter=False)


@router.get("/{job_id}", dependencies=_admin)
def get_job(sp_id: str, job_id: str, tenant: TenantDep) -> Any:
    """Return one provisioning job."""
    return tenant.job(sp_id, job_id).to_json()


@router.post("/{job_id}/start", status_code=204, dependencies=_admin)
def start_job(sp_id: str, job_id: str, tenant: TenantDep) -> Response:
    """Start the job (its initial cycle runs now)."""
    tenant.job(sp_id, job_id).start()
    return Response(status_code=204)


@router.post("/{job_id}/pause", status_code=204, dependencies=_admin)
def pause_job(sp_id: str, job_id: str, tenant: TenantDep) -> Response:
    """Pause the job."""
    tenant.job(sp_id, job_id).pause()
    return Response(status_code=204)


@router.post("/{job_id}/restart", status_code=204, dependencies=_admin)
def restart_job(sp_id: str, job_id: str, tenant: TenantDep) -> Response:
    """Restart the job (forget its state, run an initial cycle)."""
    tenant.job(sp_id, job_id).restart()
    return Response(status_code=204)


@router.post("/{job_id}/provisionOnDemand", dependencies=_admin)
async def provision_on_demand(sp_id: str, job_id: str, request: Request, tenant: TenantDep) -> Any:
    """Provision one user or group now; the body names it (checked after the job is found)."""
    job = tenant.job(sp_id, job_id)
    body = await read_json(request)
    return await run_in_threadpool(job.provision_on_demand, body)
