"""The job as Graph's ``synchronizationJob`` resource [G-SYNC]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pim_fake.provisioning.escrow import iso_at
from sim.durations import to_iso8601

if TYPE_CHECKING:
    from pim_fake.provisioning.job import ProvisioningJob

__all__ = ["job_resource"]


def job_resource(job: ProvisioningJob) -> dict[str, Any]:
    """Return the ``synchronizationJob`` resource [G-SYNC] (plus jitbox's ``nextCycleDateTime`` and escrows)."""
    quarantine = None if job.quarantine is None else {k: v for k, v in job.quarantine.items() if not k.startswith("_")}
    return {
        "id": job.id,
        "templateId": "aWSSingleSignOn",
        "schedule": {
            "expiration": None,
            "interval": to_iso8601(job.settings.cycle_interval),
            "state": "Paused" if job.code == "Paused" and job.state != "Disabled" else job.state,
        },
        "status": {
            "code": job.code,
            "countSuccessiveCompleteFailures": job.successive_failures,
            "escrowsPruned": False,
            "lastExecution": job.last_execution,
            "lastSuccessfulExecution": job.last_success,
            "lastSuccessfulExecutionWithExports": job.last_success,
            "quarantine": quarantine,
            "steadyStateFirstAchievedTime": None,
            "troubleshootingUrl": None,
            "progress": [],
        },
        "nextCycleDateTime": iso_at(job.next_cycle) if job.next_cycle is not None else None,
        "escrows": [
            {
                "objectType": k[0],
                "objectId": k[1],
                "failures": e.failures,
                "nextAttempt": iso_at(e.next_attempt),
                "error": e.error,
            }
            for k, e in sorted(job.escrow.items())
        ],
    }
