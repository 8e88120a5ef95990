"""jitbox simulator: the model of time for JIT access through Entra PIM → SCIM → IAM Identity Center.

No HTTP here except the leaf modules ``sim.control`` (sandbox routes shared by the fakes), ``sim.serve`` and the
CLI. See ``docs/`` and ``../shared/DESIGN.md``.
"""

__version__ = "0.1.0"
