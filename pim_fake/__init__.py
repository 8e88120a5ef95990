"""Fake Microsoft Entra: directory, PIM for Groups over the Graph API, and the provisioning engine (SCIM client).

Modules (moto-style split: state and rules in plain classes, thin HTTP routes):

- :mod:`pim_fake.app` — ``create_app(clock, settings, world=..., scim_url=..., scim_token=...)``: the FastAPI app
  (Graph v1.0 routes + ``/_sandbox``); :mod:`pim_fake.routes` — its routers and dependencies, one module per area;
- :mod:`pim_fake.tenant` — one tenant: directory + PIM + audit + provisioning jobs on one lock and clock;
- :mod:`pim_fake.directory` (+ :mod:`pim_fake.directory_service`), :mod:`pim_fake.policies`, :mod:`pim_fake.audit`
  — state and rules;
- :mod:`pim_fake.pim` — PIM for Groups, made of :mod:`pim_fake.request_input`, :mod:`pim_fake.request_actions`,
  :mod:`pim_fake.request_status` (the request status machine), :mod:`pim_fake.approvals`,
  :mod:`pim_fake.schedules`, :mod:`pim_fake.policy_store`, :mod:`pim_fake.pim_terms`, :mod:`pim_fake.pim_context`;
- :mod:`pim_fake.provisioning` — the provisioning job (SCIM over httpx2, timing from :mod:`sim.rules`);
- :mod:`pim_fake.world` — the seeded world and its TOML/JSON file format; :mod:`pim_fake.odata` — ``$filter``;
  :mod:`pim_fake.listing` — Graph collections (``$filter``, ``$top``); :mod:`pim_fake.errors` — Graph's error
  envelope; :mod:`pim_fake.locking` — the decorator for methods that take the tenant's lock.

This package never imports ``scim_server``: it reaches Identity Center only over SCIM HTTP.
"""
