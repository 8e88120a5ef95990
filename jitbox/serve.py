"""Run the jitbox fakes over real HTTP on one clock: the composition root's sandbox.

``start_sandbox(clock)`` starts the fake IAM Identity Center (SCIM endpoint + sandbox controls + the AWS access
plane), then the fake Entra (Graph + the provisioning job, which reaches Identity Center only over SCIM HTTP, as in
reality), each app in its own uvicorn thread on 127.0.0.1 and a free port by default (``jitbox serve`` uses the
fixed :data:`DEFAULT_AWS_PORT` and :data:`DEFAULT_GRAPH_PORT`). Both start in a world (:mod:`jitbox.world`, default
the seed's): Entra's directory is seeded, its initial provisioning cycle runs at once [E-HOW] and then the world's
Identity Center side (permission sets, account assignments) is created through the access plane's API. It returns a
:class:`RunningSandbox` (a context manager) with ``scim_url``, ``scim_token``, ``config()``, ``reset()`` and
``stop()``.

Reset
-----
``POST /_sandbox/reset`` on either port (and :meth:`RunningSandbox.reset`) is one global reset: Entra's provisioning
jobs pause, the Identity Center fake (identity store, access plane, device flow, request log, fault rules) empties,
Entra's tenant is re-seeded from the world with a new provisioning job (empty cache), the initial cycle runs and the
world's Identity Center side is re-created. The clock keeps its time unless the body is ``{"clock": true}`` (then it
goes back to its start). Every store draws ids of a later generation after a reset: no id is handed out twice.
With a state file (``state_path``) the reset world is written to it; the file itself is never deleted.

Wiring
------
- ``extensions`` are callables ``extend(sandbox: RunningSandbox) -> None`` run after the Identity Center app is
  listening; the default is ``[serve_entra, serve_dashboard]``; ``extensions=[]`` serves Identity Center alone.
- ``sandbox.serve_app(name, app, port=0)`` serves another ASGI app (same clock: build it with ``sandbox.clock``) and
  returns its :class:`fakekit.serving.ServedApp` (``base_url``);
- ``sandbox.add_config(fn)`` — ``fn() -> dict`` adds fields to ``config()`` (and so to ``--config-out``);
- ``sandbox.options`` carries free-form CLI options (``entra_port``, ``entra_world``, ``seed``) to the extensions.

The Identity Center's own additions (AWS endpoints) come through ``scim_server.app``'s plug-ins.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from fakekit.guard import ADMIN_HEADER, SandboxGuard, is_loopback
from fakekit.persist import SqliteJournal
from fakekit.serving import ServedApp, ServeError, serve_in_thread
from fakekit.timefmt import iso_z
from jitbox.world import World, WorldError, load_world
from pim_fake.app import create_app as create_entra_app
from pim_fake.listing import DEFAULT_PAGE_SIZE
from pim_fake.persist import saved_clock_time
from pim_fake.tokens import DEFAULT_TOKEN_LIFETIME
from scim_server.app import IdcContext, Plugin, ScimOptions, create_app
from scim_server.aws import AccessPlane
from scim_server.aws.world import AccessWorldError, seed_access
from sim.clock import Clock
from sim.settings import Settings

__all__ = [
    "DEFAULT_AWS_PORT",
    "DEFAULT_GRAPH_PORT",
    "Extension",
    "RunningSandbox",
    "ServeError",
    "ServedApp",
    "serve_dashboard",
    "serve_entra",
    "start_sandbox",
]

Extension = Callable[["RunningSandbox"], None]

DEFAULT_AWS_PORT = 6470
"""``jitbox serve``'s default Identity Center port (SCIM, the AWS APIs, the portal, ``/_sandbox``)."""
DEFAULT_GRAPH_PORT = 6471
"""``jitbox serve``'s default Entra port (Microsoft Graph ``/v1.0``, ``/_sandbox``)."""


