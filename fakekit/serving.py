"""Serve an ASGI app with uvicorn in its own thread and event loop, on a given or a free port.

Each fake gets its own thread, so a timer callback running in one server's thread (e.g. Entra's provisioning
engine inside ``POST /_sandbox/clock/advance``) can make blocking HTTP calls to another.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

__all__ = ["ServeError", "ServedApp", "serve_in_thread"]


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


def serve_in_thread(name: str, app: Any, host: str, port: int) -> ServedApp:
    """Start ``app`` on ``host:port`` (0 = a free port) and return it once it listens; raise :class:`ServeError`."""
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
