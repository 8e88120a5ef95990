"""Serve an app with uvicorn on 127.0.0.1 and a free port, for tests that drive it with real clients (boto3).

``with serve(app) as base_url: boto3.client("sso-admin", endpoint_url=base_url, ...)`` — the server runs in a
daemon thread and stops when the block ends. Only the loopback address is ever bound.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = ["boto3_kwargs", "free_port", "serve"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: Any, startup_timeout: float = 10.0) -> Iterator[str]:
    """Run ``app`` on ``127.0.0.1:<free port>`` for the duration of the block; yield ``http://127.0.0.1:<port>``."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:  # waiting for the socket to listen, not for simulated time
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def boto3_kwargs(base_url: str) -> dict[str, Any]:
    """Return the keyword arguments that point a boto3 client at the sandbox with dummy credentials."""
    return {
        "endpoint_url": base_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
