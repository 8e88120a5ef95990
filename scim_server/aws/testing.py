"""Serve an app with uvicorn on 127.0.0.1 and a free port, for tests that drive it with real clients (boto3).

``with serve(app) as base_url: boto3.client("sso-admin", endpoint_url=base_url, ...)`` — the server runs in its
own thread (:func:`fakekit.serving.serve_in_thread`) and stops when the block ends. Only the loopback address is
ever bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fakekit.serving import serve_in_thread

__all__ = ["boto3_kwargs", "serve"]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on ``127.0.0.1:<free port>`` for the duration of the block; yield ``http://127.0.0.1:<port>``."""
    served = serve_in_thread("aws-test", app, "127.0.0.1", 0)
    try:
        yield served.base_url
    finally:
        served.stop()


def boto3_kwargs(base_url: str) -> dict[str, Any]:
    """Return the keyword arguments that point a boto3 client at the sandbox with dummy credentials."""
    return {
        "endpoint_url": base_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