@dataclass
class RunningSandbox:
    """The running fakes: servers by name, the shared clock, the Identity Center context and its config."""

    clock: Clock
    host: str
    idc: IdcContext
    servers: dict[str, ServedApp] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)
    """The ASGI app of each served name (``"idc"``, ``"entra"``, ...), as built (before any guard)."""
    options: dict[str, Any] = field(default_factory=dict)
    journal: SqliteJournal | None = None
    world: World | None = None
    """The world both fakes start in and reset to (None: empty, e.g. Identity Center served alone)."""
    _config_hooks: list[Callable[[], dict[str, Any]]] = field(default_factory=list)
    _reset_hooks: list[Callable[[], None]] = field(default_factory=list)
    _pause_hooks: list[Callable[[], None]] = field(default_factory=list)
    _reset_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: bool = False
    admin_token: str | None = None
    """The sandbox admin token the ``/_sandbox`` routes require (None on loopback, where they stay open)."""

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
        guarded = SandboxGuard(app, self.admin_token) if self.admin_token else app
        served = serve_in_thread(name, guarded, host or self.host, port)
        self.servers[name] = served
        self.apps[name] = app
        return served

    def add_config(self, hook: Callable[[], dict[str, Any]]) -> None:
        """Register ``hook() -> dict`` whose fields join :meth:`config`."""
        self._config_hooks.append(hook)

    def on_reset(self, hook: Callable[[], None], *, pause: Callable[[], None] | None = None) -> None:
        """Join the global reset: ``pause()`` runs before the Identity Center empties (stop writing into it),
        ``hook()`` after (re-seed)."""
        if pause is not None:
            self._pause_hooks.append(pause)
        self._reset_hooks.append(hook)

    def reset(self, clock: bool = False) -> dict[str, Any]:
        """Put both fakes back to the world (see the module docstring); ``clock`` also restarts the clock.

        Returns ``{"world": name, "now": ISO time}`` (``POST /_sandbox/reset`` on either port answers with it).
        """
        with self._reset_lock:
            for pause in self._pause_hooks:
                pause()
            if clock:
                self.clock.restart()
            self.idc.control.reset_local()
            self.idc.requests.clear()
            self.idc.faults.clear()
            for hook in self._reset_hooks:
                hook()
        return {"world": self.world.name if self.world else None, "now": iso_z(self.clock.now())}

    def config(self) -> dict[str, Any]:
        """Return the config JSON: ``scim_url``, ``scim_token``, tenant, sandbox URLs, clock, world, plus every
        extension's fields (the single place config fields come from; ``jitbox serve --config-out`` writes it)."""
        data: dict[str, Any] = {"clock": self.clock.mode, "now": iso_z(self.clock.now())}
        data.update(self.idc.config(self.scim_base))
        data["scim_health_url"] = self.scim_base + "/_sandbox/health"
        if self.admin_token:
            data["sandbox_admin_token"] = self.admin_token
            data["sandbox_admin_header"] = ADMIN_HEADER
        if self.world is not None:
            data["world"] = self.world.name
            data["world_file"] = self.world.source
            data["seeded_users"] = self.world.seeded_users()
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
    both) and served on ``options["entra_port"]`` (0 = a free port), seeded with the Entra side of
    ``sandbox.world``. Its provisioning job targets the served SCIM endpoint and token and is started: the initial
    cycle runs at once [E-HOW], then the world's Identity Center side is created (:func:`seed_identity_center`).
    ``POST /_sandbox/reset`` on either port becomes the global :meth:`RunningSandbox.reset`. The config JSON gains
    ``graph_url`` (the ``.../v1.0`` base), ``graph_sandbox_url``, ``graph_health_url``, ``graph_tokens`` (identity
    name → current bearer token: random, expiring ``options["graph_token_lifetime"]`` seconds after minting on the
    clock, :mod:`pim_fake.tokens`), ``graph_token_lifetime`` and ``graph_page_size`` (``options["graph_page_size"]``,
    :mod:`pim_fake.listing`). ``options["settings"]`` may carry :class:`sim.settings.Settings`.
    """
    options = sandbox.options
    settings = options.get("settings")
    if sandbox.world is None:
        sandbox.world = load_world(None)
    world = sandbox.world
    seed = options.get("seed")
    app = create_entra_app(
        sandbox.clock,
        settings if isinstance(settings, Settings) else None,
        world=world.entra,
        seed=int(seed) if seed is not None else 0,
        scim_url=sandbox.scim_url,
        scim_token=sandbox.scim_token,
        token_lifetime=float(options.get("graph_token_lifetime") or DEFAULT_TOKEN_LIFETIME),
        journal=sandbox.journal,
        graph_page_size=int(options.get("graph_page_size") or DEFAULT_PAGE_SIZE),
    )
    served = sandbox.serve_app("entra", app, port=int(options.get("entra_port", 0) or 0))
    app.state.start_provisioning(defer=False)
    seed_identity_center(sandbox)
    if app.state.restored:  # due times that passed while the sandbox was down fire now [issue 14]
        sandbox.clock.run_due()
    tenant = app.state.entra

    def pause() -> None:
        for job in list(tenant.jobs.values()):
            job.pause()

    def reseed() -> None:
        app.state.control.reset_local()  # re-seeds the tenant, attaches a new job and runs its initial cycle
        seed_identity_center(sandbox)

    sandbox.on_reset(reseed, pause=pause)
    for control in (sandbox.idc.control, app.state.control):
        control.replace_reset(sandbox.reset)
        control.provide_config(sandbox.config)

    def config() -> dict[str, Any]:
        return {
            "graph_url": served.base_url + "/v1.0",
            "graph_sandbox_url": served.base_url + "/_sandbox/",
            "graph_health_url": served.base_url + "/_sandbox/health",
            "graph_tokens": dict(app.state.graph_tokens),  # current tokens: they expire on the clock
            "graph_token_lifetime": tenant.token_lifetime,
            "graph_page_size": app.state.graph_page_size,
            "myroles_url": served.base_url + "/myroles/",
        }

    sandbox.add_config(config)


def seed_identity_center(sandbox: RunningSandbox) -> None:
    """Create the world's Identity Center side (accounts, permission sets, assignments) through the access plane.

    Raises :class:`jitbox.world.WorldError` naming the field when the world cannot be applied.
    """
    plane = sandbox.idc.extras.get("aws")
    if sandbox.world is None or not sandbox.world.identity_center:
        return
    if not isinstance(plane, AccessPlane):
        raise WorldError("the world has an [identity_center] table but the AWS access plane is not installed")
    try:
        seed_access(plane, sandbox.idc.store, sandbox.world.identity_center)
    except AccessWorldError as exc:
        raise WorldError(f"world file {sandbox.world.source!r}: {exc}") from None


def restore_clock(clock: Clock, journal: SqliteJournal) -> None:
    """Put a manual clock back at the time the state file was last written at (a wall or scaled clock's time has
    moved on by itself); a saved time before the clock's start leaves the clock as it is."""
    saved = saved_clock_time(journal)
    if clock.mode == "manual" and saved is not None and saved > clock.time():
        clock.advance(saved - clock.time())


