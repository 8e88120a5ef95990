"""One fake Entra tenant: directory + PIM + audit log + provisioning jobs, sharing one lock and one clock.

``Tenant.seed_world(world)`` builds the seeded world (:mod:`pim_fake.world`); ``Tenant.add_job(...)`` attaches a
provisioning job for an enterprise application, targeting any SCIM base URL and token.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import httpx2

from pim_fake.audit import AuditLog
from pim_fake.directory import Directory, ServicePrincipal, User
from pim_fake.directory_service import DirectoryService
from pim_fake.errors import GraphError, bad_request
from pim_fake.locking import synchronized
from pim_fake.pim import Pim
from pim_fake.pim_terms import ELIGIBILITY
from pim_fake.policies import default_rules
from pim_fake.provisioning import EngineOptions, ProvisioningJob, ScimTarget
from pim_fake.tokens import DEFAULT_TOKEN_LIFETIME, DefaultTokens, parse_token_lifetime
from pim_fake.world import PIM_POLICY_KEYS, WorldError
from sim.clock import Clock
from sim.settings import Settings, SettingsError

__all__ = ["Tenant"]


class Tenant:
    """Everything one fake Entra tenant holds."""

    def __init__(
        self,
        clock: Clock,
        settings: Settings | None = None,
        seed: int = 0,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        self.clock = clock
        self.settings = settings or Settings()
        self.seed = seed
        self.token_lifetime = parse_token_lifetime(token_lifetime, "token_lifetime")
        """Seconds each Graph token lives on the clock (:mod:`pim_fake.tokens`, UNCONFIRMED switch)."""
        self.lock = threading.RLock()
        self.generation = 0
        """How many resets this tenant has had: later generations draw ids from another stream (no id repeats)."""
        self._setup()

    def _setup(self) -> None:
        self.rng = random.Random(self.seed)
        self.directory = Directory(self.rng, self.clock.now, self.token_lifetime)
        self.audit = AuditLog(self.directory.new_id, self.clock.now)
        self.pim = Pim(self.directory, self.clock, self.settings, self.audit, self._on_activation, self.lock)
        self.directory_service = DirectoryService(self.directory, self.lock)
        self.jobs: dict[str, ProvisioningJob] = {}

    def _on_activation(self, group_id: str, user_id: str, at: float) -> None:
        for job in list(self.jobs.values()):
            job.on_activation(group_id, user_id, at)

    def reset(self) -> None:
        """Drop all state in place (the sandbox's reset hook); call :meth:`seed_world` again to repopulate."""
        for job in list(self.jobs.values()):
            job.pause()  # outside the tenant lock: a running cycle holds the job's lock and may need ours
        with self.lock:
            self.jobs.clear()
            self.pim.clear()
            self.directory.clear()
            self.audit.entries.clear()
            self.generation += 1
            self.rng.seed(f"{self.seed}:generation:{self.generation}")

    # --- provisioning ------------------------------------------------------------------------------------------
    def add_job(
        self,
        sp_id: str,
        target: ScimTarget,
        *,
        client: httpx2.Client | None = None,
        options: EngineOptions | None = None,
        seed: int | None = None,
    ) -> ProvisioningJob:
        """Attach a provisioning job to the enterprise application ``sp_id`` (not started)."""
        sp = self.directory.service_principal(sp_id)
        job = ProvisioningJob(
            self.directory,
            sp,
            self.lock,
            self.clock,
            self.settings,
            target,
            client=client,
            options=options,
            seed=self.seed if seed is None else seed,
            generation=self.generation,
            on_event=lambda activity: self._provisioning_event(sp, activity),
        )
        self.jobs[sp.id] = job
        return job

    def _provisioning_event(self, sp: ServicePrincipal, activity: str) -> None:
        with self.lock:
            self.audit.record(
                activity,
                initiated_by=None,
                targets=[{"id": sp.id, "displayName": sp.displayName, "type": "ServicePrincipal"}],
                correlation_id=self.directory.new_id(),
                category="ProvisioningManagement",
                service="Account Provisioning",
                system="Azure AD Provisioning Service",
            )

    def job(self, sp_id: str, job_id: str | None = None) -> ProvisioningJob:
        """Return the job of ``sp_id`` (checking ``job_id`` when given) or raise 404."""
        self.directory.service_principal(sp_id)
        job = self.jobs.get(sp_id)
        if job is None or (job_id is not None and job_id != job.id):
            raise GraphError(404, "Request_ResourceNotFound", f"Synchronization job {job_id or ''} was not found.")
        return job

    def jobs_json(self, sp_id: str) -> list[dict[str, Any]]:
        """Return the synchronization jobs of the enterprise application ``sp_id`` (404 if there is none)."""
        jobs = [self.jobs[sp_id].to_json()] if sp_id in self.jobs else []
        self.directory.service_principal(sp_id)
        return jobs

    def retarget(self, sp_id: str | None, target: ScimTarget) -> dict[str, Any]:
        """Point the job of ``sp_id`` (default: the Identity Center app) at ``target``, attaching a job if there is
        none; return the job. Runs without the tenant lock: a running cycle holds the job's lock and may need ours."""
        sp = self.directory.service_principal(sp_id) if sp_id is not None else self.identity_center_app()
        if sp is None:
            raise bad_request("There is no enterprise application to provision from; add one to the world.")
        if sp.id in self.jobs:
            self.jobs[sp.id].retarget(target)
        else:
            self.add_job(sp.id, target)
        return self.jobs[sp.id].to_json()

    def provisioning_logs(self) -> list[dict[str, Any]]:
        """Return every job's provisioning log entries, newest first [G-POS]."""
        entries = [e for job in self.jobs.values() for e in job.logs]
        entries.sort(key=lambda e: e["activityDateTime"] or "", reverse=True)
        return entries

    @synchronized
    def directory_audits(self) -> list[dict[str, Any]]:
        """Return the audit log, newest first [E-AUDREF]."""
        return list(reversed(self.audit.entries))

    @synchronized
    def snapshot(self) -> dict[str, Any]:
        """Return the sandbox view of the tenant: user count, group members, each job's state and target cache."""
        return {
            "users": len(self.directory.users),
            "groups": {g.displayName: list(g.members) for g in self.directory.groups.values()},
            "provisioning": {
                sp_id: {
                    "job": job.to_json(),
                    "origin": job.origin,
                    "cyclesRun": job.cycles_run,
                    "fastPath": [r.to_json() for r in job.fast_path],
                    "target": job.target.url,
                    "users": {k: {"scimId": v.scim_id, "active": v.active} for k, v in job.users.items()},
                    "groups": {k: {"scimId": v.scim_id, "members": sorted(v.members)} for k, v in job.groups.items()},
                }
                for sp_id, job in self.jobs.items()
            },
        }

    # --- world -------------------------------------------------------------------------------------------------
    def seed_world(self, world: dict[str, Any]) -> DefaultTokens:
        """Create the world's identities; return the live identity name → current default bearer token mapping
        (``graph_tokens``; random tokens that expire on the clock and are renewed when read, :mod:`pim_fake.tokens`)."""
        with self.lock:
            identities: list[str] = []
            names: dict[str, str] = {}
            for i, raw in enumerate(world.get("users", [])):
                if not isinstance(raw, dict):
                    raise WorldError(f"users[{i}] must be a table/object")
                data = {k: v for k, v in raw.items() if k not in ("name", "admin")}
                try:
                    user = self.directory.add_user(data, name=raw.get("name"), is_admin=bool(raw.get("admin", False)))
                except GraphError as exc:
                    raise WorldError(f"users[{i}]: {exc.message}") from None
                names[user.name.lower()] = user.id
                identities.append(user.name)
            for i, raw in enumerate(world.get("clients", [])):
                name = str(raw.get("name", ""))
                if not name:
                    raise WorldError(f"clients[{i}].name is required")
                self.directory.add_application(name, str(raw.get("displayName", name)))
                identities.append(name)
            admin = next((u for u in self.directory.users.values() if u.is_admin), None)
            groups: dict[str, str] = {}
            for i, raw in enumerate(world.get("groups", [])):
                try:
                    group = self.directory.add_group(
                        {k: v for k, v in raw.items() if k in ("displayName", "description")}
                    )
                except GraphError as exc:
                    raise WorldError(f"groups[{i}]: {exc.message}") from None
                groups[group.displayName.lower()] = group.id
                if "pim" in raw:
                    self._seed_policy(group.id, raw["pim"], f"groups[{i}].pim")
                for m in raw.get("members", []):
                    self.directory.add_member(group.id, _resolve(names, m, f"groups[{i}].members"), via_pim=False)
                eligible = raw.get("eligible", [])
                if eligible and admin is None:
                    raise WorldError(f"groups[{i}].eligible needs an administrator (a user with admin = true)")
                for m in eligible:
                    self._seed_eligibility(admin, group.id, _resolve(names, m, f"groups[{i}].eligible"))
            for i, raw in enumerate(world.get("applications", [])):
                sp = self.directory.add_service_principal(str(raw.get("displayName", f"application {i}")))
                for g in raw.get("assigned", []):
                    gid = groups.get(str(g).lower()) or names.get(str(g).lower())
                    if gid is None:
                        raise WorldError(f"applications[{i}].assigned: {g!r} is not a group or user of the world")
                    self.directory.assign(sp.id, gid)
            return DefaultTokens(identities, self.directory_service.default_token)

    def world_tokens(self, world: dict[str, Any]) -> DefaultTokens:
        """Return the live identity name → default bearer token mapping (as :meth:`seed_world` does) for the world's
        users and clients already in the directory: a tenant restored from ``--state``, whose Graph tokens were not
        kept, gets new ones."""
        names = [
            str(raw.get("name") or str(raw.get("userPrincipalName", "")).split("@", 1)[0])
            for raw in world.get("users", [])
            if isinstance(raw, dict)
        ]
        names += [str(raw.get("name", "")) for raw in world.get("clients", []) if isinstance(raw, dict)]
        return DefaultTokens([n for n in names if n], self.directory_service.default_token)

    def _seed_policy(self, group_id: str, raw: Any, where: str) -> None:
        """Set the group's member policy activation rules from a world's ``pim`` table."""
        if not isinstance(raw, dict):
            raise WorldError(f'{where} must be a table such as {{ activation_max = "PT1H" }}')
        unknown = sorted(set(raw) - set(PIM_POLICY_KEYS))
        if unknown:
            raise WorldError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(PIM_POLICY_KEYS)})")
        try:
            settings = self.settings.replace(**raw)
        except SettingsError as exc:
            raise WorldError(f"{where}: {exc}") from None
        self.pim.policies.policy(group_id).rules = default_rules(settings)

    def _seed_eligibility(self, admin: User | None, group_id: str, user_id: str) -> None:
        assert admin is not None
        caller = self.directory.caller_of(admin.name)
        self.pim.create_request(
            ELIGIBILITY,
            {
                "action": "adminAssign",
                "accessId": "member",
                "groupId": group_id,
                "principalId": user_id,
                "justification": "seeded eligibility",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P365D"}},
            },
            caller,
        )

    def identity_center_app(self) -> ServicePrincipal | None:
        """Return the first enterprise application (the seeded "AWS IAM Identity Center")."""
        return next(iter(self.directory.service_principals.values()), None)


def _resolve(names: dict[str, str], name: Any, where: str) -> str:
    key = str(name).lower()
    if key not in names:
        raise WorldError(f"{where}: {name!r} is not a user of the world (known: {', '.join(sorted(names))})")
    return names[key]
