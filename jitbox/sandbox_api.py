"""``jitbox.sandbox()``: both fakes on loopback for a test or a script, in the spirit of moto's ``mock_aws``.

Used three ways, one API:

- a context manager — ``with jitbox.sandbox() as sb:`` starts the fakes (free ports, manual clock, the seed's world)
  and, while active, points boto3 and the AWS CLI at them: ``AWS_ENDPOINT_URL`` (and the per-service variables) plus
  dummy credentials and region in ``os.environ`` (``AWS_PROFILE`` and ``AWS_SESSION_TOKEN`` hidden), restored on exit;
- a decorator — ``@jitbox.sandbox()`` runs the function inside a fresh sandbox (:func:`jitbox.current_sandbox`
  returns it);
- pytest fixtures (``jitbox_sandbox``, ``jitbox_sandbox_session``; :mod:`jitbox.pytest_plugin`).

The object offers ``clock.advance("PT40M" | "40m" | 2400)``, ``aws_client("sso-admin")`` (a ready boto3 client),
``graph(user=None)`` (an HTTP client on the Graph base URL with the user's token; None = the world's admin),
``activate(user, group, duration, justification=...)``, ``signin(user)`` (a portal access token), ``reset()`` and
``config()`` (the same dict ``jitbox serve --config-out`` writes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from contextlib import ContextDecorator
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx2

from fakekit.control import MAX_ADVANCE
from jitbox.env import env_vars
from jitbox.graph_auth import CurrentToken
from jitbox.serve import RunningSandbox, start_sandbox
from jitbox.world import World, load_world
from scim_server.app import ScimOptions
from sim.clock import Clock, ClockError, clock_from_spec
from sim.durations import DurationError, format_duration, parse_duration, to_iso8601
from sim.settings import Settings, load_settings

__all__ = ["HIDDEN_ENV", "Sandbox", "SandboxClock", "SandboxError", "current_sandbox"]

HIDDEN_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")
"""Variables hidden while a sandbox is active, so boto3 uses the sandbox's dummy credentials."""

PIM = "/identityGovernance/privilegedAccess/group"

_active: list[Sandbox] = []
_active_lock = threading.Lock()


class SandboxError(RuntimeError):
    """A sandbox call got an answer it did not expect (the message names the call and the answer)."""


def current_sandbox() -> Sandbox:
    """Return the innermost active sandbox (inside ``with jitbox.sandbox()`` or a decorated function)."""
    with _active_lock:
        if not _active:
            raise SandboxError("no jitbox sandbox is active: use `with jitbox.sandbox() as sb:` or @jitbox.sandbox()")
        return _active[-1]


