"""Run the jitbox fakes over real HTTP: each app in its own uvicorn thread, on 127.0.0.1 and a free port by default.

``start_sandbox(clock)`` starts the fake IAM Identity Center (SCIM endpoint + sandbox controls + the AWS access plane
plug-in) and returns a :class:`RunningSandbox` (a context manager) with ``scim_url``, ``scim_token``, ``config()``
and ``stop()``. Every app gets its own thread and event loop, so a timer callback running in one server's thread
(e.g. Entra's provisioning engine inside ``POST /_sandbox/clock/advance``) can make blocking HTTP calls to another.

Extending (the other fakes)
---------------------------
- ``sandbox.serve_app(name, app, port=0)`` serves another ASGI app (same clock: build it with ``sandbox.clock``) and
  returns its :class:`ServedApp` (``base_url``);
- ``sandbox.add_config(fn)`` — ``fn() -> dict`` adds fields to ``config()`` (and so to ``--config-out``);
- modules listed in :data:`EXTENSION_MODULES` define ``extend(sandbox: RunningSandbox) -> None`` and are called by
  :func:`start_sandbox` after the Identity Center app is listening (``extensions=[]`` skips them). ``sandbox.options``
  carries free-form CLI options to them.

The Identity Center's own additions (AWS endpoints) come through ``scim_server.app``'s plug-ins.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from scim_server.app import IdcContext, Plugin, ScimOptions, create_app
from scim_server.persist import SqliteJournal
from sim.clock import Clock
from sim.settings import Settings

__all__ = ["EXTENSION_MODULES", "Extension", "RunningSandbox", "ServeError", "ServedApp", "start_sandbox"]

EXTENSION_MODULES: list[str] = ["pim_fake.serve"]
"""Modules with ``extend(sandbox)`` that :func:`start_sandbox` calls (the other fakes register here)."""

Extension = Callable[["RunningSandbox"], None]


class ServeError(RuntimeError):
    """A server could not start (port in use, bad host); the message names the flag to change."""


@dataclass
class ServedApp:
    """One app served by uvicorn in its own thread."""

    name: str
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        """Return ``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=timeout)


def _serve(name: str, app: Any, host: str, port: int) -> ServedApp:
    # uvicorn binds the socket itself (port 0 = a free one, read back once started): handing it a pre-bound socket
    # made every response wait ~40 ms (delayed ACK), measured with http.client and httpx2.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # uvicorn exits the thread on bind errors; surfaced below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if errors or not thread.is_alive():
            raise ServeError(f"cannot listen on {host}:{port} for {name} (port in use or bad host?)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise ServeError(f"{name} server did not start on {host}:{port} within 15 s")
        time.sleep(0.01)
    actual = int(server.servers[0].sockets[0].getsockname()[1])
    return ServedApp(name, host, actual, server, thread)


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
        served = _serve(name, app, host or self.host, port)
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


def _default_extensions() -> list[Extension]:
    out: list[Extension] = []
    for name in EXTENSION_MODULES:
        module = importlib.import_module(name)
        out.append(module.extend)
    return out


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
    defaults, i.e. the AWS access plane); ``extensions`` default to :data:`EXTENSION_MODULES`. Wall and scaled
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
        sandbox.servers["idc"] = _serve("idc", app, host, scim_port)
        clock.start()
        for extend in _default_extensions() if extensions is None else extensions:
            extend(sandbox)
    except BaseException:
        if "sandbox" in locals():
            sandbox.stop()
        elif journal is not None:
            journal.close()
        raise
    return sandbox
