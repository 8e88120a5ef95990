"""jitbox, the composition root: the CLI, the sandbox (both fakes on one clock), the demo and the pytest plugin.

The only package that imports both fakes (``pim_fake`` and ``scim_server``); nothing imports it but tests. The
layers, checked by import-linter (``pyproject.toml``): ``jitbox`` > ``pim_fake`` | ``scim_server`` > ``fakekit`` >
``sim``.
"""

__version__ = "0.1.0"
