"""The Entra provisioning service: one SCIM job per enterprise application, on the injected clock.

Sources are in ``../shared/reference/entra-pim-provisioning.md``; timing comes from :mod:`sim.rules`, not
re-implemented. The parts:

- :mod:`.job` — :class:`ProvisioningJob`: the initial and incremental cycles (about every 40 min [E-AWS][E-SCIM]),
  the PIM fast path (first 5 activations per 10 s reach the target in 2–10 min [E-AWS][E-PIMG]),
  start/pause/restart/retarget;
- :mod:`.source` — the job's view of the directory: in-scope users and assigned groups as of a cycle's start;
- :mod:`.export` — bringing one user or group on the target in line with the directory, and the target cache;
- :mod:`.scim_client` — the SCIM requests Entra sends [E-SCIM][E-COMPAT][AWS-SCIM], over httpx2;
- :mod:`.escrow` — failure classification, Retry-After retries, escrow back-off and quarantine [E-QUAR][E-PLOGS];
- :mod:`.logs` — the provisioning logs (``provisioningObjectSummary`` [G-POS]);
- :mod:`.on_demand` — provision on demand: one user, or one group with at most 5 members [E-POD];
- :mod:`.render` — the ``synchronizationJob`` resource [G-SYNC];
- :mod:`.options` — the switches for what the sources leave open, and the SCIM target.
"""

from pim_fake.provisioning.job import FastPathRecord, ProvisioningJob
from pim_fake.provisioning.options import EngineOptions, EscrowSchedule, QuarantineMode, RetryPolicy, ScimTarget

__all__ = [
    "EngineOptions",
    "EscrowSchedule",
    "FastPathRecord",
    "ProvisioningJob",
    "QuarantineMode",
    "RetryPolicy",
    "ScimTarget",
]
