"""Run the jitbox fakes over real HTTP on one clock: the composition root's sandbox.

``start_sandbox(clock)`` starts the fake IAM Identity Center (SCIM endpoint + sandbox controls + the AWS access
plane), then the fake Entra (Graph + the provisioning job, which reaches Identity Center only over SCIM HTTP, as in
reality), each app in its own uvicorn thread on 127.0.0.1 and a free port by default. It returns a
:class:`RunningSandbox` (a context manager) with ``scim_url``, ``scim_token``, ``config()`` and ``stop()``.

Wiring
------
- ``extensions`` are callables ``extend(sandbox: RunningSandbox) -> None`` run after the Identity Center app is
  listening; the default is ``[serve_entra]``; ``extensions=[]`` serves Identity Center alone.
- ``sandbox.serve_app(name, app, port=0)`` serves another ASGI app (same clock: build it with ``sandbox.clock``) and
  returns its :class:`fakekit.serving.ServedApp` (``base_url``);
- ``sandbox.add_config(fn)`` — ``fn() -> dict`` adds fields to ``config()`` (and so to ``--config-out``);
- ``sandbox.options`` carries free-form CLI options (``entra_port``, ``entra_world``, ``seed``) to the extensions.

The Identity Center's own additions (AWS endpoints) come through ``scim_server.app``'s plug-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from fakekit.serving import ServedApp, ServeError, serve_in_thread
from pim_fake.app import create_app as create_entra_app
from pim_fake.world import load_world
from scim_server.app import IdcContext, Plugin, ScimOptions, create_app
from scim_server.persist import SqliteJournal
from sim.clock import Clock
from sim.settings import Settings

__all__ = ["Extension", "RunningSandbox", "ServeError", "ServedApp", "serve_entra", "start_sandbox"]

Extension = Callable[["RunningSandbox"], None]


@dataclass
class RunningSandbox:
    """The running fakes: servers by name, the shared clock, the Identity Center context and its config."""

    clock: Clock
    host: str
    idc: IdcContext
    servers: dict[str, ServedApp] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    journal: SqliteJournal | None = None
    _config_hooks: list[Callable[[], dict[str, Any]]] = field(default_factory=list)
    _stopped: bool = False

    @property
    def scim_base(self) -> str:
        """Return ``http://host:port`` of the Identity Center app."""
        return self.servers["idc"].base_url

    @property
    def scim_url(self) -> str:
        """Return the full SCIM base URL ``http://host:port/{tenant_id}/scim/v2/`` (Entra's "Tenant URL")."""
        return self.scim_base + self.idc.scim_path()

    @property
    def scim_token(self) -> str:
        """Return the oldest valid SCIM bearer token (Entra's "Secret Token")."""
        token = self.idc.tokens.first_valid()
        if token is None:
            raise ServeError("no valid SCIM token: create one with POST /_sandbox/tokens")
        return token.secret

    def serve_app(self, name: str, app: Any, port: int = 0, host: str | None = None) -> ServedApp:
        """Serve another ASGI app in its own uvicorn thread; return it (its ``base_url`` is ready to use)."""
        if name in self.servers:
            raise ServeError(f"an app named {name!r} is already served")
        served = serve_in_thread(name, app, host or self.host, port)
        self.servers[name] = served
        return served

    def add_config(self, hook: Callable[[], dict[str, Any]]) -> None:
        """Register ``hook() -> dict`` whose fields join :meth:`config`."""
        self._config_hooks.append(hook)

    def config(self) -> dict[str, Any]:
        """Return the config JSON: ``scim_url``, ``scim_token``, tenant, sandbox URLs, clock, plus extensions'."""
        data: dict[str, Any] = {"clock": self.clock.mode}
        data.update(self.idc.config(self.scim_base))
        for hook in self._config_hooks:
            data.update(hook())
        return data

    def stop(self) -> None:
        """Stop every server (newest first), the clock's driver thread and the state file."""
        if self._stopped:
            return
        self._stopped = True
        for served in reversed(list(self.servers.values())):
            served.stop()
        self.clock.stop()
        if self.journal is not None:
            self.journal.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_entra(sandbox: RunningSandbox) -> None:
    """Serve the Entra fake next to the Identity Center fake, provisioning into it over SCIM HTTP.

    The Entra app is built on the sandbox's clock (so advancing either fake's ``/_sandbox/clock/advance`` moves
    both) and served on ``options["entra_port"]`` (0 = a free port). Its provisioning job targets the served SCIM
    endpoint and token and is started; its initial cycle is a clock timer due at start, so the manual clock runs it
    on the first advance. The config JSON gains ``graph_url`` (the ``.../v1.0`` base), ``graph_sandbox_url`` and
    ``graph_tokens`` (identity name → bearer token). ``options["entra_world"]`` replaces the seeded world with a
    TOML/JSON file (:mod:`pim_fake.world`); ``options["settings"]`` may carry :class:`sim.settings.Settings`.
    """
    options = sandbox.options
    settings = options.get("settings")
    world = load_world(options.get("entra_world"))
    seed = options.get("seed")
    app = create_entra_app(
        sandbox.clock,
        settings if isinstance(settings, Settings) else None,
        world=world,
        seed=int(seed) if seed is not None else 0,
        scim_url=sandbox.scim_url,
        scim_token=sandbox.scim_token,
    )
    served = sandbox.serve_app("entra", app, port=int(options.get("entra_port", 0) or 0))
    app.state.start_provisioning(defer=True)

    def config() -> dict[str, Any]:
        return {
            "graph_url": served.base_url + "/v1.0",
            "graph_sandbox_url": served.base_url + "/_sandbox/",
            "graph_tokens": dict(app.state.graph_tokens),
        }

    sandbox.add_config(config)


def start_sandbox(
    clock: Clock,
    *,
    host: str = "127.0.0.1",
    scim_port: int = 0,
    state_path: str | Path | None = None,
    seed: int | None = None,
    token: str | None = None,
    scim_options: ScimOptions | None = None,
    plugins: Sequence[Plugin] | None = None,
    extensions: Sequence[Extension] | None = None,
    options: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> RunningSandbox:
    """Start the fakes on ``clock`` and return the :class:`RunningSandbox` (use it as a context manager).

    ``state_path`` keeps the identity store, tenant id and tokens in SQLite (write-through). ``token`` fixes the
    SCIM bearer secret when no token exists yet. ``plugins`` go to :func:`scim_server.app.create_app` (None = its
    defaults, i.e. the AWS access plane); ``extensions`` default to ``[serve_entra]``. Wall and scaled
    clocks are started so their timers fire. ``settings`` (default: the documented defaults) is shared by every
    fake: the Identity Center's portal session and entitlement mode, and Entra's PIM policy defaults and
    provisioning timing.
    """
    journal = SqliteJournal(state_path) if state_path is not None else None
    try:
        app = create_app(
            clock,
            journal=journal,
            options=scim_options,
            plugins=plugins,
            seed=seed,
            token_secret=token,
            settings=settings,
        )
        opts = dict(options or {})
        if settings is not None:
            opts.setdefault("settings", settings)
        sandbox = RunningSandbox(clock=clock, host=host, idc=app.state.idc, options=opts, journal=journal)
        sandbox.servers["idc"] = serve_in_thread("idc", app, host, scim_port)
        clock.start()
        for extend in [serve_entra] if extensions is None else extensions:
            extend(sandbox)
    except BaseException:
        if "sandbox" in locals():
            sandbox.stop()
        elif journal is not None:
            journal.close()
        raise
    return sandbox
