"""Fake Microsoft Entra: directory, PIM for Groups over the Graph API, and the provisioning engine (SCIM client).

Modules (moto-style split: state and rules in plain classes, thin HTTP routes):

- :mod:`pim_fake.app` — ``create_app(clock, settings, world=..., scim_url=..., scim_token=...)``: the FastAPI app
  (Graph v1.0 routes + ``/_sandbox``); :mod:`pim_fake.serve` — the ``jitbox serve`` extension;
- :mod:`pim_fake.tenant` — one tenant: directory + PIM + audit + provisioning jobs on one lock and clock;
- :mod:`pim_fake.directory`, :mod:`pim_fake.pim`, :mod:`pim_fake.policies`, :mod:`pim_fake.audit` — state machines;
- :mod:`pim_fake.provisioning` — the provisioning job (SCIM over httpx2, timing from :mod:`sim.rules`);
- :mod:`pim_fake.world` — the seeded world and its TOML/JSON file format; :mod:`pim_fake.odata` — ``$filter``;
  :mod:`pim_fake.errors` — Graph's error envelope.

This package never imports ``scim_server``: it reaches Identity Center only over SCIM HTTP.
"""