def serve_dashboard(sandbox: RunningSandbox) -> None:
    """Serve the timeline dashboard (:mod:`jitbox.dashboard`) beside the fakes; the config gains ``dashboard_url``.

    It reads both fakes over their HTTP APIs, so it needs :func:`serve_entra` first; ``options["dashboard_port"]``
    picks its port (0 = a free one).
    """
    from jitbox.dashboard import DashboardSources, create_dashboard

    settings = sandbox.options.get("settings")
    known = settings if isinstance(settings, Settings) else None
    # the Graph administrator is looked up on the dashboard's first request, not at start (~0.15 s of ``serve``)
    served = sandbox.serve_app(
        "dashboard",
        create_dashboard(lambda: DashboardSources.from_config(sandbox.config(), known)),
        port=int(sandbox.options.get("dashboard_port", 0) or 0),
    )
    sandbox.add_config(lambda: {"dashboard_url": served.base_url + "/"})


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
    world: World | str | Path | None = None,
) -> RunningSandbox:
    """Start the fakes on ``clock`` and return the :class:`RunningSandbox` (use it as a context manager).

    ``state_path`` keeps both fakes in one SQLite file, written before each response (README "What ``--state``
    keeps"): a saved sandbox is restored, with a manual clock put back at its saved time (:func:`restore_clock`). ``token`` fixes the
    SCIM bearer secret when no token exists yet. ``plugins`` go to :func:`scim_server.app.create_app` (None = its
    defaults, i.e. the AWS access plane); ``extensions`` default to ``[serve_entra, serve_dashboard]``. Wall and scaled
    clocks are started so their timers fire. ``settings`` (default: the documented defaults) is shared by every
    fake: the Identity Center's portal session and entitlement mode, and Entra's PIM policy defaults and
    provisioning timing. ``world`` is a :class:`jitbox.world.World`, a world file or a shipped world's name (default
    ``options["entra_world"]`` when given, for the old ``--entra-world`` files, else the seed's world).
    """
    with_entra = extensions is None or serve_entra in extensions
    if with_entra and not isinstance(world, World):
        world = load_world(world if world is not None else options.get("entra_world") if options else None)
    new_file = state_path is not None and not Path(state_path).exists()
    journal = SqliteJournal(state_path) if state_path is not None else None
    try:
        if journal is not None:
            restore_clock(clock, journal)
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
        sandbox = RunningSandbox(
            clock=clock, host=host, idc=app.state.idc, options=opts, journal=journal,
            world=world if isinstance(world, World) else None,
            admin_token=None if is_loopback(host) else secrets.token_urlsafe(24),
        )  # fmt: skip
        sandbox.serve_app("idc", app, port=scim_port)
        if "aws" in sandbox.idc.extras:  # the access plane serves the portal page
            sandbox.add_config(lambda: {"portal_url": sandbox.scim_base + "/start/"})
        sandbox.idc.control.provide_config(sandbox.config)
        clock.start()
        for extend in [serve_entra, serve_dashboard] if extensions is None else extensions:
            extend(sandbox)
    except BaseException:
        if "sandbox" in locals():
            sandbox.stop()
        elif journal is not None:
            journal.close()
        if new_file and state_path is not None:  # a start that failed leaves no half-written state file behind
            for suffix in ("", "-wal", "-shm"):
                Path(f"{state_path}{suffix}").unlink(missing_ok=True)
        raise
    return sandbox
