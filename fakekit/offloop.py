"""Keeping JSON encoding off the event loop.

FastAPI runs a sync (``def``) endpoint in its thread pool, but encodes what it returns (``jsonable_encoder`` and
``json.dumps``) back on the event loop, where every other connection of the server waits meanwhile: a 10,000-user
``GET /_sandbox/state`` takes over a second to encode. Two tools move that work to a worker thread:

- :class:`EncodeInWorker`, a route class (``APIRouter(route_class=EncodeInWorker)``): a sync endpoint's result is
  encoded into a :class:`~fastapi.responses.JSONResponse` (with the route's ``status_code``) in the worker thread
  that ran it; a returned :class:`~starlette.responses.Response` passes through untouched;
- :func:`json_in_worker` for async endpoints: ``return await json_in_worker(lambda: build_the_answer())``.

The bytes are the ones FastAPI would have sent (the same encoder and the same ``JSONResponse``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

__all__ = ["EncodeInWorker", "json_in_worker"]


def _encoded(result: Any, status_code: int) -> Response:
    if isinstance(result, Response):
        return result
    return JSONResponse(jsonable_encoder(result), status_code=status_code)


class EncodeInWorker(APIRoute):
    """An ``APIRoute`` whose sync endpoint returns its answer already encoded, built in the worker thread."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _encoding(endpoint, int(kwargs.get("status_code") or 200))
        super().__init__(path, endpoint, **kwargs)


def _encoding(endpoint: Callable[..., Any], status_code: int) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        return _encoded(endpoint(*args, **kwargs), status_code)

    return run


async def json_in_worker(build: Callable[[], Any], status_code: int = 200) -> Response:
    """Return ``build()``'s result as a JSON response, building and encoding it in a worker thread."""
    return await run_in_threadpool(lambda: _encoded(build(), status_code))