class SandboxClock:
    """The sandbox's shared clock: ``advance`` takes seconds, a timedelta, ``"PT40M"`` or ``"40m"``."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def advance(self, duration: float | int | str | timedelta) -> int:
        """Move both fakes' time forward, running every timer that falls due (cycles, expiries, fast path);
        return how many ran. At most 366 days per call, as ``POST /_sandbox/clock/advance``."""
        raw = duration.total_seconds() if isinstance(duration, timedelta) else duration
        try:
            seconds = parse_duration(raw)
        except DurationError as exc:
            raise ValueError(f"clock.advance({duration!r}): {exc}") from None
        if seconds > MAX_ADVANCE:
            raise ValueError(f"clock.advance({duration!r}): at most 366 days per call (got {format_duration(seconds)})")
        try:
            return self._clock.advance(seconds)
        except ClockError as exc:
            raise ValueError(f"clock.advance({duration!r}): {exc}") from None

    def now(self) -> datetime:
        """Return the current time (aware UTC)."""
        return self._clock.now()

    def time(self) -> float:
        """Return the current time in Unix seconds."""
        return self._clock.time()

    @property
    def mode(self) -> str:
        """``manual``, ``wall`` or ``scaled:N``."""
        return self._clock.mode


def _settings(settings: Settings | Mapping[str, Any] | None) -> Settings | None:
    if settings is None or isinstance(settings, Settings):
        return settings
    return load_settings(dict(settings))


class Sandbox(ContextDecorator):
    """Both fakes on loopback with one world and one clock; see the module docstring."""

    def __init__(
        self,
        world: World | str | Path | None = None,
        settings: Settings | Mapping[str, Any] | None = None,
        clock: str | Clock = "manual",
        *,
        seed: int | None = None,
        host: str = "127.0.0.1",
        aws_port: int = 0,
        graph_port: int = 0,
        scim_options: ScimOptions | None = None,
        patch_env: bool = True,
    ) -> None:
        self.world = world if isinstance(world, World) else load_world(world)
        self.settings = _settings(settings)
        self._clock_spec = clock
        self.seed = seed
        self.host = host
        self.ports = (aws_port, graph_port)
        self.scim_options = scim_options
        self.patch_env = patch_env
        self._running: RunningSandbox | None = None
        self._http: httpx2.Client | None = None
        self._saved_env: list[dict[str, str | None]] = []
        self._depth = 0

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Start the fakes (a no-op when running); return self."""
        if self._running is None:
            clock = self._clock_spec if isinstance(self._clock_spec, Clock) else clock_from_spec(self._clock_spec)
            self._running = start_sandbox(
                clock,
                host=self.host,
                scim_port=self.ports[0],
                seed=self.seed,
                scim_options=self.scim_options,
                options={"entra_port": self.ports[1], "seed": self.seed},
                settings=self.settings,
                world=self.world,
            )
            self._http = httpx2.Client(timeout=60.0)
        return self

    def stop(self) -> None:
        """Stop the fakes (the sandbox can be started again, fresh)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._running is not None:
            self._running.stop()
            self._running = None

    @property
    def running(self) -> RunningSandbox:
        """Return the :class:`jitbox.serve.RunningSandbox` (starting the sandbox if needed)."""
        return self.start()._running  # type: ignore[return-value]

    def make_current(self) -> None:
        """Make this the current sandbox and (with ``patch_env``) point boto3 at it; undo with :meth:`release_current`."""
        self.start()
        if self.patch_env:
            self._saved_env.append(self._apply_env())
        with _active_lock:
            _active.append(self)

    def release_current(self) -> None:
        """Undo the latest :meth:`make_current` (environment restored)."""
        with _active_lock:
            for i in range(len(_active) - 1, -1, -1):
                if _active[i] is self:
                    del _active[i]
                    break
        if self.patch_env and self._saved_env:
            _restore_env(self._saved_env.pop())

    def __enter__(self) -> Sandbox:
        self._depth += 1
        self.make_current()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release_current()
        self._depth -= 1
        if self._depth == 0:
            self.stop()

    # --- environment ---------------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Return the environment that points boto3, the AWS CLI and scripts at this sandbox (see ``jitbox env``)."""
        return env_vars(self.config())

    def _apply_env(self) -> dict[str, str | None]:
        values = self.env()
        saved = {k: os.environ.get(k) for k in (*values, *HIDDEN_ENV)}
        for key in HIDDEN_ENV:
            os.environ.pop(key, None)
        os.environ.update(values)
        return saved

    # --- config and clients ------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Return the config dict (``scim_url``, ``scim_token``, ``graph_url``, ``graph_tokens``, ``aws_*``, ...)."""
        return self.running.config()

    @property
    def clock(self) -> SandboxClock:
        """Return the shared clock (``sb.clock.advance("PT40M")``)."""
        return SandboxClock(self.running.clock)

    @property
    def scim_url(self) -> str:
        """Return the SCIM base URL (Entra's "Tenant URL")."""
        return self.running.scim_url

    @property
    def scim_token(self) -> str:
        """Return the SCIM bearer token (Entra's "Secret Token")."""
        return self.running.scim_token

    @property
    def aws_endpoint_url(self) -> str:
        """Return the AWS endpoint (identitystore, sso-admin, sso, sso-oidc)."""
        return str(self.config()["aws_endpoint_url"])

    @property
    def graph_url(self) -> str:
        """Return the Microsoft Graph base URL (``.../v1.0``)."""
        return str(self.config()["graph_url"])

    def reset(self, clock: bool = False) -> dict[str, Any]:
        """Put both fakes back to the world (``clock=True`` also restarts the clock); see ``POST /_sandbox/reset``."""
        return self.running.reset(clock)

    def aws_client(self, service: str, **kwargs: Any) -> Any:
        """Return a boto3 client for ``service`` on this sandbox (dummy credentials, ``us-east-1``); needs boto3."""
        try:
            import boto3
        except ModuleNotFoundError:
            raise SandboxError("aws_client needs boto3: pip install boto3") from None
        cfg = self.config()
        env = cfg["aws_env"]
        options: dict[str, Any] = {
            "endpoint_url": cfg["aws_endpoint_url"],
            "region_name": cfg["aws_region"],
            "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        }
        options.update(kwargs)
        return boto3.client(service, **options)

    def token(self, user: str | None = None) -> str:
        """Return the Graph bearer token of a world identity (``"rich"``, a userPrincipalName, or None = admin)."""
        tokens: dict[str, str] = self.config()["graph_tokens"]
        name = self._identity(user)
        if name not in tokens:
            raise SandboxError(f"no Graph token for {user!r}; the world's identities: {', '.join(sorted(tokens))}")
        return tokens[name]

    def graph(self, user: str | None = None) -> httpx2.Client:
        """Return an HTTP client on the Graph base URL (``client.get("me")``) sending ``user``'s current token (None =
        admin) with every request, so it keeps working as the clock moves past a token's expiry.

        Close it when done (or use it as a context manager).
        """
        self.token(user)  # an unknown identity fails here, not at the first request
        return httpx2.Client(
            base_url=self.graph_url.rstrip("/") + "/",
            auth=CurrentToken(lambda: self.token(user)),
            timeout=60.0,
        )

    def activate(
        self,
        user: str,
        group: str,
        duration: str | float = "PT1H",
        *,
        justification: str | None = "jitbox sandbox activation",
        ticket: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Self-activate ``user``'s eligible membership of ``group`` (displayName or id) for ``duration`` through
        Graph, as the user would; return the schedule request (status ``Provisioned`` or ``PendingApproval``).

        A justification is sent unless ``justification`` is None (to see a policy that requires one refuse it)."""
        seconds = parse_duration(duration)
        with self.graph(user) as g:
            me = self._ok("GET /me", g.get("me"))
            gid = self._group_id(g, group)
            body: dict[str, Any] = {
                "accessId": "member",
                "principalId": me["id"],
                "groupId": gid,
                "action": "selfActivate",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": format_iso(seconds)}},
            }
            if justification is not None:
                body["justification"] = justification
            if ticket is not None:
                body["ticketInfo"] = ticket
            response = g.post(PIM.lstrip("/") + "/assignmentScheduleRequests", json=body)
            result: dict[str, Any] = self._ok("selfActivate", response, 201)
            return result

    def signin(self, user: str) -> str:
        """Sign ``user`` (a world identity name or an Identity Center userName) in to the AWS access portal; return
        the portal access token (``x-amz-sso_bearer_token``, boto3 ``sso`` ``accessToken``)."""
        name = self._user_name(user)
        http = self._client()
        r = http.post(self.aws_endpoint_url + "/_sandbox/aws/signin", json={"user_name": name})
        return str(self._ok(f"portal sign-in of {name}", r)["accessToken"])

    # --- helpers ---------------------------------------------------------------------------------------------
    def _client(self) -> httpx2.Client:
        self.start()
        assert self._http is not None
        return self._http

    def _identity(self, user: str | None) -> str:
        users = self.world.entra.get("users", [])
        if user is None:
            admin = next((u for u in users if u.get("admin")), None)
            if admin is None:
                raise SandboxError("the world has no administrator (a user with admin = true); name a user")
            return str(admin["name"])
        for u in users:
            if user.lower() in (str(u.get("name", "")).lower(), str(u.get("userPrincipalName", "")).lower()):
                return str(u["name"])
        return user

    def _user_name(self, user: str) -> str:
        for u in self.world.entra.get("users", []):
            if user.lower() == str(u.get("name", "")).lower():
                return str(u.get("userPrincipalName"))
        return user

    def _group_id(self, g: httpx2.Client, group: str) -> str:
        quoted = group.replace("'", "''")
        found = self._ok("find group", g.get("groups", params={"$filter": f"displayName eq '{quoted}'"}))["value"]
        if found:
            return str(found[0]["id"])
        return group  # an id; Graph answers 404/400 if it is neither

    @staticmethod
    def _ok(what: str, response: httpx2.Response, *codes: int) -> Any:
        if response.status_code not in (codes or (200,)):
            raise SandboxError(f"{what}: HTTP {response.status_code} {response.text[:400]}")
        return response.json() if response.content else None


def format_iso(seconds: float) -> str:
    """Return an ISO-8601 duration (``PT1H30M``) for Graph's ``scheduleInfo``."""
    return to_iso8601(seconds)


def _restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
